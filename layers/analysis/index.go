package analysis

import (
	"math"

	"github.com/paulmach/orb"

	"riskmap/geo"
)

// pointIndex is a uniform grid over points for radius and nearest searches
// in metres; at district scale it beats a tree by not allocating.
type pointIndex struct {
	cellM  float64
	kx, ky float64 // metres per degree at the index latitude
	cells  map[[2]int32][]int
	pts    []orb.Point
}

func newPointIndex(pts []orb.Point, cellM float64) *pointIndex {
	lat := 29.5
	if len(pts) > 0 {
		lat = pts[0][1]
	}
	kx, ky := geo.MetresPerDegree(lat)
	ix := &pointIndex{cellM: cellM, kx: kx, ky: ky, cells: make(map[[2]int32][]int, len(pts)), pts: pts}
	for i, p := range pts {
		k := ix.key(p)
		ix.cells[k] = append(ix.cells[k], i)
	}
	return ix
}

func (ix *pointIndex) key(p orb.Point) [2]int32 {
	return [2]int32{int32(math.Floor(p[0] * ix.kx / ix.cellM)), int32(math.Floor(p[1] * ix.ky / ix.cellM))}
}

// nearest returns the index of the point nearest to p within maxM metres
// and its distance, or -1.
func (ix *pointIndex) nearest(p orb.Point, maxM float64) (int, float64) {
	best, bestD := -1, math.Inf(1)
	c := ix.key(p)
	rings := int32(math.Ceil(maxM/ix.cellM)) + 1
	for r := int32(0); r <= rings; r++ {
		// a point in ring r is at least (r-1)·cellM away, less the few
		// per mille by which a degree of longitude shrinks across a district
		if float64(r-1)*ix.cellM*slack > math.Min(bestD, maxM) {
			break
		}
		for dx := -r; dx <= r; dx++ {
			for dy := -r; dy <= r; dy++ {
				if max(abs32(dx), abs32(dy)) != r {
					continue
				}
				for _, i := range ix.cells[[2]int32{c[0] + dx, c[1] + dy}] {
					d := geo.Distance(p, ix.pts[i])
					if d < bestD || (d == bestD && i < best) {
						best, bestD = i, d
					}
				}
			}
		}
	}
	if bestD > maxM {
		return -1, math.Inf(1)
	}
	return best, bestD
}

// near calls fn for every point within rM metres of the bound b (a
// candidate superset: fn must check the exact distance).
func (ix *pointIndex) near(b orb.Bound, rM float64, fn func(i int)) {
	rM /= slack
	lo := ix.key(orb.Point{b.Min[0] - rM/ix.kx, b.Min[1] - rM/ix.ky})
	hi := ix.key(orb.Point{b.Max[0] + rM/ix.kx, b.Max[1] + rM/ix.ky})
	for x := lo[0]; x <= hi[0]; x++ {
		for y := lo[1]; y <= hi[1]; y++ {
			for _, i := range ix.cells[[2]int32{x, y}] {
				fn(i)
			}
		}
	}
}

// slack allows for the grid's metres being taken at one latitude.
const slack = 0.97

func abs32(v int32) int32 {
	if v < 0 {
		return -v
	}
	return v
}
