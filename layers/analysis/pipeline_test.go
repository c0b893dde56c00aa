package analysis

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"riskmap/geo"
	"riskmap/layers"
	"riskmap/layers/memstore"
)

// ---- a small hand-made world in metres around an origin in Banan, shared
// by the tests of the pipeline, lanes, flood and distance analyses.

var worldOrigin = orb.Point{106.55, 29.40}

type world struct {
	t   testing.TB
	ctx context.Context
	st  *memstore.Store
	pl  geo.Plane
	off orb.Point // the plane's origin in world metres
}

// newWorld returns an empty store with two towns: 西镇 west of x = 0 and
// 东镇 east of it (20 km each way).
func newWorld(t testing.TB) *world {
	w := &world{t: t, ctx: context.Background(), st: memstore.New(), pl: geo.NewPlane(worldOrigin)}
	w.put(layers.Towns, 1, w.rect(-20000, -20000, 0, 20000), map[string]any{"name": "西镇", "code": "1"})
	w.put(layers.Towns, 2, w.rect(0, -20000, 20000, 20000), map[string]any{"name": "东镇", "code": "2"})
	return w
}

func (w *world) pt(x, y float64) orb.Point {
	return w.pl.Unproject(orb.Point{x - w.off[0], y - w.off[1]})
}

// near returns the world drawn in the plane at (x, y), keeping the same
// coordinates: a few kilometres from the origin the origin's plane is off
// by a few parts in ten thousand, so hand-made cases that test a rule to
// the decimetre are drawn in a plane at their own centre.
func (w *world) near(x, y float64) *world {
	c := *w
	c.pl = geo.NewPlane(w.pt(x, y))
	c.off = orb.Point{x, y}
	return &c
}

// rect is the rectangle [x0,x1]×[y0,y1] in metres.
func (w *world) rect(x0, y0, x1, y1 float64) orb.Polygon {
	return orb.Polygon{{w.pt(x0, y0), w.pt(x1, y0), w.pt(x1, y1), w.pt(x0, y1), w.pt(x0, y0)}}
}

// line is a polyline through x,y pairs in metres.
func (w *world) line(xy ...float64) orb.LineString {
	var l orb.LineString
	for i := 0; i+1 < len(xy); i += 2 {
		l = append(l, w.pt(xy[i], xy[i+1]))
	}
	return l
}

func (w *world) put(layer string, id int64, g orb.Geometry, props map[string]any) {
	w.t.Helper()
	if err := w.st.Upsert(w.ctx, layer, []layers.Feature{{ID: id, Geometry: g, Props: props}}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) env() *Env {
	w.t.Helper()
	towns, err := LoadTowns(w.ctx, w.st)
	if err != nil {
		w.t.Fatal(err)
	}
	return &Env{Store: w.st, Rules: DefaultRules(), Towns: towns}
}

func (w *world) all(layer string) []layers.Feature {
	w.t.Helper()
	fs, err := queryAll(w.ctx, w.st, layers.Query{Layer: layer})
	if err != nil {
		w.t.Fatal(err)
	}
	return fs
}

func wRun(t testing.TB, a Analysis, env *Env, p Params) *Result {
	t.Helper()
	res, err := a.Run(context.Background(), env, p)
	if err != nil {
		t.Fatalf("%s: %v", a.ID(), err)
	}
	for _, l := range a.Layers() {
		wCheckLayer(t, l, res.Layers[l.ID])
	}
	return res
}

// checkLayer checks what every derived feature must carry: a unique
// positive id, the layer's name, a geometry of the layer's family, the
// rule fields, and only properties the layer declares.
func wCheckLayer(t testing.TB, l layers.Layer, fs []layers.Feature) {
	t.Helper()
	seen := map[int64]bool{}
	for _, f := range fs {
		if f.ID <= 0 || seen[f.ID] {
			t.Fatalf("%s: id %d not unique and positive", l.ID, f.ID)
		}
		seen[f.ID] = true
		if f.Layer != l.ID {
			t.Fatalf("%s: feature %d says layer %q", l.ID, f.ID, f.Layer)
		}
		fam := layers.Family(f.Geometry)
		ok := false
		for _, g := range l.Geometry {
			ok = ok || g == fam
		}
		if !ok {
			t.Fatalf("%s: feature %d geometry %v not in %v", l.ID, f.ID, fam, l.Geometry)
		}
		for _, k := range []string{"rule", "rule_value", "rule_unit", "standard"} {
			if _, ok := f.Props[k]; !ok {
				t.Fatalf("%s: feature %d lacks %s: %v", l.ID, f.ID, k, f.Props)
			}
		}
		for k := range f.Props {
			if _, ok := l.Field(k); !ok {
				t.Fatalf("%s: feature %d has undeclared property %q", l.ID, f.ID, k)
			}
		}
	}
}

func wByID(fs []layers.Feature) map[int64]layers.Feature {
	m := make(map[int64]layers.Feature, len(fs))
	for _, f := range fs {
		m[f.ID] = f
	}
	return m
}

// checkTowns checks that the per-town rows add up to the totals for the
// count metrics named.
func wCheckTowns(t testing.TB, s Summary, metrics ...string) {
	t.Helper()
	for _, m := range metrics {
		var sum float64
		for _, r := range s.Towns {
			sum += r.Values[m]
		}
		if math.Abs(sum-s.Metrics[m]) > 1e-6 {
			t.Errorf("metric %s: towns sum to %v, total %v", m, sum, s.Metrics[m])
		}
	}
}

// ---- pipeline tests

func TestPipelineCases(t *testing.T) {
	w := newWorld(t)
	// a long-distance gas line along y = 0 from x = 100 to 900, an urban
	// high-pressure line along y = 1000 and a low-pressure one along
	// y = 2000
	w.put(layers.Pipelines, 1, w.line(100, 0, 900, 0), map[string]any{"name": "长输", "class": "gas_long"})
	w.put(layers.Pipelines, 2, w.line(100, 1000, 900, 1000), map[string]any{"name": "高压", "class": "gas_urban", "pressure": "high"})
	w.put(layers.Pipelines, 3, w.line(100, 2000, 900, 2000), map[string]any{"name": "低压", "class": "gas_urban", "pressure": "low"})
	w.put(layers.Pipelines, 4, w.line(100, 3000, 900, 3000), map[string]any{"name": "次高压", "class": "gas_urban", "pressure": "sub_high"})
	b := func(id int64, g orb.Polygon) { w.put(layers.Buildings, id, g, map[string]any{"use": "residential"}) }
	b(1, w.rect(200, 4.9999, 220, 25))   // touches the 5 m zone
	b(2, w.rect(300, 5.1, 320, 25))      // 5.1 m: outside
	b(3, w.rect(400, -20, 420, 20))      // across the line: 20 m × 10 m inside
	b(4, w.rect(900, -20, 920, 20))      // beyond the end: a half disc of the cap inside
	b(5, w.rect(200, 1004, 220, 1024))   // high pressure at 4 m: inside 5 m
	b(6, w.rect(200, 2001, 220, 2021))   // low pressure at 1 m: outside 0.5 m
	b(7, w.rect(300, 2000.3, 320, 2020)) // low pressure at 0.3 m
	b(8, w.rect(200, 3001.4, 220, 3021)) // sub-high at 1.4 m
	b(9, w.rect(-300, -20, -280, 20))    // far from everything
	m := func(id int64, g orb.Polygon, kind, status string) {
		w.put(layers.Mines, id, g, map[string]any{"name": "矿", "kind": kind, "status": status})
	}
	m(1, w.rect(500, -350, 600, -150), "quarry", "operating")        // 150 m
	m(2, w.rect(500, -450, 600, -250), "limestone", "idle")          // 250 m
	m(3, w.rect(700, -200, 800, -100), "tailings_pond", "operating") // 100 m, not a mine that blasts
	m(4, w.rect(300, -200, 400, -100), "quarry", "closed")           // 100 m, closed
	m(5, w.rect(300, 1100, 400, 1200), "quarry", "operating")        // 100 m from an urban line only

	res := wRun(t, NewPipeline(), w.env(), Params{})
	occ := wByID(res.Layers[PipelineOccupations])
	want := map[int64]struct {
		dist, overlap float64
		zone          float64
		town          string
	}{
		1<<20 | 1: {5, 0, 5, "东镇"},
		3<<20 | 1: {0, 200, 5, "东镇"},
		4<<20 | 1: {0, math.Pi * 25 / 2, 5, "东镇"},
		5<<20 | 2: {4, 20, 5, "东镇"},
		7<<20 | 3: {0.3, 20 * 0.2, 0.5, "东镇"},
		8<<20 | 4: {1.4, 20 * 0.1, 1.5, "东镇"},
	}
	if len(occ) != len(want) {
		t.Errorf("occupations %v, want ids %v", wKeys(occ), wKeysOf(want))
	}
	for id, x := range want {
		f, ok := occ[id]
		if !ok {
			t.Errorf("occupation %d (building %d, pipeline %d) missing", id, id>>20, id&(1<<20-1))
			continue
		}
		if d := f.Props["distance_m"].(float64); d != x.dist {
			t.Errorf("occupation %d distance %v, want %v", id, d, x.dist)
		}
		if o := f.Props["overlap_m2"].(float64); math.Abs(o-x.overlap) > 0.06 {
			t.Errorf("occupation %d overlap %v m², want %v", id, o, x.overlap)
		}
		if f.Props["zone_m"] != x.zone || f.Props["town"] != x.town || f.Props["building_id"] != id>>20 {
			t.Errorf("occupation %d props %v", id, f.Props)
		}
	}
	if f := occ[1<<20|1]; f.Props["standard"] != "石油天然气管道保护法 第三十条" {
		t.Errorf("long line cites %v", f.Props["standard"])
	}
	if f := occ[5<<20|2]; f.Props["standard"] != "GB 55009-2021 §5.1.6" || f.Props["rule"] != GasHighZone {
		t.Errorf("urban high cites %v %v", f.Props["rule"], f.Props["standard"])
	}

	mines := wByID(res.Layers[MinePipelineConflicts])
	if len(mines) != 1 {
		t.Errorf("mine conflicts %v, want only mine 1", wKeys(mines))
	}
	if f, ok := mines[1<<20|1]; !ok || f.Props["distance_m"] != 150.0 || f.Props["mine_kind"] != "quarry" {
		t.Errorf("mine 1 conflict: %v", f.Props)
	}

	zones := wByID(res.Layers[PipelineZones])
	if len(zones) != 4 {
		t.Fatalf("zones %v", wKeys(zones))
	}
	// the zone polygon holds the building at 4.9 m of the long line and not
	// the one at 5.1 m
	z := zones[1].Geometry.(orb.Polygon)
	if !planar.PolygonContains(z, w.pt(500, 4.9)) || planar.PolygonContains(z, w.pt(500, 5.1)) {
		t.Errorf("long-line zone polygon wrong")
	}
	if a := geo.Area(z); math.Abs(a-(800*10+math.Pi*25)) > 1 {
		t.Errorf("zone area %v", a)
	}

	s := res.Summary
	if s.Metrics["occupations"] != 6 || s.Metrics["occupied_buildings"] != 6 || s.Metrics["mine_conflicts"] != 1 || s.Metrics["zones"] != 4 {
		t.Errorf("summary %v", s.Metrics)
	}
	wCheckTowns(t, s, "occupations", "occupied_buildings", "mine_conflicts", "zones")
	if len(s.Targets) != 1 || s.Targets[0].Source != "seed L36" || s.Targets[0].Met(s.Metrics["occupations"]) {
		t.Errorf("targets %v", s.Targets)
	}

	// a town that holds none of it, and a bbox around building 3 only
	res = wRun(t, NewPipeline(), w.env(), Params{Town: "西镇"})
	if n := len(res.Layers[PipelineOccupations]); n != 0 || res.Summary.Metrics["occupations"] != 0 || len(res.Summary.Towns) != 1 {
		t.Errorf("西镇: %d occupations, summary %v", n, res.Summary)
	}
	bb := orb.Bound{Min: w.pt(395, -30), Max: w.pt(425, 30)}
	res = wRun(t, NewPipeline(), w.env(), Params{BBox: bb})
	if got := wKeys(wByID(res.Layers[PipelineOccupations])); len(got) != 1 || got[0] != 3<<20|1 {
		t.Errorf("bbox: occupations %v", got)
	}
}

func wKeys(m map[int64]layers.Feature) []int64 {
	var out []int64
	for k := range m {
		out = append(out, k)
	}
	return out
}

func wKeysOf[V any](m map[int64]V) []int64 {
	var out []int64
	for k := range m {
		out = append(out, k)
	}
	return out
}

// randomRect is a rectangle of w×h metres rotated by a, centred at c.
func (w *world) randomRect(r *rand.Rand, cx, cy, maxSide float64) orb.Polygon {
	a := r.Float64() * math.Pi
	hw, hh := 3+r.Float64()*maxSide/2, 3+r.Float64()*maxSide/2
	ca, sa := math.Cos(a), math.Sin(a)
	var ring orb.Ring
	for _, c := range [][2]float64{{-hw, -hh}, {hw, -hh}, {hw, hh}, {-hw, hh}, {-hw, -hh}} {
		ring = append(ring, w.pt(cx+c[0]*ca-c[1]*sa, cy+c[0]*sa+c[1]*ca))
	}
	return orb.Polygon{ring}
}

// randomLine is a polyline of 2–6 vertices wandering from (x, y).
func (w *world) randomLine(r *rand.Rand, x, y, step float64) orb.LineString {
	l := orb.LineString{w.pt(x, y)}
	for range 1 + r.IntN(5) {
		x += (r.Float64()*2 - 1) * step
		y += (r.Float64()*2 - 1) * step
		l = append(l, w.pt(x, y))
	}
	return l
}

func TestPipelineBruteForce(t *testing.T) {
	w := newWorld(t)
	r := rand.New(rand.NewPCG(1, 2))
	classes := []map[string]any{
		{"class": "oil_long"}, {"class": "gas_long"}, {"class": "gas_urban", "pressure": "low"},
		{"class": "gas_urban", "pressure": "medium"}, {"class": "gas_urban", "pressure": "sub_high"},
		{"class": "gas_urban", "pressure": "high"}, {"class": "gas_urban"},
	}
	for id := int64(1); id <= 30; id++ {
		props := map[string]any{"name": "p"}
		for k, v := range classes[r.IntN(len(classes))] {
			props[k] = v
		}
		w.put(layers.Pipelines, id, w.randomLine(r, r.Float64()*2000-1000, r.Float64()*2000-1000, 400), props)
	}
	for id := int64(1); id <= 1500; id++ {
		w.put(layers.Buildings, id, w.randomRect(r, r.Float64()*2400-1200, r.Float64()*2400-1200, 30), map[string]any{"use": "residential"})
	}
	kinds := []string{"quarry", "limestone", "tailings_pond", "clay"}
	statuses := []string{"operating", "idle", "closed"}
	for id := int64(1); id <= 40; id++ {
		w.put(layers.Mines, id, w.randomRect(r, r.Float64()*2400-1200, r.Float64()*2400-1200, 200),
			map[string]any{"name": "m", "kind": kinds[r.IntN(len(kinds))], "status": statuses[r.IntN(len(statuses))]})
	}
	env := w.env()
	res := wRun(t, NewPipeline(), env, Params{})

	pipes, blds, mines := w.all(layers.Pipelines), w.all(layers.Buildings), w.all(layers.Mines)
	wantOcc := map[int64]float64{}
	wantMine := map[int64]float64{}
	for _, p := range pipes {
		rule, _ := zoneRule(env.Rules, p.Props)
		for _, b := range blds {
			if d := geo.GeometryDistance(b.Geometry, p.Geometry); d <= rule.Value {
				wantOcc[b.ID<<20|p.ID] = d
			}
		}
		if !isLongPipeline(p.Props) {
			continue
		}
		for _, m := range mines {
			if m.Props["kind"] == "tailings_pond" || m.Props["status"] == "closed" {
				continue
			}
			if d := geo.GeometryDistance(m.Geometry, p.Geometry); d <= 200 {
				wantMine[m.ID<<20|p.ID] = d
			}
		}
	}
	if len(wantOcc) < 20 || len(wantMine) < 3 {
		t.Fatalf("random set too sparse: %d occupations, %d mine conflicts", len(wantOcc), len(wantMine))
	}
	compare := func(name string, got []layers.Feature, want map[int64]float64) {
		t.Helper()
		g := wByID(got)
		if len(g) != len(want) {
			t.Errorf("%s: %d found, brute force %d", name, len(g), len(want))
		}
		for id, d := range want {
			f, ok := g[id]
			if !ok {
				t.Errorf("%s: %d missing (distance %v)", name, id, d)
				continue
			}
			if f.Props["distance_m"] != round1(d) {
				t.Errorf("%s: %d distance %v, brute force %v", name, id, f.Props["distance_m"], d)
			}
		}
	}
	compare("occupations", res.Layers[PipelineOccupations], wantOcc)
	compare("mine conflicts", res.Layers[MinePipelineConflicts], wantMine)
	wCheckTowns(t, res.Summary, "occupations", "occupied_buildings", "mine_conflicts", "zones")
	t.Logf("%d occupations, %d mine conflicts", len(wantOcc), len(wantMine))

	// overlap areas against sampling on a 5 cm grid, for a few of them
	n := 0
	for _, f := range res.Layers[PipelineOccupations] {
		if n == 8 {
			break
		}
		b := wByID(blds)[f.ID>>20]
		p := wByID(pipes)[f.ID&(1<<20-1)]
		rule, _ := zoneRule(env.Rules, p.Props)
		want := wSampledOverlap(b.Geometry.(orb.Polygon), p.Geometry, rule.Value, 0.05)
		if got := f.Props["overlap_m2"].(float64); math.Abs(got-want) > 0.3+0.005*want {
			t.Errorf("occupation %d: overlap %v m², sampled %v", f.ID, got, want)
		}
		n++
	}
}

// sampledOverlap estimates the area of poly within w of line by testing
// the centres of an h-metre grid in the plane at the polygon's centre.
func wSampledOverlap(poly orb.Polygon, line orb.Geometry, w, h float64) float64 {
	pl := geo.NewPlane(poly.Bound().Center())
	mp := pl.ProjectGeometry(poly).(orb.Polygon)
	ml := pl.ProjectGeometry(line)
	b := mp.Bound()
	var n int
	for x := b.Min[0] + h/2; x < b.Max[0]; x += h {
		for y := b.Min[1] + h/2; y < b.Max[1]; y += h {
			q := orb.Point{x, y}
			if planar.PolygonContains(mp, q) && planar.DistanceFrom(ml, q) <= w {
				n++
			}
		}
	}
	return float64(n) * h * h
}

func TestZoneOverlap(t *testing.T) {
	sq := func(x0, y0, x1, y1 float64) orb.Polygon {
		return orb.Polygon{{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}
	}
	seg := func(x0, y0, x1, y1 float64) [2]orb.Point { return [2]orb.Point{{x0, y0}, {x1, y1}} }
	cases := []struct {
		name string
		poly orb.Polygon
		segs [][2]orb.Point
		w    float64
		want float64
	}{
		{"across", sq(0, -10, 20, 10), [][2]orb.Point{seg(-50, 0, 50, 0)}, 5, 200},
		{"inside", sq(0, -1, 2, 1), [][2]orb.Point{seg(-50, 0, 50, 0)}, 5, 4},
		{"outside", sq(0, 6, 2, 8), [][2]orb.Point{seg(-50, 0, 50, 0)}, 5, 0},
		{"cap", sq(0, -10, 20, 10), [][2]orb.Point{seg(-50, 0, 0, 0)}, 5, math.Pi * 25 / 2},
		{"point", sq(-10, -10, 10, 10), [][2]orb.Point{seg(1, 1, 1, 1)}, 2, math.Pi * 4},
		{"diagonal", sq(-100, -100, 100, 100), [][2]orb.Point{seg(-10, -10, 10, 10)}, 1, 2*math.Hypot(20, 20) + math.Pi},
		{"corner", sq(-100, -100, 100, 100), [][2]orb.Point{seg(-10, 0, 0, 0), seg(0, 0, 0, 10)}, 1, wCornerUnionArea()},
		{"overlapping segments", sq(-100, -100, 100, 100), [][2]orb.Point{seg(0, 0, 10, 0), seg(5, 0, 15, 0)}, 1, 30 + math.Pi},
		{"half disc", sq(0, -10, 10, 10), [][2]orb.Point{seg(0, 0, 0, 0)}, 2, 2 * math.Pi},
		{"disc less a segment", sq(-10, -10, 1, 10), [][2]orb.Point{seg(0, 0, 0, 0)}, 2, 4*math.Pi - (4*math.Acos(0.5) - math.Sqrt(3))},
		{"vertical", sq(-5, 0, 5, 10), [][2]orb.Point{seg(0, -10, 0, 20)}, 2, 40},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := zoneOverlap(c.poly, c.segs, c.w)
			if math.Abs(got-c.want) > 1e-5 {
				t.Errorf("overlap %v, want %v", got, c.want)
			}
		})
	}
	// random polygons and segments against a fine grid
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 6 {
		var ring orb.Ring
		nv := 3 + r.IntN(6)
		for k := range nv {
			a := 2 * math.Pi * float64(k) / float64(nv)
			rad := 5 + r.Float64()*10
			ring = append(ring, orb.Point{rad * math.Cos(a), rad * math.Sin(a)})
		}
		ring = append(ring, ring[0])
		var segs [][2]orb.Point
		x, y := -20+r.Float64()*10, -10+r.Float64()*20
		for range 1 + r.IntN(3) {
			nx, ny := x+r.Float64()*20, y+(r.Float64()*2-1)*15
			segs = append(segs, seg(x, y, nx, ny))
			x, y = nx, ny
		}
		wd := 0.5 + r.Float64()*5
		got := zoneOverlap(orb.Polygon{ring}, segs, wd)
		want := wGridOverlap(orb.Polygon{ring}, segs, wd, 0.02)
		if math.Abs(got-want) > 0.05+1e-3*want {
			t.Errorf("random %d: overlap %v, grid %v", i, got, want)
		}
	}
}

func wCornerUnionArea() float64 {
	// rectangles [-10,0]×[-1,1] and [-1,1]×[0,10] overlap in [-1,0]×[0,1]
	// (area 1); the discs at (-10,0) and (0,10) add half discs outside;
	// the disc at (0,0) adds the quarter disc in x>0, y<0 that neither
	// rectangle covers.
	return 20 + 20 - 1 + math.Pi/2 + math.Pi/2 + math.Pi/4
}

// gridOverlap is the planar area of poly within w of segs by sampling.
func wGridOverlap(poly orb.Polygon, segs [][2]orb.Point, w, h float64) float64 {
	var ml orb.MultiLineString
	for _, s := range segs {
		ml = append(ml, orb.LineString{s[0], s[1]})
	}
	b := poly.Bound()
	var n int
	for x := b.Min[0] + h/2; x < b.Max[0]; x += h {
		for y := b.Min[1] + h/2; y < b.Max[1]; y += h {
			q := orb.Point{x, y}
			if planar.PolygonContains(poly, q) && planar.DistanceFrom(ml, q) <= w {
				n++
			}
		}
	}
	return float64(n) * h * h
}

func TestPairID(t *testing.T) {
	if id, err := pairID(7, 3); err != nil || id != 7<<20|3 {
		t.Errorf("pairID(7, 3) = %d, %v", id, err)
	}
	for _, c := range [][2]int64{{1, 1 << 20}, {-1, 1}, {0, 0}, {1 << 42, 1}} {
		if _, err := pairID(c[0], c[1]); err == nil {
			t.Errorf("pairID%v: no error", c)
		}
	}
}

func BenchmarkPipelineRandom(b *testing.B) {
	w := newWorld(b)
	r := rand.New(rand.NewPCG(1, 2))
	for id := int64(1); id <= 30; id++ {
		w.put(layers.Pipelines, id, w.randomLine(r, r.Float64()*2000-1000, r.Float64()*2000-1000, 400), map[string]any{"name": "p", "class": "gas_long"})
	}
	for id := int64(1); id <= 3000; id++ {
		w.put(layers.Buildings, id, w.randomRect(r, r.Float64()*2400-1200, r.Float64()*2400-1200, 30), map[string]any{"use": "residential"})
	}
	env := w.env()
	a := NewPipeline()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Run(w.ctx, env, Params{}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestDefaultEngineRegisters(t *testing.T) {
	as := Default()
	e, err := New(layers.NewCatalog(), DefaultRules(), as...)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"pipeline-occupation", "lane-issues", "flood-exposure", "distance-rules"} {
		a, err := e.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		if a.Title().Zh == "" || a.Title().En == "" || a.Description().Zh == "" || a.Description().En == "" {
			t.Errorf("%s: titles %v %v", id, a.Title(), a.Description())
		}
	}
}
