package geo

import "github.com/paulmach/orb"

// EachPath calls fn with every line and ring of g, in order: a point is a
// path of one point, a Bound its ring, a Collection its members' paths.
// fn must not keep or modify the slices (they are g's own).
func EachPath(g orb.Geometry, fn func([]orb.Point)) {
	switch x := g.(type) {
	case orb.Point:
		fn([]orb.Point{x})
	case orb.MultiPoint:
		for _, p := range x {
			fn([]orb.Point{p})
		}
	case orb.LineString:
		fn(x)
	case orb.MultiLineString:
		for _, l := range x {
			fn(l)
		}
	case orb.Ring:
		fn(x)
	case orb.Polygon:
		for _, r := range x {
			fn(r)
		}
	case orb.MultiPolygon:
		for _, p := range x {
			for _, r := range p {
				fn(r)
			}
		}
	case orb.Collection:
		for _, c := range x {
			EachPath(c, fn)
		}
	case orb.Bound:
		fn(x.ToRing())
	}
}
