package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"riskmap/auth"
	"riskmap/layers/postgis"
)

// openAuth opens where tokens and the audit log live: the data directory
// of the embedded store, or the PostGIS database (migrated first).
func (sf storeFlags) openAuth(ctx context.Context) (auth.Store, *pgxpool.Pool, func(), error) {
	if sf.db == "" {
		fst, err := auth.OpenFileStore(sf.data)
		if err != nil {
			return nil, nil, nil, err
		}
		return fst, nil, func() { fst.Close() }, nil
	}
	pg, err := postgis.Open(ctx, sf.db, nil) // applies pending migrations
	if err != nil {
		return nil, nil, nil, fmt.Errorf("--db: %w", err)
	}
	pg.Close()
	pool, err := pgxpool.New(ctx, sf.db)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("--db: %w", err)
	}
	return auth.NewPGStore(pool), pool, pool.Close, nil
}

func tokenCmd(ctx context.Context, e env) error {
	const synopsis = "token create --name NAME --role viewer|editor|admin | token list | token revoke NAME|ID   [--data DIR | --db URL]"
	if len(e.args) == 0 || e.args[0] == "-h" || e.args[0] == "--help" || e.args[0] == "help" {
		flags(e, "token", synopsis).Usage()
		if len(e.args) == 0 {
			return errors.New("token: give create, list or revoke")
		}
		return flag.ErrHelp
	}
	sub, args := e.args[0], e.args[1:]
	fs := flags(e, "token "+sub, synopsis)
	var sf storeFlags
	sf.register(fs, e)
	name := fs.String("name", "", "create: the token's name (who or what uses it)")
	role := fs.String("role", "viewer", "create: viewer (read), editor (import, edit, move hazards) or admin (tokens, audit log)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, _, closeFn, err := sf.openAuth(ctx)
	if err != nil {
		return err
	}
	defer closeFn()
	switch sub {
	case "create":
		r, err := auth.ParseRole(*role)
		if err != nil {
			return err
		}
		if *name == "" {
			return errors.New("token create: --name is required")
		}
		secret, t, err := auth.Create(ctx, st, *name, r, time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "token %s (%s, role %s) created; it is shown once, store it now:\n", t.Name, t.ID, t.Role)
		_, err = fmt.Fprintln(e.stdout, secret)
		return err
	case "list":
		ts, err := st.Tokens(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tROLE\tCREATED\tREVOKED")
		for _, t := range ts {
			rev := "-"
			if t.Revoked != nil {
				rev = t.Revoked.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Role, t.Created.Format(time.RFC3339), rev)
		}
		return tw.Flush()
	case "revoke":
		if fs.NArg() != 1 {
			return errors.New("token revoke: give one token name or id")
		}
		t, err := st.RevokeToken(ctx, fs.Arg(0), time.Now())
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(e.stdout, "revoked %s (%s) at %s\n", t.Name, t.ID, t.Revoked.Format(time.RFC3339))
		return err
	}
	return fmt.Errorf("token: unknown subcommand %q (create, list or revoke)", sub)
}
