// Package storetest is the conformance suite every layers.Store must pass:
// the embedded store (layers/memstore) and PostGIS (layers/postgis) run the
// same subtests, so both give the same answers.
//
// The suite writes only features that are valid under the catalog (enum
// codes, required fields, geometry families of the layer), so that a store
// with typed columns can hold them; it compares properties with nil values
// dropped, so a store may return a missing optional field either as absent
// or as nil. Distances are compared with a relative tolerance of 2e-4 (and
// 1 cm), within which a spheroidal distance agrees with geo.DistanceTo.
package storetest

import (
	"errors"
	"maps"
	"math"
	"slices"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/geo"
	"riskmap/layers"
)

// Factory makes fresh, empty storage for one test and returns a function
// that opens it; each call of open opens the SAME storage (so the suite can
// close and reopen to prove persistence).
type Factory func(t *testing.T) (open func() (layers.Store, error))

// Run runs every subtest, each in parallel on fresh storage.
func Run(t *testing.T, f Factory) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open func() (layers.Store, error))
	}{
		{"UpsertGet", testUpsertGet},
		{"UpsertReplaces", testUpsertReplaces},
		{"UpsertAllOrNothing", testUpsertAllOrNothing},
		{"Delete", testDelete},
		{"GetUnknown", testGetUnknown},
		{"QueryBBox", testQueryBBox},
		{"QueryFilters", testQueryFilters},
		{"QueryOrderPaging", testQueryOrderPaging},
		{"Nearest", testNearest},
		{"NearestTies", testNearestTies},
		{"Stats", testStats},
		{"LayersIndependent", testLayersIndependent},
		{"ContextCanceled", testContextCanceled},
		{"CallbackError", testCallbackError},
		{"CopyOnRead", testCopyOnRead},
		{"Persistence", testPersistence},
		{"Concurrency", testConcurrency},
		{"Oracle", testOracle},
		{"BulkLoad", testBulkLoad},
		{"BulkEmptyLayer", testBulkEmptyLayer},
		{"BulkAllOrNothing", testBulkAllOrNothing},
		{"BulkCanceled", testBulkCanceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, f(t))
		})
	}
}

// openStore opens the storage and closes it when the test ends.
func openStore(t *testing.T, open func() (layers.Store, error)) layers.Store {
	t.Helper()
	s, err := open()
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// Feature builders: every one is valid under the catalog.

func hydrant(id int64, lon, lat float64, props map[string]any) layers.Feature {
	p := map[string]any{"kind": "hydrant", "status": "in_service"}
	maps.Copy(p, props)
	return layers.Feature{Layer: layers.WaterSources, ID: id, Geometry: orb.Point{lon, lat}, Props: p}
}

// building is a square of side m metres centred on lon, lat.
func building(id int64, lon, lat, m float64, props map[string]any) layers.Feature {
	p := map[string]any{"use": "residential"}
	maps.Copy(p, props)
	return layers.Feature{Layer: layers.Buildings, ID: id, Geometry: square(lon, lat, m), Props: p}
}

func square(lon, lat, m float64) orb.Polygon {
	kx, ky := geo.MetresPerDegree(lat)
	dx, dy := m/2/kx, m/2/ky
	return orb.Polygon{{{lon - dx, lat - dy}, {lon + dx, lat - dy}, {lon + dx, lat + dy}, {lon - dx, lat + dy}, {lon - dx, lat - dy}}}
}

func pipeline(id int64, line orb.LineString, props map[string]any) layers.Feature {
	p := map[string]any{"name": "pipe", "class": "gas_urban"}
	maps.Copy(p, props)
	return layers.Feature{Layer: layers.Pipelines, ID: id, Geometry: line, Props: p}
}

func enterprise(id int64, lon, lat float64, props map[string]any) layers.Feature {
	p := map[string]any{"name": "enterprise", "category": "industry", "risk_level": "blue"}
	maps.Copy(p, props)
	return layers.Feature{Layer: layers.Enterprises, ID: id, Geometry: orb.Point{lon, lat}, Props: p}
}

// upsert writes fs (all of one layer) or fails the test.
func upsert(t *testing.T, s layers.Store, fs ...layers.Feature) {
	t.Helper()
	if len(fs) == 0 {
		return
	}
	if err := s.Upsert(t.Context(), fs[0].Layer, fs); err != nil {
		t.Fatalf("upsert %s: %v", fs[0].Layer, err)
	}
}

// queryAll returns what Query yields.
func queryAll(t *testing.T, s layers.Store, q layers.Query) []layers.Feature {
	t.Helper()
	var out []layers.Feature
	if err := s.Query(t.Context(), q, func(f layers.Feature) error {
		out = append(out, f)
		return nil
	}); err != nil {
		t.Fatalf("query %+v: %v", q, err)
	}
	return out
}

// viewAll returns clones of what layers.View lends.
func viewAll(t *testing.T, s layers.Store, q layers.Query) []layers.Feature {
	t.Helper()
	var out []layers.Feature
	if err := layers.View(t.Context(), s, q, func(f layers.Feature) error {
		out = append(out, f.Clone())
		return nil
	}); err != nil {
		t.Fatalf("view %+v: %v", q, err)
	}
	return out
}

// checkNearestView checks that layers.NearestView, on s and through an
// Observed wrapper, lends the neighbours Nearest returned (want), in order
// and with the same distances and contents.
func checkNearestView(t *testing.T, s layers.Store, q layers.NearestQuery, want []layers.Neighbor) {
	t.Helper()
	for _, v := range []layers.Store{s, layers.Observe(s)} {
		var got []layers.Neighbor
		if err := layers.NearestView(t.Context(), v, q, func(n layers.Neighbor) error {
			got = append(got, layers.Neighbor{Feature: n.Feature.Clone(), DistanceM: n.DistanceM})
			return nil
		}); err != nil {
			t.Fatalf("nearest view %+v: %v", q, err)
		}
		if len(got) != len(want) {
			t.Fatalf("nearest view %+v: %d neighbours, Nearest %d", q, len(got), len(want))
		}
		for i := range got {
			if got[i].Feature.ID != want[i].Feature.ID || got[i].DistanceM != want[i].DistanceM {
				t.Fatalf("nearest view %+v: #%d is %d at %v m, Nearest %d at %v m", q, i,
					got[i].Feature.ID, got[i].DistanceM, want[i].Feature.ID, want[i].DistanceM)
			}
			if d := sameFeature(got[i].Feature, want[i].Feature); d != "" {
				t.Fatalf("nearest view %+v: feature %d: %s", q, got[i].Feature.ID, d)
			}
		}
	}
}

func ids(fs []layers.Feature) []int64 {
	out := make([]int64, len(fs))
	for i, f := range fs {
		out[i] = f.ID
	}
	return out
}

func count(t *testing.T, s layers.Store, q layers.Query) int {
	t.Helper()
	n, err := s.Count(t.Context(), q)
	if err != nil {
		t.Fatalf("count %+v: %v", q, err)
	}
	return n
}

func get(t *testing.T, s layers.Store, layer string, id int64) layers.Feature {
	t.Helper()
	f, err := s.Get(t.Context(), layer, id)
	if err != nil {
		t.Fatalf("get %s %d: %v", layer, id, err)
	}
	return f
}

func wantNotFound(t *testing.T, s layers.Store, layer string, id int64) {
	t.Helper()
	f, err := s.Get(t.Context(), layer, id)
	if !errors.Is(err, layers.ErrNotFound) {
		t.Errorf("get %s %d = %v, %v; want an error wrapping ErrNotFound", layer, id, f.ID, err)
	}
}

// props drops nil values: a store may return an unset field as nil.
func props(p map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range p {
		if v != nil {
			out[k] = v
		}
	}
	return out
}

// sameFeature reports how got differs from want (layer, id, geometry and
// properties with their Go types), or "".
func sameFeature(got, want layers.Feature) string {
	switch {
	case got.Layer != want.Layer:
		return "layer " + got.Layer + ", want " + want.Layer
	case got.ID != want.ID:
		return "other id"
	case !orb.Equal(got.Geometry, want.Geometry):
		return "other geometry"
	}
	g, w := props(got.Props), props(want.Props)
	if len(g) != len(w) {
		return "other properties"
	}
	for k, v := range w {
		if g[k] != v { // same dynamic type and value
			return "property " + k + " differs"
		}
	}
	return ""
}

func checkFeature(t *testing.T, got, want layers.Feature) {
	t.Helper()
	if d := sameFeature(got, want); d != "" {
		t.Errorf("%s %d: %s\n got  %#v\n want %#v", want.Layer, want.ID, d, got, want)
	}
}

// near reports whether two distances agree within the suite's tolerance.
func near(a, b float64) bool {
	return math.Abs(a-b) <= 0.01+2e-4*math.Max(math.Abs(a), math.Abs(b))
}

// checkNearest compares a Nearest answer with a brute force over all, the
// features of the layer, using geo.DistanceTo: the same number of
// neighbours, each at its true distance, ordered by distance (then id for
// equal distances), none repeated, each passing the filters, and the
// distances those of the k best.
func checkNearest(t *testing.T, got []layers.Neighbor, all []layers.Feature, q layers.NearestQuery) {
	t.Helper()
	type cand struct {
		id int64
		d  float64
	}
	var exp []cand
	byID := map[int64]layers.Feature{}
	for _, f := range all {
		byID[f.ID] = f
		if !(layers.Query{Filters: q.Filters}).Match(f) {
			continue
		}
		d := geo.DistanceTo(q.Point, f.Geometry)
		if q.MaxDistanceM > 0 && d > q.MaxDistanceM {
			continue
		}
		exp = append(exp, cand{f.ID, d})
	}
	slices.SortFunc(exp, func(a, b cand) int {
		if a.d != b.d {
			return cmpFloat(a.d, b.d)
		}
		return cmpInt(a.id, b.id)
	})
	if len(exp) > q.K {
		exp = exp[:q.K]
	}
	if len(got) != len(exp) {
		t.Fatalf("nearest %+v: %d neighbours, want %d", q, len(got), len(exp))
	}
	seen := map[int64]bool{}
	for i, n := range got {
		f, ok := byID[n.Feature.ID]
		if !ok {
			t.Fatalf("nearest %+v: unknown feature %d", q, n.Feature.ID)
		}
		if seen[f.ID] {
			t.Errorf("nearest %+v: feature %d twice", q, f.ID)
		}
		seen[f.ID] = true
		if d := sameFeature(n.Feature, f); d != "" {
			t.Errorf("nearest %+v: feature %d: %s", q, f.ID, d)
		}
		if !(layers.Query{Filters: q.Filters}).Match(f) {
			t.Errorf("nearest %+v: feature %d fails the filters", q, f.ID)
		}
		if d := geo.DistanceTo(q.Point, f.Geometry); !near(n.DistanceM, d) {
			t.Errorf("nearest %+v: feature %d at %v m, its distance is %v m", q, f.ID, n.DistanceM, d)
		}
		if !near(n.DistanceM, exp[i].d) {
			t.Errorf("nearest %+v: neighbour %d (id %d) at %v m, the %d-th nearest is at %v m (id %d)",
				q, i, f.ID, n.DistanceM, i, exp[i].d, exp[i].id)
		}
		if i > 0 {
			prev := got[i-1]
			if prev.DistanceM > n.DistanceM || prev.DistanceM == n.DistanceM && prev.Feature.ID > n.Feature.ID {
				t.Errorf("nearest %+v: out of order at %d: (%v m, id %d) before (%v m, id %d)",
					q, i, prev.DistanceM, prev.Feature.ID, n.DistanceM, n.Feature.ID)
			}
		}
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// matching is the brute force of a query: the features of all that match
// q's bbox and filters, in id order, ignoring AfterID and Limit.
func matching(all []layers.Feature, q layers.Query) []int64 {
	var out []int64
	for _, f := range all {
		if q.Match(f) {
			out = append(out, f.ID)
		}
	}
	slices.Sort(out)
	return out
}

// page applies AfterID and Limit to ids in order.
func page(ids []int64, after int64, limit int) []int64 {
	var out []int64
	for _, id := range ids {
		if id > after {
			out = append(out, id)
			if limit > 0 && len(out) == limit {
				break
			}
		}
	}
	return out
}
