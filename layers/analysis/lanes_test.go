package analysis

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"riskmap/geo"
	"riskmap/layers"
)

func TestLaneIssues(t *testing.T) {
	cases := []struct {
		name   string
		props  map[string]any
		issues string
		rule   string
	}{
		{"fine", map[string]any{"kind": "fire_lane", "status": "clear", "width_m": 4.0, "clear_height_m": 4.0, "marked": true}, "", ""},
		{"narrow", map[string]any{"kind": "fire_lane", "status": "clear", "width_m": 3.9, "marked": true}, "narrow", LaneMinWidth},
		{"low", map[string]any{"kind": "fire_lane", "status": "clear", "width_m": 6.0, "clear_height_m": 3.5}, "low", LaneMinHeight},
		{"integer width", map[string]any{"kind": "rescue_corridor", "status": "clear", "width_m": int64(3)}, "narrow", LaneMinWidth},
		{"unknown sizes", map[string]any{"kind": "fire_lane", "status": "clear"}, "", ""},
		{"evacuation is for people", map[string]any{"kind": "evacuation", "status": "clear", "width_m": 2.0, "clear_height_m": 2.5}, "", ""},
		{"occupied narrow unmarked", map[string]any{"kind": "fire_lane", "status": "occupied", "width_m": 3.0, "marked": false}, "occupied,narrow,unmarked", LaneObstruction},
		{"blocked", map[string]any{"kind": "evacuation", "status": "blocked"}, "blocked", LaneObstruction},
		{"unmarked", map[string]any{"kind": "fire_lane", "status": "clear", "marked": false}, "unmarked", LaneMarking},
	}
	w := newWorld(t)
	for i, c := range cases {
		w.put(layers.LifeLanes, int64(i+1), w.line(float64(i)*100, 0, float64(i)*100+50, 0), c.props)
	}
	res := wRun(t, NewLanes(), w.env(), Params{})
	got := wByID(res.Layers[LaneIssues])
	counts := map[string]float64{}
	for i, c := range cases {
		f, ok := got[int64(i+1)]
		if c.issues == "" {
			if ok {
				t.Errorf("%s: flagged %v", c.name, f.Props["issues"])
			}
			continue
		}
		if !ok {
			t.Errorf("%s: not flagged", c.name)
			continue
		}
		if f.Props["issues"] != c.issues || f.Props["rule"] != c.rule {
			t.Errorf("%s: issues %v rule %v, want %s %s", c.name, f.Props["issues"], f.Props["rule"], c.issues, c.rule)
		}
		for _, code := range strings.Split(c.issues, ",") {
			counts[code]++
		}
	}
	if f := got[7]; f.Props["rules"] != LaneObstruction+","+LaneMinWidth+","+LaneMarking {
		t.Errorf("rules %v", f.Props["rules"])
	}
	m := res.Summary.Metrics
	for _, code := range []string{IssueBlocked, IssueOccupied, IssueNarrow, IssueLow, IssueUnmarked} {
		if m[code] != counts[code] {
			t.Errorf("summary %s = %v, want %v", code, m[code], counts[code])
		}
	}
	// fire lanes: 1, 2, 3, 5, 7, 9; marked: 1, 2
	if m["fire_lanes"] != 6 || m["marked_pct"] != round1(100*2.0/6) || m["lanes_with_issues"] != 6 {
		t.Errorf("summary %v", m)
	}
}

func TestLanesBuildings(t *testing.T) {
	w := newWorld(t)
	clear := map[string]any{"kind": "fire_lane", "status": "clear", "width_m": 5.0, "clear_height_m": 5.0, "marked": true}
	// a clear lane along y = 0 for x in [0, 1000]
	w.put(layers.LifeLanes, 1, w.line(0, 0, 1000, 0), clear)
	// a blocked lane along y = 500, an occupied 6+N lane along y = 800 and
	// a fixed one along y = -800
	w.put(layers.LifeLanes, 2, w.line(0, 500, 1000, 500), map[string]any{"kind": "fire_lane", "status": "blocked", "width_m": 5.0})
	w.put(layers.LifeLanes, 3, w.line(0, 800, 1000, 800), map[string]any{"kind": "fire_lane", "status": "occupied", "on_6n_list": true, "compound": "龙洲湾小区"})
	w.put(layers.LifeLanes, 4, w.line(0, -800, 1000, -800), map[string]any{"kind": "fire_lane", "status": "clear", "on_6n_list": true, "marked": true})
	// a narrow clear lane along y = 1200
	w.put(layers.LifeLanes, 5, w.line(0, 1200, 1000, 1200), map[string]any{"kind": "fire_lane", "status": "clear", "width_m": 3.5})
	b := func(id int64, y0 float64, use string) {
		w.put(layers.Buildings, id, w.rect(100+float64(id)*30, y0, 120+float64(id)*30, y0+20), map[string]any{"use": use, "floors": int64(20)})
	}
	b(1, 9, "high_rise")      // 9 m from the clear lane: served
	b(2, 11, "high_rise")     // 11 m: flagged
	b(3, 503, "crowded")      // 3 m from the blocked lane only: flagged
	b(4, 1203, "high_rise")   // 3 m from a narrow lane: flagged
	b(5, 11, "residential")   // not checked
	b(6, -29.9999, "crowded") // 10 m below the clear lane (to 0.1 mm): served
	b(7, 3000, "high_rise")   // nothing within 500 m
	res := wRun(t, NewLanes(), w.env(), Params{})
	got := wByID(res.Layers[BuildingsWithoutLane])
	want := map[int64]struct {
		lane int64
		d    float64
	}{2: {1, 11}, 3: {2, 3}, 4: {5, 3}, 7: {0, 0}}
	if len(got) != len(want) {
		t.Errorf("flagged %v, want %v", wKeys(got), wKeysOf(want))
	}
	for id, x := range want {
		f, ok := got[id]
		if !ok {
			t.Errorf("building %d not flagged", id)
			continue
		}
		if x.lane == 0 {
			if _, has := f.Props["nearest_lane_id"]; has {
				t.Errorf("building %d: nearest lane %v beyond 500 m", id, f.Props["nearest_lane_id"])
			}
			continue
		}
		if f.Props["nearest_lane_id"] != x.lane || f.Props["nearest_lane_m"] != x.d {
			t.Errorf("building %d: nearest %v at %v, want %d at %v", id, f.Props["nearest_lane_id"], f.Props["nearest_lane_m"], x.lane, x.d)
		}
		if f.Props["rule"] != LaneNearBuilding || f.Props["floors"] != int64(20) {
			t.Errorf("building %d props %v", id, f.Props)
		}
	}
	if f := got[3]; f.Props["nearest_lane_status"] != "blocked" {
		t.Errorf("building 3 nearest lane status %v", f.Props["nearest_lane_status"])
	}
	m := res.Summary.Metrics
	if m["on_6n_list"] != 2 || m["on_6n_open"] != 1 || m["on_6n_fixed"] != 1 || m["buildings_checked"] != 6 || m["buildings_without_lane"] != 4 {
		t.Errorf("summary %v", m)
	}
	wCheckTowns(t, res.Summary, "lanes", "lanes_with_issues", "buildings_without_lane", "on_6n_open")
	if len(res.Summary.Targets) != 2 {
		t.Errorf("targets %v", res.Summary.Targets)
	}
	for _, tg := range res.Summary.Targets {
		if tg.Source != "seed L1482" || tg.Met(m[tg.Metric]) {
			t.Errorf("target %v met by %v", tg, m[tg.Metric])
		}
	}
}

func TestLanesBruteForce(t *testing.T) {
	w := newWorld(t)
	r := rand.New(rand.NewPCG(5, 6))
	kinds := []string{"fire_lane", "fire_lane", "fire_lane", "evacuation", "rescue_corridor"}
	statuses := []string{"clear", "clear", "clear", "occupied", "blocked"}
	for id := int64(1); id <= 300; id++ {
		props := map[string]any{"kind": kinds[r.IntN(len(kinds))], "status": statuses[r.IntN(len(statuses))],
			"marked": r.IntN(3) > 0, "on_6n_list": r.IntN(10) == 0}
		if r.IntN(5) > 0 {
			props["width_m"] = 3 + r.Float64()*3
		}
		if r.IntN(3) == 0 {
			props["clear_height_m"] = 3 + r.Float64()*3
		}
		w.put(layers.LifeLanes, id, w.randomLine(r, r.Float64()*3000-1500, r.Float64()*3000-1500, 150), props)
	}
	uses := []string{"high_rise", "crowded", "residential"}
	for id := int64(1); id <= 1200; id++ {
		w.put(layers.Buildings, id, w.randomRect(r, r.Float64()*3000-1500, r.Float64()*3000-1500, 40), map[string]any{"use": uses[r.IntN(len(uses))]})
	}
	env := w.env()
	res := wRun(t, NewLanes(), env, Params{})
	lanes := w.all(layers.LifeLanes)
	type near struct {
		id int64
		d  float64
	}
	want := map[int64]near{}
	for _, b := range w.all(layers.Buildings) {
		if u := b.Props["use"]; u != "high_rise" && u != "crowded" {
			continue
		}
		served, best := false, near{0, math.Inf(1)}
		for _, l := range lanes {
			d := geo.GeometryDistance(b.Geometry, l.Geometry)
			if d <= 10 && usableFireLane(env.Rules, l.Props) {
				served = true
			}
			if d <= laneEvidenceM && d < best.d {
				best = near{l.ID, d}
			}
		}
		if !served {
			want[b.ID] = best
		}
	}
	got := wByID(res.Layers[BuildingsWithoutLane])
	if len(got) != len(want) || len(want) < 50 {
		t.Errorf("flagged %d, brute force %d", len(got), len(want))
	}
	for id, x := range want {
		f, ok := got[id]
		if !ok {
			t.Errorf("building %d not flagged", id)
			continue
		}
		if x.id == 0 {
			continue
		}
		if f.Props["nearest_lane_id"] != x.id || f.Props["nearest_lane_m"] != round1(x.d) {
			t.Errorf("building %d: nearest %v at %v, brute force %d at %v", id, f.Props["nearest_lane_id"], f.Props["nearest_lane_m"], x.id, x.d)
		}
	}
	// issues against the rule table
	issues := wByID(res.Layers[LaneIssues])
	for _, l := range lanes {
		codes, _ := laneIssues(env.Rules, l.Props)
		if _, ok := issues[l.ID]; ok != (len(codes) > 0) {
			t.Errorf("lane %d: flagged %v, issues %v", l.ID, ok, codes)
		}
	}
	wCheckTowns(t, res.Summary, "lanes", "lanes_with_issues", "buildings_without_lane", IssueNarrow, "fire_lanes_marked")
	t.Logf("%d lanes with issues, %d buildings without a lane", len(issues), len(want))
}

func BenchmarkLanesRandom(b *testing.B) {
	w := newWorld(b)
	r := rand.New(rand.NewPCG(5, 6))
	for id := int64(1); id <= 500; id++ {
		w.put(layers.LifeLanes, id, w.randomLine(r, r.Float64()*3000-1500, r.Float64()*3000-1500, 150),
			map[string]any{"kind": "fire_lane", "status": "clear", "width_m": 3 + r.Float64()*3})
	}
	for id := int64(1); id <= 3000; id++ {
		w.put(layers.Buildings, id, w.randomRect(r, r.Float64()*3000-1500, r.Float64()*3000-1500, 40), map[string]any{"use": "high_rise"})
	}
	env := w.env()
	a := NewLanes()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Run(w.ctx, env, Params{}); err != nil {
			b.Fatal(err)
		}
	}
}
