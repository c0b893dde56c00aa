package geo

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// contains reports whether the buffer result holds p.
func contains(g orb.Geometry, p orb.Point) bool {
	switch x := g.(type) {
	case orb.Polygon:
		return planar.PolygonContains(x, p)
	case orb.MultiPolygon:
		return planar.MultiPolygonContains(x, p)
	}
	return false
}

// checkRings asserts closed rings, exteriors CCW and holes CW.
func checkRings(t *testing.T, g orb.Geometry) {
	t.Helper()
	var polys []orb.Polygon
	switch x := g.(type) {
	case orb.Polygon:
		polys = []orb.Polygon{x}
	case orb.MultiPolygon:
		polys = x
	default:
		t.Fatalf("buffer is a %T", g)
	}
	for _, p := range polys {
		for i, r := range p {
			if len(r) < 4 || r[0] != r[len(r)-1] {
				t.Fatalf("ring %d not closed (%d points)", i, len(r))
			}
			want := orb.CCW
			if i > 0 {
				want = orb.CW
			}
			if r.Orientation() != want {
				t.Fatalf("ring %d orientation %v, want %v", i, r.Orientation(), want)
			}
		}
	}
}

func TestBufferPoint(t *testing.T) {
	for _, r := range []float64{1, 5, 150, 1000} {
		g := Buffer(chongqing, r)
		checkRings(t, g)
		poly := g.(orb.Polygon)
		if len(poly[0]) != circleSegments+1 {
			t.Errorf("%d points", len(poly[0]))
		}
		area, want := Area(poly), math.Pi*r*r
		if math.Abs(area-want)/want > 0.01 {
			t.Errorf("r=%.0f: area %.2f, π r² = %.2f", r, area, want)
		}
		for _, v := range poly[0] {
			if d := Distance(chongqing, v); math.Abs(d-r) > r*1e-4 {
				t.Fatalf("r=%.0f: vertex at %.4f m", r, d)
			}
		}
		if !contains(g, chongqing) || !contains(g, NewPlane(chongqing).Unproject(orb.Point{0, 0.98 * r})) ||
			contains(g, NewPlane(chongqing).Unproject(orb.Point{0, 1.01 * r})) {
			t.Errorf("r=%.0f: containment wrong", r)
		}
	}
	if got := Buffer(orb.MultiPoint{chongqing, {106.6, 29.6}}, 10); len(got.(orb.MultiPolygon)) != 2 {
		t.Error("multipoint should give two circles")
	}
}

func TestBufferLine(t *testing.T) {
	pl := NewPlane(chongqing)
	at := func(x, y float64) orb.Point { return pl.Unproject(orb.Point{x, y}) }
	// a pipeline with left and right turns, a sharp one and a short leg
	line := orb.LineString{at(0, 0), at(100, 0), at(150, 60), at(160, 60), at(100, 120), at(0, 120), at(-20, 200)}
	before := orb.Clone(line)
	g := Buffer(line, 5)
	if !orb.Equal(line, before) {
		t.Fatal("Buffer changed its input")
	}
	checkRings(t, g)
	if _, ok := g.(orb.Polygon); !ok {
		t.Fatalf("buffer of a simple line is a %T, want one outline", g)
	}
	for i := 1; i < len(line); i++ {
		a, b := pl.Project(line[i-1]), pl.Project(line[i])
		dx, dy := b[0]-a[0], b[1]-a[1]
		n := math.Hypot(dx, dy)
		nx, ny := -dy/n, dx/n
		for _, f := range []float64{0.1, 0.5, 0.9} {
			m := orb.Point{a[0] + f*dx, a[1] + f*dy}
			for _, side := range []float64{-1, 1} {
				in := pl.Unproject(orb.Point{m[0] + side*4.9*nx, m[1] + side*4.9*ny})
				out := pl.Unproject(orb.Point{m[0] + side*5.1*nx, m[1] + side*5.1*ny})
				if d := DistanceTo(in, line); d < 4.9 && !contains(g, in) {
					t.Errorf("segment %d: point %.2f m away is outside the 5 m buffer", i, d)
				}
				if d := DistanceTo(out, line); d > 5.05 && contains(g, out) {
					t.Errorf("segment %d: point %.2f m away is inside the 5 m buffer", i, d)
				}
			}
		}
	}
	// beyond the ends
	for _, c := range []struct {
		p    orb.Point
		want bool
	}{{at(-4.9, 0), true}, {at(-5.1, 0), false}, {at(0, -4.9), true}, {at(0, -5.1), false}} {
		if contains(g, c.p) != c.want {
			t.Errorf("point %.2f m from the start: inside = %v", DistanceTo(c.p, line), !c.want)
		}
	}
	// a straight line: area 2mL + πm²
	straight := orb.LineString{at(0, 0), at(1000, 0)}
	sa, want := Area(Buffer(straight, 5)), 2*5*1000+math.Pi*25
	if math.Abs(sa-want)/want > 0.001 {
		t.Errorf("straight line buffer area %.1f, want %.1f", sa, want)
	}
	// collinear and repeated vertices
	if g := Buffer(orb.LineString{at(0, 0), at(50, 0), at(50, 0), at(100, 0)}, 5); math.Abs(Area(g)-(1000+math.Pi*25)) > 10 {
		t.Errorf("collinear line buffer area %.1f", Area(g))
	}
	if g := Buffer(orb.LineString{at(3, 3)}, 5); math.Abs(Area(g)-math.Pi*25) > 1 {
		t.Errorf("one-point line buffer area %.1f", Area(g))
	}
}

// A line that crosses itself, or comes back along itself, falls back to
// overlapping capsules, which still hold exactly the right points.
func TestBufferLineFallback(t *testing.T) {
	pl := NewPlane(chongqing)
	at := func(x, y float64) orb.Point { return pl.Unproject(orb.Point{x, y}) }
	for _, line := range []orb.LineString{
		{at(0, 0), at(100, 0), at(100, 100), at(50, -50)},        // crossing
		{at(0, 0), at(100, 0), at(50, 0)},                        // back along itself
		{at(0, 0), at(100, 0), at(100, 50), at(0, 50), at(0, 3)}, // nearly closed
	} {
		g := Buffer(line, 5)
		checkRings(t, g)
		if _, ok := g.(orb.MultiPolygon); !ok {
			t.Errorf("%v: want the capsule fallback, got %T", line, g)
		}
		checkBuffer(t, line, g, 5, rand.New(rand.NewPCG(1, 1)))
	}
}

// checkBuffer samples points around g and checks that those clearly
// within m are in the buffer and those clearly beyond it are not.
func checkBuffer(t *testing.T, g, buf orb.Geometry, m float64, rng *rand.Rand) {
	t.Helper()
	b := ExpandBound(g.Bound(), m*1.5)
	for range 400 {
		p := orb.Point{b.Min[0] + rng.Float64()*(b.Max[0]-b.Min[0]), b.Min[1] + rng.Float64()*(b.Max[1]-b.Min[1])}
		d := DistanceTo(p, g)
		in := contains(buf, p)
		if d < m*0.994 && !in {
			t.Fatalf("point %.3f m away is outside the %.1f m buffer", d, m)
		}
		if d > m*1.001 && in {
			t.Fatalf("point %.3f m away is inside the %.1f m buffer", d, m)
		}
	}
}

func TestBufferPolygon(t *testing.T) {
	pl := NewPlane(chongqing)
	at := func(x, y float64) orb.Point { return pl.Unproject(orb.Point{x, y}) }
	square := orb.Polygon{{at(0, 0), at(100, 0), at(100, 100), at(0, 100), at(0, 0)}}
	g := Buffer(square, 5)
	checkRings(t, g)
	want := 100*100 + 4*100*5 + math.Pi*25
	if a := Area(g); math.Abs(a-want)/want > 0.001 {
		t.Errorf("square buffer area %.1f, want %.1f", a, want)
	}
	if !contains(g, at(-4.9, 50)) || contains(g, at(-5.1, 50)) || !contains(g, at(50, 50)) {
		t.Error("square buffer containment wrong")
	}
	// a clockwise input (as DataV's) gives the same area
	cw := orb.Clone(square).(orb.Polygon)
	cw[0].Reverse()
	if a := Area(Buffer(cw, 5)); math.Abs(a-want)/want > 0.001 {
		t.Errorf("clockwise square buffer area %.1f", a)
	}
	// an L shape (a reflex corner) and a hole that shrinks
	ell := orb.Polygon{
		{at(0, 0), at(200, 0), at(200, 100), at(100, 100), at(100, 200), at(0, 200), at(0, 0)},
		{at(20, 20), at(20, 80), at(80, 80), at(80, 20), at(20, 20)},
	}
	lg := Buffer(ell, 5)
	checkRings(t, lg)
	if p, ok := lg.(orb.Polygon); !ok || len(p) != 2 {
		t.Fatalf("L with a hole: %T with %d rings", lg, len(p))
	}
	if !contains(lg, at(24.9, 50)) || contains(lg, at(25.1, 50)) || !contains(lg, at(104.9, 150)) || contains(lg, at(105.1, 150)) {
		t.Error("L buffer containment wrong near the hole or the reflex corner")
	}
	checkBuffer(t, ell, lg, 5, rand.New(rand.NewPCG(2, 2)))

	// a hole narrower than 2m closes: the fallback is still exact
	slot := orb.Polygon{square[0], {at(20, 20), at(20, 28), at(80, 28), at(80, 20), at(20, 20)}}
	sg := Buffer(slot, 5)
	checkRings(t, sg)
	checkBuffer(t, slot, sg, 5, rand.New(rand.NewPCG(3, 3)))
	if !contains(sg, at(50, 24)) {
		t.Error("the closed slot should be inside the buffer")
	}

	if got := Buffer(orb.MultiPolygon{square, ell}, 5); len(got.(orb.MultiPolygon)) != 2 {
		t.Errorf("multipolygon buffer: %T", got)
	}
}

// Random polylines and polygons: whatever path Buffer takes, the points
// it holds are those within m.
func TestBufferProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	pl := NewPlane(chongqing)
	outlines := 0
	for i := range 60 {
		n := 2 + rng.IntN(8)
		line := make(orb.LineString, n)
		x, y := 0.0, 0.0
		for k := range n {
			line[k] = pl.Unproject(orb.Point{x, y})
			x += (rng.Float64() - 0.3) * 80
			y += (rng.Float64() - 0.5) * 80
		}
		m := logUniform(rng, 1, 40)
		g := Buffer(line, m)
		checkRings(t, g)
		if _, ok := g.(orb.Polygon); ok {
			outlines++
		}
		checkBuffer(t, line, g, m, rng)

		if i%3 == 0 { // a random star-shaped polygon
			k := 5 + rng.IntN(10)
			r := make(orb.Ring, 0, k+1)
			for j := range k {
				th := 2 * math.Pi * float64(j) / float64(k)
				rad := 20 + rng.Float64()*80
				r = append(r, pl.Unproject(orb.Point{rad * math.Cos(th), rad * math.Sin(th)}))
			}
			r = append(r, r[0])
			poly := orb.Polygon{r}
			pg := Buffer(poly, m)
			checkRings(t, pg)
			checkBuffer(t, poly, pg, m, rng)
		}
	}
	t.Logf("%d of 60 random lines got a single outline", outlines)
	if outlines < 20 {
		t.Errorf("only %d of 60 random lines got an outline", outlines)
	}
}

func TestBufferEdgeCases(t *testing.T) {
	square := orb.Polygon{{{106.5, 29.5}, {106.51, 29.5}, {106.51, 29.51}, {106.5, 29.5}}}
	if got := Buffer(square, 0); !orb.Equal(got, square) {
		t.Errorf("Buffer(polygon, 0) = %v", got)
	}
	if got := Buffer(chongqing, 0); len(got.(orb.MultiPolygon)) != 0 {
		t.Errorf("Buffer(point, 0) = %v", got)
	}
	if got := Buffer(nil, 5); len(got.(orb.MultiPolygon)) != 0 {
		t.Errorf("Buffer(nil) = %v", got)
	}
	col := Buffer(orb.Collection{chongqing, square}, 5)
	if mp, ok := col.(orb.MultiPolygon); !ok || len(mp) != 2 {
		t.Errorf("collection buffer = %T", col)
	}
	if a := Area(Buffer(orb.Bound{Min: chongqing, Max: chongqing}, 5)); math.Abs(a-math.Pi*25) > 1 {
		t.Errorf("buffer of a point-sized bound: area %.2f", a)
	}
	if WithinDistance(chongqing, square, -1) || WithinDistance(nil, square, 5) {
		t.Error("WithinDistance with bad input should be false")
	}
	if !WithinDistance(square, orb.Point{106.505, 29.502}, 0) {
		t.Error("a point inside is within 0 m")
	}
}
