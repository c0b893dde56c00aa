// Package routing is the road graph of the district: nodes where roads meet
// or end, edges weighted by length and travel time, snapping of arbitrary
// points onto the network, multi-source shortest travel times (fire-station
// reach) and point-to-point routes (dispatch briefings).
//
// # Graph
//
// Build reads the roads layer. Coordinates are snapped to 1e-7° (about a
// centimetre) so roads that share an end point, or any interior vertex,
// meet there: a node is a road's end point or a vertex used twice (by two
// roads or by one road crossing itself). Roads are split into edges
// between consecutive nodes. Roads that cross without sharing a vertex do
// not meet (a bridge over a street is not a junction).
//
// Each edge has its ground length in metres (geo.Length) and its travel
// time at the road's speed_kmh, or when that is missing or not positive at
// the speed of its class (ClassSpeed: expressway 80, arterial 50,
// secondary 40, branch 30, rural 25 km/h; an unknown class counts as
// rural). A road with oneway true is driven only in its digitised
// direction.
//
// # Off-road legs
//
// A point is joined to the network at the nearest point on any edge (not
// the nearest node), found with a grid index over edge segments. The
// straight leg from the point to that snap is counted at OffRoadKmh
// (15 km/h, a fire engine on a yard or a crew on foot with hoses) in
// times, and by its length in route metres. From the snap the vehicle
// drives along the edge to either end, or only forward on a one-way edge.
package routing

import (
	"cmp"
	"math"
	"slices"

	"github.com/paulmach/orb"

	"riskmap/geo"
	"riskmap/layers"
)

// Node is a junction or dead end of the graph, 0 … NumNodes()-1.
type Node int32

// Edge is a stretch of road between two nodes, 0 … NumEdges()-1.
type Edge int32

// OffRoadKmh is the speed at which the straight leg between a point and its
// snap onto the network is counted.
const OffRoadKmh = 15

// coordScale snaps coordinates to 1e-7 degree when matching vertices.
const coordScale = 1e7

// ClassSpeed returns the speed in km/h assumed for a road class when a road
// has no speed_kmh: typical urban design speeds (CJJ 37) rounded down to
// what a fire engine keeps up, and a slow rural road.
func ClassSpeed(class string) float64 {
	switch class {
	case "expressway":
		return 80
	case "arterial":
		return 50
	case "secondary":
		return 40
	case "branch":
		return 30
	}
	return 25 // rural and unknown
}

// EdgeInfo describes an edge.
type EdgeInfo struct {
	From, To Node
	Metres   float64
	Seconds  float64
	Oneway   bool
	Road     int64 // id of the road feature it belongs to
}

// half is a directed use of an edge: forward runs From→To.
type half struct {
	edge    Edge
	forward bool
}

// Graph is an immutable road graph; it is safe for concurrent use.
type Graph struct {
	pts   []orb.Point
	edges []EdgeInfo
	geom  [][]orb.Point // vertices of each edge, From first
	cum   [][]float64   // cumulative ground length at each vertex of geom

	adjOff []int32 // out half-edges of node n: adj[adjOff[n]:adjOff[n+1]]
	adj    []half

	comp  []int32 // component of each node, 0 the largest
	comps []Component

	maxMps float64 // fastest edge speed, for the A* bound
	ix     *segIndex
}

// Component is a weakly connected part of the network (one-way edges count
// both ways): an isolated village's roads form their own.
type Component struct {
	ID      int
	Nodes   int
	Edges   int
	LengthM float64
	Bound   orb.Bound
}

type vkey [2]int64

func keyOf(p orb.Point) vkey {
	return vkey{int64(math.Round(p[0] * coordScale)), int64(math.Round(p[1] * coordScale))}
}

func lines(g orb.Geometry) []orb.LineString {
	switch x := g.(type) {
	case orb.LineString:
		return []orb.LineString{x}
	case orb.MultiLineString:
		return x
	}
	return nil
}

// Build makes the graph of the road features (lines; other geometries are
// ignored). Properties read: class, speed_kmh, oneway.
func Build(roads []layers.Feature) *Graph {
	// snapped vertex sequences, consecutive duplicates removed
	type road struct {
		id     int64
		keys   []vkey
		pts    []orb.Point
		mps    float64
		oneway bool
	}
	var rs []road
	uses := map[vkey]int32{}
	for _, f := range roads {
		class, _ := f.Props["class"].(string)
		kmh := number(f.Props["speed_kmh"])
		if !(kmh > 0) {
			kmh = ClassSpeed(class)
		}
		oneway, _ := f.Props["oneway"].(bool)
		for _, l := range lines(f.Geometry) {
			r := road{id: f.ID, mps: kmh / 3.6, oneway: oneway}
			for _, p := range l {
				k := keyOf(p)
				if n := len(r.keys); n > 0 && r.keys[n-1] == k {
					continue
				}
				r.keys = append(r.keys, k)
				r.pts = append(r.pts, orb.Point{float64(k[0]) / coordScale, float64(k[1]) / coordScale})
			}
			if len(r.keys) < 2 {
				continue
			}
			for i, k := range r.keys {
				uses[k]++
				if i == 0 || i == len(r.keys)-1 {
					uses[k]++ // ends are always nodes
				}
			}
			rs = append(rs, r)
		}
	}

	g := &Graph{}
	ids := map[vkey]Node{}
	node := func(k vkey, p orb.Point) Node {
		if n, ok := ids[k]; ok {
			return n
		}
		n := Node(len(g.pts))
		ids[k] = n
		g.pts = append(g.pts, p)
		return n
	}
	for _, r := range rs {
		start := 0
		from := node(r.keys[0], r.pts[0])
		for i := 1; i < len(r.keys); i++ {
			if uses[r.keys[i]] < 2 {
				continue
			}
			to := node(r.keys[i], r.pts[i])
			piece := slices.Clone(r.pts[start : i+1])
			cum := make([]float64, len(piece))
			for j := 1; j < len(piece); j++ {
				cum[j] = cum[j-1] + geo.Distance(piece[j-1], piece[j])
			}
			m := cum[len(cum)-1]
			g.edges = append(g.edges, EdgeInfo{From: from, To: to, Metres: m, Seconds: m / r.mps, Oneway: r.oneway, Road: r.id})
			g.geom = append(g.geom, piece)
			g.cum = append(g.cum, cum)
			g.maxMps = math.Max(g.maxMps, r.mps)
			start, from = i, to
		}
	}
	g.buildAdjacency()
	g.buildComponents()
	g.ix = newSegIndex(g)
	return g
}

func number(v any) float64 {
	switch n := v.(type) {
	case float64:
		return n
	case int64:
		return float64(n)
	case int:
		return float64(n)
	}
	return 0
}

func (g *Graph) buildAdjacency() {
	g.adjOff = make([]int32, len(g.pts)+1)
	for _, e := range g.edges {
		g.adjOff[e.From+1]++
		if !e.Oneway {
			g.adjOff[e.To+1]++
		}
	}
	for i := 1; i < len(g.adjOff); i++ {
		g.adjOff[i] += g.adjOff[i-1]
	}
	g.adj = make([]half, g.adjOff[len(g.pts)])
	fill := slices.Clone(g.adjOff[:len(g.pts)])
	for i, e := range g.edges {
		g.adj[fill[e.From]] = half{Edge(i), true}
		fill[e.From]++
		if !e.Oneway {
			g.adj[fill[e.To]] = half{Edge(i), false}
			fill[e.To]++
		}
	}
}

func (g *Graph) buildComponents() {
	parent := make([]int32, len(g.pts))
	for i := range parent {
		parent[i] = int32(i)
	}
	find := func(x int32) int32 {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	for _, e := range g.edges {
		a, b := find(int32(e.From)), find(int32(e.To))
		if a != b {
			parent[max(a, b)] = min(a, b)
		}
	}
	byRoot := map[int32]*Component{}
	var list []*Component
	for n := range g.pts {
		r := find(int32(n))
		c := byRoot[r]
		if c == nil {
			c = &Component{ID: int(r), Bound: orb.Bound{Min: g.pts[n], Max: g.pts[n]}}
			byRoot[r] = c
			list = append(list, c)
		}
		c.Nodes++
		c.Bound = c.Bound.Extend(g.pts[n])
	}
	for i, e := range g.edges {
		c := byRoot[find(int32(e.From))]
		c.Edges++
		c.LengthM += e.Metres
		for _, p := range g.geom[i] {
			c.Bound = c.Bound.Extend(p)
		}
	}
	// largest first, ties by lowest node: ids are stable for a given input
	slices.SortStableFunc(list, func(a, b *Component) int {
		if c := cmp.Compare(b.LengthM, a.LengthM); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	relabel := map[int]int{}
	for i, c := range list {
		relabel[c.ID] = i
		c.ID = i
		g.comps = append(g.comps, *c)
	}
	g.comp = make([]int32, len(g.pts))
	for n := range g.pts {
		g.comp[n] = int32(relabel[int(find(int32(n)))])
	}
}

// NumNodes returns the number of nodes.
func (g *Graph) NumNodes() int { return len(g.pts) }

// NumEdges returns the number of edges.
func (g *Graph) NumEdges() int { return len(g.edges) }

// NodePoint returns the location of a node.
func (g *Graph) NodePoint(n Node) orb.Point { return g.pts[n] }

// Edge returns an edge's description.
func (g *Graph) Edge(e Edge) EdgeInfo { return g.edges[e] }

// EdgeGeometry returns a copy of an edge's line, From first.
func (g *Graph) EdgeGeometry(e Edge) orb.LineString { return slices.Clone(orb.LineString(g.geom[e])) }

// Components returns the connected parts of the network, largest (by road
// length) first; Component(n) indexes this slice.
func (g *Graph) Components() []Component { return slices.Clone(g.comps) }

// Component returns the component a node belongs to.
func (g *Graph) Component(n Node) int { return int(g.comp[n]) }

// Position is a place on the network: a point on an edge.
type Position struct {
	Edge  Edge
	T     float64   // fraction of the edge's length from its From node, 0…1
	Point orb.Point // the point on the edge
	DistM float64   // ground distance from the snapped point to Point
}

// nearerEnd returns the end of the position's edge nearer along it.
func (g *Graph) nearerEnd(p Position) Node {
	e := g.edges[p.Edge]
	if p.T <= 0.5 {
		return e.From
	}
	return e.To
}

// Snap returns the nearest point on the network to p, and false when the
// graph has no edges.
func (g *Graph) Snap(p orb.Point) (Position, bool) {
	return g.ix.nearest(g, p, math.Inf(1))
}

// SnapWithin is Snap limited to maxM metres: false when no edge is that
// close.
func (g *Graph) SnapWithin(p orb.Point, maxM float64) (Position, bool) {
	return g.ix.nearest(g, p, maxM)
}

// NearestNode returns the end of the nearest edge that is nearer along it
// to p's snap, and the ground distance from p to that node; false when the
// graph has no edges.
func (g *Graph) NearestNode(p orb.Point) (Node, float64, bool) {
	pos, ok := g.Snap(p)
	if !ok {
		return 0, 0, false
	}
	n := g.nearerEnd(pos)
	return n, geo.Distance(p, g.pts[n]), true
}

// edgeSlice returns the vertices of edge e between fractions t0 and t1,
// in that order (backwards when t0 > t1).
func (g *Graph) edgeSlice(e Edge, t0, t1 float64) []orb.Point {
	rev := t0 > t1
	if rev {
		t0, t1 = t1, t0
	}
	pts, cum := g.geom[e], g.cum[e]
	total := g.edges[e].Metres
	a, b := t0*total, t1*total
	at := func(d float64) orb.Point {
		i, _ := slices.BinarySearch(cum, d)
		i = max(1, min(i, len(pts)-1))
		l := cum[i] - cum[i-1]
		f := 0.0
		if l > 0 {
			f = math.Max(0, math.Min(1, (d-cum[i-1])/l))
		}
		return orb.Point{pts[i-1][0] + f*(pts[i][0]-pts[i-1][0]), pts[i-1][1] + f*(pts[i][1]-pts[i-1][1])}
	}
	out := []orb.Point{at(a)}
	for i := range pts {
		if cum[i] > a && cum[i] < b {
			out = append(out, pts[i])
		}
	}
	out = append(out, at(b))
	if rev {
		slices.Reverse(out)
	}
	return out
}
