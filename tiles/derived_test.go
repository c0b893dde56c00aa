package tiles

import (
	"context"
	"slices"
	"testing"

	"riskmap/fixtures"
	"riskmap/layers"
	"riskmap/layers/analysis"
	"riskmap/layers/memstore"
)

// TestDerivedLayerTiles serves the derived layers of the water-coverage
// analysis like base layers and follows an edit through the chain: the
// faulty hydrant of the known case "water-gap-yudong" is repaired through
// the Observed store, the engine updates its derived layers, and exactly
// the tiles around it change.
func TestDerivedLayerTiles(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the demo into a store of its own and runs the water analysis")
	}
	ctx := context.Background()
	mem := memstore.New()
	if err := demoData(t).Load(ctx, mem, nil); err != nil {
		t.Fatal(err)
	}
	obs := layers.Observe(mem)
	cat := layers.NewCatalog()
	eng, err := analysis.New(cat, analysis.DefaultRules(), analysis.NewWater())
	if err != nil {
		t.Fatal(err)
	}
	eng.Attach(obs, func(err error) { t.Errorf("analysis update: %v", err) })
	if err := eng.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	h := NewHandler(New(obs, cat), NewCache(16<<20))
	h.Watch(obs)
	srv := testServer(h)

	var gap, far fixtures.Case
	for _, c := range fixtures.Cases() {
		switch c.ID {
		case "water-gap-yudong":
			gap = c
		case "water-151m":
			far = c
		}
	}
	list := "uncovered_buildings,water_gaps,water_sources"
	near := tileAt(gap.Point, 15)
	nearPath, farPath := tilePath(list, near), tilePath(list, tileAt(far.Point, 15))

	rec := get(t, srv, nearPath)
	if rec.Code != 200 {
		t.Fatalf("%s: %d %s", nearPath, rec.Code, rec.Body)
	}
	ls := checkMVT(t, rec.Body.Bytes())
	if got := layerNames(ls); !slices.Equal(got, []string{"uncovered_buildings", "water_gaps", "water_sources"}) {
		t.Fatalf("layers %v", got)
	}
	unc := featureIDs(find(ls, "uncovered_buildings"))
	for _, id := range gap.FeatureIDs {
		if !slices.Contains(unc, id) {
			t.Errorf("uncovered building %d of the known gap is not in tile %v (%v)", id, near, unc)
		}
	}
	nearTag, farTag := rec.Header().Get("ETag"), get(t, srv, farPath).Header().Get("ETag")

	// Repair the faulty hydrant.
	var hydrant layers.Feature
	err = obs.Query(ctx, layers.Query{Layer: layers.WaterSources, BBox: near.Bound(), Filters: []layers.Filter{layers.Eq("status", "faulty")}},
		func(f layers.Feature) error {
			if f.Props["name"] == "鱼洞故障消火栓" {
				hydrant = f
			}
			return nil
		})
	if err != nil || hydrant.ID == 0 {
		t.Fatalf("the faulty hydrant of the case: %v", err)
	}
	hydrant.Props["status"] = "in_service"
	if err := obs.Upsert(ctx, layers.WaterSources, []layers.Feature{hydrant}); err != nil {
		t.Fatal(err)
	}
	rec = get(t, srv, nearPath)
	if rec.Header().Get("ETag") == nearTag {
		t.Fatal("the tile of the repaired hydrant kept its ETag")
	}
	after := []int64(nil)
	if rec.Code == 200 {
		if l := find(decode(t, rec.Body.Bytes()), "uncovered_buildings"); l != nil {
			after = featureIDs(l)
		}
	}
	for _, id := range gap.FeatureIDs {
		if slices.Contains(after, id) {
			t.Errorf("building %d is still uncovered in the tile after the repair", id)
		}
	}
	if get(t, srv, farPath).Header().Get("ETag") != farTag {
		t.Error("a tile far from the repair changed")
	}
}
