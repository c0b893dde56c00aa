package analysis

import (
	"math"

	"github.com/paulmach/orb"

	"riskmap/geo"
)

// pointIndex is a uniform grid over points for radius and nearest searches
// in metres; at district scale it beats a tree by not allocating. The grid
// is dense over the points' bound (a district at 150 m is ~200k cells) and
// stored compactly: cell k holds idx[start[k]:start[k+1]]. It is read-only
// once built, so concurrent searches are safe.
type pointIndex struct {
	cellM  float64
	kx, ky float64 // metres per degree at the index latitude
	x0, y0 int32   // key of the first cell
	nx, ny int32
	start  []int32
	idx    []int32
	pts    []orb.Point
}

func newPointIndex(pts []orb.Point, cellM float64) *pointIndex {
	lat := 29.5
	if len(pts) > 0 {
		lat = pts[0][1]
	}
	kx, ky := geo.MetresPerDegree(lat)
	ix := &pointIndex{cellM: cellM, kx: kx, ky: ky, pts: pts}
	if len(pts) == 0 {
		return ix
	}
	keys := make([][2]int32, len(pts))
	lo, hi := ix.key(pts[0]), ix.key(pts[0])
	for i, p := range pts {
		k := ix.key(p)
		keys[i] = k
		lo = [2]int32{min(lo[0], k[0]), min(lo[1], k[1])}
		hi = [2]int32{max(hi[0], k[0]), max(hi[1], k[1])}
	}
	ix.x0, ix.y0 = lo[0], lo[1]
	ix.nx, ix.ny = hi[0]-lo[0]+1, hi[1]-lo[1]+1
	ix.start = make([]int32, int(ix.nx)*int(ix.ny)+1)
	for _, k := range keys {
		ix.start[ix.slot(k)+1]++
	}
	for i := 1; i < len(ix.start); i++ {
		ix.start[i] += ix.start[i-1]
	}
	ix.idx = make([]int32, len(pts))
	fill := make([]int32, len(ix.start)-1)
	for i, k := range keys {
		s := ix.slot(k)
		ix.idx[ix.start[s]+fill[s]] = int32(i)
		fill[s]++
	}
	return ix
}

func (ix *pointIndex) key(p orb.Point) [2]int32 {
	return [2]int32{int32(math.Floor(p[0] * ix.kx / ix.cellM)), int32(math.Floor(p[1] * ix.ky / ix.cellM))}
}

func (ix *pointIndex) slot(k [2]int32) int {
	return int(k[0]-ix.x0)*int(ix.ny) + int(k[1]-ix.y0)
}

// cell returns the indexes of the points in the grid cell with key k.
func (ix *pointIndex) cell(x, y int32) []int32 {
	x, y = x-ix.x0, y-ix.y0
	if x < 0 || y < 0 || x >= ix.nx || y >= ix.ny {
		return nil
	}
	s := int(x)*int(ix.ny) + int(y)
	return ix.idx[ix.start[s]:ix.start[s+1]]
}

// nearest returns the index of the point nearest to p within maxM metres
// and its distance, or -1.
func (ix *pointIndex) nearest(p orb.Point, maxM float64) (int, float64) {
	near := newNearBy(p)
	return ix.nearestTo(orb.Bound{Min: p, Max: p}, maxM, func(i int) float64 { return geo.Distance(p, ix.pts[i]) },
		func(i int) float64 {
			lo, _ := near.bounds(ix.pts[i])
			return lo
		})
}

// nearestTo returns the index of the point nearest to a geometry with
// bound b within maxM metres, and its distance, or -1. dist is the exact
// distance from point i to the geometry; it is called only for points
// whose lower bound could beat the best so far: lower(i) when lower is
// not nil (it must not exceed dist(i)), else the distance to b. Ties go
// to the lower index.
func (ix *pointIndex) nearestTo(b orb.Bound, maxM float64, dist, lower func(i int) float64) (int, float64) {
	best, bestD := -1, math.Inf(1)
	if len(ix.pts) == 0 {
		return best, bestD
	}
	lo, hi := ix.key(b.Min), ix.key(b.Max)
	rings := int32(math.Ceil(maxM/ix.cellM)) + 1
	for r := int32(0); r <= rings; r++ {
		// a point in ring r is at least (r-1)·cellM from b, less the few
		// per mille by which a degree of longitude shrinks across a district
		if float64(r-1)*ix.cellM*slack > math.Min(bestD, maxM) {
			break
		}
		for x := lo[0] - r; x <= hi[0]+r; x++ {
			edge := x == lo[0]-r || x == hi[0]+r
			for y := lo[1] - r; y <= hi[1]+r; y++ {
				if !edge && y != lo[1]-r && y != hi[1]+r {
					y = hi[1] + r - 1 // skip the inside, done in earlier rings
					continue
				}
				for _, i := range ix.cell(x, y) {
					if lower != nil {
						if lower(int(i)) > bestD {
							continue
						}
					} else if geo.BoundDistance(ix.pts[i], b) > bestD {
						continue
					}
					d := dist(int(i))
					if d < bestD || (d == bestD && int(i) < best) {
						best, bestD = int(i), d
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
	ix.nearAny(b, rM, func(i int) bool {
		fn(i)
		return false
	})
}

// nearAny calls fn for the points within rM metres of the bound b, as
// near does, until fn returns true, and reports whether it did.
func (ix *pointIndex) nearAny(b orb.Bound, rM float64, fn func(i int) bool) bool {
	if len(ix.pts) == 0 {
		return false
	}
	rM /= slack
	lo := ix.key(orb.Point{b.Min[0] - rM/ix.kx, b.Min[1] - rM/ix.ky})
	hi := ix.key(orb.Point{b.Max[0] + rM/ix.kx, b.Max[1] + rM/ix.ky})
	lo = [2]int32{max(lo[0], ix.x0), max(lo[1], ix.y0)}
	hi = [2]int32{min(hi[0], ix.x0+ix.nx-1), min(hi[1], ix.y0+ix.ny-1)}
	for x := lo[0]; x <= hi[0]; x++ {
		for y := lo[1]; y <= hi[1]; y++ {
			for _, i := range ix.cell(x, y) {
				if fn(int(i)) {
					return true
				}
			}
		}
	}
	return false
}

// slack allows for the grid's metres being taken at one latitude.
const slack = 0.97
