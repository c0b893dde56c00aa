package postgis_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"riskmap/layers"
	"riskmap/layers/postgis"
	"riskmap/layers/postgis/pgtest"
)

// TestOutage stops the database under an open store: calls fail fast with
// ErrUnavailable (no hang), and the same store works again once the
// database is back, without being reopened.
func TestOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts its own PostgreSQL cluster")
	}
	c := pgtest.Start(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.URL())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE EXTENSION postgis"); err != nil {
		conn.Close(ctx)
		t.Skipf("no PostGIS in the throwaway cluster: %v", err)
	}
	conn.Close(ctx)
	st, err := postgis.Open(ctx, c.URL(), layers.NewCatalog(), postgis.WithConnectTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f := layers.Feature{ID: 1, Geometry: orb.Point{106.5, 29.4}, Props: map[string]any{"kind": "hydrant", "status": "in_service"}}
	if err := st.Upsert(ctx, layers.WaterSources, []layers.Feature{f}); err != nil {
		t.Fatal(err)
	}

	c.Stop()
	start := time.Now()
	for _, call := range []func(context.Context) error{
		st.Ping,
		func(ctx context.Context) error {
			_, err := st.Count(ctx, layers.Query{Layer: layers.WaterSources})
			return err
		},
		func(ctx context.Context) error { return st.Upsert(ctx, layers.WaterSources, []layers.Feature{f}) },
	} {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := call(cctx)
		cancel()
		if !errors.Is(err, layers.ErrUnavailable) {
			t.Errorf("while down: %v, want an error wrapping ErrUnavailable", err)
		}
	}
	if el := time.Since(start); el > 6*time.Second {
		t.Errorf("three calls while down took %s: they must fail fast", el)
	}

	c.Startup()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := st.Count(ctx, layers.Query{Layer: layers.WaterSources})
		if err == nil && n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not recovered 5 s after the database came back: %d, %v", n, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
