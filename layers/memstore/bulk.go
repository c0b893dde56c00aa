package memstore

import (
	"context"
	"errors"
	"fmt"

	"riskmap/layers"
)

var _ layers.Bulk = (*Store)(nil)

// BeginBulk implements layers.Bulk. Each Write validates and copies its
// features at once (as Upsert does) into an index of the import's own,
// invisible until Commit; the import's features are then what the store
// keeps, so an import holds no second copy of the data. Other writers are
// not held up while it streams. Commit adds the features to the layer in
// one write, replacing those with the same ids (the last of an import
// wins). When persisted, Commit writes a new snapshot of the layer if the
// import is at least as large as what the layer held (the common load into
// an empty layer: no log record as large as the data), else one log
// record; either is on disk when Commit returns, and an interrupted Commit
// leaves the layer as it was.
func (s *Store) BeginBulk(ctx context.Context, layer string) (layers.BulkWriter, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memstore: bulk load: %w", err)
	}
	if layer == "" {
		return nil, &layers.ValidationError{Reason: "empty layer name"}
	}
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return nil, errClosed
	}
	return &bulk{s: s, layer: layer, staged: newIndex()}, nil
}

// bulk is a layers.BulkWriter of the memory store.
type bulk struct {
	s      *Store
	layer  string
	staged *index // the import so far
	err    error  // the first failure, or the end: only Rollback remains
}

var errBulkDone = errors.New("memstore: bulk load already committed or rolled back")

func (b *bulk) Write(ctx context.Context, fs []layers.Feature) error {
	if b.err != nil {
		return b.err
	}
	if err := ctx.Err(); err != nil {
		b.fail(fmt.Errorf("memstore: bulk load: %w", err))
		return b.err
	}
	owned, err := prepare(b.layer, fs)
	if err != nil {
		b.fail(err)
		return err
	}
	for _, f := range owned {
		b.staged.put(f)
	}
	return nil
}

func (b *bulk) fail(err error) {
	b.err, b.staged = err, nil
}

func (b *bulk) Commit(ctx context.Context) error {
	if b.err != nil {
		return b.err
	}
	staged := b.staged
	b.fail(errBulkDone)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: bulk load: %w", err)
	}
	if len(staged.items) == 0 {
		return nil
	}
	return b.s.commitBulk(ctx, b.layer, staged)
}

// Rollback discards the import; after Commit it does nothing.
func (b *bulk) Rollback(context.Context) error {
	if b.err == nil {
		b.fail(errBulkDone)
	}
	return nil
}

// commitBulk adds the staged index to the layer: on disk first, then in
// memory, under the writer lock.
func (s *Store) commitBulk(ctx context.Context, layer string, staged *index) error {
	if err := s.lockWrite(ctx, "bulk load"); err != nil {
		return err
	}
	defer s.wmu.Unlock()
	ix := s.idx[layer] // stable: writers hold wmu
	fresh := ix == nil || len(ix.items) == 0
	snapshot := false
	if s.disk != nil {
		if s.disk.err != nil {
			return fmt.Errorf("memstore: refusing writes after an earlier failure: %w: %w", layers.ErrUnavailable, s.disk.err)
		}
		var err error
		if fresh || len(staged.items) >= len(ix.items) {
			snapshot = true
			all := make([]*item, 0, len(staged.items)+len(s.idxOf(layer).items))
			if !fresh {
				for id, it := range ix.items {
					if _, replaced := staged.items[id]; !replaced {
						all = append(all, it)
					}
				}
			}
			for _, it := range staged.items {
				all = append(all, it)
			}
			err = s.disk.snapshot(layer, all)
		} else {
			fs := make([]layers.Feature, 0, len(staged.items))
			for _, it := range staged.items {
				fs = append(fs, it.lend())
			}
			var payload []byte
			if payload, err = encodeUpsert(nil, fs); err == nil {
				err = s.disk.append(layer, payload)
			}
		}
		if err != nil {
			return fmt.Errorf("memstore: bulk load: %w", err)
		}
	}
	s.mu.Lock()
	if fresh {
		s.idx[layer] = staged
	} else {
		for _, it := range staged.items {
			ix.putItem(it)
		}
	}
	s.mu.Unlock()
	if !snapshot && s.disk != nil && s.disk.due(layer) {
		_ = s.disk.compact(layer, ix) // see write
	}
	return nil
}
