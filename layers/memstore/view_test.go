package memstore

import (
	"reflect"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/layers"
)

// TestViewLendsQueryCopies checks the two read paths on the same stored
// feature: View hands out the store's own geometry and property map
// (the same memory on every call, no allocation per feature), Query a
// copy that the caller may modify without touching the store.
func TestViewLendsQueryCopies(t *testing.T) {
	ctx := t.Context()
	s := New()
	ring := orb.Ring{{106.5, 29.4}, {106.501, 29.4}, {106.501, 29.401}, {106.5, 29.401}, {106.5, 29.4}}
	in := layers.Feature{Layer: layers.Buildings, ID: 7, Geometry: orb.Polygon{ring}, Props: map[string]any{"use": "school", "floors": int64(4)}}
	if err := s.Upsert(ctx, layers.Buildings, []layers.Feature{in}); err != nil {
		t.Fatal(err)
	}
	q := layers.Query{Layer: layers.Buildings, BBox: orb.Bound{Min: orb.Point{106.4, 29.3}, Max: orb.Point{106.6, 29.5}}}
	read := func(name string, fn func(layers.Query, func(layers.Feature) error) error) layers.Feature {
		t.Helper()
		var got []layers.Feature
		if err := fn(q, func(f layers.Feature) error { got = append(got, f); return nil }); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(got) != 1 || got[0].ID != 7 {
			t.Fatalf("%s: got %v, want feature 7", name, got)
		}
		return got[0]
	}
	view := func(q layers.Query, fn func(layers.Feature) error) error { return s.View(ctx, q, fn) }
	query := func(q layers.Query, fn func(layers.Feature) error) error { return s.Query(ctx, q, fn) }

	v1, v2 := read("view", view), read("view", view)
	if !sameMemory(v1, v2) {
		t.Error("two Views lent different memory: View copies")
	}
	q1 := read("query", query)
	if sharesAny(q1, v1) {
		t.Error("Query shares memory with the stored feature")
	}
	// a caller mutating Query's copy leaves the store (and View) intact
	q1.Geometry.(orb.Polygon)[0][0] = orb.Point{0, 0}
	q1.Props["use"] = "changed"
	v3 := read("view", view)
	if v3.Geometry.(orb.Polygon)[0][0] != ring[0] || v3.Props["use"] != "school" {
		t.Errorf("stored feature changed through Query's copy: %v %v", v3.Geometry, v3.Props)
	}
	// View allocates nothing per feature beyond the query's item list
	if n := testing.AllocsPerRun(50, func() { _ = s.View(ctx, q, func(layers.Feature) error { return nil }) }); n > 2 {
		t.Errorf("View of one feature allocates %v times, want ≤ 2", n)
	}
}

func ringOf(f layers.Feature) orb.Ring { return f.Geometry.(orb.Polygon)[0] }

func sameMemory(a, b layers.Feature) bool {
	return &ringOf(a)[0] == &ringOf(b)[0] &&
		reflect.ValueOf(a.Props).UnsafePointer() == reflect.ValueOf(b.Props).UnsafePointer()
}

func sharesAny(a, b layers.Feature) bool {
	return &ringOf(a)[0] == &ringOf(b)[0] ||
		reflect.ValueOf(a.Props).UnsafePointer() == reflect.ValueOf(b.Props).UnsafePointer()
}

// TestNearestViewLends checks that NearestView hands out the stored
// features (the memory View lends) where Nearest copies, and that a small
// nearest query over points allocates nothing.
func TestNearestViewLends(t *testing.T) {
	ctx := t.Context()
	s := New()
	var fs []layers.Feature
	for i := range 50 {
		ring := orb.Ring{{106.5 + float64(i)*0.001, 29.4}, {106.5005 + float64(i)*0.001, 29.4}, {106.5005 + float64(i)*0.001, 29.4005}, {106.5 + float64(i)*0.001, 29.4}}
		fs = append(fs, layers.Feature{Layer: layers.Buildings, ID: int64(i + 1), Geometry: orb.Polygon{ring}, Props: map[string]any{"use": "school"}})
	}
	if err := s.Upsert(ctx, layers.Buildings, fs); err != nil {
		t.Fatal(err)
	}
	q := layers.NearestQuery{Layer: layers.Buildings, Point: orb.Point{106.52, 29.401}, K: 5}
	var lent []layers.Feature
	if err := s.NearestView(ctx, q, func(n layers.Neighbor) error { lent = append(lent, n.Feature); return nil }); err != nil {
		t.Fatal(err)
	}
	copies, err := s.Nearest(ctx, q)
	if err != nil || len(copies) != 5 || len(lent) != 5 {
		t.Fatalf("nearest: %d copies, %d lent, %v; want 5", len(copies), len(lent), err)
	}
	for i, f := range lent {
		var viewed layers.Feature
		if err := s.View(ctx, layers.Query{Layer: layers.Buildings, AfterID: f.ID - 1, Limit: 1}, func(v layers.Feature) error { viewed = v; return nil }); err != nil {
			t.Fatal(err)
		}
		if !sameMemory(f, viewed) {
			t.Errorf("neighbour %d: NearestView copied", f.ID)
		}
		if sharesAny(copies[i].Feature, f) {
			t.Errorf("neighbour %d: Nearest shares memory with the store", f.ID)
		}
	}
	// over points (whose distance needs no projection) a small query
	// allocates nothing
	var hs []layers.Feature
	for i := range 50 {
		hs = append(hs, layers.Feature{Layer: layers.WaterSources, ID: int64(i + 1), Geometry: orb.Point{106.5 + float64(i)*0.001, 29.4}, Props: map[string]any{"kind": "hydrant"}})
	}
	if err := s.Upsert(ctx, layers.WaterSources, hs); err != nil {
		t.Fatal(err)
	}
	q.Layer = layers.WaterSources
	if n := testing.AllocsPerRun(50, func() { _ = s.NearestView(ctx, q, func(layers.Neighbor) error { return nil }) }); n > 0 {
		t.Errorf("NearestView of 5 points allocates %v times, want 0", n)
	}
}
