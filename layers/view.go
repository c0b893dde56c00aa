package layers

import (
	"context"
	"sync/atomic"
)

// Viewer is implemented by stores that can lend their stored features to a
// reader instead of copying them: the fast path of readers that only look
// (tiles, analyses, encoders). A lent feature shares its geometry and
// property map with the store, so the callback must neither modify them
// (orb's project, clip and simplify work in place: clone first) nor keep
// them after it returns. Property values are immutable scalars (strings,
// numbers, booleans) and may be kept.
//
// View calls fn like Store.Query: for each feature matching q, in ID order,
// honouring AfterID and Limit, stopping at fn's first error.
type Viewer interface {
	View(ctx context.Context, q Query, fn func(Feature) error) error
}

// View calls fn for each feature of st matching q, lending the stored
// features when st is a Viewer and falling back to Store.Query (copies)
// otherwise. Either way fn must treat the features as read-only and must
// not keep their geometry or property map: see Viewer.
func View(ctx context.Context, st Store, q Query, fn func(Feature) error) error {
	if v, ok := st.(Viewer); ok {
		return v.View(ctx, q, fn)
	}
	return st.Query(ctx, q, fn)
}

// NearestViewer is implemented by stores that can lend the features a
// nearest query finds instead of copying them, on the terms of Viewer:
// fn must neither modify a neighbour's geometry or property map nor keep
// them after it returns.
//
// NearestView calls fn for each neighbour Store.Nearest would return, in
// the same order, stopping at fn's first error.
type NearestViewer interface {
	NearestView(ctx context.Context, q NearestQuery, fn func(Neighbor) error) error
}

// NearestView calls fn for each neighbour of q in st, nearest first,
// lending the stored features when st is a NearestViewer and falling back
// to Store.Nearest (copies) otherwise. Either way fn must treat the
// features as read-only and must not keep their geometry or property map:
// see Viewer.
func NearestView(ctx context.Context, st Store, q NearestQuery, fn func(Neighbor) error) error {
	if v, ok := st.(NearestViewer); ok {
		return v.NearestView(ctx, q, fn)
	}
	ns, err := st.Nearest(ctx, q)
	if err != nil {
		return err
	}
	for _, n := range ns {
		if err := fn(n); err != nil {
			return err
		}
	}
	return nil
}

// Memo is where a reader keeps what it derives from one stored version of
// a feature and would rather not derive again: the tile renderer keeps a
// feature's typed properties and shaped geometry per zoom there. A write
// stores a new version with an empty memo, so a memo never outlives what
// it was derived from. It holds one value, set once; every value stored
// in memos must be of one type (the tile renderer's), and a reader
// recognises its own by its owner. The zero Memo is empty and ready; it is
// safe for concurrent use and must not be copied.
type Memo struct {
	v atomic.Value
}

// Load returns the value held, nil when empty.
func (m *Memo) Load() any { return m.v.Load() }

// LoadOrStore returns the value held, storing v first when empty.
func (m *Memo) LoadOrStore(v any) any {
	if m.v.CompareAndSwap(nil, v) {
		return v
	}
	return m.v.Load()
}

// MemoViewer is implemented by stores whose stored features never change
// in place (a write stores a new version of a feature): View, lending with
// each feature its memo, which lives as long as that version. The terms
// of Viewer hold; the memo may be kept and written by fn.
type MemoViewer interface {
	ViewMemo(ctx context.Context, q Query, fn func(Feature, *Memo) error) error
}

// ViewMemo calls fn for each feature of st matching q with its memo when
// st is a MemoViewer, and with a nil memo (through View) otherwise.
func ViewMemo(ctx context.Context, st Store, q Query, fn func(Feature, *Memo) error) error {
	if v, ok := st.(MemoViewer); ok {
		return v.ViewMemo(ctx, q, fn)
	}
	return View(ctx, st, q, func(f Feature) error { return fn(f, nil) })
}
