package routing

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/geo"
	"riskmap/layers"
)

var plane = geo.NewPlane(orb.Point{106.55, 29.40})

// xy is a point x metres east and y north of the test origin, on the
// 1e-7° grid Build snaps to.
func xy(x, y float64) orb.Point {
	p := plane.Unproject(orb.Point{x, y})
	return orb.Point{math.Round(p[0]*coordScale) / coordScale, math.Round(p[1]*coordScale) / coordScale}
}

func road(id int64, kmh float64, oneway bool, pts ...orb.Point) layers.Feature {
	props := map[string]any{"class": "branch", "oneway": oneway}
	if kmh > 0 {
		props["speed_kmh"] = kmh
	}
	return layers.Feature{Layer: layers.Roads, ID: id, Geometry: orb.LineString(pts), Props: props}
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestBuildNodes(t *testing.T) {
	eps := orb.Point{3e-9, -2e-9} // well under the 1e-7° snap
	tests := []struct {
		name         string
		roads        []layers.Feature
		nodes, edges int
		comps        int
	}{
		{"one road, interior vertices are not nodes", []layers.Feature{
			road(1, 36, false, xy(0, 0), xy(100, 0), xy(200, 0)),
		}, 2, 1, 1},
		{"shared end points", []layers.Feature{
			road(1, 36, false, xy(0, 0), xy(100, 0)),
			road(2, 36, false, orb.Point{xy(100, 0)[0] + eps[0], xy(100, 0)[1] + eps[1]}, xy(100, 100)),
		}, 3, 2, 1},
		{"shared interior vertex splits both roads", []layers.Feature{
			road(1, 36, false, xy(0, 0), xy(100, 0), xy(200, 0)),
			road(2, 36, false, xy(100, -100), xy(100, 0), xy(100, 100)),
		}, 5, 4, 1},
		{"crossing without a shared vertex is no junction", []layers.Feature{
			road(1, 36, false, xy(0, 0), xy(200, 0)),
			road(2, 36, false, xy(100, -100), xy(100, 100)),
		}, 4, 2, 2},
		{"a loop road meets itself", []layers.Feature{
			road(1, 36, false, xy(0, 0), xy(100, 0), xy(100, 100), xy(0, 100), xy(100, 0)),
		}, 2, 2, 1},
		{"degenerate roads are dropped", []layers.Feature{
			road(1, 36, false, xy(0, 0), xy(0, 0)),
			{Layer: layers.Roads, ID: 2, Geometry: xy(5, 5), Props: map[string]any{}},
		}, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := Build(tt.roads)
			if g.NumNodes() != tt.nodes || g.NumEdges() != tt.edges || len(g.Components()) != tt.comps {
				t.Errorf("nodes %d edges %d comps %d, want %d %d %d",
					g.NumNodes(), g.NumEdges(), len(g.Components()), tt.nodes, tt.edges, tt.comps)
			}
		})
	}
}

func TestSpeeds(t *testing.T) {
	tests := []struct {
		class string
		kmh   any
		want  float64 // seconds for 1 km
	}{
		{"expressway", nil, 45},
		{"arterial", nil, 72},
		{"secondary", nil, 90},
		{"branch", nil, 120},
		{"rural", nil, 144},
		{"", nil, 144},
		{"arterial", 60.0, 60},
		{"arterial", int64(36), 100},
		{"arterial", 0.0, 72}, // not positive: class speed
	}
	for _, tt := range tests {
		props := map[string]any{"class": tt.class}
		if tt.kmh != nil {
			props["speed_kmh"] = tt.kmh
		}
		g := Build([]layers.Feature{{ID: 1, Geometry: orb.LineString{xy(0, 0), xy(1000, 0)}, Props: props}})
		e := g.Edge(0)
		if !near(e.Seconds, tt.want*e.Metres/1000, 1e-9) || !near(e.Metres, 1000, 0.5) {
			t.Errorf("%s %v: %.3f s over %.2f m, want %v s/km", tt.class, tt.kmh, e.Seconds, e.Metres, tt.want)
		}
	}
}

// square: a 1 km square at 36 km/h (10 m/s, 100 s per side) with a
// one-way diagonal from its south-west to its north-east corner.
func square() *Graph {
	sw, se, ne, nw := xy(0, 0), xy(1000, 0), xy(1000, 1000), xy(0, 1000)
	return Build([]layers.Feature{
		road(1, 36, false, sw, se),
		road(2, 36, false, se, ne),
		road(3, 36, false, ne, nw),
		road(4, 36, false, nw, sw),
		road(5, 36, true, sw, ne),
	})
}

func TestRouteKnown(t *testing.T) {
	g := square()
	diag := math.Sqrt2 * 100
	tests := []struct {
		name    string
		a, b    orb.Point
		secs, m float64
	}{
		{"along the one-way diagonal", xy(0, 0), xy(1000, 1000), diag, diag * 10},
		{"against it: round the square", xy(1000, 1000), xy(0, 0), 200, 2000},
		{"same edge forward", xy(100, 0), xy(900, 0), 80, 800},
		{"same edge backward (two-way)", xy(900, 0), xy(100, 0), 80, 800},
		{"same one-way edge backward: round", xy(900, 900), xy(100, 100), 2*10*math.Sqrt2 + 200, 0},
		{"off-road legs at 15 km/h", xy(500, -30), xy(500, 1030), 30/(15/3.6)*2 + 200, 60 + 2000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, s, path, ok := g.Route(tt.a, tt.b)
			if !ok {
				t.Fatal("no route")
			}
			if !near(s, tt.secs, 0.05) {
				t.Errorf("seconds %.3f, want %.3f", s, tt.secs)
			}
			if tt.m > 0 && !near(m, tt.m, 0.5) {
				t.Errorf("metres %.2f, want %.2f", m, tt.m)
			}
			if path[0] != tt.a || path[len(path)-1] != tt.b {
				t.Errorf("path runs %v → %v", path[0], path[len(path)-1])
			}
			if l := geo.Length(path); !near(l, m, 0.5) {
				t.Errorf("path length %.2f, metres %.2f", l, m)
			}
		})
	}
}

func TestOnewayStartAtNode(t *testing.T) {
	// a one-way street leaving a junction: a source exactly at the junction
	// still reaches the junction's other streets
	g := Build([]layers.Feature{
		road(1, 36, true, xy(0, 0), xy(1000, 0)),
		road(2, 36, false, xy(0, 0), xy(0, 1000)),
	})
	r := g.Reach([]orb.Point{xy(0, 0)}, 0)
	if s, _, ok := r.At(xy(0, 1000)); !ok || !near(s, 100, 0.01) {
		t.Errorf("north end at %.2f s (%v), want 100", s, ok)
	}
	if s, _, ok := r.At(xy(1000, 0)); !ok || !near(s, 100, 0.01) {
		t.Errorf("east end at %.2f s (%v), want 100", s, ok)
	}
	// and the reverse: from the far end of the one-way street nothing is
	// reachable but what lies ahead (nothing)
	r = g.Reach([]orb.Point{xy(1000, 0)}, 0)
	if _, _, ok := r.At(xy(0, 500)); ok {
		t.Error("reached the north street against the one-way")
	}
	if s, _, ok := r.At(xy(1000, 0)); !ok || s != 0 {
		t.Errorf("source point at %.2f s (%v), want 0", s, ok)
	}
	// arriving at the end of a one-way edge from the other street
	r = g.Reach([]orb.Point{xy(0, 1000)}, 0)
	if s, _, ok := r.At(xy(1000, 0)); !ok || !near(s, 200, 0.01) {
		t.Errorf("east end at %.2f s (%v), want 200", s, ok)
	}
}

func TestDisconnected(t *testing.T) {
	g := Build([]layers.Feature{
		road(1, 36, false, xy(0, 0), xy(1000, 0), xy(2000, 0)),
		road(2, 36, false, xy(0, 0), xy(0, 500)),
		road(3, 36, false, xy(0, 5000), xy(300, 5000)), // the isolated village
	})
	cs := g.Components()
	if len(cs) != 2 || cs[0].Edges != 2 || cs[1].Edges != 1 || !near(cs[1].LengthM, 300, 0.5) {
		t.Fatalf("components %+v", cs)
	}
	n, _, _ := g.NearestNode(xy(290, 5010))
	if g.Component(n) != 1 {
		t.Errorf("village node in component %d", g.Component(n))
	}
	if _, _, _, ok := g.Route(xy(0, 0), xy(100, 5000)); ok {
		t.Error("routed into the isolated village")
	}
	r := g.Reach([]orb.Point{xy(0, 0)}, 0)
	if _, _, ok := r.At(xy(150, 5000)); ok {
		t.Error("village reached")
	}
	if s, src, ok := r.At(xy(2000, 0)); !ok || src != 0 || !near(s, 200, 0.01) {
		t.Errorf("far end %.2f s src %d %v", s, src, ok)
	}
	if len(g.Times([]orb.Point{xy(0, 0)}, 0)) != 3 {
		t.Error("times should reach the 3 nodes of the main part")
	}
}

func TestCutoff(t *testing.T) {
	// 2390 m and 2410 m at 36 km/h: 239 s and 241 s
	g := Build([]layers.Feature{
		road(1, 36, false, xy(0, 0), xy(2390, 0)),
		road(2, 36, false, xy(0, 0), xy(0, 2410)),
	})
	from := []orb.Point{xy(0, 0)}
	times := g.Times(from, 240)
	if len(times) != 2 {
		t.Fatalf("times %v, want the start and the 239 s node", times)
	}
	r := g.Reach(from, 240)
	if s, _, ok := r.At(xy(2390, 0)); !ok || !near(s, 239, 0.05) {
		t.Errorf("239 s point: %.3f %v", s, ok)
	}
	if _, _, ok := r.At(xy(0, 2410)); ok {
		t.Error("241 s point within a 240 s cutoff")
	}
	// a point inside the edge whose far node is beyond the cutoff
	if s, _, ok := r.At(xy(0, 2390)); !ok || !near(s, 239, 0.05) {
		t.Errorf("239 s point on the long edge: %.3f %v", s, ok)
	}
}

func TestSnap(t *testing.T) {
	g := square()
	pos, ok := g.Snap(xy(500, -30))
	e := g.Edge(pos.Edge)
	if !ok || e.Road != 1 || !near(pos.DistM, 30, 0.01) || !near(pos.T, 0.5, 1e-4) {
		t.Errorf("snap %+v on road %d", pos, e.Road)
	}
	if _, ok := g.SnapWithin(xy(500, -30), 20); ok {
		t.Error("snapped beyond maxM")
	}
	if _, ok := Build(nil).Snap(xy(0, 0)); ok {
		t.Error("snapped onto an empty graph")
	}
	if n, d, ok := g.NearestNode(xy(990, 20)); !ok || g.NodePoint(n) != xy(1000, 0) || !near(d, math.Hypot(10, 20), 0.01) {
		t.Errorf("nearest node %v at %.2f", g.NodePoint(n), d)
	}
	// the grid search against a scan of every edge
	rng := rand.New(rand.NewPCG(1, 2))
	roads := randomRoads(rng, 40, 80, 3000)
	g = Build(roads)
	for range 200 {
		p := xy(rng.Float64()*5000-1000, rng.Float64()*5000-1000)
		pos, ok := g.Snap(p)
		if !ok {
			t.Fatal("no snap")
		}
		want := math.Inf(1)
		for e := range g.NumEdges() {
			want = math.Min(want, geo.DistanceTo(p, g.EdgeGeometry(Edge(e))))
		}
		if !near(pos.DistM, want, math.Max(0.01, want*1e-4)) { // the two measure in slightly different planes
			t.Errorf("snap of %v at %.3f m, scan says %.3f", p, pos.DistM, want)
		}
	}
}

// randomRoads joins n random points (on a side×side square) by m straight
// roads at random speeds, a quarter of them one-way.
func randomRoads(rng *rand.Rand, n, m int, side float64) []layers.Feature {
	pts := make([]orb.Point, n)
	for i := range pts {
		pts[i] = xy(rng.Float64()*side, rng.Float64()*side)
	}
	var out []layers.Feature
	for k := range m {
		i, j := rng.IntN(n), rng.IntN(n)
		if i == j {
			continue
		}
		out = append(out, road(int64(k+1), 20+rng.Float64()*60, rng.IntN(4) == 0, pts[i], pts[j]))
	}
	return out
}

func TestAgainstFloydWarshall(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 7))
		n := 8 + rng.IntN(10)
		pts := make([]orb.Point, n)
		for i := range pts {
			pts[i] = xy(rng.Float64()*3000, rng.Float64()*3000)
		}
		// the oracle: all-pairs times over the same straight roads
		inf := math.Inf(1)
		d := make([][]float64, n)
		for i := range d {
			d[i] = make([]float64, n)
			for j := range d[i] {
				if i != j {
					d[i][j] = inf
				}
			}
		}
		var roads []layers.Feature
		for k := range n + rng.IntN(2*n) {
			i, j := rng.IntN(n), rng.IntN(n)
			if i == j {
				continue
			}
			kmh := 20 + rng.Float64()*60
			oneway := rng.IntN(3) == 0
			roads = append(roads, road(int64(k+1), kmh, oneway, pts[i], pts[j]))
			s := geo.Distance(pts[i], pts[j]) / (kmh / 3.6)
			d[i][j] = math.Min(d[i][j], s)
			if !oneway {
				d[j][i] = math.Min(d[j][i], s)
			}
		}
		for k := range n {
			for i := range n {
				for j := range n {
					d[i][j] = math.Min(d[i][j], d[i][k]+d[k][j])
				}
			}
		}
		g := Build(roads)
		var src []int
		for i := range n {
			if _, on := g.SnapWithin(pts[i], 0.01); on && rng.IntN(4) == 0 {
				src = append(src, i) // sources off the network would snap with an off-road leg
			}
		}
		from := make([]orb.Point, len(src))
		for k, i := range src {
			from[k] = pts[i]
		}
		cutoff := 0.0
		if seed%2 == 1 {
			cutoff = 150
		}
		r := g.Reach(from, cutoff)
		for j := range n {
			if _, ok := g.SnapWithin(pts[j], 0.01); !ok {
				continue // a point no road touches
			}
			want, wantSrc := inf, map[int]bool{}
			for k, i := range src {
				switch {
				case d[i][j] < want-1e-9:
					want, wantSrc = d[i][j], map[int]bool{k: true}
				case near(d[i][j], want, 1e-9):
					wantSrc[k] = true
				}
			}
			if cutoff > 0 && want > cutoff {
				want = inf
			}
			got, s, ok := r.At(pts[j])
			if ok != !math.IsInf(want, 1) || (ok && (!near(got, want, 1e-6) || !wantSrc[s])) {
				t.Errorf("seed %d: node %d at %.4f from %d (%v), want %.4f from %v", seed, j, got, s, ok, want, wantSrc)
			}
		}
		for range 10 {
			i, j := rng.IntN(n), rng.IntN(n)
			_, okI := g.SnapWithin(pts[i], 0.01)
			_, okJ := g.SnapWithin(pts[j], 0.01)
			if !okI || !okJ {
				continue
			}
			m, s, path, ok := g.Route(pts[i], pts[j])
			if ok != !math.IsInf(d[i][j], 1) || (ok && !near(s, d[i][j], 1e-6)) {
				t.Errorf("seed %d: route %d→%d %.4f s (%v), want %.4f", seed, i, j, s, ok, d[i][j])
			}
			if ok && !near(geo.Length(path), m, 0.01) {
				t.Errorf("seed %d: route %d→%d path %.2f m, metres %.2f", seed, i, j, geo.Length(path), m)
			}
		}
	}
}

func BenchmarkBuildSynthetic(b *testing.B) {
	roads := gridRoads(60)
	b.ReportAllocs()
	for b.Loop() {
		Build(roads)
	}
}

func BenchmarkReachSynthetic(b *testing.B) {
	g := Build(gridRoads(60))
	from := []orb.Point{xy(3000, 3000), xy(9000, 9000), xy(1000, 14000)}
	b.ReportAllocs()
	for b.Loop() {
		g.Reach(from, 240)
	}
}

// gridRoads is an n×n street grid 250 m apart.
func gridRoads(n int) []layers.Feature {
	var out []layers.Feature
	for i := range n {
		var h, v []orb.Point
		for j := range n {
			h = append(h, xy(float64(j)*250, float64(i)*250))
			v = append(v, xy(float64(i)*250, float64(j)*250))
		}
		out = append(out, road(int64(2*i+1), 0, false, h...), road(int64(2*i+2), 0, false, v...))
	}
	return out
}
