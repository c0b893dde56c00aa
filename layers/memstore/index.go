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
// collected under the read lock and copy (Query) or lend (View) them
// after releasing it. The geometry and the property map are the store's
// own and are never modified.
type item struct {
	id    int64
	layer string
	geom  orb.Geometry
	props map[string]any // nil when there are none
	b     orb.Bound
	memo  layers.Memo // what readers derive from this version (ViewMemo)
}

// newItem indexes a feature the store owns (see prepare).
func newItem(f layers.Feature) *item {
	it := &item{id: f.ID, layer: f.Layer, geom: f.Geometry, b: f.Geometry.Bound()}
	if len(f.Props) > 0 {
		it.props = f.Props
	}
	return it
}

func (it *item) match(fs []layers.Filter) bool {
	for _, f := range fs {
		v, ok := it.props[f.Field]
		if !f.MatchValue(v, ok) {
			return false
		}
	}
	return true
}

// lend returns the stored feature itself: for View and for encoding,
// never for a caller of Query or Get.
func (it *item) lend() layers.Feature {
	return layers.Feature{Layer: it.layer, ID: it.id, Geometry: it.geom, Props: it.props}
}

func (it *item) entry() entry {
	_, pt := it.geom.(orb.Point)
	return entry{id: it.id, it: it, pt: pt}
}

func byID(a, b *item) int { return cmp.Compare(a.id, b.id) }

// entry is what the R-tree holds: the id beside the item, so that
// ordering and paging do not chase pointers.
type entry struct {
	id int64
	it *item
	pt bool // the geometry is an orb.Point, the entry's box
}

// index holds the features of one layer: a map by id, an R-tree by bounds
// and an id-ordered slice for scans and keyset paging. Writers hold the
// store's write lock; readers its read lock.
type index struct {
	items map[int64]*item
	tree  rtree.RTreeG[entry]

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
func (ix *index) put(f layers.Feature) { ix.putItem(newItem(f)) }

// putItem inserts or replaces an item; the caller holds the write lock.
func (ix *index) putItem(it *item) {
	f := it // the id below
	if old, ok := ix.items[f.id]; ok {
		lo, hi := rect(old.b)
		ix.tree.Delete(lo, hi, old.entry())
		if !ix.dirty {
			if i, found := slices.BinarySearchFunc(ix.sorted, f.id, func(x *item, id int64) int { return cmp.Compare(x.id, id) }); found {
				ix.sorted[i] = it
			} else {
				ix.stale()
			}
		}
	} else if !ix.dirty {
		if n := len(ix.sorted); n == 0 || ix.sorted[n-1].id < f.id {
			ix.sorted = append(ix.sorted, it)
		} else {
			ix.stale()
		}
	}
	ix.items[f.id] = it
	lo, hi := rect(it.b)
	ix.tree.Insert(lo, hi, it.entry())
}

// remove deletes one feature if present; the caller holds the write lock.
func (ix *index) remove(id int64) {
	old, ok := ix.items[id]
	if !ok {
		return
	}
	delete(ix.items, id)
	lo, hi := rect(old.b)
	ix.tree.Delete(lo, hi, old.entry())
	ix.stale()
}

// stale marks the id-ordered slice for a rebuild and drops it, so that it
// keeps no replaced or deleted item alive meanwhile; the caller holds
// the write lock.
func (ix *index) stale() { ix.sorted, ix.dirty = nil, true }

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

// readBuf is the scratch of one read: the R-tree's hits and the items
// handed to the caller, reused from read to read (Store.bufs).
type readBuf struct {
	hits  []entry
	items []*item
}

// maxPooledRead is the most items a pooled readBuf keeps room for: the
// buffer of a whole-layer scan goes back to the heap.
const maxPooledRead = 1 << 16

// reset drops the buffer's references to items and reports whether it is
// small enough to keep.
func (rb *readBuf) reset() bool {
	clear(rb.hits)
	clear(rb.items)
	rb.hits, rb.items = rb.hits[:0], rb.items[:0]
	return cap(rb.items) <= maxPooledRead && cap(rb.hits) <= maxPooledRead
}

// query returns the items matching q in id order, in rb's memory, honouring AfterID and
// Limit; the caller holds the read lock.
func (ix *index) query(q layers.Query, rb *readBuf) []*item {
	if ix.spatial(q) {
		return ix.searchBBox(q, rb)
	}
	// no spatial filter, or one that holds the whole layer: a scan in id
	// order that stops at the limit.
	s := ix.ordered()
	start := sort.Search(len(s), func(i int) bool { return s[i].id > q.AfterID })
	out := rb.items[:0]
	if len(q.Filters) == 0 {
		end := len(s)
		if q.Limit > 0 && start+q.Limit < end {
			end = start + q.Limit
		}
		return append(out, s[start:end]...)
	}
	for _, it := range s[start:] {
		if it.match(q.Filters) {
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

func (ix *index) searchBBox(q layers.Query, rb *readBuf) []*item {
	hits := rb.hits[:0]
	lo, hi := rect(q.BBox)
	ix.tree.Search(lo, hi, func(_, _ [2]float64, e entry) bool {
		if e.id > q.AfterID && (len(q.Filters) == 0 || e.it.match(q.Filters)) {
			hits = append(hits, e)
		}
		return true
	})
	slices.SortFunc(hits, func(a, b entry) int { return cmp.Compare(a.id, b.id) })
	if q.Limit > 0 && len(hits) > q.Limit {
		hits = hits[:q.Limit]
	}
	out := rb.items[:0]
	for _, e := range hits {
		out = append(out, e.it)
	}
	rb.hits = hits
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
			if it.match(q.Filters) {
				n++
			}
		}
		return n
	}
	n := 0
	lo, hi := rect(q.BBox)
	ix.tree.Search(lo, hi, func(_, _ [2]float64, e entry) bool {
		if len(q.Filters) == 0 || e.it.match(q.Filters) {
			n++
		}
		return true
	})
	return n
}

// candidate is a neighbour found so far with its exact distance.
type candidate struct {
	id int64
	it *item
	d  float64
}

func less(a, b candidate) bool { return a.d < b.d || a.d == b.d && a.id < b.id }

// nearest returns up to k items closest on the ground to p, ordered by
// distance then id, in buf's memory when it holds k+1.
//
// It searches the R-tree in a box reaching r metres around p, keeping the
// k best by exact distance (geo.DistanceTo) among items whose box is
// within r (a metric lower bound, as geo.BoundDistance); once the k-th
// best is within r nothing outside the box can beat it. Otherwise r grows
// – to the k-th best distance when k were found, else fourfold – and the
// search repeats. The first r comes from the layer's mean density, so a
// query usually takes one or two small searches.
func (ix *index) nearest(q layers.NearestQuery, buf []candidate) []candidate {
	n := ix.tree.Len()
	if n == 0 {
		return nil
	}
	p := q.Point
	ext := ix.bounds()
	// Lower bounds of metres per degree over every latitude the tree and
	// the point span: a degree of longitude is shortest at the largest
	// |latitude|, a degree of latitude at the equator. A hair below them
	// keeps rounding from lifting a bound above an exact distance.
	maxLat := math.Max(math.Abs(p[1]), math.Max(math.Abs(ext.Min[1]), math.Abs(ext.Max[1])))
	kx, _ := geo.MetresPerDegree(maxLat)
	_, ky := geo.MetresPerDegree(0)
	kx *= 1 - 1e-9
	ky *= 1 - 1e-9

	area := math.Max((ext.Max[0]-ext.Min[0])*kx*(ext.Max[1]-ext.Min[1])*ky, 1)
	r := math.Max(1, math.Sqrt(float64(q.K)*area/(math.Pi*float64(n))))
	if q.MaxDistanceM > 0 {
		r = math.Min(r, q.MaxDistanceM)
	}
	best := buf[:0]
	if cap(best) < min(q.K, n)+1 {
		best = make([]candidate, 0, min(q.K, n)+1)
	}
	for {
		best = best[:0]
		lo := [2]float64{p[0] - r/kx, p[1] - r/ky}
		hi := [2]float64{p[0] + r/kx, p[1] + r/ky}
		rr := r * r
		ix.tree.Search(lo, hi, func(bmin, bmax [2]float64, e entry) bool {
			var dx, dy float64
			if bmin[0] > p[0] {
				dx = (bmin[0] - p[0]) * kx
			} else if p[0] > bmax[0] {
				dx = (p[0] - bmax[0]) * kx
			}
			if bmin[1] > p[1] {
				dy = (bmin[1] - p[1]) * ky
			} else if p[1] > bmax[1] {
				dy = (p[1] - bmax[1]) * ky
			}
			lb := dx*dx + dy*dy
			if lb > rr || len(best) == q.K && lb > best[q.K-1].d*best[q.K-1].d {
				return true
			}
			// the exact distance of a point needs no pointer chasing, so
			// it comes before the filters
			c := candidate{id: e.id, it: e.it}
			if e.pt {
				c.d = geo.Distance(p, bmin) // what geo.DistanceTo does for a point
			} else {
				c.d = geo.DistanceTo(p, e.it.geom)
			}
			if q.MaxDistanceM > 0 && c.d > q.MaxDistanceM ||
				len(best) == q.K && !less(c, best[q.K-1]) ||
				len(q.Filters) > 0 && !e.it.match(q.Filters) {
				return true
			}
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
		switch {
		case len(best) == q.K && best[q.K-1].d <= r,
			q.MaxDistanceM > 0 && r >= q.MaxDistanceM,
			lo[0] <= ext.Min[0] && lo[1] <= ext.Min[1] && hi[0] >= ext.Max[0] && hi[1] >= ext.Max[1]:
			return best
		case len(best) == q.K:
			r = best[q.K-1].d
		default:
			r *= 4
		}
		if q.MaxDistanceM > 0 {
			r = math.Min(r, q.MaxDistanceM)
		}
	}
}
