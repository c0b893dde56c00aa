package geo

import (
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// WGS84 ellipsoid.
const (
	wgsA  = 6378137.0
	wgsE2 = 0.00669437999014
)

// Plane is a local tangent plane: it maps lon/lat to metres east and north
// of an origin using the ellipsoid's radii of curvature at the origin's
// latitude. Within a few kilometres of the origin distances on it are
// within 0.01 % of the geodesic.
type Plane struct {
	Origin orb.Point
	kx, ky float64 // metres per degree of longitude and latitude
}

// NewPlane returns the local plane at origin.
func NewPlane(origin orb.Point) Plane {
	kx, ky := MetresPerDegree(origin[1])
	return Plane{Origin: origin, kx: kx, ky: ky}
}

// MetresPerDegree returns the length on the ground of one degree of
// longitude and of latitude at latitude lat.
func MetresPerDegree(lat float64) (lon, latM float64) {
	phi := lat * math.Pi / 180
	s := math.Sin(phi)
	w := 1 - wgsE2*s*s
	n := wgsA / math.Sqrt(w)                     // prime vertical radius
	m := wgsA * (1 - wgsE2) / (w * math.Sqrt(w)) // meridional radius
	return n * math.Cos(phi) * math.Pi / 180, m * math.Pi / 180
}

// Project maps p to metres (east, north) from the origin.
func (pl Plane) Project(p orb.Point) orb.Point {
	return orb.Point{(p[0] - pl.Origin[0]) * pl.kx, (p[1] - pl.Origin[1]) * pl.ky}
}

// Unproject maps metres from the origin back to lon/lat.
func (pl Plane) Unproject(p orb.Point) orb.Point {
	return orb.Point{pl.Origin[0] + p[0]/pl.kx, pl.Origin[1] + p[1]/pl.ky}
}

// ProjectGeometry returns a copy of g in the plane's metres.
func (pl Plane) ProjectGeometry(g orb.Geometry) orb.Geometry {
	return mapPoints(orb.Clone(g), pl.Project)
}

// UnprojectGeometry returns a copy of g (in metres) in lon/lat.
func (pl Plane) UnprojectGeometry(g orb.Geometry) orb.Geometry {
	return mapPoints(orb.Clone(g), pl.Unproject)
}

// Distance returns the ground distance in metres between two points, to
// better than 0.01 % up to tens of kilometres (the plane is taken at their
// mid-latitude).
func Distance(a, b orb.Point) float64 {
	kx, ky := MetresPerDegree((a[1] + b[1]) / 2)
	return math.Hypot((b[0]-a[0])*kx, (b[1]-a[1])*ky)
}

// DistanceTo returns the ground distance in metres from p to the nearest
// part of g: 0 when p lies inside a polygon or on a line.
func DistanceTo(p orb.Point, g orb.Geometry) float64 {
	if pt, ok := g.(orb.Point); ok {
		return Distance(p, pt)
	}
	pl := NewPlane(p)
	return distanceFromOrigin(pl.ProjectGeometry(g))
}

// distanceFromOrigin is the planar distance from (0,0) to g.
func distanceFromOrigin(g orb.Geometry) float64 {
	o := orb.Point{}
	switch x := g.(type) {
	case orb.Polygon:
		if planar.PolygonContains(x, o) {
			return 0
		}
	case orb.MultiPolygon:
		if planar.MultiPolygonContains(x, o) {
			return 0
		}
	}
	return planar.DistanceFrom(g, o)
}

// GeometryDistance returns the ground distance in metres between the
// nearest parts of a and b (0 when they intersect), measured in a plane
// at a's centre. Meant for features a few kilometres apart at most.
func GeometryDistance(a, b orb.Geometry) float64 {
	if p, ok := a.(orb.Point); ok {
		return DistanceTo(p, b)
	}
	if p, ok := b.(orb.Point); ok {
		return DistanceTo(p, a)
	}
	pl := NewPlane(a.Bound().Center())
	ma, mb := pl.ProjectGeometry(a), pl.ProjectGeometry(b)
	return planarDistance(ma, mb)
}

// ExpandBound grows b by m metres on every side. It errs on the large
// side: every point within m metres of a point of b (as DistanceTo and
// GeometryDistance measure) lies in the result.
func ExpandBound(b orb.Bound, m float64) orb.Bound {
	// a degree of latitude is shortest nearest the equator, a degree of
	// longitude farthest from it (including the added margin).
	_, kyEq := MetresPerDegree(0)
	minLat := 0.0
	if b.Min[1] > 0 || b.Max[1] < 0 {
		minLat = math.Min(math.Abs(b.Min[1]), math.Abs(b.Max[1]))
		minLat = math.Max(0, minLat-m/kyEq)
	}
	_, ky := MetresPerDegree(minLat)
	dy := m / ky
	maxLat := math.Min(90, math.Max(math.Abs(b.Min[1]), math.Abs(b.Max[1]))+dy)
	kx, _ := MetresPerDegree(maxLat)
	dx := m / kx
	return orb.Bound{
		Min: orb.Point{b.Min[0] - dx, math.Max(-90, b.Min[1]-dy)},
		Max: orb.Point{b.Max[0] + dx, math.Min(90, b.Max[1]+dy)},
	}
}

// BoundDistance returns a lower bound in metres of the distance from p to
// anything inside b (0 when p is inside b).
func BoundDistance(p orb.Point, b orb.Bound) float64 {
	dx := math.Max(0, math.Max(b.Min[0]-p[0], p[0]-b.Max[0]))
	dy := math.Max(0, math.Max(b.Min[1]-p[1], p[1]-b.Max[1]))
	if dx == 0 && dy == 0 {
		return 0
	}
	// the smallest metres-per-degree of longitude over the box's latitudes
	// keeps this a lower bound.
	lat := math.Max(math.Abs(b.Min[1]), math.Abs(b.Max[1]))
	lat = math.Max(lat, math.Abs(p[1]))
	kx, _ := MetresPerDegree(lat)
	_, ky := MetresPerDegree(0) // meridional degree is shortest at the equator
	return math.Hypot(dx*kx, dy*ky)
}

// Area returns the area in square metres of a polygon or multipolygon (0
// for other geometries), in a plane at its centre.
func Area(g orb.Geometry) float64 {
	switch g.(type) {
	case orb.Polygon, orb.MultiPolygon:
	default:
		return 0
	}
	pl := NewPlane(g.Bound().Center())
	return math.Abs(planar.Area(pl.ProjectGeometry(g)))
}

// Length returns the ground length in metres of a line (0 for points).
func Length(g orb.Geometry) float64 {
	var sum float64
	eachSegment(g, func(a, b orb.Point) { sum += Distance(a, b) })
	return sum
}

func eachSegment(g orb.Geometry, fn func(a, b orb.Point)) {
	switch x := g.(type) {
	case orb.LineString:
		for i := 1; i < len(x); i++ {
			fn(x[i-1], x[i])
		}
	case orb.Ring:
		eachSegment(orb.LineString(x), fn)
	case orb.MultiLineString:
		for _, l := range x {
			eachSegment(l, fn)
		}
	case orb.Polygon:
		for _, r := range x {
			eachSegment(orb.LineString(r), fn)
		}
	case orb.MultiPolygon:
		for _, p := range x {
			eachSegment(p, fn)
		}
	}
}

// mapPoints applies fn to every point of g in place and returns g.
func mapPoints(g orb.Geometry, fn func(orb.Point) orb.Point) orb.Geometry {
	switch x := g.(type) {
	case orb.Point:
		return fn(x)
	case orb.MultiPoint:
		for i := range x {
			x[i] = fn(x[i])
		}
	case orb.LineString:
		for i := range x {
			x[i] = fn(x[i])
		}
	case orb.Ring:
		for i := range x {
			x[i] = fn(x[i])
		}
	case orb.MultiLineString:
		for _, l := range x {
			mapPoints(l, fn)
		}
	case orb.Polygon:
		for _, r := range x {
			mapPoints(r, fn)
		}
	case orb.MultiPolygon:
		for _, p := range x {
			mapPoints(p, fn)
		}
	case orb.Collection:
		for i := range x {
			x[i] = mapPoints(x[i], fn)
		}
	case orb.Bound:
		return orb.Bound{Min: fn(x.Min), Max: fn(x.Max)}
	}
	return g
}

// planarDistance is the Euclidean distance between two planar geometries:
// 0 if they intersect, else the smallest vertex-to-segment distance.
func planarDistance(a, b orb.Geometry) float64 {
	if intersects(a, b) {
		return 0
	}
	best := math.Inf(1)
	eachVertex(a, func(p orb.Point) { best = math.Min(best, planar.DistanceFrom(b, p)) })
	eachVertex(b, func(p orb.Point) { best = math.Min(best, planar.DistanceFrom(a, p)) })
	return best
}

func eachVertex(g orb.Geometry, fn func(orb.Point)) {
	switch x := g.(type) {
	case orb.Point:
		fn(x)
	case orb.MultiPoint:
		for _, p := range x {
			fn(p)
		}
	default:
		eachSegment(g, func(a, _ orb.Point) { fn(a) })
		// the last vertex of each line
		switch y := g.(type) {
		case orb.LineString:
			if len(y) > 0 {
				fn(y[len(y)-1])
			}
		case orb.MultiLineString:
			for _, l := range y {
				if len(l) > 0 {
					fn(l[len(l)-1])
				}
			}
		}
	}
}

// intersects reports whether two planar geometries share a point: a segment
// crossing, or a vertex of one inside a polygon of the other.
func intersects(a, b orb.Geometry) bool {
	if !a.Bound().Intersects(b.Bound()) {
		return false
	}
	hit := false
	eachSegment(a, func(p1, p2 orb.Point) {
		if hit {
			return
		}
		eachSegment(b, func(q1, q2 orb.Point) {
			if !hit && segmentsIntersect(p1, p2, q1, q2) {
				hit = true
			}
		})
	})
	if hit {
		return true
	}
	return anyVertexInside(a, b) || anyVertexInside(b, a)
}

func anyVertexInside(a, poly orb.Geometry) bool {
	in := false
	eachVertex(a, func(p orb.Point) {
		if in {
			return
		}
		switch x := poly.(type) {
		case orb.Polygon:
			in = planar.PolygonContains(x, p)
		case orb.MultiPolygon:
			in = planar.MultiPolygonContains(x, p)
		}
	})
	return in
}

func segmentsIntersect(p1, p2, q1, q2 orb.Point) bool {
	d1 := cross(q1, q2, p1)
	d2 := cross(q1, q2, p2)
	d3 := cross(p1, p2, q1)
	d4 := cross(p1, p2, q2)
	if ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)) {
		return true
	}
	return (d1 == 0 && onSegment(q1, q2, p1)) || (d2 == 0 && onSegment(q1, q2, p2)) ||
		(d3 == 0 && onSegment(p1, p2, q1)) || (d4 == 0 && onSegment(p1, p2, q2))
}

func cross(a, b, c orb.Point) float64 {
	return (b[0]-a[0])*(c[1]-a[1]) - (b[1]-a[1])*(c[0]-a[0])
}

func onSegment(a, b, p orb.Point) bool {
	return math.Min(a[0], b[0]) <= p[0] && p[0] <= math.Max(a[0], b[0]) &&
		math.Min(a[1], b[1]) <= p[1] && p[1] <= math.Max(a[1], b[1])
}
