package postgis_test

import (
	"context"
	"math"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/fixtures"
	"riskmap/layers"
	"riskmap/layers/memstore"
	"riskmap/layers/postgis"
	"riskmap/layers/postgis/pgtest"
)

// TestEquivalence loads the demo dataset into both stores and checks that
// the same queries give the same answers: ids of bbox and filter queries,
// counts, pages, and nearest features with distances within 0.5 %.
func TestEquivalence(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the demo dataset into PostGIS")
	}
	ctx := context.Background()
	dsn := pgtest.Database(t)
	pg, err := postgis.Open(ctx, dsn, layers.NewCatalog())
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	ds, err := fixtures.Generate(fixtures.Demo)
	if err != nil {
		t.Fatal(err)
	}
	mem := memstore.New()
	for _, st := range []layers.Store{mem, pg} {
		if err := ds.Load(ctx, st, nil); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(st layers.Store, q layers.Query) []int64 {
		var out []int64
		if err := st.Query(ctx, q, func(f layers.Feature) error { out = append(out, f.ID); return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	yudong := orb.Bound{Min: orb.Point{106.52, 29.375}, Max: orb.Point{106.55, 29.40}}
	queries := []layers.Query{
		{Layer: layers.Buildings, BBox: yudong},
		{Layer: layers.WaterSources, BBox: yudong, Filters: []layers.Filter{layers.Eq("status", "faulty")}},
		{Layer: layers.Enterprises, Filters: []layers.Filter{{Field: "risk_level", Op: layers.OpIn, Values: []any{"red", "orange"}}, {Field: "staff", Op: layers.OpGe, Values: []any{int64(300)}}}},
		{Layer: layers.Hazards, Filters: []layers.Filter{layers.Eq("major", true)}, AfterID: 100, Limit: 50},
		{Layer: layers.LifeLanes, Filters: []layers.Filter{{Field: "width_m", Op: layers.OpLt, Values: []any{4.0}}}},
		{Layer: layers.FloodSpots, Filters: []layers.Filter{{Field: "grade", Op: layers.OpIsNull}}},
		{Layer: layers.Roads, BBox: yudong, Filters: []layers.Filter{layers.Eq("class", "arterial")}},
	}
	for i, q := range queries {
		a, b := ids(mem, q), ids(pg, q)
		if len(a) != len(b) {
			t.Errorf("query %d (%s): memory %d features, postgis %d", i, q.Layer, len(a), len(b))
			continue
		}
		for k := range a {
			if a[k] != b[k] {
				t.Errorf("query %d (%s): feature %d differs: %d vs %d", i, q.Layer, k, a[k], b[k])
				break
			}
		}
		if len(a) == 0 && i < 4 {
			t.Errorf("query %d (%s) matched nothing: not a useful comparison", i, q.Layer)
		}
		na, _ := mem.Count(ctx, q)
		nb, err := pg.Count(ctx, q)
		if err != nil || na != nb {
			t.Errorf("query %d: count %d vs %d (%v)", i, na, nb, err)
		}
	}
	for _, p := range []orb.Point{{106.535, 29.39}, {106.874, 29.306}, {106.70, 29.30}} {
		for _, layer := range []string{layers.WaterSources, layers.Buildings, layers.Pipelines} {
			q := layers.NearestQuery{Layer: layer, Point: p, K: 5}
			a, err := mem.Nearest(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			b, err := pg.Nearest(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if len(a) != len(b) {
				t.Fatalf("nearest %s at %v: %d vs %d", layer, p, len(a), len(b))
			}
			for k := range a {
				da, db := a[k].DistanceM, b[k].DistanceM
				if math.Abs(da-db) > 0.005*math.Max(da, 1) {
					t.Errorf("nearest %s at %v #%d: %.2f m (memory, id %d) vs %.2f m (postgis, id %d)", layer, p, k, da, a[k].Feature.ID, db, b[k].Feature.ID)
				} else if a[k].Feature.ID != b[k].Feature.ID && math.Abs(da-db) > 0.01 {
					t.Errorf("nearest %s at %v #%d: id %d vs %d", layer, p, k, a[k].Feature.ID, b[k].Feature.ID)
				}
			}
		}
	}
}
