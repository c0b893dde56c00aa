package pgtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// AdminURL is the server Database creates databases on:
// RISKMAP_TEST_DATABASE_URL, else the local PostgreSQL on 127.0.0.1:5432.
func AdminURL() string {
	if u := os.Getenv("RISKMAP_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// Database creates an empty database with PostGIS for one test, dropped
// when the test ends, and returns its URL. Without a reachable server with
// PostGIS the test is skipped locally and fails when CI=true.
func Database(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	fail := func(format string, a ...any) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostGIS is required in CI: "+format, a...)
		}
		t.Skipf("no PostGIS: "+format, a...)
	}
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		fail("%v", err)
	}
	defer admin.Close(ctx)
	name := fmt.Sprintf("riskmap_test_%d", rand.Uint64()%1e12)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		fail("%v", err)
	}
	t.Cleanup(func() {
		if c, err := pgx.Connect(context.Background(), AdminURL()); err == nil {
			_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(context.Background())
		}
	})
	u, err := url.Parse(AdminURL())
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
