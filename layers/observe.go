package layers

import (
	"context"
	"errors"
	"sync"

	"github.com/paulmach/orb"
)

// Change describes a committed write to one layer: the area it touched
// (the bounds of the old and the new geometries) and the ids written. All
// is set when the write was too large to describe precisely; listeners
// then treat the whole layer as changed.
type Change struct {
	Layer string
	Bound orb.Bound
	IDs   []int64
	All   bool
}

// maxDescribed is the largest write whose old geometries Observed looks
// up to describe the change precisely; larger writes report All.
const maxDescribed = 1000

// Observed wraps a Store and tells subscribers about every committed write,
// synchronously after the write, so that derived layers and tile caches are
// current when a write returns. Subscribers may write to the store
// themselves (an analysis updating its derived layer); they are told about
// those writes too.
type Observed struct {
	Store
	mu   sync.Mutex // serialises describe+write so a change's bounds are exact
	subs []func(context.Context, Change)
}

// Observe wraps s.
func Observe(s Store) *Observed { return &Observed{Store: s} }

// View lends the wrapped store's features when it is a Viewer and
// copies them otherwise (see layers.View).
func (o *Observed) View(ctx context.Context, q Query, fn func(Feature) error) error {
	return View(ctx, o.Store, q, fn)
}

// ViewMemo lends the wrapped store's features with their memos when it is
// a MemoViewer, and with none otherwise (see layers.ViewMemo).
func (o *Observed) ViewMemo(ctx context.Context, q Query, fn func(Feature, *Memo) error) error {
	return ViewMemo(ctx, o.Store, q, fn)
}

// NearestView lends the wrapped store's neighbours when it is a
// NearestViewer and copies them otherwise (see layers.NearestView).
func (o *Observed) NearestView(ctx context.Context, q NearestQuery, fn func(Neighbor) error) error {
	return NearestView(ctx, o.Store, q, fn)
}

// Subscribe registers fn; it is called after every successful write.
// Subscribe before serving: the list is not guarded against concurrent
// writes.
func (o *Observed) Subscribe(fn func(context.Context, Change)) { o.subs = append(o.subs, fn) }

// Upsert writes through and reports the change.
func (o *Observed) Upsert(ctx context.Context, layer string, fs []Feature) error {
	c, err := o.upsert(ctx, layer, fs)
	if err != nil {
		return err
	}
	o.notify(ctx, c)
	return nil
}

func (o *Observed) upsert(ctx context.Context, layer string, fs []Feature) (Change, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	ids := make([]int64, len(fs))
	for i, f := range fs {
		ids[i] = f.ID
	}
	c, err := o.describe(ctx, layer, ids)
	if err != nil {
		return c, err
	}
	if err := o.Store.Upsert(ctx, layer, fs); err != nil {
		return c, err
	}
	if !c.All {
		for _, f := range fs {
			if f.Geometry != nil {
				c.Bound = extend(c.Bound, f.Geometry.Bound())
			}
		}
	}
	return c, nil
}

// Delete writes through and reports the change.
func (o *Observed) Delete(ctx context.Context, layer string, ids []int64) error {
	c, err := o.delete(ctx, layer, ids)
	if err != nil {
		return err
	}
	o.notify(ctx, c)
	return nil
}

func (o *Observed) delete(ctx context.Context, layer string, ids []int64) (Change, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	c, err := o.describe(ctx, layer, ids)
	if err != nil {
		return c, err
	}
	return c, o.Store.Delete(ctx, layer, ids)
}

// describe looks up the current bounds of the features about to change.
func (o *Observed) describe(ctx context.Context, layer string, ids []int64) (Change, error) {
	c := Change{Layer: layer, IDs: ids}
	if len(ids) > maxDescribed {
		c.All = true
		return c, nil
	}
	for _, id := range ids {
		f, err := o.Store.Get(ctx, layer, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return c, err
		}
		c.Bound = extend(c.Bound, f.Geometry.Bound())
	}
	return c, nil
}

func (o *Observed) notify(ctx context.Context, c Change) {
	for _, fn := range o.subs {
		fn(ctx, c)
	}
}

func extend(a, b orb.Bound) orb.Bound {
	if a == (orb.Bound{}) {
		return b
	}
	return a.Union(b)
}

// BeginBulk implements Bulk: an import through an observed store is
// reported as one change to the whole layer when it commits.
func (o *Observed) BeginBulk(ctx context.Context, layer string) (BulkWriter, error) {
	b, ok := o.Store.(Bulk)
	if !ok {
		return &gather{st: o, layer: layer}, nil
	}
	w, err := b.BeginBulk(ctx, layer)
	if err != nil {
		return nil, err
	}
	return &observedBulk{BulkWriter: w, o: o, layer: layer}, nil
}

type observedBulk struct {
	BulkWriter
	o     *Observed
	layer string
}

// WriteNormalized passes normalised features on (see NormalizedWriter).
func (b *observedBulk) WriteNormalized(ctx context.Context, fs []Feature) error {
	if w, ok := b.BulkWriter.(NormalizedWriter); ok {
		return w.WriteNormalized(ctx, fs)
	}
	return b.BulkWriter.Write(ctx, fs)
}

func (b *observedBulk) Commit(ctx context.Context) error {
	if err := b.BulkWriter.Commit(ctx); err != nil {
		return err
	}
	b.o.notify(ctx, Change{Layer: b.layer, All: true})
	return nil
}
