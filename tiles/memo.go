package tiles

import (
	"runtime"
	"sync/atomic"

	"github.com/paulmach/orb/maptile"

	"riskmap/layers"
)

// The renderer keeps in a store's memo (layers.MemoViewer) what a feature
// costs to ready for a tile whatever the tile: its properties typed by the
// layer's schema and, per zoom from memoMinZoom to memoMaxZoom, its shaped
// geometry. A tile built from kept forms is byte for byte the tile built
// without them (TestMemoSameTiles); the memo only saves the work. The
// memory it takes is bounded (WithMemoBytes): past the bound, features
// are shaped afresh each time. A feature's version that goes (a write
// replaced it) gives its bytes back when it is collected.

// The zooms whose shaped geometry is kept: where features are small
// beside a tile and shown by many tiles' requests.
const (
	memoMinZoom = 10
	memoMaxZoom = 17
)

// DefaultMemoBytes bounds the memory of kept feature forms.
const DefaultMemoBytes = 512 << 20

// featMemo is what one renderer keeps of one version of a feature.
type featMemo struct {
	owner  *Renderer
	kept   *atomic.Int64 // the bytes charged for it, refunded when it is collected
	props  []any         // by field of sortedFields (nil: absent); nil when the layer has no fields
	inline [6]any
	shapes [memoMaxZoom - memoMinZoom + 1]atomic.Pointer[shaped]
}

// memoOf returns the renderer's memo of f, creating it (with f's typed
// properties) when the store's memo is empty and the bound allows; nil
// otherwise.
func (r *Renderer) memoOf(m *layers.Memo, f layers.Feature, fields []layers.Field) *featMemo {
	if m == nil {
		return nil
	}
	if v := m.Load(); v != nil {
		if fm, ok := v.(*featMemo); ok && fm.owner == r {
			return fm
		}
		return nil // another renderer's
	}
	size := 208 // a featMemo and its counter
	if len(fields) > len(featMemo{}.inline) {
		size += 16 * len(fields)
	}
	if !r.memo.charge(size) {
		return nil
	}
	fm := &featMemo{owner: r, kept: new(atomic.Int64)}
	fm.kept.Store(int64(size))
	if len(fields) > 0 {
		if len(fields) <= len(fm.inline) {
			fm.props = fm.inline[:len(fields):len(fields)]
		} else {
			fm.props = make([]any, len(fields))
		}
		for i, fd := range fields {
			if v, ok := f.Props[fd.Name]; ok && v != nil {
				if s, ok := typed(fd.Type, v); ok {
					fm.props[i] = r.intern(s)
				}
			}
		}
	}
	got, _ := m.LoadOrStore(fm).(*featMemo)
	if got != fm {
		r.memo.refund(size)
		if got == nil || got.owner != r {
			return nil
		}
		return got
	}
	// when the feature's version goes (a write replaced it), so does
	// what was kept of it: the bound counts the living only
	runtime.AddCleanup(fm, func(k *atomic.Int64) { r.memo.refund(int(k.Load())) }, fm.kept)
	return fm
}

// memoSlot is where the shaped geometry of a feature at one zoom is kept;
// the zero memoSlot keeps nothing.
type memoSlot struct {
	p  *atomic.Pointer[shaped]
	fm *featMemo
}

// slot returns the slot of the feature at zoom z: the zero slot when that
// zoom is not kept or the bound is reached.
func (fm *featMemo) slot(z maptile.Zoom) memoSlot {
	if fm == nil || z < memoMinZoom || z > memoMaxZoom {
		return memoSlot{}
	}
	s := &fm.shapes[z-memoMinZoom]
	if s.Load() == nil && fm.owner.memo.full() {
		return memoSlot{}
	}
	return memoSlot{s, fm}
}

func (s memoSlot) ok() bool { return s.p != nil }

// load returns the kept form, nil when none.
func (s memoSlot) load() *shaped {
	if s.p == nil {
		return nil
	}
	return s.p.Load()
}

// keep keeps sp in the slot when the bound allows (a racing render may
// have kept the same form first).
func (s memoSlot) keep(sp *shaped) {
	if s.p == nil {
		return
	}
	n := sp.size()
	if !s.fm.owner.memo.charge(n) {
		return
	}
	if !s.p.CompareAndSwap(nil, sp) {
		s.fm.owner.memo.refund(n)
		return
	}
	s.fm.kept.Add(int64(n))
}

// appendProps appends the kept properties, sorted by key as fields are.
func (fm *featMemo) appendProps(dst []kv, fields []layers.Field) []kv {
	for i, v := range fm.props {
		if v != nil {
			dst = append(dst, kv{fields[i].Name, v})
		}
	}
	return dst
}

// intern returns the renderer's copy of the scalar v, so that kept
// properties that share a value share its memory: fewer bytes, and the
// encoder compares neighbours' values without a cache miss each.
func (r *Renderer) intern(v any) any {
	if f, ok := v.(float64); ok && f != f {
		return v // NaN is not equal to itself: not a key
	}
	if c, ok := r.values.Load(v); ok {
		return c
	}
	if !r.memo.charge(64) {
		return v
	}
	c, loaded := r.values.LoadOrStore(v, v)
	if loaded {
		r.memo.refund(64)
	}
	return c
}

// memoBound counts the bytes a renderer keeps in memos against its bound.
type memoBound struct {
	used atomic.Int64
	max  int64
}

// charge counts n more bytes kept, false (and nothing counted) past the
// bound.
func (b *memoBound) charge(n int) bool {
	if b.used.Add(int64(n)) > b.max {
		b.used.Add(-int64(n))
		return false
	}
	return true
}

func (b *memoBound) refund(n int) { b.used.Add(-int64(n)) }

// full reports whether the bound is reached.
func (b *memoBound) full() bool { return b.used.Load() >= b.max }
