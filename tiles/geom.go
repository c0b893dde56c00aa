package tiles

import (
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/clip"
	"github.com/paulmach/orb/maptile"
	"github.com/paulmach/orb/simplify"
)

// Extent is the MVT tile extent: coordinates run 0..Extent across a tile.
const Extent = 4096

// maxLat is the latitude limit of Web Mercator.
const maxLat = 85.05112877980659

// pixels projects WGS84 lon/lat to the pixel coordinates of one tile, as
// floats: the rounding to the integer grid comes last, after clipping and
// simplification.
type pixels struct {
	scale  float64 // Extent * 2^z
	ox, oy float64 // the tile's origin in world pixels
}

func newPixels(t maptile.Tile) pixels {
	s := Extent * math.Exp2(float64(t.Z))
	return pixels{scale: s, ox: float64(t.X) * Extent, oy: float64(t.Y) * Extent}
}

func (p pixels) project(ll orb.Point) orb.Point {
	lat := math.Max(-maxLat, math.Min(maxLat, ll[1]))
	s := math.Sin(lat * math.Pi / 180)
	x := (ll[0] + 180) / 360 * p.scale
	y := (0.5 - math.Log((1+s)/(1-s))/(4*math.Pi)) * p.scale
	return orb.Point{x - p.ox, y - p.oy}
}

func (p pixels) projectAll(ps []orb.Point) {
	for i := range ps {
		ps[i] = p.project(ps[i])
	}
}

// tolerance returns the Douglas–Peucker tolerance in tile units for a
// zoom. A 4096-unit tile is drawn about 512 screen pixels wide, so one
// unit is an eighth of a screen pixel: 4 units below z12, 2 to z14, 1 to
// z17 and none (only the snap to the integer grid) from z18.
func tolerance(z maptile.Zoom) float64 {
	switch {
	case z < 12:
		return 4
	case z < 15:
		return 2
	case z < 18:
		return 1
	}
	return 0
}

// shaper turns a WGS84 geometry into a clean MVT geometry of one tile.
type shaper struct {
	px  pixels
	box orb.Bound // the buffered tile in pixels
	tol float64
}

func newShaper(t maptile.Tile, buffer float64, tol float64) shaper {
	return shaper{
		px:  newPixels(t),
		box: orb.Bound{Min: orb.Point{-buffer, -buffer}, Max: orb.Point{Extent + buffer, Extent + buffer}},
		tol: tol,
	}
}

// shape projects g (in place: the caller owns it), clips it to the
// buffered tile, simplifies it, snaps it to the integer grid and removes
// what became degenerate. It returns nil when nothing is left, and a
// weight saying how much of the tile the result occupies (area for
// polygons, length for lines, 1 per point), used to drop the least
// visible features first when a tile is over budget.
func (s shaper) shape(g orb.Geometry) (orb.Geometry, float64) {
	switch g := g.(type) {
	case orb.Point:
		p := s.point(g)
		if !s.inside(p) {
			return nil, 0
		}
		return p, 1
	case orb.MultiPoint:
		var out orb.MultiPoint
		for _, q := range g {
			if p := s.point(q); s.inside(p) {
				out = append(out, p)
			}
		}
		return multiPoint(out)
	case orb.LineString:
		return s.lines(orb.MultiLineString{g})
	case orb.MultiLineString:
		return s.lines(g)
	case orb.Polygon:
		return s.polygons(orb.MultiPolygon{g})
	case orb.MultiPolygon:
		return s.polygons(g)
	}
	return nil, 0 // collections and bounds are not feature geometries
}

func (s shaper) point(p orb.Point) orb.Point {
	p = s.px.project(p)
	return orb.Point{math.Round(p[0]), math.Round(p[1])}
}

func (s shaper) inside(p orb.Point) bool {
	return p[0] >= s.box.Min[0] && p[0] <= s.box.Max[0] && p[1] >= s.box.Min[1] && p[1] <= s.box.Max[1]
}

func multiPoint(mp orb.MultiPoint) (orb.Geometry, float64) {
	switch len(mp) {
	case 0:
		return nil, 0
	case 1:
		return mp[0], 1
	}
	return mp, float64(len(mp))
}

func (s shaper) lines(mls orb.MultiLineString) (orb.Geometry, float64) {
	var out orb.MultiLineString
	length := 0.0
	for _, ls := range mls {
		s.px.projectAll(ls)
		for _, part := range clip.LineString(s.box, ls) {
			if s.tol > 0 && len(part) > 2 {
				part = simplify.DouglasPeucker(s.tol).LineString(part)
			}
			part = snap(part)
			if len(part) < 2 {
				continue
			}
			out = append(out, part)
			length += lineLength(part)
		}
	}
	switch len(out) {
	case 0:
		return nil, 0
	case 1:
		return out[0], length
	}
	return out, length
}

func (s shaper) polygons(mp orb.MultiPolygon) (orb.Geometry, float64) {
	var out orb.MultiPolygon
	total := 0.0
	for _, p := range mp {
		var poly orb.Polygon
		for i, r := range p {
			s.px.projectAll(r)
			r = clip.Ring(s.box, r)
			if r == nil {
				if i == 0 {
					break
				}
				continue
			}
			if s.tol > 0 && len(r) > 4 {
				r = simplify.DouglasPeucker(s.tol).Ring(r)
			}
			r = orb.Ring(snap(orb.LineString(r)))
			if len(r) > 0 && r[0] != r[len(r)-1] {
				r = append(r, r[0])
			}
			a := ringArea(r)
			if len(r) < 4 || a == 0 {
				if i == 0 {
					break // the exterior vanished: so does the polygon
				}
				continue
			}
			// MVT 2.1: exterior rings have a positive area in tile
			// coordinates (clockwise on screen), interior rings negative.
			if (i == 0) != (a > 0) {
				r.Reverse()
			}
			if i == 0 {
				total += math.Abs(a)
			} else {
				total -= math.Abs(a)
			}
			poly = append(poly, r)
		}
		if len(poly) > 0 {
			out = append(out, poly)
		}
	}
	switch len(out) {
	case 0:
		return nil, 0
	case 1:
		return out[0], math.Max(total, 1)
	}
	return out, math.Max(total, 1)
}

// snap rounds to the integer grid in place and drops repeated points.
func snap(ls orb.LineString) orb.LineString {
	out := ls[:0]
	for _, p := range ls {
		p = orb.Point{math.Round(p[0]), math.Round(p[1])}
		if len(out) > 0 && out[len(out)-1] == p {
			continue
		}
		out = append(out, p)
	}
	return out
}

// ringArea is the surveyor's formula in tile coordinates (y down): positive
// for a ring that is clockwise on screen.
func ringArea(r orb.Ring) float64 {
	a := 0.0
	for i := 0; i+1 < len(r); i++ {
		a += r[i][0]*r[i+1][1] - r[i+1][0]*r[i][1]
	}
	return a / 2
}

func lineLength(ls orb.LineString) float64 {
	l := 0.0
	for i := 1; i < len(ls); i++ {
		l += math.Hypot(ls[i][0]-ls[i-1][0], ls[i][1]-ls[i-1][1])
	}
	return l
}
