package storetest

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/layers"
)

// lon0, lat0 is a point in Banan around which the small tests place data.
const lon0, lat0 = 106.54, 29.40

func testUpsertGet(t *testing.T, open func() (layers.Store, error)) {
	s := openStore(t, open)
	h := hydrant(7, lon0, lat0, map[string]any{"name": "鱼洞 1号", "flow_lps": 15.5, "key_area": true, "town": "鱼洞"})
	b := building(3, lon0+0.01, lat0, 20, map[string]any{"floors": int64(18), "height_m": 54.0, "use": "high_rise"})
	mb := layers.Feature{Layer: layers.Buildings, ID: 4, Props: map[string]any{"use": "warehouse"},
		Geometry: orb.MultiPolygon{square(lon0, lat0+0.01, 30), square(lon0+0.001, lat0+0.01, 10)}}
	p := pipeline(9, orb.LineString{{lon0, lat0}, {lon0 + 0.02, lat0 + 0.01}, {lon0 + 0.03, lat0}},
		map[string]any{"class": "gas_long", "diameter_mm": 610.0, "inspection_valid_until": "2027-06-30"})
	upsert(t, s, h)
	upsert(t, s, b, mb)
	upsert(t, s, p)
	for _, want := range []layers.Feature{h, b, mb, p} {
		checkFeature(t, get(t, s, want.Layer, want.ID), want)
	}
	got := queryAll(t, s, layers.Query{Layer: layers.Buildings})
	if !slices.Equal(ids(got), []int64{3, 4}) {
		t.Fatalf("query buildings: ids %v, want [3 4]", ids(got))
	}
	checkFeature(t, got[0], b)
	checkFeature(t, got[1], mb)
}

func testUpsertReplaces(t *testing.T, open func() (layers.Store, error)) {
	s := openStore(t, open)
	old := building(1, lon0, lat0, 20, map[string]any{"floors": int64(3), "name": "old"})
	upsert(t, s, old, building(2, lon0+0.05, lat0, 20, nil))
	repl := building(1, lon0+0.1, lat0+0.1, 40, map[string]any{"use": "school", "height_m": 12.5})
	upsert(t, s, repl)
	checkFeature(t, get(t, s, layers.Buildings, 1), repl)
	if n := count(t, s, layers.Query{Layer: layers.Buildings}); n != 2 {
		t.Errorf("count = %d, want 2", n)
	}
	if got := ids(queryAll(t, s, layers.Query{Layer: layers.Buildings})); !slices.Equal(got, []int64{1, 2}) {
		t.Errorf("query ids = %v, want [1 2]", got)
	}
	// the old geometry is no longer indexed, the new one is
	if got := queryAll(t, s, layers.Query{Layer: layers.Buildings, BBox: old.Geometry.Bound()}); len(got) != 0 {
		t.Errorf("bbox of the old geometry finds %v", ids(got))
	}
	got := queryAll(t, s, layers.Query{Layer: layers.Buildings, BBox: repl.Geometry.Bound()})
	if len(got) != 1 {
		t.Fatalf("bbox of the new geometry finds %v, want [1]", ids(got))
	}
	checkFeature(t, got[0], repl)
	if n, _ := s.Nearest(t.Context(), layers.NearestQuery{Layer: layers.Buildings, Point: orb.Point{lon0, lat0}, K: 1}); len(n) != 1 || n[0].Feature.ID != 2 {
		t.Errorf("nearest to the old place = %v, want feature 2", n)
	}
}

func testUpsertAllOrNothing(t *testing.T, open func() (layers.Store, error)) {
	s := openStore(t, open)
	v1 := hydrant(100, lon0, lat0, map[string]any{"name": "v1"})
	upsert(t, s, v1)
	v2 := hydrant(100, lon0+0.01, lat0, map[string]any{"name": "v2"})
	fresh := hydrant(101, lon0, lat0+0.01, nil)
	bad := func(f layers.Feature, mod func(*layers.Feature)) layers.Feature { mod(&f); return f }
	cases := []struct {
		name  string
		layer string
		fs    []layers.Feature
	}{
		{"nil geometry", layers.WaterSources, []layers.Feature{v2, fresh, bad(hydrant(102, 0, 0, nil), func(f *layers.Feature) { f.Geometry = nil })}},
		{"id 0", layers.WaterSources, []layers.Feature{v2, fresh, hydrant(0, lon0, lat0, nil)}},
		{"negative id", layers.WaterSources, []layers.Feature{v2, hydrant(-5, lon0, lat0, nil), fresh}},
		{"NaN coordinate", layers.WaterSources, []layers.Feature{v2, fresh, hydrant(103, math.NaN(), lat0, nil)}},
		{"NaN in a polygon", layers.Buildings, []layers.Feature{building(1, lon0, lat0, 10, nil),
			bad(building(2, lon0, lat0, 10, nil), func(f *layers.Feature) { f.Geometry.(orb.Polygon)[0][2][1] = math.NaN() })}},
		{"empty layer name", "", []layers.Feature{fresh}},
	}
	for _, c := range cases {
		err := s.Upsert(t.Context(), c.layer, c.fs)
		if !errors.Is(err, layers.ErrInvalid) {
			t.Errorf("%s: upsert = %v, want an error wrapping ErrInvalid", c.name, err)
		}
	}
	checkFeature(t, get(t, s, layers.WaterSources, 100), v1)
	wantNotFound(t, s, layers.WaterSources, 101)
	if n := count(t, s, layers.Query{Layer: layers.WaterSources}); n != 1 {
		t.Errorf("water sources: count %d, want 1", n)
	}
	if n := count(t, s, layers.Query{Layer: layers.Buildings}); n != 0 {
		t.Errorf("buildings: count %d, want 0", n)
	}
}

func testDelete(t *testing.T, open func() (layers.Store, error)) {
	s := openStore(t, open)
	var fs []layers.Feature
	for i := int64(1); i <= 5; i++ {
		fs = append(fs, hydrant(i, lon0+float64(i)*0.001, lat0, nil))
	}
	upsert(t, s, fs...)
	if err := s.Delete(t.Context(), layers.WaterSources, []int64{2, 4, 999}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if err := s.Delete(t.Context(), layers.WaterSources, nil); err != nil {
		t.Fatalf("delete nothing: %v", err)
	}
	if err := s.Delete(t.Context(), layers.Buildings, []int64{1}); err != nil {
		t.Fatalf("delete from an empty layer: %v", err)
	}
	wantNotFound(t, s, layers.WaterSources, 2)
	wantNotFound(t, s, layers.WaterSources, 4)
	if n := count(t, s, layers.Query{Layer: layers.WaterSources}); n != 3 {
		t.Errorf("count = %d, want 3", n)
	}
	bbox := orb.Bound{Min: orb.Point{lon0, lat0 - 0.01}, Max: orb.Point{lon0 + 0.01, lat0 + 0.01}}
	if got := ids(queryAll(t, s, layers.Query{Layer: layers.WaterSources, BBox: bbox})); !slices.Equal(got, []int64{1, 3, 5}) {
		t.Errorf("bbox query = %v, want [1 3 5]", got)
	}
	n, err := s.Nearest(t.Context(), layers.NearestQuery{Layer: layers.WaterSources, Point: orb.Point{lon0 + 0.002, lat0}, K: 1})
	if err != nil || len(n) != 1 || n[0].Feature.ID == 2 {
		t.Errorf("nearest to a deleted feature = %v, %v", n, err)
	}
	// a deleted id can be written again
	upsert(t, s, hydrant(2, lon0, lat0, nil))
	get(t, s, layers.WaterSources, 2)
}

func testGetUnknown(t *testing.T, open func() (layers.Store, error)) {
	s := openStore(t, open)
	wantNotFound(t, s, layers.WaterSources, 12345)
	upsert(t, s, hydrant(1, lon0, lat0, nil))
	wantNotFound(t, s, layers.WaterSources, 12345)
	wantNotFound(t, s, layers.Buildings, 1)
}

func testQueryBBox(t *testing.T, open func() (layers.Store, error)) {
	s := openStore(t, open)
	box := orb.Bound{Min: orb.Point{106.50, 29.40}, Max: orb.Point{106.52, 29.42}}
	pts := []layers.Feature{
		hydrant(1, 106.51, 29.41, nil),   // inside
		hydrant(2, 106.50, 29.41, nil),   // on the west edge
		hydrant(3, 106.52, 29.42, nil),   // on the north-east corner
		hydrant(4, 106.5201, 29.41, nil), // just east
		hydrant(5, 106.6, 29.5, nil),     // far
	}
	lines := []layers.Feature{
		pipeline(1, orb.LineString{{106.49, 29.41}, {106.53, 29.41}}, nil),                  // crosses, no vertex inside
		pipeline(2, orb.LineString{{106.49, 29.39}, {106.53, 29.43}}, nil),                  // diagonal through
		pipeline(3, orb.LineString{{106.53, 29.39}, {106.54, 29.45}}, nil),                  // east of it
		pipeline(4, orb.LineString{{106.49, 29.43}, {106.53, 29.43}, {106.53, 29.41}}, nil), // bounds meet, line does not
	}
	polys := []layers.Feature{
		building(1, 106.51, 29.41, 5000, nil),  // holds the box
		building(2, 106.51, 29.41, 20, nil),    // inside
		building(3, 106.525, 29.41, 1000, nil), // straddles the east edge
		building(4, 106.56, 29.41, 20, nil),    // outside
	}
	upsert(t, s, pts...)
	upsert(t, s, lines...)
	upsert(t, s, polys...)
	for _, c := range []struct {
		all  []layers.Feature
		want []int64
	}{{pts, []int64{1, 2, 3}}, {lines, []int64{1, 2, 4}}, {polys, []int64{1, 2, 3}}} {
		layer := c.all[0].Layer
		q := layers.Query{Layer: layer, BBox: box}
		if m := matching(c.all, q); !slices.Equal(m, c.want) {
			t.Fatalf("%s: the test's own expectation %v disagrees with Query.Match %v", layer, c.want, m)
		}
		if got := ids(queryAll(t, s, q)); !slices.Equal(got, c.want) {
			t.Errorf("%s: bbox query = %v, want %v", layer, got, c.want)
		}
		if n := count(t, s, q); n != len(c.want) {
			t.Errorf("%s: count = %d, want %d", layer, n, len(c.want))
		}
	}
	// a bbox that holds everything, one that holds nothing
	all := orb.Bound{Min: orb.Point{100, 20}, Max: orb.Point{110, 35}}
	if got := ids(queryAll(t, s, layers.Query{Layer: layers.WaterSources, BBox: all})); !slices.Equal(got, []int64{1, 2, 3, 4, 5}) {
		t.Errorf("bbox around everything = %v", got)
	}
	none := orb.Bound{Min: orb.Point{10, 10}, Max: orb.Point{11, 11}}
	if got := queryAll(t, s, layers.Query{Layer: layers.WaterSources, BBox: none}); len(got) != 0 {
		t.Errorf("bbox far away = %v", ids(got))
	}
}

func testQueryFilters(t *testing.T, open func() (layers.Store, error)) {
	s := openStore(t, open)
	bs := []layers.Feature{
		building(1, lon0, lat0, 20, map[string]any{"use": "residential", "floors": int64(6), "height_m": 18.0, "name": "A"}),
		building(2, lon0+0.001, lat0, 20, map[string]any{"use": "high_rise", "floors": int64(30), "height_m": 99.5, "name": "B"}),
		building(3, lon0+0.002, lat0, 20, map[string]any{"use": "school", "floors": int64(4), "height_m": 15.0}),
		building(4, lon0+0.003, lat0, 20, map[string]any{"use": "residential", "height_m": 24.0, "name": "D"}),
		building(5, lon0+0.004, lat0, 20, map[string]any{"use": "hospital", "floors": int64(12), "name": "E"}),
		building(6, lon0+0.005, lat0, 20, map[string]any{"use": "high_rise", "floors": int64(6), "height_m": 18.0, "name": "F"}),
	}
	es := []layers.Feature{
		enterprise(1, lon0, lat0, map[string]any{"major_hazard": true, "staff": int64(120), "risk_level": "red"}),
		enterprise(2, lon0+0.01, lat0, map[string]any{"major_hazard": false, "staff": int64(8)}),
		enterprise(3, lon0+0.02, lat0, map[string]any{"staff": int64(40), "risk_level": "orange"}),
		enterprise(4, lon0+0.03, lat0, map[string]any{"major_hazard": true, "risk_level": "orange"}),
	}
	upsert(t, s, bs...)
	upsert(t, s, es...)
	f := func(field string, op layers.Op, vals ...any) layers.Filter {
		return layers.Filter{Field: field, Op: op, Values: vals}
	}
	cases := []struct {
		name    string
		layer   string
		filters []layers.Filter
		want    []int64
	}{
		{"string =", layers.Buildings, []layers.Filter{layers.Eq("use", "residential")}, []int64{1, 4}},
		{"string <>", layers.Buildings, []layers.Filter{f("name", layers.OpNe, "B")}, []int64{1, 4, 5, 6}},
		{"string <", layers.Buildings, []layers.Filter{f("name", layers.OpLt, "D")}, []int64{1, 2}},
		{"string >=", layers.Buildings, []layers.Filter{f("name", layers.OpGe, "D")}, []int64{4, 5, 6}},
		{"string in", layers.Buildings, []layers.Filter{f("use", layers.OpIn, "school", "hospital", "warehouse")}, []int64{3, 5}},
		{"string is null", layers.Buildings, []layers.Filter{f("name", layers.OpIsNull)}, []int64{3}},
		{"int =", layers.Buildings, []layers.Filter{layers.Eq("floors", int64(6))}, []int64{1, 6}},
		{"int <>", layers.Buildings, []layers.Filter{f("floors", layers.OpNe, int64(6))}, []int64{2, 3, 5}},
		{"int <", layers.Buildings, []layers.Filter{f("floors", layers.OpLt, int64(6))}, []int64{3}},
		{"int <=", layers.Buildings, []layers.Filter{f("floors", layers.OpLe, int64(6))}, []int64{1, 3, 6}},
		{"int >", layers.Buildings, []layers.Filter{f("floors", layers.OpGt, int64(6))}, []int64{2, 5}},
		{"int >=", layers.Buildings, []layers.Filter{f("floors", layers.OpGe, int64(12))}, []int64{2, 5}},
		{"int in", layers.Buildings, []layers.Filter{f("floors", layers.OpIn, int64(4), int64(30), int64(7))}, []int64{2, 3}},
		{"int is null", layers.Buildings, []layers.Filter{f("floors", layers.OpIsNull)}, []int64{4}},
		{"float =", layers.Buildings, []layers.Filter{layers.Eq("height_m", 18.0)}, []int64{1, 6}},
		{"float <>", layers.Buildings, []layers.Filter{f("height_m", layers.OpNe, 18.0)}, []int64{2, 3, 4}},
		{"float <", layers.Buildings, []layers.Filter{f("height_m", layers.OpLt, 18.0)}, []int64{3}},
		{"float <=", layers.Buildings, []layers.Filter{f("height_m", layers.OpLe, 18.0)}, []int64{1, 3, 6}},
		{"float >", layers.Buildings, []layers.Filter{f("height_m", layers.OpGt, 18.5)}, []int64{2, 4}},
		{"float >=", layers.Buildings, []layers.Filter{f("height_m", layers.OpGe, 24.0)}, []int64{2, 4}},
		{"float in", layers.Buildings, []layers.Filter{f("height_m", layers.OpIn, 15.0, 99.5)}, []int64{2, 3}},
		{"float is null", layers.Buildings, []layers.Filter{f("height_m", layers.OpIsNull)}, []int64{5}},
		{"two filters", layers.Buildings, []layers.Filter{layers.Eq("floors", int64(6)), layers.Eq("use", "high_rise")}, []int64{6}},
		{"bool = true", layers.Enterprises, []layers.Filter{layers.Eq("major_hazard", true)}, []int64{1, 4}},
		{"bool = false", layers.Enterprises, []layers.Filter{layers.Eq("major_hazard", false)}, []int64{2}},
		{"bool <>", layers.Enterprises, []layers.Filter{f("major_hazard", layers.OpNe, true)}, []int64{2}},
		{"bool is null", layers.Enterprises, []layers.Filter{f("major_hazard", layers.OpIsNull)}, []int64{3}},
		{"bool in", layers.Enterprises, []layers.Filter{f("major_hazard", layers.OpIn, false, true)}, []int64{1, 2, 4}},
		{"enum in and int", layers.Enterprises, []layers.Filter{f("risk_level", layers.OpIn, "red", "orange"), f("staff", layers.OpGe, int64(40))}, []int64{1, 3}},
		{"no match", layers.Enterprises, []layers.Filter{layers.Eq("risk_level", "yellow")}, nil},
	}
	for _, c := range cases {
		all := bs
		if c.layer == layers.Enterprises {
			all = es
		}
		q := layers.Query{Layer: c.layer, Filters: c.filters}
		if m := matching(all, q); !slices.Equal(m, c.want) {
			t.Fatalf("%s: the test's expectation %v disagrees with Filter.Match %v", c.name, c.want, m)
		}
		if got := ids(queryAll(t, s, q)); !slices.Equal(got, c.want) {
			t.Errorf("%s: query = %v, want %v", c.name, got, c.want)
		}
		if n := count(t, s, q); n != len(c.want) {
			t.Errorf("%s: count = %d, want %d", c.name, n, len(c.want))
		}
		// the same with a bbox around everything but the last building
		q.BBox = orb.Bound{Min: orb.Point{lon0 - 0.01, lat0 - 0.01}, Max: orb.Point{lon0 + 0.0045, lat0 + 0.01}}
		want := matching(all, q)
		if got := ids(queryAll(t, s, q)); !slices.Equal(got, want) {
			t.Errorf("%s with a bbox: query = %v, want %v", c.name, got, want)
		}
	}
}

func testQueryOrderPaging(t *testing.T, open func() (layers.Store, error)) {
	s := openStore(t, open)
	const n = 250
	r := newRand(1)
	idsIn := r.Perm(n)
	var all []layers.Feature
	for _, i := range idsIn {
		id := int64(i*7 + 3) // gaps between ids
		status := []string{"in_service", "faulty", "planned"}[i%3]
		all = append(all, hydrant(id, lon0+r.Float64()*0.1, lat0+r.Float64()*0.1, map[string]any{"status": status}))
	}
	// several batches, in no particular id order
	for i := 0; i < n; i += 60 {
		upsert(t, s, all[i:min(i+60, n)]...)
	}
	queries := []layers.Query{
		{Layer: layers.WaterSources},
		{Layer: layers.WaterSources, Filters: []layers.Filter{layers.Eq("status", "faulty")}},
		{Layer: layers.WaterSources, BBox: orb.Bound{Min: orb.Point{lon0, lat0}, Max: orb.Point{lon0 + 0.06, lat0 + 0.07}}},
		{Layer: layers.WaterSources, BBox: orb.Bound{Min: orb.Point{lon0 + 0.02, lat0}, Max: orb.Point{lon0 + 0.1, lat0 + 0.05}},
			Filters: []layers.Filter{{Field: "status", Op: layers.OpNe, Values: []any{"planned"}}}},
	}
	for _, q := range queries {
		want := matching(all, q)
		if got := ids(queryAll(t, s, q)); !slices.Equal(got, want) {
			t.Fatalf("query %+v: %v, want %v", q, got, want)
		}
		for _, limit := range []int{1, 7, 100} {
			var paged []int64
			q := q
			q.Limit = limit
			for pages := 0; ; pages++ {
				if pages > len(want)+1 {
					t.Fatalf("query %+v: paging does not end", q)
				}
				got := ids(queryAll(t, s, q))
				if exp := page(want, q.AfterID, limit); !slices.Equal(got, exp) {
					t.Fatalf("query %+v: page %v, want %v", q, got, exp)
				}
				if c := count(t, s, q); c != len(want) {
					t.Fatalf("query %+v: count %d, want %d (AfterID and Limit are ignored)", q, c, len(want))
				}
				paged = append(paged, got...)
				if len(got) < limit {
					break
				}
				q.AfterID = got[len(got)-1]
			}
			if !slices.Equal(paged, want) {
				t.Errorf("query %+v paged by %d: %v, want %v", q, limit, paged, want)
			}
		}
	}
}

func testNearest(t *testing.T, open func() (layers.Store, error)) {
	s := openStore(t, open)
	r := newRand(2)
	var hs, ps, bs []layers.Feature
	for i := int64(1); i <= 60; i++ {
		status := "in_service"
		if i%4 == 0 {
			status = "faulty"
		}
		hs = append(hs, hydrant(i, lon0+r.Float64()*0.02, lat0+r.Float64()*0.02, map[string]any{"status": status, "flow_lps": float64(i % 20)}))
	}
	for i := int64(1); i <= 15; i++ {
		x, y := lon0+r.Float64()*0.02, lat0+r.Float64()*0.02
		ps = append(ps, pipeline(i, orb.LineString{{x, y}, {x + (r.Float64()-0.5)*0.01, y + (r.Float64()-0.5)*0.01}, {x + (r.Float64()-0.5)*0.01, y + 0.005}}, nil))
	}
	for i := int64(1); i <= 30; i++ {
		bs = append(bs, building(i, lon0+r.Float64()*0.02, lat0+r.Float64()*0.02, 10+r.Float64()*80, map[string]any{"floors": i % 7}))
	}
	// a large building the probe point lies inside
	bs = append(bs, building(99, lon0+0.01, lat0+0.01, 300, map[string]any{"use": "crowded"}))
	upsert(t, s, hs...)
	upsert(t, s, ps...)
	upsert(t, s, bs...)
	probe := orb.Point{lon0 + 0.0101, lat0 + 0.0099}
	cases := []struct {
		all []layers.Feature
		q   layers.NearestQuery
	}{
		{hs, layers.NearestQuery{Layer: layers.WaterSources, Point: probe, K: 5}},
		{hs, layers.NearestQuery{Layer: layers.WaterSources, Point: probe, K: 1}},
		{hs, layers.NearestQuery{Layer: layers.WaterSources, Point: probe, K: 7, Filters: []layers.Filter{layers.Eq("status", "faulty")}}},
		{hs, layers.NearestQuery{Layer: layers.WaterSources, Point: probe, K: 10, MaxDistanceM: 400}},
		{hs, layers.NearestQuery{Layer: layers.WaterSources, Point: probe, K: 100}}, // more than there are
		{hs, layers.NearestQuery{Layer: layers.WaterSources, Point: orb.Point{lon0 - 0.05, lat0 - 0.05}, K: 3}},
		{hs, layers.NearestQuery{Layer: layers.WaterSources, Point: orb.Point{lon0 - 0.05, lat0 - 0.05}, K: 3, MaxDistanceM: 100}}, // none
		{ps, layers.NearestQuery{Layer: layers.Pipelines, Point: probe, K: 4}},
		{ps, layers.NearestQuery{Layer: layers.Pipelines, Point: orb.Point{lon0 + 0.03, lat0 - 0.01}, K: 15}},
		{bs, layers.NearestQuery{Layer: layers.Buildings, Point: probe, K: 6}},
		{bs, layers.NearestQuery{Layer: layers.Buildings, Point: probe, K: 3, Filters: []layers.Filter{{Field: "floors", Op: layers.OpGt, Values: []any{int64(3)}}}}},
	}
	for _, c := range cases {
		got, err := s.Nearest(t.Context(), c.q)
		if err != nil {
			t.Fatalf("nearest %+v: %v", c.q, err)
		}
		checkNearest(t, got, c.all, c.q)
		checkNearestView(t, s, c.q, got)
	}
	// inside a polygon the distance is 0
	got, err := s.Nearest(t.Context(), layers.NearestQuery{Layer: layers.Buildings, Point: probe, K: 1})
	if err != nil || len(got) != 1 || got[0].Feature.ID != 99 || got[0].DistanceM != 0 {
		t.Errorf("nearest building to a point inside building 99 = %+v, %v; want 99 at 0 m", got, err)
	}
	// an empty layer
	got, err = s.Nearest(t.Context(), layers.NearestQuery{Layer: layers.FireStations, Point: probe, K: 3})
	if err != nil || len(got) != 0 {
		t.Errorf("nearest in an empty layer = %v, %v", got, err)
	}
}

func testNearestTies(t *testing.T, open func() (layers.Store, error)) {
	s := openStore(t, open)
	p := orb.Point{lon0, lat0}
	// three hydrants at one place, two at another, written out of id order
	upsert(t, s,
		hydrant(30, lon0+0.001, lat0, nil), hydrant(10, lon0+0.001, lat0, nil), hydrant(20, lon0+0.001, lat0, nil),
		hydrant(5, lon0+0.002, lat0, nil), hydrant(2, lon0+0.002, lat0, nil), hydrant(1, lon0+0.003, lat0, nil))
	for _, c := range []struct {
		k    int
		want []int64
	}{{1, []int64{10}}, {2, []int64{10, 20}}, {3, []int64{10, 20, 30}}, {4, []int64{10, 20, 30, 2}}, {6, []int64{10, 20, 30, 2, 5, 1}}} {
		got, err := s.Nearest(t.Context(), layers.NearestQuery{Layer: layers.WaterSources, Point: p, K: c.k})
		if err != nil {
			t.Fatal(err)
		}
		var g []int64
		for _, n := range got {
			g = append(g, n.Feature.ID)
		}
		if !slices.Equal(g, c.want) {
			t.Errorf("K=%d: %v, want %v (equal distances by id)", c.k, g, c.want)
		}
	}
}

func testStats(t *testing.T, open func() (layers.Store, error)) {
	s := openStore(t, open)
	st, err := s.Stats(t.Context())
	if err != nil || len(st) != 0 {
		t.Fatalf("stats of an empty store = %v, %v", st, err)
	}
	hs := []layers.Feature{hydrant(1, 106.5, 29.3, nil), hydrant(2, 106.7, 29.6, nil), hydrant(3, 106.6, 29.2, nil)}
	line := orb.LineString{{106.45, 29.5}, {106.9, 29.55}}
	upsert(t, s, hs...)
	upsert(t, s, pipeline(1, line, nil))
	upsert(t, s, building(1, 106.55, 29.45, 20, nil))
	if err := s.Delete(t.Context(), layers.Buildings, []int64{1}); err != nil {
		t.Fatal(err)
	}
	st, err = s.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]layers.LayerStats{
		layers.WaterSources: {Count: 3, Extent: orb.Bound{Min: orb.Point{106.5, 29.2}, Max: orb.Point{106.7, 29.6}}},
		layers.Pipelines:    {Count: 1, Extent: line.Bound()},
	}
	if len(st) != len(want) {
		t.Errorf("stats has layers %v, want %v", slices.Sorted(mapKeys(st)), slices.Sorted(mapKeys(want)))
	}
	for l, w := range want {
		g := st[l]
		if g.Count != w.Count || !boundNear(g.Extent, w.Extent) {
			t.Errorf("stats %s = %+v, want %+v", l, g, w)
		}
	}
	// deleting the extreme feature shrinks the extent
	if err := s.Delete(t.Context(), layers.WaterSources, []int64{2}); err != nil {
		t.Fatal(err)
	}
	st, _ = s.Stats(t.Context())
	if w := (orb.Bound{Min: orb.Point{106.5, 29.2}, Max: orb.Point{106.6, 29.3}}); st[layers.WaterSources].Count != 2 || !boundNear(st[layers.WaterSources].Extent, w) {
		t.Errorf("stats after delete = %+v, want 2 and %v", st[layers.WaterSources], w)
	}
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// boundNear compares extents to 1e-6 degrees (some databases keep extents
// in single precision).
func boundNear(a, b orb.Bound) bool {
	for i := range 2 {
		if math.Abs(a.Min[i]-b.Min[i]) > 1e-6 || math.Abs(a.Max[i]-b.Max[i]) > 1e-6 {
			return false
		}
	}
	return true
}

func testLayersIndependent(t *testing.T, open func() (layers.Store, error)) {
	s := openStore(t, open)
	h := hydrant(1, lon0, lat0, map[string]any{"name": "h"})
	b := building(1, lon0+0.1, lat0, 20, map[string]any{"name": "b"})
	e := enterprise(1, lon0, lat0, nil)
	upsert(t, s, h)
	upsert(t, s, b)
	upsert(t, s, e)
	checkFeature(t, get(t, s, layers.WaterSources, 1), h)
	checkFeature(t, get(t, s, layers.Buildings, 1), b)
	if err := s.Delete(t.Context(), layers.WaterSources, []int64{1}); err != nil {
		t.Fatal(err)
	}
	wantNotFound(t, s, layers.WaterSources, 1)
	checkFeature(t, get(t, s, layers.Buildings, 1), b)
	checkFeature(t, get(t, s, layers.Enterprises, 1), e)
	n, err := s.Nearest(t.Context(), layers.NearestQuery{Layer: layers.Enterprises, Point: orb.Point{lon0, lat0}, K: 5})
	if err != nil || len(n) != 1 || n[0].Feature.Layer != layers.Enterprises {
		t.Errorf("nearest enterprise = %+v, %v", n, err)
	}
	if c := count(t, s, layers.Query{Layer: layers.WaterSources}); c != 0 {
		t.Errorf("water sources: count %d", c)
	}
}

func testContextCanceled(t *testing.T, open func() (layers.Store, error)) {
	s := openStore(t, open)
	upsert(t, s, hydrant(1, lon0, lat0, nil))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	called := false
	err := s.Query(ctx, layers.Query{Layer: layers.WaterSources}, func(layers.Feature) error { called = true; return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("query = %v, want an error wrapping context.Canceled", err)
	}
	if called {
		t.Error("query called back with a cancelled context")
	}
	if _, err := s.Nearest(ctx, layers.NearestQuery{Layer: layers.WaterSources, Point: orb.Point{lon0, lat0}, K: 1}); !errors.Is(err, context.Canceled) {
		t.Errorf("nearest = %v, want an error wrapping context.Canceled", err)
	}
	if err := s.Upsert(ctx, layers.WaterSources, []layers.Feature{hydrant(2, lon0, lat0, nil)}); !errors.Is(err, context.Canceled) {
		t.Errorf("upsert = %v, want an error wrapping context.Canceled", err)
	}
	wantNotFound(t, s, layers.WaterSources, 2)

	// cancelled while iterating: the query stops with the context's error
	var fs []layers.Feature
	for i := int64(10); i < 1010; i++ {
		fs = append(fs, hydrant(i, lon0+float64(i)*1e-5, lat0, nil))
	}
	upsert(t, s, fs...)
	ctx, cancel = context.WithCancel(t.Context())
	defer cancel()
	seen := 0
	err = s.Query(ctx, layers.Query{Layer: layers.WaterSources}, func(layers.Feature) error {
		seen++
		if seen == 5 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("query cancelled midway = %v after %d features, want an error wrapping context.Canceled", err, seen)
	}
}

func testCallbackError(t *testing.T, open func() (layers.Store, error)) {
	s := openStore(t, open)
	var fs []layers.Feature
	for i := int64(1); i <= 10; i++ {
		fs = append(fs, hydrant(i, lon0+float64(i)*1e-3, lat0, nil))
	}
	upsert(t, s, fs...)
	stop := errors.New("enough")
	for _, q := range []layers.Query{
		{Layer: layers.WaterSources},
		{Layer: layers.WaterSources, BBox: orb.Bound{Min: orb.Point{lon0, lat0 - 1}, Max: orb.Point{lon0 + 1, lat0 + 1}}},
	} {
		for name, read := range map[string]func(context.Context, layers.Query, func(layers.Feature) error) error{
			"query": s.Query,
			"view": func(ctx context.Context, q layers.Query, fn func(layers.Feature) error) error {
				return layers.View(ctx, s, q, fn)
			},
		} {
			var seen []int64
			err := read(t.Context(), q, func(f layers.Feature) error {
				seen = append(seen, f.ID)
				if len(seen) == 3 {
					return stop
				}
				return nil
			})
			if !errors.Is(err, stop) {
				t.Errorf("%s = %v, want the callback's error", name, err)
			}
			if !slices.Equal(seen, []int64{1, 2, 3}) {
				t.Errorf("%s: callback saw %v, want [1 2 3]", name, seen)
			}
		}
	}
}

func testCopyOnRead(t *testing.T, open func() (layers.Store, error)) {
	s := openStore(t, open)
	in := building(1, lon0, lat0, 20, map[string]any{"name": "orig", "floors": int64(5)})
	want := in.Clone()
	upsert(t, s, in)
	// the store does not keep the caller's feature either
	in.Geometry.(orb.Polygon)[0][0][0] = 0
	in.Props["name"] = "changed by the writer"
	mutate := func(f layers.Feature) {
		f.Geometry.(orb.Polygon)[0][0][0] += 1
		f.Geometry.(orb.Polygon)[0][1] = orb.Point{1, 1}
		f.Props["name"] = "changed"
		f.Props["floors"] = int64(99)
		f.Props["extra"] = true
	}
	mutate(get(t, s, layers.Buildings, 1))
	checkFeature(t, get(t, s, layers.Buildings, 1), want)
	for _, f := range queryAll(t, s, layers.Query{Layer: layers.Buildings}) {
		mutate(f)
	}
	checkFeature(t, get(t, s, layers.Buildings, 1), want)
	for _, f := range queryAll(t, s, layers.Query{Layer: layers.Buildings, BBox: want.Geometry.Bound()}) {
		mutate(f)
	}
	checkFeature(t, get(t, s, layers.Buildings, 1), want)
	n, err := s.Nearest(t.Context(), layers.NearestQuery{Layer: layers.Buildings, Point: orb.Point{lon0, lat0}, K: 1})
	if err != nil || len(n) != 1 {
		t.Fatalf("nearest = %v, %v", n, err)
	}
	mutate(n[0].Feature)
	checkFeature(t, get(t, s, layers.Buildings, 1), want)
	checkFeature(t, queryAll(t, s, layers.Query{Layer: layers.Buildings})[0], want)
}

func testPersistence(t *testing.T, open func() (layers.Store, error)) {
	s, err := open()
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	hs := []layers.Feature{
		hydrant(1, lon0, lat0, map[string]any{"flow_lps": 10.0, "key_area": false, "name": "一"}),
		hydrant(2, lon0+0.01, lat0, nil),
		hydrant(3, lon0+0.02, lat0, nil),
	}
	b := building(5, lon0, lat0, 20, map[string]any{"floors": int64(7), "height_m": 21.0})
	p := pipeline(8, orb.LineString{{lon0, lat0}, {lon0 + 0.01, lat0 + 0.01}}, map[string]any{"inspection_valid_until": "2026-01-31", "pressure_mpa": 0.4})
	upsert(t, s, hs...)
	upsert(t, s, b)
	upsert(t, s, p)
	hs[1] = hydrant(2, lon0+0.015, lat0+0.001, map[string]any{"status": "faulty"})
	upsert(t, s, hs[1])
	if err := s.Delete(t.Context(), layers.WaterSources, []int64{3}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	s, err = open()
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	for _, want := range []layers.Feature{hs[0], hs[1], b, p} {
		checkFeature(t, get(t, s, want.Layer, want.ID), want)
	}
	wantNotFound(t, s, layers.WaterSources, 3)
	bbox := orb.Bound{Min: orb.Point{lon0 - 0.001, lat0 - 0.001}, Max: orb.Point{lon0 + 0.03, lat0 + 0.01}}
	if got := ids(queryAll(t, s, layers.Query{Layer: layers.WaterSources, BBox: bbox})); !slices.Equal(got, []int64{1, 2}) {
		t.Errorf("bbox query after reopening = %v, want [1 2]", got)
	}
	st, err := s.Stats(t.Context())
	if err != nil || st[layers.WaterSources].Count != 2 || st[layers.Buildings].Count != 1 || st[layers.Pipelines].Count != 1 {
		t.Errorf("stats after reopening = %v, %v", st, err)
	}
	if err := s.Delete(t.Context(), layers.Buildings, []int64{5}); err != nil {
		t.Fatal(err)
	}
	upsert(t, s, hydrant(4, lon0, lat0+0.02, nil))
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	s = openStore(t, open)
	wantNotFound(t, s, layers.Buildings, 5)
	get(t, s, layers.WaterSources, 4)
	if n := count(t, s, layers.Query{Layer: layers.WaterSources}); n != 3 {
		t.Errorf("water sources after the second reopening: %d, want 3", n)
	}
}

// testConcurrency has readers check invariants while one writer changes
// the layer; run it under -race.
func testConcurrency(t *testing.T, open func() (layers.Store, error)) {
	s := openStore(t, open)
	const base = 300
	var fs []layers.Feature
	for i := int64(1); i <= base; i++ {
		fs = append(fs, hydrant(i, lon0+float64(i%20)*1e-3, lat0+float64(i/20)*1e-3, nil))
	}
	upsert(t, s, fs...)
	ctx := t.Context()
	done := make(chan struct{})
	errs := make(chan error, 8)
	go func() {
		defer close(done)
		for k := int64(0); k < 40; k++ {
			var batch []layers.Feature
			for i := int64(0); i < 10; i++ {
				id := 1000 + k*10 + i
				batch = append(batch, hydrant(id, lon0+float64(i)*1e-3, lat0+float64(k)*1e-4, map[string]any{"flow_lps": float64(k)}))
			}
			if err := s.Upsert(ctx, layers.WaterSources, batch); err != nil {
				errs <- err
				return
			}
			if k%2 == 1 {
				if err := s.Delete(ctx, layers.WaterSources, []int64{1000 + (k-1)*10, 1000 + (k-1)*10 + 1}); err != nil {
					errs <- err
					return
				}
			}
		}
	}()
	reader := func(seed int64) {
		r := newRand(seed)
		for {
			select {
			case <-done:
				errs <- nil
				return
			default:
			}
			x, y := lon0+r.Float64()*0.02, lat0+r.Float64()*0.02
			q := layers.Query{Layer: layers.WaterSources, BBox: orb.Bound{Min: orb.Point{x - 0.005, y - 0.005}, Max: orb.Point{x + 0.005, y + 0.005}}}
			var last int64
			err := s.Query(ctx, q, func(f layers.Feature) error {
				if f.ID <= last || f.Geometry == nil || !q.Match(f) {
					return errors.New("query out of order or not matching")
				}
				last = f.ID
				return nil
			})
			if err == nil {
				var n int
				n, err = s.Count(ctx, layers.Query{Layer: layers.WaterSources})
				if err == nil && n < base {
					err = errors.New("count fell below the untouched features")
				}
			}
			if err == nil {
				var ns []layers.Neighbor
				ns, err = s.Nearest(ctx, layers.NearestQuery{Layer: layers.WaterSources, Point: orb.Point{x, y}, K: 3})
				if err == nil && (len(ns) != 3 || ns[0].DistanceM > ns[1].DistanceM || ns[1].DistanceM > ns[2].DistanceM) {
					err = errors.New("nearest out of order")
				}
			}
			if err == nil {
				_, err = s.Get(ctx, layers.WaterSources, 1+r.Int63n(base))
			}
			if err != nil {
				errs <- err
				return
			}
		}
	}
	const readers = 3
	for i := range readers {
		go reader(int64(i + 10))
	}
	for range readers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	<-done
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	if n := count(t, s, layers.Query{Layer: layers.WaterSources}); n != base+40*10-20*2 {
		t.Errorf("count after the writer = %d, want %d", n, base+40*10-20*2)
	}
}
