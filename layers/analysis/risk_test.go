package analysis

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/geo"
	"riskmap/layers"
)

func rxPoint(layer string, id int64, p orb.Point, props map[string]any) layers.Feature {
	return layers.Feature{Layer: layer, ID: id, Geometry: p, Props: props}
}

// rxSquare is a square polygon of side 2·r metres centred on c.
func rxSquare(layer string, id int64, c orb.Point, r float64, props map[string]any) layers.Feature {
	kx, ky := geo.MetresPerDegree(c[1])
	dx, dy := r/kx, r/ky
	return layers.Feature{Layer: layer, ID: id, Props: props,
		Geometry: orb.Polygon{{{c[0] - dx, c[1] - dy}, {c[0] + dx, c[1] - dy}, {c[0] + dx, c[1] + dy}, {c[0] - dx, c[1] + dy}, {c[0] - dx, c[1] - dy}}}}
}

// off moves p by metres.
func off(p orb.Point, x, y float64) orb.Point {
	return geo.NewPlane(p).Unproject(orb.Point{x, y})
}

// riskCase is a tiny district worked by hand (see the comments).
func riskCase() (x, y, z orb.Point, fs []layers.Feature) {
	x = geo.CellCenter(geo.CellOf(rxAt(0, 0), 8))
	y = geo.CellCenter(geo.CellOf(rxAt(6000, 0), 8))
	z = geo.CellCenter(geo.CellOf(rxAt(0, -3000), 8))
	fs = []layers.Feature{
		rxTown(1, "鱼洞", 8000),
		rxStation(1, x, "station", "grade1"),
		rxRoad(1, 40, false, off(x, -2000, 0), off(x, 2000, 0)),
		rxRoad(2, 40, false, off(x, 0, 0), off(x, 0, -3000)),
		rxPoint(layers.WaterSources, 1, x, map[string]any{"kind": "hydrant", "status": "in_service"}),
		rxPoint(layers.WaterSources, 2, z, map[string]any{"kind": "hydrant", "status": "in_service"}),

		// X: hazard 10+8 + 5 + 1 = 24 from enterprises, 6 + 2 from open
		// hazards (the closed one counts nothing), 6 from an idle tailings
		// pond (a closed quarry counts nothing): H = 38.
		rxPoint(layers.Enterprises, 1, off(x, 100, 20), map[string]any{"name": "甲", "category": "hazchem", "risk_level": "red", "major_hazard": true}),
		rxPoint(layers.Enterprises, 2, off(x, -100, 20), map[string]any{"name": "乙", "category": "industry", "risk_level": "orange"}),
		rxPoint(layers.Enterprises, 3, off(x, 0, 120), map[string]any{"name": "丙", "category": "other", "risk_level": "blue", "major_hazard": false}),
		rxPoint(layers.Hazards, 1, off(x, 50, -50), map[string]any{"category": "fire", "major": true, "status": "rectifying"}),
		rxPoint(layers.Hazards, 2, off(x, -50, -50), map[string]any{"category": "fire", "status": "assigned"}),
		rxPoint(layers.Hazards, 3, off(x, -60, -40), map[string]any{"category": "fire", "major": true, "status": "closed"}),
		rxSquare(layers.Mines, 1, off(x, 120, -120), 20, map[string]any{"name": "库", "kind": "tailings_pond", "status": "idle"}),
		rxSquare(layers.Mines, 2, off(x, -120, -120), 20, map[string]any{"name": "石", "kind": "quarry", "status": "closed"}),
		// Y: one orange enterprise (H = 5), ten houses (E = 0.5), no road
		// and no water: C = 1 + 1, S = 5.5 × 2 = 11, yellow.
		rxPoint(layers.Enterprises, 4, y, map[string]any{"name": "丁", "category": "industry", "risk_level": "orange"}),
		// Z: one blue enterprise 270 s from the station (R = 1, S = 1.5), a
		// pipeline occupation: red by override.
		rxPoint(layers.Enterprises, 5, z, map[string]any{"name": "戊", "category": "other", "risk_level": "blue"}),
	}
	// X: 20 houses, a school and a hospital within 40 m of the hydrant:
	// E = 0.05 × 22 + 2 × 2 = 5.1; covered and reached, C = 0,
	// S = 38 + 5.1 = 43.1, red.
	for i := range 22 {
		use := "residential"
		switch i {
		case 0:
			use = "school"
		case 1:
			use = "hospital"
		}
		fs = append(fs, rxBuilding(int64(i+1), off(x, float64(i%5)*15-30, float64(i/5)*15-30), use))
	}
	for i := range 10 {
		fs = append(fs, rxBuilding(int64(100+i), off(y, float64(i)*15-70, 30), "residential"))
	}
	return x, y, z, fs
}

func TestRiskIndexByHand(t *testing.T) {
	x, y, z, fs := riskCase()
	env := rxEnv(t, nil, fs...)
	ctx := context.Background()
	occ := rxSquare(riskOccupations, 7, z, 5, map[string]any{"rule": LongPipelineZone, "town": "鱼洞"})
	if err := env.Store.Upsert(ctx, riskOccupations, []layers.Feature{occ}); err != nil {
		t.Fatal(err)
	}
	run := func() map[int64]layers.Feature {
		t.Helper()
		res, err := NewRiskIndex().Run(ctx, env, Params{})
		if err != nil {
			t.Fatal(err)
		}
		return byID(res.Layers[RiskCells])
	}
	cells := run()
	if len(cells) != 3 {
		t.Fatalf("%d cells, want 3", len(cells))
	}
	id := func(p orb.Point) int64 { return int64(geo.CellOf(p, 8)) }
	want := []struct {
		name  string
		at    orb.Point
		props map[string]any
	}{
		{"X", x, map[string]any{"hazard": 38.0, "exposure": 5.1, "capacity_gap": 0.0, "score": 43.1, "level": "red",
			"enterprises": int64(3), "red_enterprises": int64(1), "major_hazard_sources": int64(1), "open_hazards": int64(2),
			"open_major_hazards": int64(1), "mines": int64(2), "buildings": int64(22), "vulnerable_buildings": int64(2),
			"rule": RiskRed, "town": "鱼洞"}},
		{"Y", y, map[string]any{"hazard": 5.0, "exposure": 0.5, "water_gap_share": 1.0, "reach_gap_share": 1.0,
			"capacity_gap": 2.0, "score": 11.0, "level": "yellow", "rule": RiskYellow}},
		{"Z", z, map[string]any{"hazard": 1.0, "reach_gap_share": 1.0, "score": 1.5, "level": "red", "override": "pipeline_occupation", // 3 km at 40 km/h: 270 s
			"rule": LongPipelineZone}},
	}
	for _, w := range want {
		f, ok := cells[id(w.at)]
		if !ok {
			t.Errorf("%s: no cell", w.name)
			continue
		}
		for k, v := range w.props {
			if f.Props[k] != v {
				t.Errorf("%s: %s = %v, want %v", w.name, k, f.Props[k], v)
			}
		}
	}

	// a stored water gap in X: W = 1 / (X's built-up water cells)
	xb := map[geo.Cell]bool{}
	for _, f := range fs {
		if f.Layer == layers.Buildings {
			if c := geo.CellOf(centroid(f.Geometry), 10); geo.Parent(c, 8) == geo.Cell(id(x)) {
				xb[c] = true
			}
		}
	}
	var one geo.Cell
	for c := range xb {
		one = c
	}
	gap := layers.Feature{Layer: WaterGaps, ID: int64(one), Geometry: geo.CellPolygon(one), Props: map[string]any{}}
	if err := env.Store.Upsert(ctx, WaterGaps, []layers.Feature{gap}); err != nil {
		t.Fatal(err)
	}
	cells = run()
	w := 1 / float64(len(xb))
	if got := cells[id(x)].Props["score"]; got != round1(43.1*(1+0.5*w)) {
		t.Errorf("X with one water gap in %d: score %v, want %v", len(xb), got, round1(43.1*(1+0.5*w)))
	}

	// configurable thresholds; a what-if recomputes water instead of
	// reading the stored gaps; the summary counts levels per town
	rules, _ := DefaultRules().Override(strings.NewReader(`{"risk.threshold_red": 50, "risk.threshold_yellow": 12}`))
	env.Rules = rules
	res, err := NewRiskIndex().Run(ctx, env, Params{Exclude: []int64{2}})
	if err != nil {
		t.Fatal(err)
	}
	cells = byID(res.Layers[RiskCells])
	if cells[id(x)].Props["level"] != "orange" || cells[id(y)].Props["level"] != "blue" || cells[id(x)].Props["capacity_gap"] != 0.0 {
		t.Errorf("with thresholds 50/20/12: X %v, Y %v", cells[id(x)].Props, cells[id(y)].Props["level"])
	}
	m := res.Summary.Metrics
	if m["cells"] != 3 || m["red_cells"] != 1 || m["orange_cells"] != 1 || m["blue_cells"] != 1 || m["override_cells"] != 1 {
		t.Errorf("summary %v", m)
	}
	if len(res.Summary.Towns) != 1 || res.Summary.Towns[0].Values["cells"] != 3 {
		t.Errorf("towns %+v", res.Summary.Towns)
	}
}

func TestRiskScoreTable(t *testing.T) {
	r := DefaultRules()
	tests := []struct {
		h, e, c float64
		score   float64
		level   string
	}{
		{0, 0, 0, 0, "blue"},
		{7, 0.9, 0, 7.9, "blue"},
		{8, 0, 0, 8, "yellow"},
		{10, 0, 2, 20, "orange"},
		{20, 20, 0, 40, "red"},
		{5, 0.5, 2, 11, "yellow"},
	}
	for _, tt := range tests {
		s := riskScore(tt.h, tt.e, tt.c)
		level, _ := riskLevel(r, s)
		if math.Abs(s-tt.score) > 1e-9 || level != tt.level {
			t.Errorf("H %v E %v C %v: %v %s, want %v %s", tt.h, tt.e, tt.c, s, level, tt.score, tt.level)
		}
	}
	if mineWeight("tailings_pond", "closed") != 0 || mineWeight("tailings_pond", "operating") != wTailings ||
		mineWeight("quarry", "idle") != 0 || mineWeight("clay", "operating") != wOperatingPit {
		t.Error("mine weights")
	}
}

// TestRiskIndexThroughEngine runs the index after the analyses it reads,
// as the engine orders them: the pipeline occupation found by the
// pipeline analysis turns Z red, and a new open hazard in Y recomputes Y.
func TestRiskIndexThroughEngine(t *testing.T) {
	ctx := context.Background()
	_, y, z, fs := riskCase()
	fs = append(fs,
		rxBuilding(500, z, "residential"),
		layers.Feature{Layer: layers.Pipelines, ID: 1, Geometry: orb.LineString{off(z, -300, 0), off(z, 300, 0)},
			Props: map[string]any{"name": "川气东送", "class": "gas_long"}},
	)
	e, err := New(layers.NewCatalog(), DefaultRules(), NewWater(), NewPipeline(), NewStationReach(), NewRiskIndex())
	if err != nil {
		t.Fatal(err)
	}
	st := layers.Observe(rxEnv(t, nil, fs...).Store)
	e.Attach(st, func(err error) { t.Errorf("engine: %v", err) })
	defer e.Close()
	if err := e.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	get := func(p orb.Point) layers.Feature {
		t.Helper()
		f, err := st.Get(ctx, RiskCells, int64(geo.CellOf(p, 8)))
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	if f := get(z); f.Props["level"] != "red" || f.Props["override"] != "pipeline_occupation" || f.Props["rule"] != LongPipelineZone {
		t.Errorf("Z: %v", f.Props)
	}
	if n, _ := st.Count(ctx, layers.Query{Layer: ReachGaps}); n == 0 {
		t.Error("no reach gaps stored")
	}
	// an open major hazard in Y: H 5 → 11, S = 11.5 × 2 = 23, orange
	h := rxPoint(layers.Hazards, 9, y, map[string]any{"category": "fire", "major": true, "status": "reported"})
	if err := st.Upsert(ctx, layers.Hazards, []layers.Feature{h}); err != nil {
		t.Fatal(err)
	}
	// the index is not incremental: stale until the background catches up
	if s, _ := e.Summary("risk-index"); !s.Stale {
		t.Error("risk index not stale right after a write to its inputs")
	}
	if err := e.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	if s, _ := e.Summary("risk-index"); s.Stale || s.ComputedAt.IsZero() {
		t.Errorf("after settling: stale %v, computed at %v", s.Stale, s.ComputedAt)
	}
	if f := get(y); f.Props["level"] != "orange" || f.Props["score"] != 23.0 {
		t.Errorf("Y after a new hazard: %v", f.Props)
	}
	if s, ok := e.Summary("risk-index"); !ok || s.Metrics["orange_cells"] != 1 {
		t.Errorf("summary %v", s.Metrics)
	}
}
