package storetest

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/layers"
)

// The bulk tests go through layers.BeginBulk, so a store without its own
// layers.Bulk is checked through the gathering fallback.

// hydrants returns hydrants with ids from..to, named by round.
func hydrants(from, to int64, round string) []layers.Feature {
	var fs []layers.Feature
	for id := from; id <= to; id++ {
		fs = append(fs, hydrant(id, lon0+float64(id%100)*1e-4, lat0+float64(id/100)*1e-4, map[string]any{"name": round}))
	}
	return fs
}

// bulkWrite writes fs in batches of n through w and stops at the first error.
func bulkWrite(ctx context.Context, w layers.BulkWriter, fs []layers.Feature, n int) error {
	for i := 0; i < len(fs); i += n {
		if err := w.Write(ctx, fs[i:min(i+n, len(fs))]); err != nil {
			return err
		}
	}
	return nil
}

// wantLayer checks that the layer holds exactly want, in id order.
func wantLayer(t *testing.T, s layers.Store, layer string, want []layers.Feature) {
	t.Helper()
	got := queryAll(t, s, layers.Query{Layer: layer})
	if len(got) != len(want) {
		t.Fatalf("%s holds %d features, want %d", layer, len(got), len(want))
	}
	for i := range want {
		if d := sameFeature(got[i], want[i]); d != "" {
			t.Fatalf("%s feature %d: %s", layer, want[i].ID, d)
		}
	}
}

// testBulkLoad streams a layer in batches, with an id repeated in a later
// batch (the last one wins), then imports it again (idempotent).
func testBulkLoad(t *testing.T, open func() (layers.Store, error)) {
	s := openStore(t, open)
	old := hydrants(1, 3, "old")
	upsert(t, s, old...)
	fs := hydrants(1, 2500, "new")
	again := hydrant(5, lon0, lat0, map[string]any{"name": "again", "status": "faulty"})
	load := append(fs[:len(fs):len(fs)], again)
	want := append([]layers.Feature(nil), fs...)
	want[4] = again
	for round := range 2 {
		w, err := layers.BeginBulk(t.Context(), s, layers.WaterSources)
		if err != nil {
			t.Fatalf("round %d: begin: %v", round, err)
		}
		if err := bulkWrite(t.Context(), w, load, 1000); err != nil {
			t.Fatalf("round %d: write: %v", round, err)
		}
		if round == 0 {
			// nothing is visible before Commit
			wantLayer(t, s, layers.WaterSources, old)
		}
		if err := w.Commit(t.Context()); err != nil {
			t.Fatalf("round %d: commit: %v", round, err)
		}
		if err := w.Rollback(t.Context()); err != nil {
			t.Errorf("round %d: rollback after commit: %v", round, err)
		}
		wantLayer(t, s, layers.WaterSources, want)
	}
	// an empty import changes nothing
	w, err := layers.BeginBulk(t.Context(), s, layers.WaterSources)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(t.Context()); err != nil {
		t.Fatalf("empty commit: %v", err)
	}
	wantLayer(t, s, layers.WaterSources, want)
}

// testBulkEmptyLayer loads a layer that holds nothing (a store may take a
// faster path then), with an id repeated in the last batch, and checks
// that queries work afterwards.
func testBulkEmptyLayer(t *testing.T, open func() (layers.Store, error)) {
	s := openStore(t, open)
	fs := hydrants(1, 3000, "first")
	again := hydrant(5, lon0, lat0, map[string]any{"name": "again"})
	w, err := layers.BeginBulk(t.Context(), s, layers.WaterSources)
	if err != nil {
		t.Fatal(err)
	}
	if err := bulkWrite(t.Context(), w, append(fs[:len(fs):len(fs)], again, hydrant(3001, lon0, lat0, nil)), 1000); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := append(append([]layers.Feature(nil), fs...), hydrant(3001, lon0, lat0, nil))
	want[4] = again
	wantLayer(t, s, layers.WaterSources, want)
	fs = fs[5:] // the checks below look for a feature that was not replaced
	q := layers.Query{Layer: layers.WaterSources, BBox: fs[0].Geometry.Bound().Pad(1e-6)}
	if got := ids(queryAll(t, s, q)); len(got) != 1 || got[0] != fs[0].ID {
		t.Errorf("bbox query after the load = %v, want [%d]", got, fs[0].ID)
	}
	nn, err := s.Nearest(t.Context(), layers.NearestQuery{Layer: layers.WaterSources, Point: fs[0].Geometry.Bound().Center(), K: 1})
	if err != nil || len(nn) != 1 || nn[0].Feature.ID != fs[0].ID {
		t.Errorf("nearest after the load = %v, %v", nn, err)
	}
}

// testBulkAllOrNothing: one bad feature in a later batch and the whole
// import is discarded.
func testBulkAllOrNothing(t *testing.T, open func() (layers.Store, error)) {
	s := openStore(t, open)
	old := hydrants(1, 3, "old")
	upsert(t, s, old...)
	fs := hydrants(1, 3000, "new")
	fs[2500].Geometry = orb.Point{math.NaN(), lat0}
	w, err := layers.BeginBulk(t.Context(), s, layers.WaterSources)
	if err != nil {
		t.Fatal(err)
	}
	err = bulkWrite(t.Context(), w, fs, 1000)
	if err == nil {
		err = w.Commit(t.Context())
	} else if cerr := w.Commit(t.Context()); cerr == nil {
		t.Error("commit after a failed write succeeded")
	}
	if !errors.Is(err, layers.ErrInvalid) {
		t.Errorf("import with a bad feature = %v, want an error wrapping ErrInvalid", err)
	}
	if err := w.Rollback(t.Context()); err != nil {
		t.Errorf("rollback: %v", err)
	}
	wantLayer(t, s, layers.WaterSources, old)
	upsert(t, s, hydrant(9, lon0, lat0, nil)) // the layer is not left locked
}

// testBulkCanceled: the context is cancelled midway and nothing lands.
func testBulkCanceled(t *testing.T, open func() (layers.Store, error)) {
	for _, prefilled := range []bool{false, true} {
		s := openStore(t, open)
		var old []layers.Feature
		if prefilled {
			old = hydrants(1, 3, "old")
			upsert(t, s, old...)
		}
		fs := hydrants(1, 3000, "new")
		ctx, cancel := context.WithCancel(t.Context())
		w, err := layers.BeginBulk(ctx, s, layers.WaterSources)
		if err != nil {
			t.Fatal(err)
		}
		if err := bulkWrite(ctx, w, fs[:2000], 1000); err != nil {
			t.Fatal(err)
		}
		cancel()
		err = w.Write(ctx, fs[2000:])
		if err == nil {
			err = w.Commit(ctx)
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("prefilled %v: import cancelled midway = %v, want an error wrapping context.Canceled", prefilled, err)
		}
		if err := w.Rollback(context.WithoutCancel(ctx)); err != nil {
			t.Logf("rollback after cancel: %v", err) // the connection may be gone: the server rolled back
		}
		wantLayer(t, s, layers.WaterSources, old)
		s.Close()
	}
}
