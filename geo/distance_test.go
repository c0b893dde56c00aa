package geo

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
)

// vincenty returns the geodesic distance in metres between a and b on the
// WGS84 ellipsoid (Vincenty's inverse formula, converged to 1e-12 rad;
// ample for the short, non-antipodal lines tested here).
func vincenty(a, b orb.Point) float64 {
	const (
		A = 6378137.0
		F = 1 / 298.257223563
		B = A * (1 - F)
	)
	rad := math.Pi / 180
	L := (b[0] - a[0]) * rad
	u1 := math.Atan((1 - F) * math.Tan(a[1]*rad))
	u2 := math.Atan((1 - F) * math.Tan(b[1]*rad))
	su1, cu1 := math.Sincos(u1)
	su2, cu2 := math.Sincos(u2)
	lambda := L
	var sinS, cosS, sigma, cos2a, cos2sm float64
	for range 200 {
		sl, cl := math.Sincos(lambda)
		sinS = math.Hypot(cu2*sl, cu1*su2-su1*cu2*cl)
		if sinS == 0 {
			return 0
		}
		cosS = su1*su2 + cu1*cu2*cl
		sigma = math.Atan2(sinS, cosS)
		sinA := cu1 * cu2 * sl / sinS
		cos2a = 1 - sinA*sinA
		cos2sm = 0
		if cos2a != 0 {
			cos2sm = cosS - 2*su1*su2/cos2a
		}
		C := F / 16 * cos2a * (4 + F*(4-3*cos2a))
		prev := lambda
		lambda = L + (1-C)*F*sinA*(sigma+C*sinS*(cos2sm+C*cosS*(-1+2*cos2sm*cos2sm)))
		if math.Abs(lambda-prev) < 1e-12 {
			break
		}
	}
	u2sq := cos2a * (A*A - B*B) / (B * B)
	bigA := 1 + u2sq/16384*(4096+u2sq*(-768+u2sq*(320-175*u2sq)))
	bigB := u2sq / 1024 * (256 + u2sq*(-128+u2sq*(74-47*u2sq)))
	dSigma := bigB * sinS * (cos2sm + bigB/4*(cosS*(-1+2*cos2sm*cos2sm)-
		bigB/6*cos2sm*(-3+4*sinS*sinS)*(-3+4*cos2sm*cos2sm)))
	return B * bigA * (sigma - dSigma)
}

// refToSegment is the geodesic distance from p to the segment a–b (a
// straight line in lon/lat), by golden-section search on vincenty.
func refToSegment(p, a, b orb.Point) float64 {
	at := func(t float64) float64 {
		return vincenty(p, orb.Point{a[0] + t*(b[0]-a[0]), a[1] + t*(b[1]-a[1])})
	}
	lo, hi := 0.0, 1.0
	g := (math.Sqrt(5) - 1) / 2
	for hi-lo > 1e-12 {
		m1, m2 := hi-g*(hi-lo), lo+g*(hi-lo)
		if at(m1) < at(m2) {
			hi = m2
		} else {
			lo = m1
		}
	}
	return math.Min(at((lo+hi)/2), math.Min(at(0), at(1)))
}

// randomNear returns a point at a random bearing and a distance of
// roughly d metres (in the local plane) from o.
func randomNear(rng *rand.Rand, o orb.Point, d float64) orb.Point {
	th := rng.Float64() * 2 * math.Pi
	return NewPlane(o).Unproject(orb.Point{d * math.Cos(th), d * math.Sin(th)})
}

// logUniform returns a number between lo and hi, uniform in its logarithm.
func logUniform(rng *rand.Rand, lo, hi float64) float64 {
	return lo * math.Exp(rng.Float64()*math.Log(hi/lo))
}

func TestVincentyReference(t *testing.T) {
	// one degree of latitude at the equator and of longitude at 30°N on
	// WGS84 (textbook values).
	if d := vincenty(orb.Point{0, 0}, orb.Point{0, 1}); math.Abs(d-110574.389) > 0.01 {
		t.Errorf("1° of latitude at the equator = %.3f m", d)
	}
	kx, ky := MetresPerDegree(29.5)
	if d := vincenty(orb.Point{106, 29.5}, orb.Point{106.001, 29.5}); math.Abs(d-kx/1000) > 1e-4 {
		t.Errorf("0.001° of longitude: vincenty %.5f, MetresPerDegree %.5f", d, kx/1000)
	}
	if d := vincenty(orb.Point{106, 29.4995}, orb.Point{106, 29.5005}); math.Abs(d-ky/1000) > 1e-4 {
		t.Errorf("0.001° of latitude: vincenty %.5f, MetresPerDegree %.5f", d, ky/1000)
	}
}

func TestDistanceAgainstGeodesic(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var worstPt, worstTo, worstSeg, worstGeom float64
	for range 2000 {
		a := orb.Point{106.3 + rng.Float64()*0.8, 29.1 + rng.Float64()*0.8}
		b := randomNear(rng, a, logUniform(rng, 5, 5000))
		ref := vincenty(a, b)
		worstPt = math.Max(worstPt, math.Abs(Distance(a, b)-ref)/ref)
		worstTo = math.Max(worstTo, math.Abs(DistanceTo(a, b)-ref)/ref)
	}
	for range 300 {
		p := orb.Point{106.3 + rng.Float64()*0.8, 29.1 + rng.Float64()*0.8}
		a := randomNear(rng, p, logUniform(rng, 5, 4000))
		b := randomNear(rng, a, logUniform(rng, 5, 4000))
		ref := refToSegment(p, a, b)
		if ref < 5 {
			continue
		}
		worstSeg = math.Max(worstSeg, math.Abs(DistanceTo(p, orb.LineString{a, b})-ref)/ref)

		// two disjoint segments: the nearest pair has an endpoint
		c := randomNear(rng, p, logUniform(rng, 5, 2000))
		if segmentsIntersect(a, b, p, c) {
			continue
		}
		ref2 := math.Min(math.Min(refToSegment(p, a, b), refToSegment(c, a, b)),
			math.Min(refToSegment(a, p, c), refToSegment(b, p, c)))
		if ref2 < 5 {
			continue
		}
		got := GeometryDistance(orb.LineString{a, b}, orb.LineString{p, c})
		worstGeom = math.Max(worstGeom, math.Abs(got-ref2)/ref2)
	}
	t.Logf("max relative error vs Vincenty, 5 m–5 km around Chongqing: Distance %.2g, DistanceTo(point) %.2g, "+
		"DistanceTo(segment) %.2g, GeometryDistance(segments) %.2g", worstPt, worstTo, worstSeg, worstGeom)
	for name, e := range map[string]float64{"Distance": worstPt, "DistanceTo point": worstTo,
		"DistanceTo segment": worstSeg, "GeometryDistance": worstGeom} {
		if e > 0.001 {
			t.Errorf("%s: relative error %.3g > 0.1 %%", name, e)
		}
	}
}

func TestDistanceCases(t *testing.T) {
	pl := NewPlane(chongqing)
	at := func(x, y float64) orb.Point { return pl.Unproject(orb.Point{x, y}) }
	square := orb.Polygon{{at(0, 0), at(100, 0), at(100, 100), at(0, 100), at(0, 0)}}
	line := orb.LineString{at(-50, -50), at(50, 50), at(150, 40)}
	mid := orb.Point{(line[0][0] + line[1][0]) / 2, (line[0][1] + line[1][1]) / 2}

	tests := []struct {
		name string
		got  float64
		want float64
		tol  float64
	}{
		{"point inside polygon", DistanceTo(at(30, 40), square), 0, 0},
		{"point on polygon edge", DistanceTo(at(100, 50), square), 0, 1e-6},
		{"point on line vertex", DistanceTo(line[1], line), 0, 0},
		{"point on line segment", DistanceTo(mid, line), 0, 1e-6},
		{"point outside polygon", DistanceTo(at(130, 50), square), 30, 0.01},
		{"polygon contains point (GeometryDistance)", GeometryDistance(square, at(5, 5)), 0, 0},
		{"polygons touching on an edge", GeometryDistance(square, orb.Polygon{{at(100, 0), at(200, 0), at(200, 100), at(100, 100), at(100, 0)}}), 0, 0},
		{"polygons touching at a vertex", GeometryDistance(square, orb.Polygon{{at(100, 100), at(200, 100), at(200, 200), at(100, 100)}}), 0, 0},
		{"polygons overlapping", GeometryDistance(square, orb.Polygon{{at(50, 50), at(200, 50), at(200, 200), at(50, 50)}}), 0, 0},
		{"polygon inside polygon", GeometryDistance(square, orb.Polygon{{at(10, 10), at(20, 10), at(20, 20), at(10, 10)}}), 0, 0},
		{"line crossing polygon", GeometryDistance(line, square), 0, 0},
		{"polygons 20 m apart", GeometryDistance(square, orb.Polygon{{at(120, 0), at(200, 0), at(200, 100), at(120, 0)}}), 20, 0.01},
		{"line 10 m from polygon", GeometryDistance(orb.LineString{at(-10, -50), at(-10, 150)}, square), 10, 0.01},
	}
	for _, tt := range tests {
		if math.Abs(tt.got-tt.want) > tt.tol {
			t.Errorf("%s: got %.6f m, want %.3f", tt.name, tt.got, tt.want)
		}
	}
}

// The analyses compare distances with thresholds such as 150 m; 149 and
// 151 m must fall on the right sides, measured against the geodesic.
func TestDistanceThreshold(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for range 200 {
		o := orb.Point{106.4 + rng.Float64()*0.6, 29.1 + rng.Float64()*0.7}
		for _, d := range []float64{149, 151} {
			q := randomNear(rng, o, d)
			ref := vincenty(o, q)
			if e := math.Abs(DistanceTo(o, q) - ref); e > 0.01 {
				t.Fatalf("DistanceTo at %.0f m off by %.4f m", d, e)
			}
			if e := math.Abs(Distance(o, q) - ref); e > 0.01 {
				t.Fatalf("Distance at %.0f m off by %.4f m", d, e)
			}
			if WithinDistance(o, q, 150) != (ref <= 150) || WithinDistance(q, o, 150) != (ref <= 150) {
				t.Fatalf("WithinDistance(%.2f m, 150) wrong", ref)
			}
			// the same from a line passing at d metres
			pl := NewPlane(q)
			v := pl.Project(o) // the line through q perpendicular to o–q
			n := math.Hypot(v[0], v[1])
			dir := orb.Point{-v[1] / n * 500, v[0] / n * 500}
			line := orb.LineString{pl.Unproject(dir), pl.Unproject(orb.Point{-dir[0], -dir[1]})}
			ref = refToSegment(o, line[0], line[1])
			got := DistanceTo(o, line)
			if math.Abs(got-ref) > 0.01 {
				t.Fatalf("line at %.0f m: DistanceTo %.4f, geodesic %.4f", d, got, ref)
			}
			if WithinDistance(line, o, 150) != (ref <= 150) {
				t.Fatalf("WithinDistance(line at %.2f m, 150) wrong", ref)
			}
		}
	}
}

// ellipsoidArea is the exact area of the lon/lat box on WGS84.
func ellipsoidArea(b orb.Bound) float64 {
	const a = 6378137.0
	e := math.Sqrt(wgsE2)
	q := func(lat float64) float64 {
		s := math.Sin(lat * math.Pi / 180)
		return s/(1-wgsE2*s*s) + math.Atanh(e*s)/e
	}
	return a * a * (1 - wgsE2) / 2 * (b.Max[0] - b.Min[0]) * math.Pi / 180 * (q(b.Max[1]) - q(b.Min[1]))
}

func TestAreaAndLength(t *testing.T) {
	// a box whose sides measure 1 km on the geodesic
	o := chongqing
	dlat := 0.01
	for range 50 {
		dlat *= 1000 / vincenty(orb.Point{o[0], o[1] - dlat/2}, orb.Point{o[0], o[1] + dlat/2})
	}
	dlon := 0.01
	for range 50 {
		dlon *= 1000 / vincenty(orb.Point{o[0] - dlon/2, o[1]}, orb.Point{o[0] + dlon/2, o[1]})
	}
	b := orb.Bound{Min: orb.Point{o[0] - dlon/2, o[1] - dlat/2}, Max: orb.Point{o[0] + dlon/2, o[1] + dlat/2}}
	ref := ellipsoidArea(b)
	got := Area(b.ToPolygon())
	t.Logf("1 km box: Area %.1f m², ellipsoid %.1f m²", got, ref)
	if math.Abs(got-1e6)/1e6 > 0.001 || math.Abs(got-ref)/ref > 1e-4 {
		t.Errorf("Area = %.1f m², ellipsoid %.1f m²", got, ref)
	}
	holed := orb.Polygon{b.ToRing(), orb.Bound{Min: o, Max: orb.Point{o[0] + dlon/4, o[1] + dlat/4}}.ToRing()}
	if got := Area(holed); math.Abs(got-1e6*(1-1.0/16)) > 1000 {
		t.Errorf("Area with a hole = %.1f", got)
	}
	if got := Area(orb.MultiPolygon{b.ToPolygon(), b.ToPolygon()}); math.Abs(got-2e6) > 2000 {
		t.Errorf("Area of a multipolygon = %.1f", got)
	}
	if Area(orb.LineString{o, b.Max}) != 0 || Area(o) != 0 {
		t.Error("Area of a line or point should be 0")
	}
	ring := b.ToRing()
	if got := Length(orb.LineString(ring)); math.Abs(got-4000) > 1 {
		t.Errorf("Length of the box outline = %.3f m", got)
	}
	var ref2 float64
	for i := 1; i < len(ring); i++ {
		ref2 += vincenty(ring[i-1], ring[i])
	}
	if got := Length(orb.MultiLineString{orb.LineString(ring)}); math.Abs(got-ref2) > 0.05 {
		t.Errorf("Length %.3f, geodesic %.3f", got, ref2)
	}
	if Length(o) != 0 {
		t.Error("Length of a point should be 0")
	}
}

func TestExpandBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for range 300 {
		c := orb.Point{106.3 + rng.Float64()*0.8, 29.1 + rng.Float64()*0.8}
		b := orb.Bound{Min: c, Max: c}.Extend(randomNear(rng, c, rng.Float64()*3000))
		m := logUniform(rng, 1, 5000)
		e := ExpandBound(b, m)
		if !e.Contains(b.Min) || !e.Contains(b.Max) {
			t.Fatal("expanded bound lost the original")
		}
		// a point just within m of the box (as DistanceTo measures) lies in e
		q := orb.Point{b.Min[0] + rng.Float64()*(b.Max[0]-b.Min[0]), b.Min[1] + rng.Float64()*(b.Max[1]-b.Min[1])}
		p := randomNear(rng, q, m*0.999)
		if DistanceTo(p, b.ToPolygon()) <= m && !e.Contains(p) {
			t.Fatalf("point %.2f m from the box outside ExpandBound(%.0f m)", DistanceTo(p, b.ToPolygon()), m)
		}
		// and the margin is m to within 1 %
		kx, ky := MetresPerDegree(c[1])
		if mx := (b.Min[0] - e.Min[0]) * kx; mx < m || mx > m*1.01 {
			t.Fatalf("east-west margin %.3f m for %.3f m", mx, m)
		}
		if my := (b.Min[1] - e.Min[1]) * ky; my < m || my > m*1.01 {
			t.Fatalf("north-south margin %.3f m for %.3f m", my, m)
		}
	}
}

// BoundDistance must never exceed the distance to anything in the box.
func TestBoundDistanceLowerBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	var tight float64 = 1
	for range 2000 {
		c := orb.Point{106.3 + rng.Float64()*0.8, 29.1 + rng.Float64()*0.8}
		b := orb.Bound{Min: c, Max: c}.Extend(randomNear(rng, c, logUniform(rng, 1, 5000)))
		p := randomNear(rng, c, logUniform(rng, 1, 10000))
		lb := BoundDistance(p, b)
		for _, g := range []orb.Geometry{b.ToPolygon(), b.Min, b.Max, b.Center(),
			orb.Point{b.Min[0], b.Max[1]}, orb.LineString{b.Min, b.Max}} {
			if d := DistanceTo(p, g); lb > d+1e-9 {
				t.Fatalf("BoundDistance %.6f > DistanceTo %.6f", lb, d)
			}
			// a parallel is not a geodesic: the geodesic east-west is
			// shorter by ~1e-8 relative, so allow 1e-6 there.
			if d := vincenty(p, g.Bound().Center()); lb > d*(1+1e-6) && g.GeoJSONType() == "Point" {
				t.Fatalf("BoundDistance %.6f > geodesic %.6f", lb, d)
			}
		}
		if d := DistanceTo(p, b.ToPolygon()); d > 0 {
			tight = math.Min(tight, lb/d)
		} else if lb != 0 {
			t.Fatalf("p inside b but BoundDistance = %v", lb)
		}
	}
	t.Logf("BoundDistance is at least %.4f of DistanceTo", tight)
	if tight < 0.98 {
		t.Errorf("BoundDistance is loose: %.4f of the distance", tight)
	}
}
