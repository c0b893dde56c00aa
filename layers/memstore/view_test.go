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
