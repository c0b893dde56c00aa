package analysis

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/geo"
	"riskmap/layers"
)

func TestFloodCases(t *testing.T) {
	w := newWorld(t)
	// a flood area (polygon, 30 cm) and a shallow one (10 cm), flood
	// points of 40 cm and 14 cm
	w.put(layers.FloodSpots, 1, w.rect(0, 0, 100, 100), map[string]any{"name": "下穿道", "max_depth_cm": 30.0})
	w.put(layers.FloodSpots, 2, w.rect(0, 1000, 100, 1100), map[string]any{"max_depth_cm": 10.0})
	w.put(layers.FloodSpots, 3, w.pt(500, 0), map[string]any{"max_depth_cm": 40.0})
	w.put(layers.FloodSpots, 4, w.pt(500, 1000), map[string]any{"max_depth_cm": int64(14)})
	w.put(layers.FloodSpots, 5, w.pt(-500, 0), map[string]any{"max_depth_cm": 15.0}) // not deeper than 15

	w.put(layers.Buildings, 1, w.rect(20, 20, 40, 40), map[string]any{"use": "underground", "name": "人防"}) // inside 1
	w.put(layers.Buildings, 2, w.rect(20, 1020, 40, 1040), map[string]any{"use": "underground"})           // inside shallow 2
	w.put(layers.Buildings, 3, w.rect(20, 20, 40, 40), map[string]any{"use": "residential"})               // not a subject
	w.put(layers.Buildings, 4, w.rect(130, 20, 150, 40), map[string]any{"use": "underground"})             // 30 m from polygon 1
	w.put(layers.Buildings, 5, w.rect(-530, -10, -510, 10), map[string]any{"use": "underground"})          // 10 m from a 15 cm point
	hz := func(id int64, x, y float64, cat string) {
		w.put(layers.Enterprises, id, w.pt(x, y), map[string]any{"name": "企业", "category": cat, "risk_level": "orange"})
	}
	hz(1, 530, 0, "hazchem")    // 30 m from 40 cm: exposed
	hz(2, 530, 1000, "hazchem") // 30 m from 14 cm: not
	hz(3, 500, 45, "power")     // 45 m from 40 cm: exposed substation
	hz(4, 500, 60, "power")     // 60 m: not
	hz(5, 510, 0, "industry")   // not a subject
	hz(6, 50, 50, "hazchem")    // inside polygon 1
	res := wRun(t, NewFlood(), w.env(), Params{})
	got := wByID(res.Layers[FloodExposure])
	want := map[int64]struct {
		kind  string
		flood int64
		d     float64
		rule  string
	}{
		1 * 2:   {ExposedUnderground, 1, 0, FloodDepth},
		2 * 2:   {ExposedUnderground, 2, 0, FloodNear},
		4 * 2:   {ExposedUnderground, 1, 30, FloodDepth},
		1*2 + 1: {ExposedHazchem, 3, 30, FloodDepth},
		3*2 + 1: {ExposedSubstation, 3, 45, FloodDepth},
		6*2 + 1: {ExposedHazchem, 1, 0, FloodDepth},
	}
	if len(got) != len(want) {
		t.Errorf("exposed %v, want %v", wKeys(got), wKeysOf(want))
	}
	for id, x := range want {
		f, ok := got[id]
		if !ok {
			t.Errorf("%d not exposed", id)
			continue
		}
		if f.Props["kind"] != x.kind || f.Props["flood_id"] != x.flood || f.Props["distance_m"] != x.d || f.Props["rule"] != x.rule {
			t.Errorf("%d: %v", id, f.Props)
		}
		if f.Props["subject_id"] != id/2 {
			t.Errorf("%d: subject %v", id, f.Props["subject_id"])
		}
	}
	if f := got[2]; f.Props["depth_cm"] != 30.0 || f.Props["standard"] != "GB 51222-2017 §3.2.3" {
		t.Errorf("building 1: %v", f.Props)
	}
	m := res.Summary.Metrics
	if m["exposed"] != 6 || m[ExposedUnderground] != 3 || m[ExposedHazchem] != 2 || m[ExposedSubstation] != 1 || m["deep_spots"] != 2 {
		t.Errorf("summary %v", m)
	}
	wCheckTowns(t, res.Summary, "exposed", ExposedUnderground, ExposedHazchem, ExposedSubstation, "deep_spots")

	// a stricter rule set: 50 cm leaves only what lies inside polygons
	env := w.env()
	r := env.Rules
	x := r[FloodDepth]
	x.Value = 50
	r[FloodDepth] = x
	res = wRun(t, NewFlood(), env, Params{})
	if n := len(res.Layers[FloodExposure]); n != 3 {
		t.Errorf("at 50 cm: %d exposed, want 3 (inside polygons)", n)
	}
}

func TestFloodBruteForce(t *testing.T) {
	w := newWorld(t)
	r := rand.New(rand.NewPCG(7, 8))
	for id := int64(1); id <= 120; id++ {
		x, y := r.Float64()*3000-1500, r.Float64()*3000-1500
		var g orb.Geometry = w.pt(x, y)
		if r.IntN(3) == 0 {
			g = w.randomRect(r, x, y, 80)
		}
		w.put(layers.FloodSpots, id, g, map[string]any{"max_depth_cm": float64(r.IntN(60))})
	}
	uses := []string{"underground", "underground", "residential"}
	for id := int64(1); id <= 800; id++ {
		w.put(layers.Buildings, id, w.randomRect(r, r.Float64()*3000-1500, r.Float64()*3000-1500, 30), map[string]any{"use": uses[r.IntN(len(uses))]})
	}
	cats := []string{"hazchem", "power", "industry"}
	for id := int64(1); id <= 800; id++ {
		w.put(layers.Enterprises, id, w.pt(r.Float64()*3000-1500, r.Float64()*3000-1500), map[string]any{"name": "e", "category": cats[r.IntN(3)], "risk_level": "blue"})
	}
	res := wRun(t, NewFlood(), w.env(), Params{})
	spots := w.all(layers.FloodSpots)
	type hit struct {
		flood int64
		d     float64
		n     int64
	}
	want := map[int64]hit{}
	check := func(layer string, bit int64) {
		for _, s := range w.all(layer) {
			if exposureKind(layer, s.Props) == "" {
				continue
			}
			h := hit{d: math.Inf(1)}
			var depth float64
			for _, f := range spots {
				d := geo.GeometryDistance(s.Geometry, f.Geometry)
				dep := f.Props["max_depth_cm"].(float64)
				_, poly := f.Geometry.(orb.Polygon)
				if !(poly && d == 0) && !(dep > 15 && d <= 50) {
					continue
				}
				h.n++
				if d < h.d || (d == h.d && dep > depth) {
					h.flood, h.d, depth = f.ID, d, dep
				}
			}
			if h.n > 0 {
				want[s.ID*2+bit] = h
			}
		}
	}
	check(layers.Buildings, 0)
	check(layers.Enterprises, 1)
	got := wByID(res.Layers[FloodExposure])
	if len(got) != len(want) || len(want) < 30 {
		t.Errorf("exposed %d, brute force %d", len(got), len(want))
	}
	for id, h := range want {
		f, ok := got[id]
		if !ok {
			t.Errorf("%d missing", id)
			continue
		}
		if f.Props["flood_id"] != h.flood || f.Props["distance_m"] != round1(h.d) || f.Props["spots"] != h.n {
			t.Errorf("%d: %v, brute force %+v", id, f.Props, h)
		}
	}
	wCheckTowns(t, res.Summary, "exposed", ExposedUnderground, ExposedHazchem, ExposedSubstation)
	t.Logf("%d exposed", len(want))
}

func BenchmarkFloodRandom(b *testing.B) {
	w := newWorld(b)
	r := rand.New(rand.NewPCG(7, 8))
	for id := int64(1); id <= 300; id++ {
		w.put(layers.FloodSpots, id, w.pt(r.Float64()*3000-1500, r.Float64()*3000-1500), map[string]any{"max_depth_cm": 30.0})
	}
	for id := int64(1); id <= 3000; id++ {
		w.put(layers.Buildings, id, w.randomRect(r, r.Float64()*3000-1500, r.Float64()*3000-1500, 30), map[string]any{"use": "underground"})
	}
	env := w.env()
	a := NewFlood()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Run(w.ctx, env, Params{}); err != nil {
			b.Fatal(err)
		}
	}
}
