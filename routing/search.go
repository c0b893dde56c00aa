package routing

import (
	"container/heap"
	"math"
	"slices"

	"github.com/paulmach/orb"

	"riskmap/geo"
)

const offRoadMps = OffRoadKmh / 3.6

// atNodeM: a position this close along its edge to an end is at that node,
// so a one-way edge does not stop a point snapped onto its start from
// driving off through the node's other edges.
const atNodeM = 0.01

// canBack reports whether a vehicle at pos may reach its edge's From node
// (its To node is always reachable).
func (g *Graph) canBack(pos Position) bool {
	e := g.edges[pos.Edge]
	return !e.Oneway || pos.T*e.Metres <= atNodeM
}

// canArriveBack reports whether pos may be reached from its edge's To node.
func (g *Graph) canArriveBack(pos Position) bool {
	e := g.edges[pos.Edge]
	return !e.Oneway || (1-pos.T)*e.Metres <= atNodeM
}

// item is a heap entry: a node with its tentative time (and, for A*, the
// time plus the bound to the target as key).
type item struct {
	n   Node
	d   float64
	key float64
	src int32
}

type queue []item

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	if q[i].key != q[j].key {
		return q[i].key < q[j].key
	}
	if q[i].src != q[j].src {
		return q[i].src < q[j].src
	}
	return q[i].n < q[j].n
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(item)) }
func (q *queue) Pop() any {
	old := *q
	it := old[len(old)-1]
	*q = old[:len(old)-1]
	return it
}

// Reach holds the shortest travel times from a set of sources to every
// node within a cutoff, and which source got there first.
type Reach struct {
	g      *Graph
	secs   []float64 // +Inf beyond the cutoff or unreachable
	metres []float64 // length of the fastest route to each node
	src    []int32   // index into the sources, -1 when unreached
	cutoff float64
	onEdge map[Edge][]seed // sources snapped onto an edge
}

type seed struct {
	t, off, offM float64 // offM: the off-road leg in metres
	src          int32
}

// Reach computes a multi-source Dijkstra from the points (each joined to
// the network by Snap, its off-road leg counted at OffRoadKmh) up to cutoff
// seconds (0 or less: no cutoff). Ties between sources go to the lower
// index.
func (g *Graph) Reach(from []orb.Point, cutoff float64) *Reach {
	if !(cutoff > 0) {
		cutoff = math.Inf(1)
	}
	r := &Reach{g: g, secs: make([]float64, len(g.pts)), metres: make([]float64, len(g.pts)), src: make([]int32, len(g.pts)), cutoff: cutoff, onEdge: map[Edge][]seed{}}
	for i := range r.secs {
		r.secs[i] = math.Inf(1)
		r.src[i] = -1
	}
	q := &queue{}
	push := func(n Node, d, m float64, s int32) {
		if d <= cutoff && (d < r.secs[n] || (d == r.secs[n] && s < r.src[n])) {
			r.secs[n], r.metres[n], r.src[n] = d, m, s
			heap.Push(q, item{n: n, d: d, key: d, src: s})
		}
	}
	for i, p := range from {
		pos, ok := g.Snap(p)
		if !ok {
			continue
		}
		off := pos.DistM / offRoadMps
		e := g.edges[pos.Edge]
		r.onEdge[pos.Edge] = append(r.onEdge[pos.Edge], seed{pos.T, off, pos.DistM, int32(i)})
		push(e.To, off+(1-pos.T)*e.Seconds, pos.DistM+(1-pos.T)*e.Metres, int32(i))
		if g.canBack(pos) {
			push(e.From, off+pos.T*e.Seconds, pos.DistM+pos.T*e.Metres, int32(i))
		}
	}
	for q.Len() > 0 {
		it := heap.Pop(q).(item)
		if it.d != r.secs[it.n] || it.src != r.src[it.n] {
			continue // stale
		}
		for _, h := range g.adj[g.adjOff[it.n]:g.adjOff[it.n+1]] {
			e := g.edges[h.edge]
			to := e.To
			if !h.forward {
				to = e.From
			}
			push(to, it.d+e.Seconds, r.metres[it.n]+e.Metres, it.src)
		}
	}
	return r
}

// Times returns the travel time in seconds from the nearest of the points
// to every node reached within cutoff seconds (0: no cutoff).
func (g *Graph) Times(from []orb.Point, cutoff float64) map[Node]float64 {
	r := g.Reach(from, cutoff)
	out := map[Node]float64{}
	for n, s := range r.secs {
		if !math.IsInf(s, 1) {
			out[Node(n)] = s
		}
	}
	return out
}

// Node returns the time to a node and the index of the source that reaches
// it first; false beyond the cutoff or when no source reaches it.
func (r *Reach) Node(n Node) (secs float64, src int, ok bool) {
	if math.IsInf(r.secs[n], 1) {
		return math.Inf(1), -1, false
	}
	return r.secs[n], int(r.src[n]), true
}

// At returns the time to a point: along the network to its snap, plus its
// off-road leg at OffRoadKmh; false beyond the cutoff or unreachable.
func (r *Reach) At(p orb.Point) (secs float64, src int, ok bool) {
	pos, ok := r.g.Snap(p)
	if !ok {
		return math.Inf(1), -1, false
	}
	return r.AtPosition(pos)
}

// AtPosition is At for a position already snapped (its DistM is the
// off-road leg).
func (r *Reach) AtPosition(pos Position) (secs float64, src int, ok bool) {
	secs, _, src, ok = r.RouteAt(pos)
	return secs, src, ok
}

// RouteAt is AtPosition with the length in metres of that fastest route,
// off-road legs included.
func (r *Reach) RouteAt(pos Position) (secs, metres float64, src int, ok bool) {
	e := r.g.edges[pos.Edge]
	best, bestM, bs := math.Inf(1), math.Inf(1), int32(-1)
	try := func(d, m float64, s int32) {
		if s >= 0 && (d < best || (d == best && s < bs)) {
			best, bestM, bs = d, m, s
		}
	}
	try(r.secs[e.From]+pos.T*e.Seconds, r.metres[e.From]+pos.T*e.Metres, r.src[e.From])
	if r.g.canArriveBack(pos) {
		try(r.secs[e.To]+(1-pos.T)*e.Seconds, r.metres[e.To]+(1-pos.T)*e.Metres, r.src[e.To])
	}
	for _, s := range r.onEdge[pos.Edge] {
		if pos.T >= s.t || !e.Oneway {
			try(s.off+math.Abs(pos.T-s.t)*e.Seconds, s.offM+math.Abs(pos.T-s.t)*e.Metres, s.src)
		}
	}
	best += pos.DistM / offRoadMps
	bestM += pos.DistM
	if bs < 0 || best > r.cutoff {
		return math.Inf(1), math.Inf(1), -1, false
	}
	return best, bestM, int(bs), true
}

// Route returns the fastest route from a to b: its length in metres and
// time in seconds, both including the off-road legs at each end, and its
// line from a to b. False when a point cannot be snapped or b cannot be
// reached from a (another component, or one-way streets).
//
// It is an A* search bounded by the straight-line distance at the fastest
// speed on the network.
func (g *Graph) Route(a, b orb.Point) (metres, seconds float64, path orb.LineString, ok bool) {
	pa, okA := g.Snap(a)
	pb, okB := g.Snap(b)
	if !okA || !okB {
		return 0, 0, nil, false
	}
	ea, eb := g.edges[pa.Edge], g.edges[pb.Edge]
	offA := pa.DistM / offRoadMps

	const (
		viaNone = iota
		viaDirect
		viaFrom // reach b's edge at its From node
		viaTo
	)
	best, via, end := math.Inf(1), viaNone, Node(-1)
	if pa.Edge == pb.Edge && (pb.T >= pa.T || !ea.Oneway) {
		best, via = offA+math.Abs(pb.T-pa.T)*ea.Seconds, viaDirect
	}

	type step struct {
		h    half
		seed bool
	}
	dist := map[Node]float64{}
	pred := map[Node]step{}
	hFactor := 0.0
	if g.maxMps > 0 {
		hFactor = 0.999 / g.maxMps
	}
	bound := func(n Node) float64 { return geo.Distance(g.pts[n], pb.Point) * hFactor }
	q := &queue{}
	relax := func(n Node, d float64, s step) {
		if old, seen := dist[n]; !seen || d < old {
			dist[n], pred[n] = d, s
			heap.Push(q, item{n: n, d: d, key: d + bound(n)})
		}
	}
	relax(ea.To, offA+(1-pa.T)*ea.Seconds, step{half{pa.Edge, true}, true})
	if g.canBack(pa) {
		relax(ea.From, offA+pa.T*ea.Seconds, step{half{pa.Edge, false}, true})
	}
	for q.Len() > 0 {
		it := heap.Pop(q).(item)
		if it.key >= best {
			break
		}
		if it.d != dist[it.n] {
			continue
		}
		if it.n == eb.From && it.d+pb.T*eb.Seconds < best {
			best, via, end = it.d+pb.T*eb.Seconds, viaFrom, it.n
		}
		if it.n == eb.To && g.canArriveBack(pb) && it.d+(1-pb.T)*eb.Seconds < best {
			best, via, end = it.d+(1-pb.T)*eb.Seconds, viaTo, it.n
		}
		for _, h := range g.adj[g.adjOff[it.n]:g.adjOff[it.n+1]] {
			e := g.edges[h.edge]
			to := e.To
			if !h.forward {
				to = e.From
			}
			relax(to, it.d+e.Seconds, step{h: h})
		}
	}
	if via == viaNone {
		return 0, 0, nil, false
	}

	path = orb.LineString{a}
	metres = pa.DistM + pb.DistM
	add := func(pts []orb.Point) {
		for _, p := range pts {
			if p != path[len(path)-1] {
				path = append(path, p)
			}
		}
	}
	if via == viaDirect {
		add(g.edgeSlice(pa.Edge, pa.T, pb.T))
		metres += math.Abs(pb.T-pa.T) * ea.Metres
	} else {
		var hs []half
		var first step
		for n := end; ; {
			s := pred[n]
			if s.seed {
				first = s
				break
			}
			hs = append(hs, s.h)
			e := g.edges[s.h.edge]
			if s.h.forward {
				n = e.From
			} else {
				n = e.To
			}
		}
		slices.Reverse(hs)
		if first.h.forward {
			add(g.edgeSlice(pa.Edge, pa.T, 1))
			metres += (1 - pa.T) * ea.Metres
		} else {
			add(g.edgeSlice(pa.Edge, pa.T, 0))
			metres += pa.T * ea.Metres
		}
		for _, h := range hs {
			if h.forward {
				add(g.geom[h.edge])
			} else {
				add(g.edgeSlice(h.edge, 1, 0))
			}
			metres += g.edges[h.edge].Metres
		}
		if via == viaFrom {
			add(g.edgeSlice(pb.Edge, 0, pb.T))
			metres += pb.T * eb.Metres
		} else {
			add(g.edgeSlice(pb.Edge, 1, pb.T))
			metres += (1 - pb.T) * eb.Metres
		}
	}
	add([]orb.Point{b})
	if len(path) == 1 {
		path = append(path, b)
	}
	return metres, best + pb.DistM/offRoadMps, path, true
}
