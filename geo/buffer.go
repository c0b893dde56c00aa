package geo

import (
	"cmp"
	"math"
	"slices"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// circleSegments is the number of chords of a full buffer circle; arcs of
// joins and caps use the same angular step. Vertices lie on the circle, so
// the buffer is at most m·(1−cos(π/32)) ≈ 0.5 % of m short of the true
// one in the middle of each chord, and never larger than it.
const circleSegments = 32

// Buffer returns the area within m metres of g, as an orb.Polygon or, when
// it falls into several pieces, an orb.MultiPolygon; rings are closed,
// exteriors counter-clockwise and holes clockwise.
//
//   - A point gives a 32-sided polygon inscribed in the circle of radius m.
//   - A line gives its offset outline: straight sides at exactly m, round
//     caps and round outer joins, mitred inner joins.
//   - A polygon gives its outward offset (holes shrink).
//
// When an outline would cross itself (a line that comes back within 2m
// of itself, a polygon with an inlet narrower than 2m, a hole that closes)
// Buffer falls back to a MultiPolygon whose members may overlap: the
// capsule of every segment (plus the polygon itself). The point set, and
// so every containment test, is still exact; only drawing it with a
// translucent fill shows the overlaps, and its area is then over-counted.
// Members of a multi-geometry are buffered one by one and may overlap too.
//
// The work is done in one local plane at g's centre, which keeps m to
// within 0.1 % for geometries spanning up to about 20 km. m ≤ 0 gives the
// polygons of g unchanged (nothing for points and lines).
func Buffer(g orb.Geometry, m float64) orb.Geometry {
	var polys []orb.Polygon
	if g != nil {
		if m <= 0 || math.IsNaN(m) {
			polys = polygonsOf(orb.Clone(g))
		} else {
			pl := NewPlane(g.Bound().Center())
			polys = bufferPlanar(pl.ProjectGeometry(g), m)
			for _, p := range polys {
				mapPoints(p, pl.Unproject)
			}
		}
	}
	if len(polys) == 1 {
		return polys[0]
	}
	return orb.MultiPolygon(polys)
}

// WithinDistance reports whether some part of a is within m metres of b
// (GeometryDistance(a, b) ≤ m), rejecting far pairs by their bounds first.
func WithinDistance(a, b orb.Geometry, m float64) bool {
	if a == nil || b == nil || !(m >= 0) {
		return false
	}
	if !ExpandBound(a.Bound(), m).Intersects(b.Bound()) {
		return false
	}
	return GeometryDistance(a, b) <= m
}

// polygonsOf returns the polygons in g.
func polygonsOf(g orb.Geometry) []orb.Polygon {
	switch x := g.(type) {
	case orb.Polygon:
		return []orb.Polygon{x}
	case orb.MultiPolygon:
		return x
	case orb.Ring:
		return []orb.Polygon{{x}}
	case orb.Bound:
		return []orb.Polygon{x.ToPolygon()}
	case orb.Collection:
		var out []orb.Polygon
		for _, m := range x {
			out = append(out, polygonsOf(m)...)
		}
		return out
	}
	return nil
}

// bufferPlanar buffers a geometry in plane metres.
func bufferPlanar(g orb.Geometry, m float64) []orb.Polygon {
	switch x := g.(type) {
	case orb.Point:
		return []orb.Polygon{circle(x, m)}
	case orb.MultiPoint:
		out := make([]orb.Polygon, 0, len(x))
		for _, p := range x {
			out = append(out, circle(p, m))
		}
		return out
	case orb.LineString:
		return lineBuffer(x, m)
	case orb.MultiLineString:
		var out []orb.Polygon
		for _, l := range x {
			out = append(out, lineBuffer(l, m)...)
		}
		return out
	case orb.Ring:
		return polygonBuffer(orb.Polygon{x}, m)
	case orb.Polygon:
		return polygonBuffer(x, m)
	case orb.MultiPolygon:
		var out []orb.Polygon
		for _, p := range x {
			out = append(out, polygonBuffer(p, m)...)
		}
		return out
	case orb.Bound:
		return polygonBuffer(x.ToPolygon(), m)
	case orb.Collection:
		var out []orb.Polygon
		for _, c := range x {
			out = append(out, bufferPlanar(c, m)...)
		}
		return out
	}
	return nil
}

// circle returns the closed CCW polygon inscribed in the circle (c, m).
func circle(c orb.Point, m float64) orb.Polygon {
	r := make(orb.Ring, circleSegments+1)
	for i := range circleSegments {
		a := 2 * math.Pi * float64(i) / circleSegments
		r[i] = orb.Point{c[0] + m*math.Cos(a), c[1] + m*math.Sin(a)}
	}
	r[circleSegments] = r[0]
	return orb.Polygon{r}
}

// dedup returns pts without consecutive repeats (and, for a closed path,
// without a last point equal to the first).
func dedup(pts []orb.Point, closed bool) []orb.Point {
	out := make([]orb.Point, 0, len(pts))
	for _, p := range pts {
		if len(out) == 0 || p != out[len(out)-1] {
			out = append(out, p)
		}
	}
	for closed && len(out) > 1 && out[0] == out[len(out)-1] {
		out = out[:len(out)-1]
	}
	return out
}

// lineBuffer buffers a planar line: its outline if that is simple, else
// the capsules of its segments.
func lineBuffer(l orb.LineString, m float64) []orb.Polygon {
	pts := dedup(l, false)
	switch len(pts) {
	case 0:
		return nil
	case 1:
		return []orb.Polygon{circle(pts[0], m)}
	}
	// The outline is the left offset of the closed path there and back;
	// the U-turns at both ends become the round caps.
	path := make([]orb.Point, 0, 2*len(pts)-2)
	path = append(path, pts...)
	for i := len(pts) - 2; i > 0; i-- {
		path = append(path, pts[i])
	}
	if r, ok := offsetLeft(path, m); ok && simple(r) && ringArea(r) < 0 {
		return []orb.Polygon{closeRings(orb.Polygon{r})}
	}
	return capsules(pts, false, m)
}

// capsules returns the buffer of each segment of pts (and of the closing
// segment when closed).
func capsules(pts []orb.Point, closed bool, m float64) []orb.Polygon {
	n := len(pts) - 1
	if closed {
		n = len(pts)
	}
	out := make([]orb.Polygon, 0, n)
	for i := range n {
		r, _ := offsetLeft([]orb.Point{pts[i], pts[(i+1)%len(pts)]}, m)
		out = append(out, closeRings(orb.Polygon{r}))
	}
	return out
}

// polygonBuffer buffers a planar polygon outwards: the offset rings if
// they are simple, else the polygon plus the capsules of its edges.
func polygonBuffer(p orb.Polygon, m float64) []orb.Polygon {
	if len(p) == 0 {
		return nil
	}
	outer := dedup(p[0], true)
	if len(outer) < 3 || ringArea(outer) == 0 {
		return lineBuffer(orb.LineString(p[0]), m)
	}
	// Walking the exterior clockwise and the holes counter-clockwise puts
	// the outside of the polygon on the left.
	rings := make([][]orb.Point, 0, len(p))
	rings = append(rings, oriented(outer, false))
	for _, h := range p[1:] {
		if h := dedup(h, true); len(h) >= 3 && ringArea(h) != 0 {
			rings = append(rings, oriented(h, true))
		}
	}
	out := make(orb.Polygon, 0, len(rings))
	ok := true
	for i, r := range rings {
		o, good := offsetLeft(r, m)
		// the exterior must come out clockwise, the holes counter-clockwise
		if !good || !simple(o) || (ringArea(o) > 0) != (i > 0) {
			ok = false
			break
		}
		out = append(out, o)
	}
	if ok {
		return []orb.Polygon{closeRings(out)}
	}
	// Fallback: the polygon itself and the capsules of all its edges.
	self := make(orb.Polygon, len(rings))
	for i, r := range rings {
		self[i] = orb.Ring(slices.Clone(r))
	}
	res := []orb.Polygon{closeRings(self)}
	for _, r := range rings {
		res = append(res, capsules(r, true, m)...)
	}
	return res
}

// oriented returns r counter-clockwise when ccw, else clockwise.
func oriented(r []orb.Point, ccw bool) []orb.Point {
	r = slices.Clone(r)
	if (ringArea(r) > 0) != ccw {
		slices.Reverse(r)
	}
	return r
}

// ringArea is the signed (CCW positive) area of an implicitly closed ring.
func ringArea(r []orb.Point) float64 {
	var a float64
	for i := range r {
		p, q := r[i], r[(i+1)%len(r)]
		a += (p[0] - r[0][0]) * (q[1] - r[0][1])
		a -= (q[0] - r[0][0]) * (p[1] - r[0][1])
	}
	return a / 2
}

// closeRings closes each ring of p and turns it to RFC 7946 orientation
// (exterior CCW, holes CW). Offsets are built with the outside on the
// left, that is exterior CW and holes CCW, so each ring is reversed.
func closeRings(p orb.Polygon) orb.Polygon {
	for i, r := range p {
		r = append(r, r[0])
		r.Reverse()
		p[i] = r
	}
	return p
}

// offsetLeft returns the implicitly closed ring at distance m to the left
// of the closed path pts (no repeated points): straight offsets of the
// segments, round arcs at right turns and U-turns.
//
// At a left turn the offsets of the two segments overlap. The raw offset
// curve is joined straight across there, which makes a small loop (a
// "swallowtail"); the loop is cut off at the crossing nearest to the join,
// searching a few segments and arcs back and forth, so short legs and arcs
// swallowed by a sharp turn go too. A cut is accepted only when all it
// removes lies strictly inside the buffer (closer than m to the path);
// otherwise ok is false. Other crossings (the path coming back near
// itself) are left in place: the caller checks that the ring is simple.
func offsetLeft(pts []orb.Point, m float64) (orb.Ring, bool) {
	n := len(pts)
	if n < 2 {
		return nil, false
	}
	left := func(d orb.Point) orb.Point { return orb.Point{-d[1], d[0]} }
	dir := make([]orb.Point, n)
	for i := range n {
		a, b := pts[i], pts[(i+1)%n]
		d := math.Hypot(b[0]-a[0], b[1]-a[1])
		dir[i] = orb.Point{(b[0] - a[0]) / d, (b[1] - a[1]) / d}
	}

	// the raw curve as a cyclic linked list of nodes
	var nodes []orb.Point
	var joins []int // nodes that follow a straight join across a left turn
	const straight = 1e-12
	for i := range n {
		p, in, out := pts[i], dir[(i-1+n)%n], dir[i]
		cr := in[0]*out[1] - in[1]*out[0]
		dot := in[0]*out[0] + in[1]*out[1]
		switch {
		case cr > straight:
			joins = append(joins, len(nodes))
		case cr < -straight || dot < 0:
			// clockwise around p from the incoming normal to the outgoing
			// one; the end points are the segments' own.
			nIn, nOut := left(in), left(out)
			a0 := math.Atan2(nIn[1], nIn[0])
			a1 := math.Atan2(nOut[1], nOut[0])
			sweep := a0 - a1
			for sweep <= 0 {
				sweep += 2 * math.Pi
			}
			k := max(1, int(math.Ceil(sweep/(2*math.Pi/circleSegments)-1e-9)))
			for j := 1; j < k; j++ {
				a := a0 - sweep*float64(j)/float64(k)
				nodes = append(nodes, orb.Point{p[0] + m*math.Cos(a), p[1] + m*math.Sin(a)})
			}
		}
		off := scale(left(out), m)
		nodes = append(nodes, add(p, off), add(pts[(i+1)%n], off))
	}
	nn := len(nodes)
	next, prev := make([]int, nn), make([]int, nn)
	alive := make([]bool, nn)
	for i := range nn {
		next[i], prev[i], alive[i] = (i+1)%nn, (i-1+nn)%nn, true
	}
	count := nn

	// inside reports whether q is strictly inside the buffer.
	inside := func(q orb.Point) bool {
		lim := m * (1 - 1e-10)
		for i := range n {
			if planar.DistanceFromSegment(pts[i], pts[(i+1)%n], q) < lim {
				return true
			}
		}
		return false
	}
	const window = circleSegments + 8 // edges searched on either side
	for _, v := range joins {
		u := prev[v]
		if !alive[v] || !alive[u] {
			continue // already cut away with an earlier loop
		}
		// find the crossing of an edge ending b steps before u with one
		// starting f steps after v, with b+f smallest.
		var back, fwd []int // back[b] = start node of the edge b steps back
		for e, k := u, 0; k < window && k < count/2; k++ {
			e = prev[e]
			back = append(back, e)
		}
		for e, k := v, 0; k < window && k < count/2; k++ {
			fwd = append(fwd, e)
			e = next[e]
		}
		found := false
		var bs, fs int
		var x orb.Point
		for sum := 0; sum < len(back)+len(fwd)-1 && !found; sum++ {
			for b := max(0, sum-len(fwd)+1); b <= sum && b < len(back); b++ {
				f := sum - b
				p0, p1 := back[b], next[back[b]]
				q0, q1 := fwd[f], next[fwd[f]]
				if p1 == q0 || p0 == q1 || !segmentsIntersect(nodes[p0], nodes[p1], nodes[q0], nodes[q1]) {
					continue
				}
				t, _, hit := lineParams(nodes[p0], nodes[p1], nodes[q0], nodes[q1])
				if !hit {
					continue
				}
				bs, fs, found = b, f, true
				x = orb.Point{nodes[p0][0] + t*(nodes[p1][0]-nodes[p0][0]), nodes[p0][1] + t*(nodes[p1][1]-nodes[p0][1])}
				break
			}
		}
		if !found {
			return nil, false
		}
		// what goes (nodes next[back[bs]] … fwd[fs] and the edges between,
		// from x to x) must lie inside the buffer, bar a sliver at x.
		tiny := m * 1e-4
		ok := func(q orb.Point) bool {
			return math.Hypot(q[0]-x[0], q[1]-x[1]) < tiny || inside(q)
		}
		first, last := next[back[bs]], fwd[fs]
		prevPt := x
		for e := first; ; e = next[e] {
			q := nodes[e]
			if !ok(q) || !ok(orb.Point{(q[0] + prevPt[0]) / 2, (q[1] + prevPt[1]) / 2}) {
				return nil, false
			}
			prevPt = q
			if e == last {
				break
			}
		}
		if !ok(orb.Point{(prevPt[0] + x[0]) / 2, (prevPt[1] + x[1]) / 2}) {
			return nil, false
		}
		// replace them by x
		for e := first; ; {
			nx := next[e]
			alive[e] = false
			count--
			if e == last {
				break
			}
			e = nx
		}
		nodes = append(nodes, x)
		id := len(nodes) - 1
		next, prev, alive = append(next, next[last]), append(prev, back[bs]), append(alive, true)
		next[back[bs]], prev[next[last]] = id, id
		count++
		if count < 3 {
			return nil, false
		}
	}
	start := 0
	for !alive[start] {
		start++
	}
	ring := make(orb.Ring, 0, count)
	for e := start; ; {
		ring = append(ring, nodes[e])
		if e = next[e]; e == start {
			break
		}
	}
	return orb.Ring(dedup(ring, true)), true
}

func add(a, b orb.Point) orb.Point           { return orb.Point{a[0] + b[0], a[1] + b[1]} }
func scale(a orb.Point, k float64) orb.Point { return orb.Point{a[0] * k, a[1] * k} }

// lineParams returns where the lines a0→a1 and b0→b1 meet, as the
// parameters t on a and u on b; hit is false for parallel lines.
func lineParams(a0, a1, b0, b1 orb.Point) (t, u float64, hit bool) {
	rx, ry := a1[0]-a0[0], a1[1]-a0[1]
	sx, sy := b1[0]-b0[0], b1[1]-b0[1]
	den := rx*sy - ry*sx
	if den == 0 {
		return 0, 0, false
	}
	qx, qy := b0[0]-a0[0], b0[1]-a0[1]
	return (qx*sy - qy*sx) / den, (qx*ry - qy*rx) / den, true
}

// simple reports whether the implicitly closed ring r has no two edges
// that touch other than consecutive edges at their shared vertex. Edges
// are swept in order of their smallest x.
func simple(r orb.Ring) bool {
	n := len(r)
	if n < 3 {
		return false
	}
	type edge struct {
		i      int
		lo, hi float64
	}
	es := make([]edge, n)
	for i := range n {
		a, b := r[i], r[(i+1)%n]
		es[i] = edge{i, math.Min(a[0], b[0]), math.Max(a[0], b[0])}
	}
	slices.SortFunc(es, func(x, y edge) int { return cmp.Compare(x.lo, y.lo) })
	for k, e := range es {
		p1, p2 := r[e.i], r[(e.i+1)%n]
		for _, f := range es[k+1:] {
			if f.lo > e.hi {
				break
			}
			q1, q2 := r[f.i], r[(f.i+1)%n]
			switch {
			case f.i == (e.i+1)%n: // f follows e: they share p2 == q1
				if foldsBack(p1, p2, q2) {
					return false
				}
			case e.i == (f.i+1)%n: // e follows f: they share q2 == p1
				if foldsBack(q1, q2, p2) {
					return false
				}
			case segmentsIntersect(p1, p2, q1, q2):
				return false
			}
		}
	}
	return true
}

// foldsBack reports whether the path a→b→c turns back onto itself.
func foldsBack(a, b, c orb.Point) bool {
	return cross(a, b, c) == 0 && (b[0]-a[0])*(c[0]-b[0])+(b[1]-a[1])*(c[1]-b[1]) < 0
}
