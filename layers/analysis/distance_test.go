package analysis

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/geo"
	"riskmap/layers"
)

func TestDistanceCases(t *testing.T) {
	w := newWorld(t)
	// the Yangtze: water between y = 0 and y = 800 from x = -5 km to 5 km;
	// a tributary (not the main stem) along y = -3000
	w.put(layers.Rivers, 1, w.rect(-5000, 0, 5000, 800), map[string]any{"name": "长江", "main_stem": true})
	w.put(layers.Rivers, 2, w.line(-5000, -3000, 5000, -3000), map[string]any{"name": "一品河", "main_stem": false})
	e := func(id int64, x, y float64, cat string) {
		w.put(layers.Enterprises, id, w.pt(x, y), map[string]any{"name": "化工", "category": cat, "risk_level": "red"})
	}
	e(1, 100, -600, "hazchem")  // 600 m from the shore
	e(2, 100, -1500, "hazchem") // 1.5 km
	e(3, -100, 300, "hazchem")  // on the water: 0
	e(4, 100, -2900, "hazchem") // 100 m from the tributary only
	e(5, 100, -100, "industry") // not chemical
	e(6, -200, 1700, "hazchem") // 900 m north of the far shore

	// a quarry [0,100]×[-9000,-8900]; buildings east of it at 299 and 301
	// m. Each group is drawn in a plane at its own centre so that its
	// metres are metres on the ground.
	home := w
	w = w.near(0, -9000)
	w.put(layers.Mines, 1, w.rect(0, -9000, 100, -8900), map[string]any{"name": "采石场", "kind": "quarry", "status": "operating"})
	w.put(layers.Mines, 2, w.rect(-2000, -9000, -1900, -8900), map[string]any{"name": "石灰石矿", "kind": "limestone", "status": "idle"})
	w.put(layers.Mines, 3, w.rect(2000, -9000, 2100, -8900), map[string]any{"name": "已关闭", "kind": "quarry", "status": "closed"})
	w.put(layers.Mines, 4, w.rect(4000, -9000, 4100, -8900), map[string]any{"name": "粘土", "kind": "clay", "status": "operating"})
	bld := func(id int64, x0, y0 float64, use string) {
		w.put(layers.Buildings, id, w.rect(x0, y0, x0+20, y0+20), map[string]any{"use": use})
	}
	bld(1, 399, -8960, "residential")  // 299 m
	bld(2, 401, -8940, "residential")  // 301 m
	bld(3, 150, -8960, "industrial")   // 50 m, a factory
	bld(4, -1850, -8960, "school")     // 30 m from the limestone pit
	bld(5, 2150, -8960, "residential") // by the closed quarry
	bld(6, 4150, -8960, "residential") // by the clay pit
	bld(7, 250, -8940, "residential")  // 150 m from quarry 1

	// tailings ponds: one with buildings within 1 km, one alone, one closed
	w = home.near(0, 9000)
	w.put(layers.Mines, 5, w.rect(0, 9000, 200, 9200), map[string]any{"name": "尾矿库", "kind": "tailings_pond", "status": "operating"})
	w.put(layers.Mines, 6, w.rect(0, 15000, 200, 15200), map[string]any{"name": "孤库", "kind": "tailings_pond", "status": "idle"})
	w.put(layers.Mines, 7, w.rect(-3000, 9000, -2800, 9200), map[string]any{"name": "闭库", "kind": "tailings_pond", "status": "closed"})
	bld(8, 1100, 9100, "residential")  // 900 m
	bld(9, 1150, 9100, "industrial")   // 950 m: people work there too
	bld(10, 1300, 9100, "residential") // 1.1 km
	bld(11, -2700, 9100, "residential")

	w = home
	res := wRun(t, NewDistance(), w.env(), Params{})
	got := wByID(res.Layers[DistanceViolations])
	type v struct {
		kind string
		d    float64
		rule string
	}
	want := map[int64]v{
		1 * 4:   {ViolationYangtze, 600, YangtzeChemical},
		3 * 4:   {ViolationYangtze, 0, YangtzeChemical},
		6 * 4:   {ViolationYangtze, 900, YangtzeChemical},
		1*4 + 1: {ViolationQuarry, 299, QuarryBuffer},
		4*4 + 1: {ViolationQuarry, 50, QuarryBuffer},
		7*4 + 1: {ViolationQuarry, 150, QuarryBuffer},
		5*4 + 2: {ViolationTailings, 900, TailingsDownstream},
	}
	if len(got) != len(want) {
		t.Errorf("violations %v, want %v", wKeys(got), wKeysOf(want))
	}
	for id, x := range want {
		f, ok := got[id]
		if !ok {
			t.Errorf("%d missing", id)
			continue
		}
		if f.Props["kind"] != x.kind || math.Abs(f.Props["distance_m"].(float64)-x.d) > 0.05 || f.Props["rule"] != x.rule {
			t.Errorf("%d: %v, want %+v", id, f.Props, x)
		}
		if f.Props["subject_id"] != id/4 {
			t.Errorf("%d: subject %v", id, f.Props["subject_id"])
		}
	}
	if f := got[5*4+2]; f.Props["buildings"] != int64(2) || f.Props["nearest_building_id"] != int64(8) {
		t.Errorf("pond: %v", f.Props)
	}
	if f := got[1*4+1]; f.Props["quarry_id"] != int64(1) || f.Props["quarries"] != int64(1) {
		t.Errorf("building 1: %v", f.Props)
	}
	if f := got[4]; f.Props["standard"] != "长江保护法 第二十六条" || f.Props["river_id"] != int64(1) {
		t.Errorf("enterprise 1: %v", f.Props)
	}
	m := res.Summary.Metrics
	if m["violations"] != 7 || m[ViolationYangtze] != 3 || m[ViolationQuarry] != 3 || m[ViolationTailings] != 1 ||
		m["hazchem_enterprises"] != 5 || m["quarries"] != 2 || m["tailings_ponds"] != 2 {
		t.Errorf("summary %v", m)
	}
	wCheckTowns(t, res.Summary, "violations", ViolationYangtze, ViolationQuarry, ViolationTailings, "quarries")

	// per town: enterprise 3 and 6 lie west of x = 0
	res = wRun(t, NewDistance(), w.env(), Params{Town: "西镇"})
	if m := res.Summary.Metrics; m[ViolationYangtze] != 2 || m[ViolationQuarry] != 1 || len(res.Summary.Towns) != 1 {
		t.Errorf("西镇: %v", res.Summary)
	}
}

func TestDistanceBruteForce(t *testing.T) {
	w := newWorld(t)
	r := rand.New(rand.NewPCG(9, 10))
	// a wiggly river polygon along y ≈ 0 and a main-stem line along y ≈ 3000
	var top, bottom orb.LineString
	for x := -4000.0; x <= 4000; x += 250 {
		y := (r.Float64()*2 - 1) * 150
		top = append(top, w.pt(x, y+300+r.Float64()*200))
		bottom = append(bottom, w.pt(x, y))
	}
	ring := orb.Ring(append(orb.LineString{}, bottom...))
	for i := len(top) - 1; i >= 0; i-- {
		ring = append(ring, top[i])
	}
	ring = append(ring, ring[0])
	w.put(layers.Rivers, 1, orb.Polygon{ring}, map[string]any{"name": "长江", "main_stem": true})
	w.put(layers.Rivers, 2, w.randomLine(r, -2000, 3000, 1500), map[string]any{"name": "长江北汊", "main_stem": true})
	w.put(layers.Rivers, 3, w.randomLine(r, 0, -2000, 1500), map[string]any{"name": "支流", "main_stem": false})
	cats := []string{"hazchem", "hazchem", "industry"}
	for id := int64(1); id <= 400; id++ {
		w.put(layers.Enterprises, id, w.pt(r.Float64()*8000-4000, r.Float64()*8000-4000), map[string]any{"name": "e", "category": cats[r.IntN(3)], "risk_level": "blue"})
	}
	kinds := []string{"quarry", "limestone", "sand_gravel", "clay", "tailings_pond", "tailings_pond"}
	statuses := []string{"operating", "idle", "closing", "closed"}
	for id := int64(1); id <= 40; id++ {
		w.put(layers.Mines, id, w.randomRect(r, r.Float64()*8000-4000, r.Float64()*8000-4000, 300),
			map[string]any{"name": "m", "kind": kinds[r.IntN(len(kinds))], "status": statuses[r.IntN(len(statuses))]})
	}
	uses := []string{"residential", "school", "industrial", "warehouse", "high_rise"}
	for id := int64(1); id <= 2000; id++ {
		w.put(layers.Buildings, id, w.randomRect(r, r.Float64()*8000-4000, r.Float64()*8000-4000, 30), map[string]any{"use": uses[r.IntN(len(uses))]})
	}
	res := wRun(t, NewDistance(), w.env(), Params{})
	want := map[int64]float64{}
	rivers := w.all(layers.Rivers)
	for _, e := range w.all(layers.Enterprises) {
		if e.Props["category"] != "hazchem" {
			continue
		}
		best := math.Inf(1)
		for _, rv := range rivers {
			if rv.Props["main_stem"] == true {
				best = math.Min(best, geo.GeometryDistance(e.Geometry, rv.Geometry))
			}
		}
		if best <= 1000 {
			want[e.ID*4] = best
		}
	}
	mines, blds := w.all(layers.Mines), w.all(layers.Buildings)
	quarryCount := map[int64]int64{}
	for _, b := range blds {
		if u := b.Props["use"]; u == "industrial" || u == "warehouse" {
			continue
		}
		best := math.Inf(1)
		for _, m := range mines {
			k := m.Props["kind"]
			if (k != "quarry" && k != "limestone" && k != "sand_gravel") || m.Props["status"] == "closed" {
				continue
			}
			if d := geo.GeometryDistance(b.Geometry, m.Geometry); d <= 300 {
				best = math.Min(best, d)
				quarryCount[b.ID*4+1]++
			}
		}
		if best <= 300 {
			want[b.ID*4+1] = best
		}
	}
	pondCount := map[int64]int64{}
	for _, m := range mines {
		if m.Props["kind"] != "tailings_pond" || m.Props["status"] == "closed" {
			continue
		}
		best := math.Inf(1)
		for _, b := range blds {
			if d := geo.GeometryDistance(b.Geometry, m.Geometry); d <= 1000 {
				best = math.Min(best, d)
				pondCount[m.ID*4+2]++
			}
		}
		if best <= 1000 {
			want[m.ID*4+2] = best
		}
	}
	got := wByID(res.Layers[DistanceViolations])
	n := map[int64]int{}
	for id := range want {
		n[id%4]++
	}
	if len(got) != len(want) || n[0] < 10 || n[1] < 10 || n[2] < 3 {
		t.Errorf("violations %d, brute force %d (by kind %v)", len(got), len(want), n)
	}
	for id, d := range want {
		f, ok := got[id]
		if !ok {
			t.Errorf("%d missing (%v m)", id, d)
			continue
		}
		if f.Props["distance_m"] != round1(d) {
			t.Errorf("%d: distance %v, brute force %v", id, f.Props["distance_m"], d)
		}
		if c, ok := quarryCount[id]; ok && f.Props["quarries"] != c {
			t.Errorf("%d: quarries %v, brute force %d", id, f.Props["quarries"], c)
		}
		if c, ok := pondCount[id]; ok && f.Props["buildings"] != c {
			t.Errorf("%d: buildings %v, brute force %d", id, f.Props["buildings"], c)
		}
	}
	wCheckTowns(t, res.Summary, "violations", ViolationYangtze, ViolationQuarry, ViolationTailings)
	t.Logf("violations by kind (0 Yangtze, 1 quarry, 2 pond): %v", n)
}

func BenchmarkDistanceRandom(b *testing.B) {
	w := newWorld(b)
	r := rand.New(rand.NewPCG(9, 10))
	w.put(layers.Rivers, 1, w.rect(-5000, 0, 5000, 800), map[string]any{"name": "长江", "main_stem": true})
	for id := int64(1); id <= 1000; id++ {
		w.put(layers.Enterprises, id, w.pt(r.Float64()*8000-4000, r.Float64()*8000-4000), map[string]any{"name": "e", "category": "hazchem", "risk_level": "blue"})
	}
	for id := int64(1); id <= 40; id++ {
		w.put(layers.Mines, id, w.randomRect(r, r.Float64()*8000-4000, r.Float64()*8000-4000, 300), map[string]any{"name": "m", "kind": "quarry", "status": "operating"})
	}
	for id := int64(1); id <= 3000; id++ {
		w.put(layers.Buildings, id, w.randomRect(r, r.Float64()*8000-4000, r.Float64()*8000-4000, 30), map[string]any{"use": "residential"})
	}
	env := w.env()
	a := NewDistance()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Run(w.ctx, env, Params{}); err != nil {
			b.Fatal(err)
		}
	}
}
