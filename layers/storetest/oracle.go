package storetest

import (
	"math"
	"math/rand"
	"slices"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/layers"
)

func newRand(seed int64) *rand.Rand { return rand.New(rand.NewSource(seed)) }

// Chongqing around Banan: where the oracle puts its features.
const (
	minLon, maxLon = 106.4, 107.0
	minLat, maxLat = 29.1, 29.8
)

// oracle generates random features in towns around Chongqing and keeps
// the truth they should be compared with.
type oracle struct {
	r     *rand.Rand
	towns []orb.Point
	model map[string]map[int64]layers.Feature
	used  map[int64]bool
}

func newOracle(seed int64) *oracle {
	o := &oracle{r: newRand(seed), model: map[string]map[int64]layers.Feature{}, used: map[int64]bool{}}
	for range 8 {
		o.towns = append(o.towns, orb.Point{minLon + 0.05 + o.r.Float64()*0.5, minLat + 0.05 + o.r.Float64()*0.6})
	}
	return o
}

// place returns a point clustered around a town, or anywhere (one in five).
func (o *oracle) place() orb.Point {
	if o.r.Intn(5) == 0 {
		return orb.Point{minLon + o.r.Float64()*(maxLon-minLon), minLat + o.r.Float64()*(maxLat-minLat)}
	}
	c := o.towns[o.r.Intn(len(o.towns))]
	return orb.Point{
		math.Min(maxLon, math.Max(minLon, c[0]+o.r.NormFloat64()*0.03)),
		math.Min(maxLat, math.Max(minLat, c[1]+o.r.NormFloat64()*0.03)),
	}
}

func (o *oracle) pick(vals ...string) string { return vals[o.r.Intn(len(vals))] }

// maybe sets p[k] to v with probability 4/5.
func (o *oracle) maybe(p map[string]any, k string, v any) {
	if o.r.Intn(5) != 0 {
		p[k] = v
	}
}

func (o *oracle) newID() int64 {
	for {
		id := 1 + o.r.Int63n(1_000_000)
		if !o.used[id] {
			o.used[id] = true
			return id
		}
	}
}

func (o *oracle) feature(layer string, id int64) layers.Feature {
	p := o.place()
	props := map[string]any{}
	var g orb.Geometry
	switch layer {
	case layers.WaterSources:
		g = p
		props["kind"] = o.pick("hydrant", "hydrant", "hydrant", "fire_pool", "natural_intake", "forest_pool")
		props["status"] = o.pick("in_service", "in_service", "faulty", "planned")
		o.maybe(props, "flow_lps", float64(5*o.r.Intn(8)))
		o.maybe(props, "key_area", o.r.Intn(3) == 0)
	case layers.Buildings:
		size := 10 + o.r.Float64()*190
		if o.r.Intn(20) == 0 {
			g = orb.MultiPolygon{square(p[0], p[1], size), square(p[0]+0.003, p[1], size/2)}
		} else {
			g = square(p[0], p[1], size)
		}
		props["use"] = o.pick("residential", "residential", "high_rise", "school", "industrial", "warehouse")
		o.maybe(props, "floors", int64(1+o.r.Intn(33)))
		o.maybe(props, "height_m", float64(3*(1+o.r.Intn(33))))
	case layers.Pipelines:
		line := orb.LineString{p}
		for range 1 + o.r.Intn(5) {
			last := line[len(line)-1]
			line = append(line, orb.Point{last[0] + (o.r.Float64()-0.5)*0.01, last[1] + (o.r.Float64()-0.5)*0.01})
		}
		g = line
		props["name"] = "管线"
		props["class"] = o.pick("oil_long", "gas_long", "gas_urban", "gas_urban")
		o.maybe(props, "diameter_mm", float64(100*(1+o.r.Intn(8))))
	}
	return layers.Feature{Layer: layer, ID: id, Geometry: g, Props: props}
}

func (o *oracle) all(layer string) []layers.Feature {
	var out []layers.Feature
	for _, f := range o.model[layer] {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b layers.Feature) int { return cmpInt(a.ID, b.ID) })
	return out
}

// filter returns a random filter on one of the layer's fields.
func (o *oracle) filter(layer string) layers.Filter {
	ops := []layers.Op{layers.OpEq, layers.OpNe, layers.OpLt, layers.OpLe, layers.OpGt, layers.OpGe}
	op := ops[o.r.Intn(len(ops))]
	f := func(field string, op layers.Op, vals ...any) layers.Filter {
		return layers.Filter{Field: field, Op: op, Values: vals}
	}
	switch layer {
	case layers.WaterSources:
		switch o.r.Intn(6) {
		case 0:
			return layers.Eq("kind", o.pick("hydrant", "fire_pool", "natural_intake"))
		case 1:
			return f("status", layers.OpIn, "in_service", o.pick("faulty", "planned"))
		case 2:
			return f("flow_lps", op, float64(5*o.r.Intn(8)))
		case 3:
			return layers.Eq("key_area", o.r.Intn(2) == 0)
		case 4:
			return f(o.pick("flow_lps", "key_area"), layers.OpIsNull)
		default:
			return f("status", layers.OpNe, "in_service")
		}
	case layers.Buildings:
		switch o.r.Intn(5) {
		case 0:
			return layers.Eq("use", o.pick("residential", "school", "industrial"))
		case 1:
			return f("use", layers.OpIn, "high_rise", "school", "hospital")
		case 2:
			return f("floors", op, int64(1+o.r.Intn(33)))
		case 3:
			return f("height_m", op, float64(3*(1+o.r.Intn(33))))
		default:
			return f("floors", layers.OpIsNull)
		}
	default:
		switch o.r.Intn(3) {
		case 0:
			return f("class", layers.Op(o.pick("=", "<>")), o.pick("oil_long", "gas_urban"))
		case 1:
			return f("diameter_mm", op, float64(100*(1+o.r.Intn(8))))
		default:
			return f("diameter_mm", layers.OpIsNull)
		}
	}
}

func (o *oracle) filters(layer string) []layers.Filter {
	var out []layers.Filter
	for range o.r.Intn(3) {
		out = append(out, o.filter(layer))
	}
	return out
}

// testOracle writes a few thousand random features, rewrites and deletes
// some, and compares random queries with a brute force over the truth.
func testOracle(t *testing.T, open func() (layers.Store, error)) {
	s := openStore(t, open)
	o := newOracle(20260101)
	counts := map[string]int{layers.WaterSources: 1500, layers.Buildings: 800, layers.Pipelines: 400}
	lays := []string{layers.WaterSources, layers.Buildings, layers.Pipelines}
	for _, l := range lays {
		o.model[l] = map[int64]layers.Feature{}
		var fs []layers.Feature
		for range counts[l] {
			f := o.feature(l, o.newID())
			fs = append(fs, f)
			o.model[l][f.ID] = f.Clone()
		}
		for i := 0; i < len(fs); i += 500 {
			upsert(t, s, fs[i:min(i+500, len(fs))]...)
		}
		// rewrite and delete some
		existing := o.all(l)
		o.r.Shuffle(len(existing), func(i, j int) { existing[i], existing[j] = existing[j], existing[i] })
		var repl []layers.Feature
		for _, f := range existing[:counts[l]/10] {
			nf := o.feature(l, f.ID)
			repl = append(repl, nf)
			o.model[l][f.ID] = nf.Clone()
		}
		upsert(t, s, repl...)
		var del []int64
		for _, f := range existing[counts[l]/10 : counts[l]/5] {
			del = append(del, f.ID)
			delete(o.model[l], f.ID)
		}
		if err := s.Delete(t.Context(), l, del); err != nil {
			t.Fatalf("delete: %v", err)
		}
	}

	st, err := s.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lays {
		all := o.all(l)
		var ext orb.Bound
		for i, f := range all {
			if i == 0 {
				ext = f.Geometry.Bound()
			} else {
				ext = ext.Union(f.Geometry.Bound())
			}
		}
		if g := st[l]; g.Count != len(all) || !boundNear(g.Extent, ext) {
			t.Errorf("stats %s = %+v, want %d and %v", l, g, len(all), ext)
		}

		for range 40 {
			c := o.place()
			w, h := 0.002+o.r.Float64()*0.2, 0.002+o.r.Float64()*0.2
			q := layers.Query{Layer: l, Filters: o.filters(l)}
			if o.r.Intn(8) != 0 {
				q.BBox = orb.Bound{Min: orb.Point{c[0] - w/2, c[1] - h/2}, Max: orb.Point{c[0] + w/2, c[1] + h/2}}
			}
			want := matching(all, q)
			got := queryAll(t, s, q)
			if !slices.Equal(ids(got), want) {
				t.Fatalf("query %+v:\n got  %v\n want %v", q, ids(got), want)
			}
			for _, f := range got {
				if d := sameFeature(f, o.model[l][f.ID]); d != "" {
					t.Fatalf("query %+v: feature %d: %s", q, f.ID, d)
				}
			}
			// View (lent features when the store is a Viewer, through an
			// Observed wrapper too) yields what Query does
			for _, v := range []layers.Store{s, layers.Observe(s)} {
				got := viewAll(t, v, q)
				if !slices.Equal(ids(got), want) {
					t.Fatalf("view %+v:\n got  %v\n want %v", q, ids(got), want)
				}
				for _, f := range got {
					if d := sameFeature(f, o.model[l][f.ID]); d != "" {
						t.Fatalf("view %+v: feature %d: %s", q, f.ID, d)
					}
				}
			}
			if n := count(t, s, q); n != len(want) {
				t.Fatalf("count %+v = %d, want %d", q, n, len(want))
			}
			if len(want) > 2 {
				q.AfterID = want[o.r.Intn(len(want))]
				q.Limit = 1 + o.r.Intn(len(want))
				if got, exp := ids(queryAll(t, s, q)), page(want, q.AfterID, q.Limit); !slices.Equal(got, exp) {
					t.Fatalf("page %+v: %v, want %v", q, got, exp)
				}
				if got, exp := ids(viewAll(t, s, q)), page(want, q.AfterID, q.Limit); !slices.Equal(got, exp) {
					t.Fatalf("view page %+v: %v, want %v", q, got, exp)
				}
			}
		}

		for range 25 {
			q := layers.NearestQuery{Layer: l, Point: o.place(), K: 1 + o.r.Intn(10)}
			if o.r.Intn(2) == 0 {
				q.Filters = o.filters(l)
			}
			if o.r.Intn(3) == 0 {
				q.MaxDistanceM = 200 + o.r.Float64()*3000
			}
			got, err := s.Nearest(t.Context(), q)
			if err != nil {
				t.Fatalf("nearest %+v: %v", q, err)
			}
			checkNearest(t, got, all, q)
			checkNearestView(t, s, q, got)
		}
	}
}
