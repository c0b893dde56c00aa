package postgis

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/jackc/pgx/v5"

	"riskmap/layers"
)

// Upsert validates fs against the layer schema (see layers.Layer Normalize;
// the callers' features are not modified) and inserts or replaces them by
// id in one transaction, all or none. When an id occurs twice the last
// feature wins. Batches above the copy threshold are loaded by COPY.
func (s *Store) Upsert(ctx context.Context, layer string, fs []layers.Feature) error {
	t, err := s.table(layer)
	if err != nil {
		return err
	}
	owned, err := t.prepare(fs)
	if err != nil {
		return err
	}
	if len(owned) == 0 {
		return nil
	}
	op := "upsert " + layer
	if len(owned) <= s.opts.copyThreshold {
		err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return t.insert(ctx, tx, owned) })
	} else {
		err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return t.copy(ctx, tx, owned) })
	}
	if err != nil {
		return writeError(ctx, op, err)
	}
	return nil
}

// writeError maps what survived validation but not the database (a check
// constraint, a geometry PostGIS rejects) to ErrInvalid and the rest as
// wrap does.
func writeError(ctx context.Context, op string, err error) error {
	if pgErr, ok := constraintError(err); ok {
		return fmt.Errorf("postgis: %s: %w: %s", op, layers.ErrInvalid, pgErr.Message)
	}
	var ve *layers.ValidationError
	if errors.As(err, &ve) {
		return err
	}
	return wrap(ctx, op, err)
}

// prepare returns normalised copies of fs with duplicate ids removed (the
// last occurrence wins, in place of the first).
func (t *table) prepare(fs []layers.Feature) ([]layers.Feature, error) {
	out := make([]layers.Feature, 0, len(fs))
	at := make(map[int64]int, len(fs))
	for _, f := range fs {
		c := layers.Feature{ID: f.ID, Geometry: f.Geometry, Props: maps.Clone(f.Props)}
		if err := t.layer.Normalize(&c); err != nil {
			return nil, err
		}
		if i, dup := at[c.ID]; dup {
			out[i] = c
			continue
		}
		at[c.ID] = len(out)
		out = append(out, c)
	}
	return out, nil
}

// insert writes a small batch as pipelined INSERT … ON CONFLICT statements.
func (t *table) insert(ctx context.Context, tx pgx.Tx, fs []layers.Feature) error {
	b := &pgx.Batch{}
	for _, f := range fs {
		row, err := t.row(f, nil)
		if err != nil {
			return err
		}
		b.Queue(t.upsertSQL, row...)
	}
	return tx.SendBatch(ctx, b).Close()
}

// copy loads a large batch by the same path as a bulk load.
func (t *table) copy(ctx context.Context, tx pgx.Tx, fs []layers.Feature) error {
	data, err := t.encodeCopy(nil, fs)
	if err != nil {
		return err
	}
	l := &loader{t: t, tx: tx}
	if err := l.begin(ctx); err != nil {
		return err
	}
	if err := l.write(ctx, copyTrailer(data)); err != nil {
		return err
	}
	return l.finish(ctx)
}

// Delete removes features by id in one statement (one transaction), all or
// none; unknown ids are ignored.
func (s *Store) Delete(ctx context.Context, layer string, ids []int64) error {
	t, err := s.table(layer)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	if _, err := s.pool.Exec(ctx, "DELETE FROM "+t.name+" WHERE id = ANY($1)", ids); err != nil {
		return wrap(ctx, "delete "+layer, err)
	}
	return nil
}
