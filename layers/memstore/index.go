package memstore

import (
	"cmp"
	"math"
	"slices"
	"sort"
	"sync"

	"github.com/paulmach/orb"
	"github.com/tidwall/rtree"

	"riskmap/geo"
	"riskmap/layers"
)

// item is one stored feature with its bounds. Items are immutable once
// indexed: a replacement is a new item, so readers may keep pointers
// collected under the read lock and clone them after releasing it.
type item struct {
	f layers.Feature
	b orb.Bound
}

func byID(a, b *item) int { return cmp.Compare(a.f.ID, b.f.ID) }

// index holds the features of one layer: a map by id, an R-tree by bounds
// and an id-ordered slice for scans and keyset paging. Writers hold the
// store's write lock; readers its read lock.
type index struct {
	items map[int64]*item
	tree  rtree.RTreeG[*item]

	// sorted is every item in id order, valid unless dirty. Appends in
	// increasing id order and replacements keep it valid; other writes
	// mark it dirty and the next reader that needs it rebuilds it, under
	// sortMu because readers share the read lock.
	sortMu sync.Mutex
	sorted []*item
	dirty  bool
}

func newIndex() *index { return &index{items: map[int64]*item{}} }

func rect(b orb.Bound) (lo, hi [2]float64) { return [2]float64(b.Min), [2]float64(b.Max) }

// put inserts or replaces one feature; the caller holds the write lock and
// passes a feature the store owns.
func (ix *index) put(f layers.Feature) {
	it := &item{f: f, b: f.Geometry.Bound()}
	if old, ok := ix.items[f.ID]; ok {
		lo, hi := rect(old.b)
		ix.tree.Delete(lo, hi, old)
		if !ix.dirty {
			if i, found := slices.BinarySearchFunc(ix.sorted, f.ID, func(x *item, id int64) int { return cmp.Compare(x.f.ID, id) }); found {
				ix.sorted[i] = it
			} else {
				ix.dirty = true
			}
		}
	} else if !ix.dirty {
		if n := len(ix.sorted); n == 0 || ix.sorted[n-1].f.ID < f.ID {
			ix.sorted = append(ix.sorted, it)
		} else {
			ix.dirty = true
		}
	}
	ix.items[f.ID] = it
	lo, hi := rect(it.b)
	ix.tree.Insert(lo, hi, it)
}

// remove deletes one feature if present; the caller holds the write lock.
func (ix *index) remove(id int64) {
	old, ok := ix.items[id]
	if !ok {
		return
	}
	delete(ix.items, id)
	lo, hi := rect(old.b)
	ix.tree.Delete(lo, hi, old)
	ix.dirty = true
}

// ordered returns every item in id order; the caller holds the read lock
// and must not modify or keep the slice past it.
func (ix *index) ordered() []*item {
	ix.sortMu.Lock()
	defer ix.sortMu.Unlock()
	if ix.dirty {
		s := make([]*item, 0, len(ix.items))
		for _, it := range ix.items {
			s = append(s, it)
		}
		slices.SortFunc(s, byID)
		ix.sorted, ix.dirty = s, false
	}
	return ix.sorted
}

// bounds returns the extent of the layer (zero when empty).
func (ix *index) bounds() orb.Bound {
	if ix.tree.Len() == 0 {
		return orb.Bound{}
	}
	lo, hi := ix.tree.Bounds()
	return orb.Bound{Min: lo, Max: hi}
}

// query returns the items matching q in id order, honouring AfterID and
// Limit; the caller holds the read lock.
func (ix *index) query(q layers.Query) []*item {
	if ix.spatial(q) {
		return ix.searchBBox(q)
	}
	// no spatial filter, or one that holds the whole layer: a scan in id
	// order that stops at the limit.
	s := ix.ordered()
	start := sort.Search(len(s), func(i int) bool { return s[i].f.ID > q.AfterID })
	var out []*item
	if len(q.Filters) == 0 {
		end := len(s)
		if q.Limit > 0 && start+q.Limit < end {
			end = start + q.Limit
		}
		return append(out, s[start:end]...)
	}
	for _, it := range s[start:] {
		if matchFilters(q.Filters, it.f.Props) {
			out = append(out, it)
			if q.Limit > 0 && len(out) == q.Limit {
				break
			}
		}
	}
	return out
}

// spatial reports whether q needs the R-tree: it has a bbox that does not
// hold the whole layer.
func (ix *index) spatial(q layers.Query) bool {
	if !q.HasBBox() {
		return false
	}
	ext := ix.bounds()
	return !q.BBox.Contains(ext.Min) || !q.BBox.Contains(ext.Max)
}

func (ix *index) searchBBox(q layers.Query) []*item {
	var out []*item
	lo, hi := rect(q.BBox)
	ix.tree.Search(lo, hi, func(_, _ [2]float64, it *item) bool {
		if it.f.ID > q.AfterID && matchFilters(q.Filters, it.f.Props) {
			out = append(out, it)
		}
		return true
	})
	slices.SortFunc(out, byID)
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out
}

// count returns how many items match q's bbox and filters.
func (ix *index) count(q layers.Query) int {
	if !ix.spatial(q) {
		if len(q.Filters) == 0 {
			return len(ix.items)
		}
		n := 0
		for _, it := range ix.items {
			if matchFilters(q.Filters, it.f.Props) {
				n++
			}
		}
		return n
	}
	n := 0
	lo, hi := rect(q.BBox)
	ix.tree.Search(lo, hi, func(_, _ [2]float64, it *item) bool {
		if matchFilters(q.Filters, it.f.Props) {
			n++
		}
		return true
	})
	return n
}

func matchFilters(fs []layers.Filter, props map[string]any) bool {
	for _, f := range fs {
		if !f.Match(props) {
			return false
		}
	}
	return true
}

// candidate is a neighbour found so far with its exact distance.
type candidate struct {
	it *item
	d  float64
}

func less(a, b candidate) bool { return a.d < b.d || a.d == b.d && a.it.f.ID < b.it.f.ID }

// nearest returns up to k items closest on the ground to p, ordered by
// distance then id. It walks the R-tree by a metric lower bound of the
// distance to each box, computes the exact distance of each item it
// reaches, and stops once the next box is farther than the k-th best.
func (ix *index) nearest(q layers.NearestQuery) []candidate {
	if ix.tree.Len() == 0 {
		return nil
	}
	p := q.Point
	// Lower bounds of metres per degree over every latitude the tree and
	// the point span: a degree of longitude is shortest at the largest
	// |latitude|, a degree of latitude at the equator. A hair below them
	// keeps rounding from lifting a bound above an exact distance.
	ext := ix.bounds()
	maxLat := math.Max(math.Abs(p[1]), math.Max(math.Abs(ext.Min[1]), math.Abs(ext.Max[1])))
	kx, _ := geo.MetresPerDegree(maxLat)
	_, ky := geo.MetresPerDegree(0)
	kx *= 1 - 1e-9
	ky *= 1 - 1e-9
	lower := func(lo, hi [2]float64, _ *item, _ bool) float64 {
		dx := math.Max(0, math.Max(lo[0]-p[0], p[0]-hi[0])) * kx
		dy := math.Max(0, math.Max(lo[1]-p[1], p[1]-hi[1])) * ky
		return dx*dx + dy*dy // squared: the order is all Nearby needs
	}
	maxSq := math.Inf(1)
	if q.MaxDistanceM > 0 {
		maxSq = q.MaxDistanceM * q.MaxDistanceM
	}
	best := make([]candidate, 0, q.K+1)
	ix.tree.Nearby(lower, func(_, _ [2]float64, it *item, lb float64) bool {
		if lb > maxSq {
			return false
		}
		if len(best) == q.K {
			kth := best[q.K-1].d
			if lb > kth*kth {
				return false
			}
		}
		if !matchFilters(q.Filters, it.f.Props) {
			return true
		}
		c := candidate{it: it, d: geo.DistanceTo(p, it.f.Geometry)}
		if q.MaxDistanceM > 0 && c.d > q.MaxDistanceM {
			return true
		}
		if len(best) == q.K && !less(c, best[q.K-1]) {
			return true
		}
		// insert in order; best is tiny
		i := len(best)
		best = append(best, c)
		for i > 0 && less(c, best[i-1]) {
			best[i] = best[i-1]
			i--
		}
		best[i] = c
		if len(best) > q.K {
			best = best[:q.K]
		}
		return true
	})
	return best
}
