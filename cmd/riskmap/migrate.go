package main

import (
	"context"
	"errors"
	"fmt"

	"riskmap/layers"
	"riskmap/layers/analysis"
	"riskmap/layers/postgis"
)

// migrateCmd applies the migrations embedded in the binary to a PostGIS
// database and reports its version. serve and the other commands do the
// same on start; this is for deployments that migrate as a separate step.
func migrateCmd(ctx context.Context, e env) error {
	fs := flags(e, "migrate", "migrate --db URL [--status]")
	db := fs.String("db", envOr(e, "RISKMAP_DATABASE_URL", ""), "PostgreSQL/PostGIS URL (required; env RISKMAP_DATABASE_URL)")
	status := fs.Bool("status", false, "only report the database's version and the pending migrations")
	if err := fs.Parse(e.args); err != nil {
		return err
	}
	if *db == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("--db is required and no arguments are taken")
	}
	// the analyses' derived layers get their tables too, as on serve
	cat := layers.NewCatalog()
	if _, err := analysis.New(cat, analysis.DefaultRules(), analysis.Default()...); err != nil {
		return err
	}
	st, err := postgis.Open(ctx, *db, cat, postgis.WithoutMigrate())
	if err != nil {
		return fmt.Errorf("--db: %w", err)
	}
	defer st.Close()
	ms, err := postgis.Migrations()
	if err != nil {
		return err
	}
	before, err := st.Version(ctx)
	if err != nil {
		return err
	}
	var pending []postgis.Migration
	for _, m := range ms {
		if m.Version > before {
			pending = append(pending, m)
		}
	}
	if *status {
		fmt.Fprintf(e.stdout, "database at migration %d; %d pending\n", before, len(pending))
		for _, m := range pending {
			fmt.Fprintf(e.stdout, "  pending %04d %s\n", m.Version, m.Name)
		}
		return nil
	}
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	after, err := st.Version(ctx)
	if err != nil {
		return err
	}
	for _, m := range pending {
		fmt.Fprintf(e.stdout, "applied %04d %s\n", m.Version, m.Name)
	}
	fmt.Fprintf(e.stdout, "database at migration %d (%d applied now); tables match the catalog\n", after, len(pending))
	return nil
}
