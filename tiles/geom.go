package tiles

import (
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/clip"
	"github.com/paulmach/orb/maptile"
	"github.com/paulmach/orb/planar"
)

// Extent is the MVT tile extent: coordinates run 0..Extent across a tile.
const Extent = 4096

// maxLat is the latitude limit of Web Mercator.
const maxLat = 85.05112877980659

// pixels projects WGS84 lon/lat to the pixel coordinates of one tile, as
// floats: the rounding to the integer grid comes last, after clipping and
// simplification.
//
// Web Mercator's y is scale·(½ − ψ(φ)/2π) with ψ(φ) = atanh(sin φ): a log
// and a sine per vertex. Near the tile, where nearly every vertex lies,
// ψ comes from its Taylor polynomial of degree 4 around the tile's centre
// latitude instead: within taylorR of it the remainder is below 1e-6
// pixel at the tile's zoom (see newPixels), too little to move a
// coordinate to another integer except on an exact tie, and the
// polynomial is several times cheaper than the log and the sine.
type pixels struct {
	scale  float64 // Extent * 2^z
	sx, x0 float64 // x = lon·sx + x0
	ky, y0 float64 // y = y0 − ψ·ky

	phi0    float64    // centre latitude of the tile, radians
	taylorR float64    // the polynomial is used where |φ − phi0| ≤ taylorR
	t       [5]float64 // y = t0 − d·(t1 + d·(t2 + d·(t3 + d·t4))), d = φ − phi0
}

func newPixels(t maptile.Tile) pixels {
	s := Extent * math.Exp2(float64(t.Z))
	p := pixels{scale: s, sx: s / 360, ky: s / (2 * math.Pi)}
	p.x0 = 180*p.sx - float64(t.X)*Extent
	p.y0 = s/2 - float64(t.Y)*Extent
	p.phi0 = t.Center()[1] * math.Pi / 180
	if math.Abs(p.phi0) > 1.4 { // polar tiles: exact only
		return p
	}
	sec, tan := 1/math.Cos(p.phi0), math.Tan(p.phi0)
	t2, s2 := tan*tan, sec*sec
	// ψ(phi0) and its derivatives over k!: sec, sec·tan, sec·(tan²+sec²),
	// sec·tan·(tan²+5sec²); the fifth, sec·(tan⁴+18tan²sec²+5sec⁴),
	// bounds the remainder.
	c := [5]float64{math.Atanh(math.Sin(p.phi0)), sec, sec * tan / 2, sec * (t2 + s2) / 6, sec * tan * (t2 + 5*s2) / 24}
	p.t = [5]float64{p.y0 - c[0]*p.ky, c[1] * p.ky, c[2] * p.ky, c[3] * p.ky, c[4] * p.ky}
	d5 := sec * (t2*t2 + 18*t2*s2 + 5*s2*s2) / 120
	// remainder ≈ d5·r⁵ in ψ (2·d5 for the growth of the derivative
	// over r), times ky in pixels: at most 1e-6
	if r := math.Pow(1e-6/(2*d5*p.ky), 0.2); r < 0.05 {
		p.taylorR = r
	}
	return p
}

func (p *pixels) project(ll orb.Point) orb.Point {
	if q, ok := p.near(ll); ok {
		return q
	}
	lat := math.Max(-maxLat, math.Min(maxLat, ll[1]))
	s := math.Sin(lat * math.Pi / 180)
	psi := math.Log((1+s)/(1-s)) / 2
	return orb.Point{ll[0]*p.sx + p.x0, p.y0 - psi*p.ky}
}

// near projects ll with the polynomial when it lies within reach of it;
// small enough to be inlined in the loops over coordinates.
func (p *pixels) near(ll orb.Point) (orb.Point, bool) {
	d := ll[1]*(math.Pi/180) - p.phi0
	if d > p.taylorR || d < -p.taylorR {
		return orb.Point{}, false
	}
	return orb.Point{ll[0]*p.sx + p.x0, p.t[0] - d*(p.t[1]+d*(p.t[2]+d*(p.t[3]+d*p.t[4])))}, true
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

// shaper turns WGS84 geometries into clean MVT geometries of one tile,
// written as MVT geometry commands. It never modifies its input (features
// lent by a store are read-only): coordinates are projected into scratch
// space it reuses from one feature to the next, so that shaping a feature
// that lies inside the tile allocates nothing.
type shaper struct {
	px  pixels
	box orb.Bound // the buffered tile in pixels
	tol float64

	pts   []orb.Point // one projected ring or line
	mask  []byte      // Douglas–Peucker scratch
	stack []int
	cmd   cmdWriter
}

func newShaper(t maptile.Tile, buffer float64, tol float64) *shaper {
	return &shaper{
		px:  newPixels(t),
		box: orb.Bound{Min: orb.Point{-buffer, -buffer}, Max: orb.Point{Extent + buffer, Extent + buffer}},
		tol: tol,
	}
}

// shape projects g, clips it to the buffered tile, simplifies it, snaps
// it to the integer grid and removes what became degenerate, then
// appends its MVT commands to cmds. It returns the extended cmds, the MVT
// geometry type (0 when nothing is left, and cmds unchanged) and a weight
// saying how much of the tile the result occupies (area for polygons,
// length for lines, 1 per point), used to drop the least visible
// features first when a tile is over budget.
func (s *shaper) shape(cmds []uint32, g orb.Geometry) ([]uint32, geomType, float64) {
	s.cmd = cmdWriter{buf: cmds, start: len(cmds)}
	var typ geomType
	var w float64
	switch g := g.(type) {
	case orb.Point:
		typ, w = s.points(orb.MultiPoint{g})
	case orb.MultiPoint:
		typ, w = s.points(g)
	case orb.LineString:
		typ, w = s.line(g)
	case orb.MultiLineString:
		for _, ls := range g {
			_, l := s.line(ls)
			w += l
		}
		typ = lineType
	case orb.Polygon:
		typ, w = polygonType, math.Max(s.polygon(g), 1)
	case orb.MultiPolygon:
		for _, p := range g {
			w += s.polygon(p)
		}
		typ, w = polygonType, math.Max(w, 1)
	}
	// collections and bounds are not feature geometries
	if len(s.cmd.buf) == s.cmd.start {
		return cmds, 0, 0
	}
	return s.cmd.buf, typ, w
}

func (s *shaper) point(p orb.Point) orb.Point {
	p = s.px.project(p)
	return orb.Point{math.Round(p[0]), math.Round(p[1])}
}

func (s *shaper) inside(p orb.Point) bool {
	return p[0] >= s.box.Min[0] && p[0] <= s.box.Max[0] && p[1] >= s.box.Min[1] && p[1] <= s.box.Max[1]
}

func (s *shaper) points(mp orb.MultiPoint) (geomType, float64) {
	s.pts = s.pts[:0]
	for _, q := range mp {
		if p := s.point(q); s.inside(p) {
			s.pts = append(s.pts, p)
		}
	}
	if len(s.pts) == 0 {
		return 0, 0
	}
	s.cmd.moveTo(s.pts)
	return pointType, float64(len(s.pts))
}

// project writes the pixel coordinates of ps into s.pts and reports
// whether they all lie within the buffered tile.
func (s *shaper) project(ps []orb.Point) ([]orb.Point, bool) {
	pts := s.pts[:0]
	in := true
	for _, p := range ps {
		q, ok := s.px.near(p)
		if !ok {
			q = s.px.project(p)
		}
		in = in && s.inside(q)
		pts = append(pts, q)
	}
	s.pts = pts
	return pts, in
}

func (s *shaper) line(ls orb.LineString) (geomType, float64) {
	pts, in := s.project(ls)
	if in {
		if len(pts) < 2 { // what clip.LineString keeps
			return 0, 0
		}
		l := s.linePart(pts)
		return lineType, l
	}
	length := 0.0
	for _, part := range clip.LineString(s.box, pts) {
		length += s.linePart(part)
	}
	return lineType, length
}

// linePart simplifies, snaps and writes one clipped line.
func (s *shaper) linePart(part orb.LineString) float64 {
	if s.tol > 0 && len(part) > 2 {
		part = s.simplify(part)
	}
	part = snap(part)
	if len(part) < 2 {
		return 0
	}
	s.cmd.moveTo(part[:1])
	s.cmd.lineTo(part[1:])
	return lineLength(part)
}

// polygon writes the rings of p that survive; the polygon vanishes with
// its exterior. It returns the area covered.
func (s *shaper) polygon(p orb.Polygon) float64 {
	total := 0.0
	for i, r := range p {
		pts, in := s.project(r)
		rr := orb.Ring(pts)
		if !in {
			rr = clip.Ring(s.box, rr)
		}
		if rr == nil {
			if i == 0 {
				break
			}
			continue
		}
		if s.tol > 0 && len(rr) > 4 {
			rr = orb.Ring(s.simplify(orb.LineString(rr)))
		}
		rr = orb.Ring(snap(orb.LineString(rr)))
		if len(rr) > 0 && rr[0] != rr[len(rr)-1] {
			rr = append(rr, rr[0])
		}
		a := ringArea(rr)
		if len(rr) < 4 || a == 0 {
			if i == 0 {
				break // the exterior vanished: so does the polygon
			}
			continue
		}
		// MVT 2.1: exterior rings have a positive area in tile
		// coordinates (clockwise on screen), interior rings negative.
		if (i == 0) != (a > 0) {
			rr.Reverse()
		}
		if i == 0 {
			total += math.Abs(a)
		} else {
			total -= math.Abs(a)
		}
		s.cmd.moveTo(rr[:1])
		s.cmd.lineTo(rr[1 : len(rr)-1])
		s.cmd.closePath()
	}
	return total
}

// simplify is orb's simplify.DouglasPeucker(s.tol) on ls, in place,
// with the scratch kept between features.
func (s *shaper) simplify(ls orb.LineString) orb.LineString {
	if len(ls) <= 2 {
		return ls
	}
	s.mask = append(s.mask[:0], make([]byte, len(ls))...)
	s.mask[0], s.mask[len(ls)-1] = 1, 1
	s.stack = append(s.stack[:0], 0, len(ls)-1)
	for len(s.stack) > 0 {
		start, end := s.stack[len(s.stack)-2], s.stack[len(s.stack)-1]
		maxDist, maxIndex := 0.0, 0
		for i := start + 1; i < end; i++ {
			if d := planar.DistanceFromSegmentSquared(ls[start], ls[end], ls[i]); d > maxDist {
				maxDist, maxIndex = d, i
			}
		}
		if maxDist > s.tol*s.tol {
			s.mask[maxIndex] = 1
			s.stack[len(s.stack)-1] = maxIndex
			s.stack = append(s.stack, maxIndex, end)
		} else {
			s.stack = s.stack[:len(s.stack)-2]
		}
	}
	n := 0
	for i, m := range s.mask {
		if m == 1 {
			ls[n] = ls[i]
			n++
		}
	}
	return ls[:n]
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
