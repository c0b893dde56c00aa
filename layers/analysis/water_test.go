package analysis_test

import (
	"context"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/geo"
	"riskmap/layers"
	"riskmap/layers/analysis"
	"riskmap/layers/memstore"
)

var origin = orb.Point{106.52, 29.38}

// square returns a closed square of side s metres whose west edge is x
// metres east of the plane's origin, centred on y.
func square(pl geo.Plane, x, y, s float64) orb.Polygon {
	r := orb.Ring{{x, y - s/2}, {x + s, y - s/2}, {x + s, y + s/2}, {x, y + s/2}, {x, y - s/2}}
	return pl.UnprojectGeometry(orb.Polygon{r}).(orb.Polygon)
}

func townSquare(pl geo.Plane, halfM float64) orb.Polygon {
	r := orb.Ring{{-halfM, -halfM}, {halfM, -halfM}, {halfM, halfM}, {-halfM, halfM}, {-halfM, -halfM}}
	return pl.UnprojectGeometry(orb.Polygon{r}).(orb.Polygon)
}

func hydrant(id int64, p orb.Point, status string) layers.Feature {
	return layers.Feature{Layer: layers.WaterSources, ID: id, Geometry: p,
		Props: map[string]any{"kind": "hydrant", "status": status}}
}

func building(id int64, g orb.Polygon) layers.Feature {
	return layers.Feature{Layer: layers.Buildings, ID: id, Geometry: g, Props: map[string]any{"use": "residential"}}
}

// newEngine loads features into a fresh observed memstore with an engine
// running only the water analysis.
func newEngine(t *testing.T, fs ...layers.Feature) (*analysis.Engine, *layers.Observed) {
	t.Helper()
	ctx := context.Background()
	cat := layers.NewCatalog()
	e, err := analysis.New(cat, analysis.DefaultRules(), analysis.NewWater())
	if err != nil {
		t.Fatal(err)
	}
	st := layers.Observe(memstore.New())
	byLayer := map[string][]layers.Feature{}
	for _, f := range fs {
		byLayer[f.Layer] = append(byLayer[f.Layer], f)
	}
	for l, fs := range byLayer {
		if err := st.Upsert(ctx, l, fs); err != nil {
			t.Fatal(err)
		}
	}
	e.Attach(st, func(err error) { t.Errorf("engine: %v", err) })
	t.Cleanup(func() { e.Close() })
	if err := e.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	return e, st
}

func ids(t *testing.T, st layers.Store, layer string) []int64 {
	t.Helper()
	var out []int64
	err := st.Query(context.Background(), layers.Query{Layer: layer}, func(f layers.Feature) error {
		out = append(out, f.ID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestWaterCoverage149And151(t *testing.T) {
	pl := geo.NewPlane(origin)
	town := layers.Feature{Layer: layers.Towns, ID: 1, Geometry: townSquare(pl, 3000),
		Props: map[string]any{"name": "鱼洞街道", "code": "500113002"}}
	fs := []layers.Feature{town,
		hydrant(1, origin, "in_service"),
		hydrant(2, pl.Unproject(orb.Point{170, 0}), "faulty"), // does not count
		building(10, square(pl, 149, 0, 10)),                  // nearest edge 149 m: covered
		building(11, square(pl, -161, 0, 10)),                 // nearest edge 151 m west: not
	}
	e, st := newEngine(t, fs...)
	ctx := context.Background()
	if got := ids(t, st, analysis.UncoveredBuildings); !slices.Equal(got, []int64{11}) {
		t.Fatalf("uncovered buildings = %v, want [11]", got)
	}
	f, err := st.Get(ctx, analysis.UncoveredBuildings, 11)
	if err != nil {
		t.Fatal(err)
	}
	if d := f.Props["nearest_m"].(float64); math.Abs(d-151) > 0.2 {
		t.Errorf("nearest_m = %v, want 151", d)
	}
	if f.Props["standard"] != "GB 50974-2014 §7.2.5" || f.Props["rule_value"] != 150.0 {
		t.Errorf("rule props = %v", f.Props)
	}
	if f.Props["town"] != "鱼洞街道" {
		t.Errorf("town = %v", f.Props["town"])
	}

	// what-if: hydrant 1 out of service uncovers both; the store is untouched
	res, err := e.Run(ctx, "water-coverage", analysis.Params{Exclude: []int64{1}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res.Layers[analysis.UncoveredBuildings]); n != 2 {
		t.Errorf("what-if uncovered = %d, want 2", n)
	}
	if got := ids(t, st, analysis.UncoveredBuildings); !slices.Equal(got, []int64{11}) {
		t.Errorf("what-if wrote to the store: %v", got)
	}
	// repairing hydrant 2 (170 m east) covers nothing new; moving it covers 11
	if err := st.Upsert(ctx, layers.WaterSources, []layers.Feature{hydrant(2, pl.Unproject(orb.Point{-300, 0}), "in_service")}); err != nil {
		t.Fatal(err)
	}
	if got := ids(t, st, analysis.UncoveredBuildings); len(got) != 0 {
		t.Errorf("after the incremental update uncovered = %v, want none", got)
	}
	s, _ := e.Summary("water-coverage")
	if s.Metrics["uncovered_buildings"] != 0 || s.Metrics["building_coverage_pct"] != 100 {
		t.Errorf("summary after update = %v", s.Metrics)
	}
	if _, err := e.Run(ctx, "water-coverage", analysis.Params{Town: "nowhere"}); err == nil {
		t.Error("unknown town accepted")
	}
}

// TestWaterIncrementalMatchesFull edits hydrants and buildings at random
// and checks that the incrementally maintained derived layers equal a full
// recomputation, and that both agree with a brute-force distance check.
func TestWaterIncrementalMatchesFull(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 11))
	pl := geo.NewPlane(origin)
	var fs []layers.Feature
	fs = append(fs, layers.Feature{Layer: layers.Towns, ID: 1, Geometry: townSquare(pl, 1500),
		Props: map[string]any{"name": "鱼洞街道", "code": "500113002"}})
	rnd := func() float64 { return rng.Float64()*2400 - 1200 }
	for i := range 60 {
		status := "in_service"
		if i%7 == 0 {
			status = "faulty"
		}
		fs = append(fs, hydrant(int64(i+1), pl.Unproject(orb.Point{rnd(), rnd()}), status))
	}
	for i := range 400 {
		fs = append(fs, building(int64(i+1), square(pl, rnd(), rnd(), 8+rng.Float64()*20)))
	}
	// a road with hydrants along it for the spacing check
	road := layers.Feature{Layer: layers.Roads, ID: 1, Props: map[string]any{"class": "branch", "name": "测试路"},
		Geometry: pl.UnprojectGeometry(orb.LineString{{-1000, 5}, {1000, 5}})}
	fs = append(fs, road)
	for i, x := range []float64{-900, -800, -600, -300, 0, 100, 400} {
		fs = append(fs, hydrant(int64(100+i), pl.Unproject(orb.Point{x, 0}), "in_service"))
	}
	inc, st := newEngine(t, fs...)

	for step := range 25 {
		switch step % 3 {
		case 0: // move or add a hydrant
			id := int64(rng.IntN(70) + 1)
			if err := st.Upsert(ctx, layers.WaterSources, []layers.Feature{hydrant(id, pl.Unproject(orb.Point{rnd(), rnd()}), "in_service")}); err != nil {
				t.Fatal(err)
			}
		case 1: // delete a hydrant (some along the road)
			id := int64(rng.IntN(10) + 100)
			if rng.IntN(2) == 0 {
				id = int64(rng.IntN(60) + 1)
			}
			if err := st.Delete(ctx, layers.WaterSources, []int64{id}); err != nil {
				t.Fatal(err)
			}
		case 2: // move, add or delete a building
			id := int64(rng.IntN(450) + 1)
			if rng.IntN(4) == 0 {
				if err := st.Delete(ctx, layers.Buildings, []int64{id}); err != nil {
					t.Fatal(err)
				}
			} else if err := st.Upsert(ctx, layers.Buildings, []layers.Feature{building(id, square(pl, rnd(), rnd(), 15))}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// a fresh engine over the same base data computes from scratch
	var base []layers.Feature
	for _, l := range []string{layers.Towns, layers.WaterSources, layers.Buildings, layers.Roads} {
		err := st.Query(ctx, layers.Query{Layer: l}, func(f layers.Feature) error {
			base = append(base, f)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	full, fresh := newEngine(t, base...)
	si, _ := inc.Summary("water-coverage")
	sf, _ := full.Summary("water-coverage")
	if !reflect.DeepEqual(si.Metrics, sf.Metrics) || !reflect.DeepEqual(si.Towns, sf.Towns) {
		t.Errorf("summary: incremental %v %v, full %v %v", si.Metrics, si.Towns, sf.Metrics, sf.Towns)
	}
	for _, l := range []string{analysis.WaterGaps, analysis.UncoveredBuildings, analysis.SpacingGaps} {
		inc, full := features(t, st, l), features(t, fresh, l)
		if len(inc) != len(full) {
			t.Errorf("%s: incremental has %d features, full %d", l, len(inc), len(full))
			continue
		}
		for i := range inc {
			if inc[i].ID != full[i].ID || !equalProps(inc[i].Props, full[i].Props) {
				t.Errorf("%s: incremental %d %v != full %d %v", l, inc[i].ID, inc[i].Props, full[i].ID, full[i].Props)
			}
		}
	}
	if len(features(t, st, analysis.SpacingGaps)) == 0 {
		t.Error("the spacing check found nothing along the test road")
	}

	// brute force: a building is uncovered iff no in-service hydrant is
	// within 150 m of it
	var hyd []orb.Point
	for _, f := range features(t, st, layers.WaterSources) {
		if f.Props["status"] == "in_service" {
			hyd = append(hyd, f.Geometry.(orb.Point))
		}
	}
	unc := map[int64]bool{}
	for _, f := range features(t, st, analysis.UncoveredBuildings) {
		unc[f.ID] = true
	}
	for _, b := range features(t, st, layers.Buildings) {
		best := math.Inf(1)
		for _, h := range hyd {
			best = math.Min(best, geo.DistanceTo(h, b.Geometry))
		}
		if (best > 150) != unc[b.ID] {
			t.Errorf("building %d: nearest hydrant %.2f m, uncovered=%v", b.ID, best, unc[b.ID])
		}
	}
	// and a built-up cell (holding a building's bound centre) is a gap iff
	// no in-service hydrant is within 150 m of its centre
	res := int(analysis.DefaultRules().V(analysis.CoverageRes))
	gaps := map[int64]bool{}
	for _, f := range features(t, st, analysis.WaterGaps) {
		gaps[f.ID] = true
	}
	cells := map[geo.Cell]bool{}
	for _, b := range features(t, st, layers.Buildings) {
		cells[geo.CellOf(b.Geometry.Bound().Center(), res)] = true
	}
	n := 0
	for c := range cells {
		best := math.Inf(1)
		for _, h := range hyd {
			best = math.Min(best, geo.Distance(geo.CellCenter(c), h))
		}
		if best > 150 {
			n++
		}
		if (best > 150) != gaps[int64(c)] {
			t.Errorf("cell %v: nearest hydrant %.2f m, gap=%v", c, best, gaps[int64(c)])
		}
	}
	if n == 0 || len(gaps) != n {
		t.Errorf("%d gaps stored, %d by brute force", len(gaps), n)
	}
}

func features(t *testing.T, st layers.Store, layer string) []layers.Feature {
	t.Helper()
	var out []layers.Feature
	if err := st.Query(context.Background(), layers.Query{Layer: layer}, func(f layers.Feature) error {
		out = append(out, f)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func equalProps(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if layers.Compare(v, b[k]) != 0 {
			return false
		}
	}
	return true
}

// TestWaterWarmRunMatchesCold runs water coverage, moves, adds and
// deletes buildings, moves hydrants along a road and redraws the town,
// and checks that a second run of the same analysis (which reuses the
// cells of the buildings and hydrants that did not move, and the
// centres of the cells) equals a run of a new one, which places
// everything afresh; then the same with the towns unchanged.
func TestWaterWarmRunMatchesCold(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(5, 9))
	pl := geo.NewPlane(origin)
	rnd := func() float64 { return rng.Float64()*2400 - 1200 }
	st := memstore.New()
	fs := []layers.Feature{{Layer: layers.Towns, ID: 1, Geometry: townSquare(pl, 1500),
		Props: map[string]any{"name": "鱼洞街道", "code": "500113002"}}}
	for i := range 40 {
		fs = append(fs, hydrant(int64(i+1), pl.Unproject(orb.Point{rnd(), rnd()}), "in_service"))
	}
	for i := range 3000 {
		fs = append(fs, building(int64(i+1), square(pl, rnd(), rnd(), 8+rng.Float64()*20)))
	}
	fs = append(fs, layers.Feature{Layer: layers.Roads, ID: 1, Props: map[string]any{"class": "branch", "name": "测试路"},
		Geometry: pl.UnprojectGeometry(orb.LineString{{-1000, 5}, {1000, 5}})})
	for i := range 20 {
		fs = append(fs, hydrant(int64(100+i), pl.Unproject(orb.Point{-1000 + 100*float64(i) + 60*rng.Float64(), 0}), "in_service"))
	}
	for _, f := range fs {
		if err := st.Upsert(ctx, f.Layer, []layers.Feature{f}); err != nil {
			t.Fatal(err)
		}
	}
	towns, err := analysis.LoadTowns(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	env := &analysis.Env{Store: st, Rules: analysis.DefaultRules(), Towns: towns}
	warm := analysis.NewWater()
	if _, err := warm.Run(ctx, env, analysis.Params{}); err != nil {
		t.Fatal(err)
	}
	for range 300 {
		id := int64(rng.IntN(3500) + 1)
		if rng.IntN(3) == 0 {
			err = st.Delete(ctx, layers.Buildings, []int64{id})
		} else {
			err = st.Upsert(ctx, layers.Buildings, []layers.Feature{building(id, square(pl, rnd(), rnd(), 15))})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		h := hydrant(int64(100+rng.IntN(20)), pl.Unproject(orb.Point{rnd(), 2 * float64(i)}), "in_service")
		if err := st.Upsert(ctx, layers.WaterSources, []layers.Feature{h}); err != nil {
			t.Fatal(err)
		}
	}
	// the town shrinks: cells outside it are in no town now
	if err := st.Upsert(ctx, layers.Towns, []layers.Feature{{Layer: layers.Towns, ID: 1, Geometry: townSquare(pl, 700),
		Props: map[string]any{"name": "鱼洞街道", "code": "500113002"}}}); err != nil {
		t.Fatal(err)
	}
	for _, reload := range []bool{true, false} {
		if reload {
			if env.Towns, err = analysis.LoadTowns(ctx, st); err != nil {
				t.Fatal(err)
			}
		}
		got, err := warm.Run(ctx, env, analysis.Params{})
		if err != nil {
			t.Fatal(err)
		}
		want, err := analysis.NewWater().Run(ctx, env, analysis.Params{})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Summary, want.Summary) {
			t.Errorf("summary: warm %v, cold %v", got.Summary, want.Summary)
		}
		for _, l := range []string{analysis.WaterGaps, analysis.UncoveredBuildings, analysis.SpacingGaps} {
			if len(want.Layers[l]) == 0 {
				t.Fatalf("%s: nothing to compare", l)
			}
			if !reflect.DeepEqual(got.Layers[l], want.Layers[l]) {
				t.Errorf("%s: warm run (%d features) differs from cold (%d)", l, len(got.Layers[l]), len(want.Layers[l]))
			}
		}
	}
}
