// Package memstore is the embedded store of riskmap, the default when no
// database is configured: one R-tree per layer in memory, optionally
// persisted under a data directory as a snapshot plus an append-only,
// fsynced log per layer so that an import survives a restart and an
// interrupted write never corrupts what was there.
//
// The store is safe for concurrent readers and writers. Readers collect
// what they need under a read lock and call back outside it, so a callback
// may itself use the store. Stored features are immutable; Query, Get and
// Nearest hand out clones, View lends the stored features to readers that
// only look (layers.Viewer).
package memstore

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/paulmach/orb"

	"riskmap/layers"
)

// Store implements layers.Store in memory.
type Store struct {
	// mu guards idx and the indexes in it: readers hold it shared,
	// writers exclusively and only while changing memory.
	mu     sync.RWMutex
	idx    map[string]*index
	closed bool

	// wmu serialises writers, compaction and Close, so that the log's
	// order is the order changes are applied in. It is taken before mu.
	wmu  sync.Mutex
	disk *disk // nil when memory only

	bufs sync.Pool // of *readBuf
}

var (
	_ layers.Store         = (*Store)(nil)
	_ layers.Viewer        = (*Store)(nil)
	_ layers.NearestViewer = (*Store)(nil)
	_ layers.MemoViewer    = (*Store)(nil)
)

// New returns an empty store held in memory only. Its Close does nothing:
// the data stays and the store stays usable.
func New() *Store { return &Store{idx: map[string]*index{}} }

// Open returns a store persisted under dir, created if missing, loading
// what an earlier run left there. Only one store may have dir open at a
// time. A corrupt snapshot gives an error wrapping ErrCorrupt.
func Open(dir string) (*Store, error) { return OpenWith(dir, Options{}) }

// OpenWith is Open with options.
func OpenWith(dir string, opts Options) (*Store, error) {
	s := New()
	d, err := openDisk(dir, opts, s.idx)
	if err != nil {
		return nil, err
	}
	s.disk = d
	return s, nil
}

// Kind returns "memory".
func (s *Store) Kind() string { return "memory" }

// Ping reports whether the store can serve.
func (s *Store) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: %w: %w", layers.ErrUnavailable, err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return errClosed
	}
	return nil
}

var errClosed = fmt.Errorf("memstore: closed: %w", layers.ErrUnavailable)

// Close folds every log into its snapshot and releases the directory. A
// persisted store refuses every call after Close; a memory-only one is
// unaffected.
func (s *Store) Close() error {
	if s.disk == nil {
		return nil
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	var err error
	if s.disk.err == nil {
		for name, lf := range s.disk.files {
			if lf.logSize > fileHeader {
				if cerr := s.disk.compact(name, s.idxOf(name)); cerr != nil && err == nil {
					err = cerr
				}
			}
		}
	}
	if cerr := s.disk.close(); err == nil {
		err = cerr
	}
	return err
}

// idxOf returns a layer's index or an empty one; the caller holds wmu.
func (s *Store) idxOf(name string) *index {
	if ix := s.idx[name]; ix != nil {
		return ix
	}
	return newIndex()
}

// read runs fn on the layer's index (nil when the layer is empty) under
// the read lock.
func (s *Store) read(layer string, fn func(*index)) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return errClosed
	}
	fn(s.idx[layer])
	return nil
}

// Query calls fn with a copy of each feature matching q, in id order. The
// features are those stored when the query began.
func (s *Store) Query(ctx context.Context, q layers.Query, fn func(layers.Feature) error) error {
	var c cloner
	return s.each(ctx, "query", q, func(it *item) error { return fn(c.feature(it)) })
}

// View is Query without the copies: fn receives the stored features
// themselves and must neither modify nor keep them (see layers.Viewer).
func (s *Store) View(ctx context.Context, q layers.Query, fn func(layers.Feature) error) error {
	return s.each(ctx, "view", q, func(it *item) error { return fn(it.lend()) })
}

// ViewMemo is View with each feature's memo (layers.MemoViewer): an item
// never changes once stored, a write replaces it with a new one.
func (s *Store) ViewMemo(ctx context.Context, q layers.Query, fn func(layers.Feature, *layers.Memo) error) error {
	return s.each(ctx, "view", q, func(it *item) error { return fn(it.lend(), &it.memo) })
}

// each collects the items matching q under the read lock, then calls fn
// for each outside it, checking ctx now and then.
func (s *Store) each(ctx context.Context, op string, q layers.Query, fn func(*item) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: %s: %w", op, err)
	}
	rb, _ := s.bufs.Get().(*readBuf)
	if rb == nil {
		rb = &readBuf{}
	}
	defer func() {
		if rb.reset() {
			s.bufs.Put(rb)
		}
	}()
	var items []*item
	if err := s.read(q.Layer, func(ix *index) {
		if ix != nil {
			items = ix.query(q, rb)
			rb.items = items
		}
	}); err != nil {
		return err
	}
	for i, it := range items {
		if i%64 == 63 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("memstore: %s: %w", op, err)
			}
		}
		if err := fn(it); err != nil {
			return err
		}
	}
	return nil
}

// Count returns how many features match q's bbox and filters.
func (s *Store) Count(ctx context.Context, q layers.Query) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("memstore: count: %w", err)
	}
	n := 0
	err := s.read(q.Layer, func(ix *index) {
		if ix != nil {
			n = ix.count(q)
		}
	})
	return n, err
}

// Get returns a copy of one feature or an error wrapping ErrNotFound.
func (s *Store) Get(ctx context.Context, layer string, id int64) (layers.Feature, error) {
	if err := ctx.Err(); err != nil {
		return layers.Feature{}, fmt.Errorf("memstore: get: %w", err)
	}
	var it *item
	if err := s.read(layer, func(ix *index) {
		if ix != nil {
			it = ix.items[id]
		}
	}); err != nil {
		return layers.Feature{}, err
	}
	if it == nil {
		return layers.Feature{}, fmt.Errorf("%s feature %d: %w", layer, id, layers.ErrNotFound)
	}
	var c cloner
	return c.feature(it), nil
}

// Nearest returns up to K features closest on the ground to q.Point that
// match q.Filters and lie within q.MaxDistanceM if set, ordered by
// distance then id.
func (s *Store) Nearest(ctx context.Context, q layers.NearestQuery) ([]layers.Neighbor, error) {
	var buf [16]candidate
	best, err := s.nearest(ctx, q, buf[:0])
	if err != nil {
		return nil, err
	}
	out := make([]layers.Neighbor, len(best))
	var cl cloner
	for i, c := range best {
		out[i] = layers.Neighbor{Feature: cl.feature(c.it), DistanceM: c.d}
	}
	return out, nil
}

// NearestView is Nearest without the copies: fn receives the stored
// features themselves and must neither modify nor keep them (see
// layers.NearestViewer).
func (s *Store) NearestView(ctx context.Context, q layers.NearestQuery, fn func(layers.Neighbor) error) error {
	var buf [16]candidate
	best, err := s.nearest(ctx, q, buf[:0])
	if err != nil {
		return err
	}
	for _, c := range best {
		if err := fn(layers.Neighbor{Feature: c.it.lend(), DistanceM: c.d}); err != nil {
			return err
		}
	}
	return nil
}

// nearest checks q and finds its neighbours under the read lock, in buf's
// memory when it is large enough (a small query's buffer on the stack).
func (s *Store) nearest(ctx context.Context, q layers.NearestQuery, buf []candidate) ([]candidate, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memstore: nearest: %w", err)
	}
	if q.K <= 0 {
		return nil, fmt.Errorf("%w: nearest needs K ≥ 1, got %d", layers.ErrInvalid, q.K)
	}
	if !finite(q.Point[0]) || !finite(q.Point[1]) || math.IsNaN(q.MaxDistanceM) {
		return nil, fmt.Errorf("%w: nearest: point %v or distance %v is not a number", layers.ErrInvalid, q.Point, q.MaxDistanceM)
	}
	best := buf
	if err := s.read(q.Layer, func(ix *index) {
		if ix != nil {
			best = ix.nearest(q, best)
		}
	}); err != nil {
		return nil, err
	}
	return best, nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// Stats returns the count and extent of every non-empty layer.
func (s *Store) Stats(ctx context.Context) (map[string]layers.LayerStats, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memstore: stats: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errClosed
	}
	out := map[string]layers.LayerStats{}
	for name, ix := range s.idx {
		if n := len(ix.items); n > 0 {
			out[name] = layers.LayerStats{Count: n, Extent: ix.bounds()}
		}
	}
	return out, nil
}

// Upsert inserts or replaces features by (layer, id), all or none. It
// rejects (with an error wrapping ErrInvalid) an empty layer name, an id
// ≤ 0, a missing, empty or non-finite geometry, a collection, and
// property values other than string, integer, float and bool. When
// persisted, the write is on disk when Upsert returns.
func (s *Store) Upsert(ctx context.Context, layer string, fs []layers.Feature) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: upsert: %w", err)
	}
	owned, err := prepare(layer, fs)
	if err != nil {
		return err
	}
	if len(owned) == 0 {
		return nil
	}
	return s.write(ctx, layer, nil, func() ([]byte, error) { return encodeUpsert(nil, owned) }, func(ix *index) {
		for _, f := range owned {
			ix.put(f)
		}
	})
}

// Delete removes features by id, all or none; unknown ids are ignored.
func (s *Store) Delete(ctx context.Context, layer string, ids []int64) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: delete: %w", err)
	}
	if layer == "" {
		return &layers.ValidationError{Reason: "empty layer name"}
	}
	var present []int64
	return s.write(ctx, layer, func() bool {
		// write holds wmu: the layer does not change meanwhile
		if ix := s.idx[layer]; ix != nil {
			for _, id := range ids {
				if _, ok := ix.items[id]; ok {
					present = append(present, id)
				}
			}
		}
		return len(present) > 0
	}, func() ([]byte, error) { return encodeDelete(nil, present), nil }, func(ix *index) {
		for _, id := range present {
			ix.remove(id)
		}
	})
}

// lockWrite takes the writer lock for op, or returns why it cannot write
// (the store is closed, ctx is done) with the lock released again.
func (s *Store) lockWrite(ctx context.Context, op string) error {
	s.wmu.Lock()
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		s.wmu.Unlock()
		return errClosed
	}
	if err := ctx.Err(); err != nil {
		s.wmu.Unlock()
		return fmt.Errorf("memstore: %s: %w", op, err)
	}
	return nil
}

// write serialises one change: plan (if set) says whether there is
// anything to do, encode gives the log record of a persisted store, change
// applies it to the layer's index; then the log is compacted if due.
func (s *Store) write(ctx context.Context, layer string, plan func() bool, encode func() ([]byte, error), change func(*index)) error {
	if err := s.lockWrite(ctx, "write"); err != nil {
		return err
	}
	defer s.wmu.Unlock()
	if plan != nil && !plan() {
		return nil
	}
	if s.disk != nil {
		payload, err := encode()
		if err != nil {
			return fmt.Errorf("memstore: %w", err)
		}
		if err := s.disk.append(layer, payload); err != nil {
			return err
		}
	}
	s.mu.Lock()
	ix := s.idx[layer]
	if ix == nil {
		ix = newIndex()
		s.idx[layer] = ix
	}
	change(ix)
	s.mu.Unlock()
	if s.disk != nil && s.disk.due(layer) {
		// the write is durable already; a failed compaction leaves the
		// log as it was and is retried on the next write and on Close.
		_ = s.disk.compact(layer, ix)
	}
	return nil
}

// prepare validates fs and returns copies the store owns, with integer
// and float property values widened to int64 and float64.
func prepare(layer string, fs []layers.Feature) ([]layers.Feature, error) {
	if layer == "" {
		return nil, &layers.ValidationError{Reason: "empty layer name"}
	}
	out := make([]layers.Feature, len(fs))
	// validate first, then copy in spatial order (see spatialKey); out
	// keeps the callers' order, so the last of repeated ids wins.
	for _, f := range fs {
		if f.ID <= 0 {
			return nil, &layers.ValidationError{Layer: layer, ID: f.ID, Reason: fmt.Sprintf("id %d must be ≥ 1", f.ID)}
		}
		if err := checkGeometry(f.Geometry); err != nil {
			return nil, &layers.ValidationError{Layer: layer, ID: f.ID, Reason: err.Error()}
		}
		for k, v := range f.Props {
			if _, ok := scalar(v); !ok {
				return nil, &layers.ValidationError{Layer: layer, ID: f.ID, Field: k,
					Reason: fmt.Sprintf("%T is not a string, integer, number or boolean", v)}
			}
		}
	}
	for _, i := range spatialOrder(len(fs), func(i int) orb.Bound { return fs[i].Geometry.Bound() }) {
		f := fs[i]
		c := layers.Feature{Layer: layer, ID: f.ID, Geometry: orb.Clone(f.Geometry)}
		if len(f.Props) > 0 {
			c.Props = make(map[string]any, len(f.Props))
			for k, v := range f.Props {
				c.Props[k], _ = scalar(v)
			}
		}
		out[i] = c
	}
	return out, nil
}

func scalar(v any) (any, bool) {
	switch x := v.(type) {
	case nil, string, int64, float64, bool:
		return x, true
	case int:
		return int64(x), true
	case int32:
		return int64(x), true
	case int16:
		return int64(x), true
	case int8:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint8:
		return int64(x), true
	case float32:
		return float64(x), true
	}
	return nil, false
}
