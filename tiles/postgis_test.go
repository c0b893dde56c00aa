package tiles

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb/maptile"
	"github.com/paulmach/orb/maptile/tilecover"

	"riskmap/layers"
	"riskmap/layers/postgis"
)

// pgAdminURL is the server the PostGIS test creates its database on:
// RISKMAP_TEST_DATABASE_URL, else the local PostgreSQL on 127.0.0.1:5432.
func pgAdminURL() string {
	if u := os.Getenv("RISKMAP_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// pgDatabase creates an empty database with PostGIS for one test and
// drops it afterwards. Without a reachable PostGIS the test is skipped
// locally and fails in CI.
func pgDatabase(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	fail := func(format string, a ...any) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostGIS is required in CI: "+format, a...)
		}
		t.Skipf("no PostGIS: "+format, a...)
	}
	admin, err := pgx.Connect(ctx, pgAdminURL())
	if err != nil {
		fail("%v", err)
	}
	defer admin.Close(ctx)
	name := fmt.Sprintf("riskmap_tiles_test_%d", rand.Uint64()%1e12)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		fail("%v", err)
	}
	t.Cleanup(func() {
		if c, err := pgx.Connect(context.Background(), pgAdminURL()); err == nil {
			_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(context.Background())
		}
	})
	u, err := url.Parse(pgAdminURL())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	db, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	if _, err := db.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS postgis"); err != nil {
		fail("%v", err)
	}
	return u.String()
}

// TestPostGISTilesMatchMemstore renders the same demo tiles from the
// embedded store and from PostGIS: one code path, so the tiles must be
// byte for byte the same (H3 layers included: each renderer builds its
// index from its own store).
func TestPostGISTilesMatchMemstore(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the demo dataset into PostGIS")
	}
	ctx := context.Background()
	pg, err := postgis.Open(ctx, pgDatabase(t), layers.NewCatalog())
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	if err := demoData(t).Load(ctx, pg, nil); err != nil {
		t.Fatal(err)
	}
	mem := demoRenderer(t)
	pgr := New(pg, layers.NewCatalog())
	var sample []maptile.Tile
	for z := maptile.Zoom(12); z <= 16; z++ {
		sample = append(sample, maptile.At(yudongCentre, z))
	}
	for z := maptile.Zoom(8); z <= 10; z++ {
		for tl := range tilecover.Bound(demoExtent(t), z) {
			sample = append(sample, tl)
		}
	}
	nonEmpty := 0
	for _, tl := range sample {
		a, err := mem.Render(ctx, tl, allIDs())
		if err != nil {
			t.Fatal(err)
		}
		b, err := pgr.Render(ctx, tl, allIDs())
		if err != nil {
			t.Fatal(err)
		}
		if a != nil {
			nonEmpty++
		}
		if !bytes.Equal(a, b) {
			t.Errorf("tile %v: memstore %d bytes, PostGIS %d bytes differ", tl, len(a), len(b))
			if a != nil && b != nil {
				ja, jb := string(goldenJSON(t, a)), string(goldenJSON(t, b))
				for i := 0; i < min(len(ja), len(jb)); i++ {
					if ja[i] != jb[i] {
						t.Logf("first difference at %d:\nmem: %s\npg:  %s", i, ja[max(0, i-300):min(len(ja), i+200)], jb[max(0, i-300):min(len(jb), i+200)])
						break
					}
				}
			}
		}
	}
	if nonEmpty == 0 {
		t.Fatal("every sampled tile is empty")
	}
	t.Logf("%d tiles compared, %d non-empty", len(sample), nonEmpty)
}
