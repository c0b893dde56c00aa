package routing

import (
	"math"

	"github.com/paulmach/orb"

	"riskmap/geo"
)

// segIndex is a uniform grid over the edges' segments (cells of about
// indexCellM metres); each segment is listed in every cell its bound
// touches. Nearest searches go ring by ring outwards and stop when a ring
// cannot hold anything nearer than the best found.
type segIndex struct {
	kx, ky   float64 // metres per degree at the network's mid-latitude
	cells    map[[2]int32][]segRef
	lo, hi   [2]int32 // extent of the occupied cells
	nonEmpty bool
}

type segRef struct {
	edge Edge
	seg  int32 // segment seg runs from vertex seg to seg+1
}

const (
	indexCellM = 250
	// indexSlack allows for the grid's metres being taken at one latitude
	// (a degree of longitude shrinks by a few per mille across a district).
	indexSlack = 0.97
)

func newSegIndex(g *Graph) *segIndex {
	lat := 29.5
	var b orb.Bound
	for i, pts := range g.geom {
		for j, p := range pts {
			if i == 0 && j == 0 {
				b = orb.Bound{Min: p, Max: p}
			}
			b = b.Extend(p)
		}
	}
	if len(g.geom) > 0 {
		lat = b.Center()[1]
	}
	kx, ky := geo.MetresPerDegree(lat)
	ix := &segIndex{kx: kx, ky: ky, cells: map[[2]int32][]segRef{}}
	for e, pts := range g.geom {
		for s := 1; s < len(pts); s++ {
			sb := orb.Bound{Min: pts[s-1], Max: pts[s-1]}.Extend(pts[s])
			a, z := ix.key(sb.Min), ix.key(sb.Max)
			for x := a[0]; x <= z[0]; x++ {
				for y := a[1]; y <= z[1]; y++ {
					k := [2]int32{x, y}
					ix.cells[k] = append(ix.cells[k], segRef{Edge(e), int32(s - 1)})
				}
			}
			if !ix.nonEmpty {
				ix.lo, ix.hi, ix.nonEmpty = a, z, true
			}
			ix.lo = [2]int32{min(ix.lo[0], a[0]), min(ix.lo[1], a[1])}
			ix.hi = [2]int32{max(ix.hi[0], z[0]), max(ix.hi[1], z[1])}
		}
	}
	return ix
}

func (ix *segIndex) key(p orb.Point) [2]int32 {
	return [2]int32{int32(math.Floor(p[0] * ix.kx / indexCellM)), int32(math.Floor(p[1] * ix.ky / indexCellM))}
}

// nearest finds the point on the network nearest to p within maxM metres.
func (ix *segIndex) nearest(g *Graph, p orb.Point, maxM float64) (Position, bool) {
	if !ix.nonEmpty {
		return Position{}, false
	}
	kx, ky := geo.MetresPerDegree(p[1])
	c := ix.key(p)
	// beyond this ring every cell is outside the occupied extent
	far := max(abs32(c[0]-ix.lo[0]), abs32(c[0]-ix.hi[0]), abs32(c[1]-ix.lo[1]), abs32(c[1]-ix.hi[1]))
	best := segRef{edge: -1}
	bestD, bestT := math.Inf(1), 0.0
	for r := int32(0); r <= far; r++ {
		if float64(r-1)*indexCellM*indexSlack > math.Min(bestD, maxM) {
			break
		}
		for dx := -r; dx <= r; dx++ {
			for dy := -r; dy <= r; dy++ {
				if max(abs32(dx), abs32(dy)) != r {
					continue
				}
				for _, s := range ix.cells[[2]int32{c[0] + dx, c[1] + dy}] {
					a, b := g.geom[s.edge][s.seg], g.geom[s.edge][s.seg+1]
					ax, ay := (a[0]-p[0])*kx, (a[1]-p[1])*ky
					bx, by := (b[0]-p[0])*kx, (b[1]-p[1])*ky
					dx, dy := bx-ax, by-ay
					l2 := dx*dx + dy*dy
					t := 0.0
					if l2 > 0 {
						t = math.Max(0, math.Min(1, -(ax*dx+ay*dy)/l2))
					}
					d := math.Hypot(ax+t*dx, ay+t*dy)
					if d < bestD || (d == bestD && (s.edge < best.edge || (s.edge == best.edge && s.seg < best.seg))) {
						best, bestD, bestT = s, d, t
					}
				}
			}
		}
	}
	if best.edge < 0 || bestD > maxM {
		return Position{}, false
	}
	pts, cum := g.geom[best.edge], g.cum[best.edge]
	a, b := pts[best.seg], pts[best.seg+1]
	pt := orb.Point{a[0] + bestT*(b[0]-a[0]), a[1] + bestT*(b[1]-a[1])}
	total := g.edges[best.edge].Metres
	t := 0.0
	if total > 0 {
		t = math.Max(0, math.Min(1, (cum[best.seg]+bestT*(cum[best.seg+1]-cum[best.seg]))/total))
	}
	return Position{Edge: best.edge, T: t, Point: pt, DistM: geo.Distance(p, pt)}, true
}

func abs32(v int32) int32 {
	if v < 0 {
		return -v
	}
	return v
}
