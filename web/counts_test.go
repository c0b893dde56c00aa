package web_test

import (
	"context"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/layers"
)

// TestCountsFollowWrites: numberMatched is remembered between pages over
// an observed store, and a write to the layer makes it count again.
func TestCountsFollowWrites(t *testing.T) {
	srv, st := newServer(t)
	var p struct{ NumberMatched int }
	target := srv.URL + "/api/collections/water_sources/items?limit=1&status=in_service"
	if get(t, target, &p); p.NumberMatched != 225 {
		t.Fatalf("numberMatched %d, want 225", p.NumberMatched)
	}
	f := layers.Feature{Layer: layers.WaterSources, ID: 1000, Geometry: orb.Point{106.6, 29.4},
		Props: map[string]any{"kind": "hydrant", "status": "in_service"}}
	if err := st.Upsert(context.Background(), layers.WaterSources, []layers.Feature{f}); err != nil {
		t.Fatal(err)
	}
	if get(t, target+"&after=5", &p); p.NumberMatched != 226 {
		t.Errorf("after a write: numberMatched %d, want 226", p.NumberMatched)
	}
	if err := st.Delete(context.Background(), layers.WaterSources, []int64{1000, 2}); err != nil {
		t.Fatal(err)
	}
	if get(t, target, &p); p.NumberMatched != 224 {
		t.Errorf("after a delete: numberMatched %d, want 224", p.NumberMatched)
	}
}
