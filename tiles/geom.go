package tiles

import (
	"encoding/binary"
	"math"
	"slices"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/clip"
	"github.com/paulmach/orb/maptile"
	"github.com/paulmach/orb/planar"

	"riskmap/geo"
)

// Extent is the MVT tile extent: coordinates run 0..Extent across a tile.
const Extent = 4096

// maxLat is the latitude limit of Web Mercator.
const maxLat = 85.05112877980659

// world projects WGS84 lon/lat to the world pixel coordinates of one zoom:
// Extent·2^z across the Web Mercator square, x to the east, y down, as
// floats (the rounding to the integer grid comes last, after clipping and
// simplification). A tile's pixel coordinates are these minus the tile's
// origin (X, Y)·Extent, a subtraction of whole numbers that loses
// nothing: what does not depend on the tile (a feature's simplified,
// snapped geometry) is computed once per feature and zoom (see shaped).
//
// Web Mercator's y is scale·(½ − ψ(φ)/2π) with ψ(φ) = atanh(sin φ): a log
// and a sine per vertex. Around the centre of the latitude band of a
// feature's first vertex (bands bandDeg wide), ψ comes from its Taylor
// polynomial of degree 4 instead: within taylorR of the centre the
// remainder is below 1e-6 pixel at the zoom (see newBand), too little to
// move a coordinate to another integer except on an exact tie, and the
// polynomial is several times cheaper than the log and the sine. Which
// formula a vertex gets depends on the feature alone, never on the tile.
type world struct {
	scale  float64 // Extent·2^z
	sx, x0 float64 // x = lon·sx + x0
	ky     float64 // y = scale/2 − ψ·ky

	bands [4]band // recently used bands, most features share one
	next  int
}

// bandDeg is the height of the latitude bands whose centres the Taylor
// polynomials are taken around: half a band is well within taylorR at
// every zoom up to 22 below 60° of latitude.
const bandDeg = 0.05

// band is the polynomial around the centre of one latitude band.
type band struct {
	idx     int64 // floor(lat/bandDeg)
	set     bool
	phi0    float64    // centre latitude, radians
	taylorR float64    // the polynomial is used where |φ − phi0| ≤ taylorR; −1: never
	t       [5]float64 // y = t0 − d·(t1 + d·(t2 + d·(t3 + d·t4))), d = φ − phi0
}

func newWorld(z maptile.Zoom) world {
	s := Extent * math.Exp2(float64(z))
	return world{scale: s, sx: s / 360, x0: s / 2, ky: s / (2 * math.Pi)}
}

// band returns the polynomial of the band holding latitude lat (degrees).
func (w *world) band(lat float64) *band {
	idx := int64(math.Floor(lat / bandDeg))
	for i := range w.bands {
		if b := &w.bands[i]; b.set && b.idx == idx {
			return b
		}
	}
	b := &w.bands[w.next]
	w.next = (w.next + 1) % len(w.bands)
	*b = w.newBand(idx)
	return b
}

func (w *world) newBand(idx int64) band {
	b := band{idx: idx, set: true, taylorR: -1}
	b.phi0 = (float64(idx) + 0.5) * bandDeg * math.Pi / 180
	if math.Abs(b.phi0) > 1.4 { // polar bands: exact only
		return b
	}
	sec, tan := 1/math.Cos(b.phi0), math.Tan(b.phi0)
	t2, s2 := tan*tan, sec*sec
	// ψ(phi0) and its derivatives over k!: sec, sec·tan, sec·(tan²+sec²),
	// sec·tan·(tan²+5sec²); the fifth, sec·(tan⁴+18tan²sec²+5sec⁴),
	// bounds the remainder.
	c := [5]float64{math.Atanh(math.Sin(b.phi0)), sec, sec * tan / 2, sec * (t2 + s2) / 6, sec * tan * (t2 + 5*s2) / 24}
	b.t = [5]float64{w.scale/2 - c[0]*w.ky, c[1] * w.ky, c[2] * w.ky, c[3] * w.ky, c[4] * w.ky}
	d5 := sec * (t2*t2 + 18*t2*s2 + 5*s2*s2) / 120
	// remainder ≈ d5·r⁵ in ψ (2·d5 for the growth of the derivative
	// over r), times ky in pixels: at most 1e-6
	if r := math.Pow(1e-6/(2*d5*w.ky), 0.2); r < 0.05 {
		b.taylorR = r
	}
	return b
}

// project returns the world pixel coordinates of ll, with the
// polynomial of band b where it reaches.
func (w *world) project(b *band, ll orb.Point) orb.Point {
	d := ll[1]*(math.Pi/180) - b.phi0
	if d <= b.taylorR && d >= -b.taylorR {
		return orb.Point{ll[0]*w.sx + w.x0, b.t[0] - d*(b.t[1]+d*(b.t[2]+d*(b.t[3]+d*b.t[4])))}
	}
	lat := math.Max(-maxLat, math.Min(maxLat, ll[1]))
	s := math.Sin(lat * math.Pi / 180)
	psi := math.Log((1+s)/(1-s)) / 2
	return orb.Point{ll[0]*w.sx + w.x0, w.scale/2 - psi*w.ky}
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
// written as MVT geometry commands (varint bytes). It never modifies its
// input (features lent by a store are read-only): coordinates are
// projected into scratch space it reuses from one feature to the next.
//
// A line or polygon is first shaped once for the zoom, whatever the tile
// (shaped: projected, simplified and snapped around an anchor on the
// integer grid); when that lies within the buffered tile, which is most
// features of a tile, the tile takes it as it is, moved by whole pixels.
// Only a feature that crosses the tile's edge is clipped, simplified and
// snapped again in the tile's own coordinates. A renderer can keep the
// shaped form of a feature (the store's memo, see Renderer): a feature's
// geometry in a tile is the same whether it was kept or not.
type shaper struct {
	w   world
	off orb.Point // the tile's origin in world pixels: (X, Y)·Extent
	buf float64
	box orb.Bound // the buffered tile in tile pixels
	tol float64

	all   []orb.Point // a feature's vertices in world pixels
	ends  []int       // the end of each ring or line in all
	pts   []orb.Point // one ring or line being shaped
	mask  []byte      // Douglas–Peucker scratch
	stack []int
	cmd   cmdWriter
	cbuf  []byte // the commands of a shaped form being made
	canon shaped // the shaped form when nothing keeps it
}

func newShaper(t maptile.Tile, buffer float64, tol float64) *shaper {
	return &shaper{
		w:   newWorld(t.Z),
		off: orb.Point{float64(t.X) * Extent, float64(t.Y) * Extent},
		buf: buffer,
		box: orb.Bound{Min: orb.Point{-buffer, -buffer}, Max: orb.Point{Extent + buffer, Extent + buffer}},
		tol: tol,
	}
}

// shape projects g, clips it to the buffered tile, simplifies it, snaps
// it to the integer grid and removes what became degenerate, then
// appends its MVT commands to dst. It returns the extended dst, the MVT
// geometry type (0 when nothing is left, and dst unchanged) and a weight
// saying how much of the tile the result occupies (area for polygons,
// length for lines, 1 per point), used to drop the least visible
// features first when a tile is over budget. A slot (a memo of the
// renderer; the zero slot keeps nothing) keeps the feature's shaped form
// for the zoom: it is used when set and set when empty.
func (s *shaper) shape(dst []byte, g orb.Geometry, slot memoSlot) ([]byte, geomType, float64) {
	switch g := g.(type) {
	case orb.Point:
		return s.points(dst, orb.MultiPoint{g})
	case orb.MultiPoint:
		return s.points(dst, g)
	case orb.LineString, orb.MultiLineString, orb.Polygon, orb.MultiPolygon:
	default: // collections and bounds are not feature geometries
		return dst, 0, 0
	}
	sp := slot.load()
	if sp == nil {
		sp = s.canonical(g, slot.ok())
		slot.keep(sp)
	}
	if sp.within(s) {
		if sp.typ == 0 {
			return dst, 0, 0
		}
		return sp.emit(dst, s.off), sp.typ, sp.w
	}
	return s.clipped(dst, g)
}

// shaped is a line or polygon feature shaped for one zoom, whatever the
// tile: its vertices projected to world pixels, simplified and snapped to
// the integer grid relative to an anchor (its first vertex, rounded), and
// written as MVT commands from the anchor. In a tile that holds all of
// it, the commands are the tile's but for the first point, which MVT
// gives from the tile's origin: emit rewrites it.
type shaped struct {
	ax, ay float64  // the anchor, world pixels (whole numbers)
	box    [4]int32 // min x, min y, max x, max y of the projected vertices, rounded outwards, from the anchor
	w      float64  // the weight (see shaper.shape)
	fx, fy int32    // the first point, from the anchor
	cmds   []byte   // MVT commands, the cursor starting at the anchor: in inline when they fit
	inline [24]byte // the commands of a small feature (most buildings): a kept form is one allocation, read with one cache miss
	head   uint8    // cmds[:head] is the first command's header
	n0     uint8    // cmds[n0:] follows the first point
	big    bool     // larger than a buffered tile: never within one, not shaped
	typ    geomType // 0: nothing left at this zoom
}

// size is about what a kept shaped costs in memory.
func (sp *shaped) size() int {
	if cap(sp.cmds) <= len(sp.inline) {
		return 112
	}
	return 112 + cap(sp.cmds)
}

// within reports whether the buffered tile of s holds every vertex of sp.
func (sp *shaped) within(s *shaper) bool {
	if sp.big {
		return false
	}
	x0, y0 := sp.ax-s.off[0], sp.ay-s.off[1] // the anchor in tile pixels
	return x0+float64(sp.box[0]) >= -s.buf && y0+float64(sp.box[1]) >= -s.buf &&
		x0+float64(sp.box[2]) <= Extent+s.buf && y0+float64(sp.box[3]) <= Extent+s.buf
}

// emit appends the commands of sp in the tile whose origin is off.
func (sp *shaped) emit(dst []byte, off orb.Point) []byte {
	x := int32(sp.ax-off[0]) + sp.fx
	y := int32(sp.ay-off[1]) + sp.fy
	dst = append(dst, sp.cmds[:sp.head]...)
	dst = binary.AppendUvarint(dst, uint64(zigzag(x)))
	dst = binary.AppendUvarint(dst, uint64(zigzag(y)))
	return append(dst, sp.cmds[sp.n0:]...)
}

// canonical shapes a line or polygon feature for the zoom of s. With keep
// the result is newly allocated for a memo; otherwise it is s's scratch,
// valid until the next feature.
func (s *shaper) canonical(g orb.Geometry, keep bool) *shaped {
	sp := &s.canon
	if keep {
		sp = &shaped{}
	} else {
		*sp = shaped{}
	}
	s.all, s.ends = s.all[:0], s.ends[:0]
	var b *band
	add := func(ps []orb.Point) {
		for _, p := range ps {
			if b == nil {
				b = s.w.band(p[1])
			}
			s.all = append(s.all, s.w.project(b, p))
		}
		s.ends = append(s.ends, len(s.all))
	}
	geo.EachPath(g, add) // lines and polygons only: points are shaped apart
	if len(s.all) == 0 {
		sp.big = true // nothing to shape: the clipping path says so
		return sp
	}
	lo, hi := s.all[0], s.all[0]
	for _, p := range s.all[1:] {
		lo = orb.Point{math.Min(lo[0], p[0]), math.Min(lo[1], p[1])}
		hi = orb.Point{math.Max(hi[0], p[0]), math.Max(hi[1], p[1])}
	}
	if hi[0]-lo[0] > Extent+2*s.buf || hi[1]-lo[1] > Extent+2*s.buf {
		sp.big = true
		return sp
	}
	sp.ax, sp.ay = math.Floor(s.all[0][0]+0.5), math.Floor(s.all[0][1]+0.5)
	sp.box = [4]int32{int32(math.Floor(lo[0] - sp.ax)), int32(math.Floor(lo[1] - sp.ay)), int32(math.Ceil(hi[0] - sp.ax)), int32(math.Ceil(hi[1] - sp.ay))}
	// the part or ring i, relative to the anchor, in s.pts
	rel := func(i int) []orb.Point {
		from := 0
		if i > 0 {
			from = s.ends[i-1]
		}
		s.pts = s.pts[:0]
		for _, p := range s.all[from:s.ends[i]] {
			s.pts = append(s.pts, orb.Point{p[0] - sp.ax, p[1] - sp.ay})
		}
		return s.pts
	}
	s.cmd = cmdWriter{buf: s.cbuf[:0]}
	switch g := g.(type) {
	case orb.LineString, orb.MultiLineString:
		sp.typ = lineType
		for i := range s.ends {
			if part := rel(i); len(part) >= 2 { // what clipping keeps
				sp.w += s.linePart(part)
			}
		}
	case orb.Polygon:
		sp.typ, sp.w = polygonType, math.Max(s.rings(0, len(g), rel), 1)
	case orb.MultiPolygon:
		sp.typ = polygonType
		i := 0
		for _, p := range g {
			sp.w += s.rings(i, len(p), rel)
			i += len(p)
		}
		sp.w = math.Max(sp.w, 1)
	}
	if s.cmd.points == 0 {
		sp.typ, sp.w = 0, 0
	}
	sp.cmds, s.cbuf = s.cmd.buf, s.cmd.buf[:0]
	if keep {
		if len(sp.cmds) <= len(sp.inline) {
			sp.cmds = sp.inline[:copy(sp.inline[:], sp.cmds):len(sp.inline)]
		} else {
			sp.cmds = slices.Clone(sp.cmds)
		}
	}
	sp.fx, sp.fy, sp.head, sp.n0 = s.cmd.fx, s.cmd.fy, uint8(s.cmd.head), uint8(s.cmd.n0)
	return sp
}

// rings writes the n rings from the i-th of one polygon, read by ring;
// the polygon vanishes with its exterior. It returns the area covered.
func (s *shaper) rings(i, n int, ring func(int) []orb.Point) float64 {
	total := 0.0
	for k := range n {
		a, ok := s.ring(k, orb.Ring(ring(i+k)))
		if !ok {
			if k == 0 {
				break // the exterior vanished: so does the polygon
			}
			continue
		}
		total += a
	}
	return total
}

// clipped shapes g in the tile's own coordinates, clipping it to the
// buffered tile: the path of features that cross the tile's edge.
func (s *shaper) clipped(dst []byte, g orb.Geometry) ([]byte, geomType, float64) {
	s.cmd = cmdWriter{buf: dst, start: len(dst)}
	var b *band
	if p, ok := firstPoint(g); ok {
		b = s.w.band(p[1])
	}
	var typ geomType
	var w float64
	switch g := g.(type) {
	case orb.LineString:
		typ, w = lineType, s.line(b, g)
	case orb.MultiLineString:
		for _, ls := range g {
			w += s.line(b, ls)
		}
		typ = lineType
	case orb.Polygon:
		typ, w = polygonType, math.Max(s.polygon(b, g), 1)
	case orb.MultiPolygon:
		for _, p := range g {
			w += s.polygon(b, p)
		}
		typ, w = polygonType, math.Max(w, 1)
	}
	if len(s.cmd.buf) == s.cmd.start {
		return dst, 0, 0
	}
	return s.cmd.buf, typ, w
}

// firstPoint is the first vertex of a line or polygon feature.
func firstPoint(g orb.Geometry) (orb.Point, bool) {
	switch g := g.(type) {
	case orb.LineString:
		if len(g) > 0 {
			return g[0], true
		}
	case orb.MultiLineString:
		for _, ls := range g {
			if len(ls) > 0 {
				return ls[0], true
			}
		}
	case orb.Polygon:
		if len(g) > 0 && len(g[0]) > 0 {
			return g[0][0], true
		}
	case orb.MultiPolygon:
		for _, p := range g {
			if len(p) > 0 && len(p[0]) > 0 {
				return p[0][0], true
			}
		}
	}
	return orb.Point{}, false
}

func (s *shaper) inside(p orb.Point) bool {
	return p[0] >= s.box.Min[0] && p[0] <= s.box.Max[0] && p[1] >= s.box.Min[1] && p[1] <= s.box.Max[1]
}

// points writes the points of mp that fall in the buffered tile.
func (s *shaper) points(dst []byte, mp orb.MultiPoint) ([]byte, geomType, float64) {
	if len(mp) == 0 {
		return dst, 0, 0
	}
	b := s.w.band(mp[0][1])
	s.pts = s.pts[:0]
	for _, q := range mp {
		q = s.w.project(b, q)
		p := orb.Point{math.Round(q[0] - s.off[0]), math.Round(q[1] - s.off[1])}
		if s.inside(p) {
			s.pts = append(s.pts, p)
		}
	}
	if len(s.pts) == 0 {
		return dst, 0, 0
	}
	s.cmd = cmdWriter{buf: dst, start: len(dst)}
	s.cmd.moveTo(s.pts)
	return s.cmd.buf, pointType, float64(len(s.pts))
}

// project writes the tile pixel coordinates of ps into s.pts and reports
// whether they all lie within the buffered tile.
func (s *shaper) project(b *band, ps []orb.Point) ([]orb.Point, bool) {
	pts := s.pts[:0]
	in := true
	for _, p := range ps {
		q := s.w.project(b, p)
		q = orb.Point{q[0] - s.off[0], q[1] - s.off[1]}
		in = in && s.inside(q)
		pts = append(pts, q)
	}
	s.pts = pts
	return pts, in
}

func (s *shaper) line(b *band, ls orb.LineString) float64 {
	pts, in := s.project(b, ls)
	if in {
		if len(pts) < 2 { // what clip.LineString keeps
			return 0
		}
		return s.linePart(pts)
	}
	length := 0.0
	for _, part := range clip.LineString(s.box, pts) {
		length += s.linePart(part)
	}
	return length
}

// linePart simplifies, snaps and writes one line.
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

// polygon writes the rings of p that survive clipping; the polygon
// vanishes with its exterior. It returns the area covered.
func (s *shaper) polygon(b *band, p orb.Polygon) float64 {
	return s.rings(0, len(p), func(i int) []orb.Point {
		pts, in := s.project(b, p[i])
		if !in {
			return clip.Ring(s.box, orb.Ring(pts))
		}
		return pts
	})
}

// ring simplifies, snaps and writes ring i of a polygon (0: the
// exterior). It returns the signed area it adds (negative for holes) and
// false when the ring vanished.
func (s *shaper) ring(i int, rr orb.Ring) (float64, bool) {
	if len(rr) == 0 {
		return 0, false
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
		return 0, false
	}
	// MVT 2.1: exterior rings have a positive area in tile coordinates
	// (clockwise on screen), interior rings negative.
	if (i == 0) != (a > 0) {
		rr.Reverse()
	}
	s.cmd.moveTo(rr[:1])
	s.cmd.lineTo(rr[1 : len(rr)-1])
	s.cmd.closePath()
	if i == 0 {
		return math.Abs(a), true
	}
	return -math.Abs(a), true
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
