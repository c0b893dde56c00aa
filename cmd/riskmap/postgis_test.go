package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"riskmap/fixtures"
	"riskmap/layers"
	"riskmap/layers/analysis"
	"riskmap/layers/postgis"
	"riskmap/layers/postgis/pgtest"
)

func runOK(t *testing.T, args ...string) string {
	t.Helper()
	e, out, errs := testEnv(args...)
	if err := run(context.Background(), e); err != nil {
		t.Fatalf("riskmap %s: %v\n%s", strings.Join(args, " "), err, errs)
	}
	return out.String()
}

func TestMigrateCommand(t *testing.T) {
	db := pgtest.Database(t)
	ms, err := postgis.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	n := len(ms)
	if out := runOK(t, "migrate", "--db", db, "--status"); !strings.Contains(out, fmt.Sprintf("database at migration 0; %d pending", n)) || !strings.Contains(out, "pending 0001 base_layers") {
		t.Errorf("migrate --status on a new database:\n%s", out)
	}
	if out := runOK(t, "migrate", "--db", db); !strings.Contains(out, "applied 0001 base_layers") || !strings.Contains(out, fmt.Sprintf("database at migration %d (%d applied now)", n, n)) {
		t.Errorf("migrate:\n%s", out)
	}
	if out := runOK(t, "migrate", "--db", db); !strings.Contains(out, fmt.Sprintf("database at migration %d (0 applied now)", n)) {
		t.Errorf("migrate again:\n%s", out)
	}
	if out := runOK(t, "migrate", "--db", db, "--status"); !strings.Contains(out, fmt.Sprintf("database at migration %d; 0 pending", n)) {
		t.Errorf("migrate --status after migrating:\n%s", out)
	}
	// every layer, base and derived, has its table, and the store opens
	// without migrating
	st, err := postgis.Open(context.Background(), db, nil, postgis.WithoutMigrate())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var tables int
	if err := st.Pool().QueryRow(context.Background(), "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name IN ('buildings', 'water_sources', 'water_gaps')").Scan(&tables); err != nil || tables != 3 {
		t.Errorf("tables after migrate: %d, %v", tables, err)
	}
	e, _, _ := testEnv("migrate")
	if err := run(context.Background(), e); err == nil || !strings.Contains(err.Error(), "--db is required") {
		t.Errorf("migrate without --db: %v", err)
	}
}

// TestImportPostGIS imports through the bulk path: all or nothing on a bad
// row, idempotent on a second run, analyses recomputed once at the end.
func TestImportPostGIS(t *testing.T) {
	db := pgtest.Database(t)
	dir := t.TempDir()
	var good, bad strings.Builder
	fmt.Fprint(&good, `{"type":"FeatureCollection","features":[`)
	for i := 1; i <= 12000; i++ {
		if i > 1 {
			good.WriteString(",")
		}
		fmt.Fprintf(&good, `{"type":"Feature","id":%d,"geometry":{"type":"Point","coordinates":[%.5f,%.5f]},"properties":{"kind":"hydrant","status":"在用"}}`,
			i, 106.5+float64(i%100)*1e-3, 29.4+float64(i/100)*1e-3)
	}
	good.WriteString("]}")
	b := strings.Replace(good.String(), `"id":11000,"geometry":{"type":"Point","coordinates":[`, `"id":11000,"geometry":{"type":"Point","coordinates":[29.4,`, 1)
	bad.WriteString(b)
	goodPath, badPath := filepath.Join(dir, "good.geojson"), filepath.Join(dir, "bad.geojson")
	if err := os.WriteFile(goodPath, []byte(good.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(badPath, []byte(bad.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		st, err := postgis.Open(context.Background(), db, nil, postgis.WithoutMigrate())
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		n, err := st.Count(context.Background(), layers.Query{Layer: layers.WaterSources})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	e, _, _ := testEnv("import", "--layer", "water_sources", "--db", db, badPath)
	if err := run(context.Background(), e); err == nil || !strings.Contains(err.Error(), "feature 11000") || !strings.Contains(err.Error(), "nothing was written") {
		t.Errorf("import of a file with a bad row: %v", err)
	}
	if n := count(); n != 0 {
		t.Errorf("after the failed import: %d water sources, want 0", n)
	}
	for range 2 {
		out := runOK(t, "import", "--layer", "water_sources", "--db", db, goodPath)
		if !strings.Contains(out, "12000 read, 12000 written") || strings.Count(out, "recomputed in") != 1 || !strings.Contains(out, "water-coverage") {
			t.Errorf("import:\n%s", out)
		}
		if n := count(); n != 12000 {
			t.Errorf("after the import: %d water sources, want 12000", n)
		}
	}
}

// TestLoadFixturesPostGIS loads the demo twice (the second load replaces
// the first) and checks every layer's count and the derived layers.
func TestLoadFixturesPostGIS(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the demo dataset into PostGIS")
	}
	db := pgtest.Database(t)
	ds, err := fixtures.Generate(fixtures.Demo)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if out := runOK(t, "load-fixtures", "--db", db); !strings.Contains(out, fmt.Sprintf("generated %d features (demo)", ds.Count())) {
			t.Errorf("load-fixtures:\n%s", out)
		}
		cat := layers.NewCatalog()
		if _, err := analysis.New(cat, analysis.DefaultRules(), analysis.Default()...); err != nil {
			t.Fatal(err)
		}
		st, err := postgis.Open(context.Background(), db, cat, postgis.WithoutMigrate())
		if err != nil {
			t.Fatal(err)
		}
		stats, err := st.Stats(context.Background())
		st.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range ds.Layers {
			if stats[l.Layer].Count != len(l.Features) {
				t.Errorf("%s: %d features, want %d", l.Layer, stats[l.Layer].Count, len(l.Features))
			}
		}
		if stats[analysis.RiskCells].Count == 0 {
			t.Error("the analyses wrote no risk cells")
		}
	}
}
