package postgis

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"riskmap/layers"
)

// stagingTable is the temporary table COPY loads into before each merge.
const stagingTable = "riskmap_stage"

var _ layers.Bulk = (*Store)(nil)

// BeginBulk implements layers.Bulk: it opens a transaction that holds one
// pooled connection until Commit or Rollback (the caller must call one of
// them). Each Write is validated and encoded at once, then copied into a
// temporary staging table by binary COPY and merged into the layer with
// INSERT … ON CONFLICT (id) DO UPDATE while the caller prepares the next
// batch; so at most two batches are held in memory however many rows
// stream through, and a later feature with the same id replaces an earlier
// one. A failure of the database shows at the next Write or at Commit.
// Nothing is visible to others before Commit; an error or a cancelled
// context aborts the transaction and leaves the layer as it was.
//
// The layer's table is locked against other writers (not readers) until
// the end. When it is empty at the start, batches are copied straight into
// it and its secondary indexes are dropped and rebuilt at Commit (building
// a GiST index over the loaded rows is several times faster than growing
// it row by row); readers of that layer then wait for the load to end.
func (s *Store) BeginBulk(ctx context.Context, layer string) (layers.BulkWriter, error) {
	t, err := s.table(layer)
	if err != nil {
		return nil, err
	}
	op := "bulk load " + layer
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, wrap(ctx, op, err)
	}
	b := &bulk{loader: loader{t: t, tx: tx}, op: op}
	if err := b.begin(ctx); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return nil, writeError(ctx, op, err)
	}
	return b, nil
}

// bulk is a layers.BulkWriter over one transaction.
type bulk struct {
	loader
	op      string
	err     error      // the first failure: the transaction is dead, only Rollback remains
	pending chan error // the batch the database is writing, or nil
	bufs    [2][]byte  // COPY data: one being written, one being filled
	next    int        // the one to fill
}

func (b *bulk) Write(ctx context.Context, fs []layers.Feature) error {
	if b.err != nil {
		return b.err
	}
	owned, err := b.t.prepare(fs)
	if err != nil {
		b.err = writeError(ctx, b.op, err)
		return b.err
	}
	return b.send(ctx, owned)
}

var _ layers.NormalizedWriter = (*bulk)(nil)

// WriteNormalized implements layers.NormalizedWriter: Write without
// validating and copying the features again.
func (b *bulk) WriteNormalized(ctx context.Context, fs []layers.Feature) error {
	if b.err != nil {
		return b.err
	}
	return b.send(ctx, fs)
}

// send encodes fs at once (the caller may reuse them once Write returns)
// into the buffer the database is not reading, waits for the batch in
// flight and starts copying this one.
func (b *bulk) send(ctx context.Context, fs []layers.Feature) error {
	if len(fs) == 0 {
		return nil
	}
	buf, err := b.t.encodeCopy(b.bufs[b.next][:0], fs)
	if err == nil {
		b.bufs[b.next] = buf
		err = b.wait()
	}
	if err != nil {
		b.err = writeError(ctx, b.op, err)
		return b.err
	}
	data := copyTrailer(buf)
	b.bufs[b.next] = data
	b.next = 1 - b.next
	done := make(chan error, 1)
	go func() { done <- b.write(ctx, data) }()
	b.pending = done
	return nil
}

// wait waits for the batch in flight and returns its error.
func (b *bulk) wait() error {
	if b.pending == nil {
		return nil
	}
	err := <-b.pending
	b.pending = nil
	return err
}

func (b *bulk) Commit(ctx context.Context) error {
	if b.err != nil {
		return b.err
	}
	err := b.wait()
	if err == nil {
		err = b.finish(ctx)
	}
	if err == nil {
		err = b.tx.Commit(ctx)
	}
	if err != nil {
		_ = b.tx.Rollback(context.WithoutCancel(ctx))
		b.err = writeError(ctx, b.op, err)
		return b.err
	}
	b.err = errors.New("postgis: " + b.op + ": already committed")
	return nil
}

// Rollback discards everything written; after Commit it does nothing.
func (b *bulk) Rollback(ctx context.Context) error {
	_ = b.wait() // the connection is the batch's until it ends
	if err := b.tx.Rollback(ctx); err != nil && !errors.Is(err, pgx.ErrTxClosed) {
		return wrap(ctx, "rollback "+b.op, err)
	}
	return nil
}

// loader streams batches into a table inside a transaction.
type loader struct {
	t      *table
	tx     pgx.Tx
	fresh  bool     // the table was empty: secondary indexes dropped
	index  []string // their definitions, rebuilt by finish
	direct bool     // COPY straight into the table (until an id repeats)
}

// begin locks the table against other writers, drops the secondary
// indexes of an empty table and creates the staging table.
func (l *loader) begin(ctx context.Context) error {
	t, tx := l.t, l.tx
	if _, err := tx.Exec(ctx, "LOCK TABLE "+t.name+" IN SHARE ROW EXCLUSIVE MODE"); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "SET LOCAL maintenance_work_mem = '256MB'"); err != nil {
		return err
	}
	if err := tx.QueryRow(ctx, "SELECT NOT EXISTS (SELECT FROM "+t.name+")").Scan(&l.fresh); err != nil {
		return err
	}
	if l.fresh {
		if err := l.dropIndexes(ctx); err != nil {
			return err
		}
		l.direct = true
	}
	_, err := tx.Exec(ctx, "CREATE TEMP TABLE "+stagingTable+" (LIKE "+t.name+") ON COMMIT DROP")
	return err
}

// dropIndexes drops the indexes that back no constraint (the primary key
// stays: the merge needs it) and remembers their definitions.
func (l *loader) dropIndexes(ctx context.Context) error {
	rows, err := l.tx.Query(ctx, `SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
FROM pg_index i WHERE i.indrelid = $1::regclass
AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.indexrelid)`, l.t.name)
	if err != nil {
		return err
	}
	var names []string
	for rows.Next() {
		var n, d string
		if err := rows.Scan(&n, &d); err != nil {
			rows.Close()
			return err
		}
		names, l.index = append(names, n), append(l.index, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(names) == 0 {
		return nil
	}
	// ACCESS EXCLUSIVE until the end: readers of this layer wait
	_, err = l.tx.Exec(ctx, "DROP INDEX "+strings.Join(names, ", "))
	return err
}

// write copies rows (of features without repeated ids) into the table:
// into an empty table straight, else (or once an id of an earlier batch
// comes again) into the staging table, merged into the table with
// INSERT … ON CONFLICT.
func (l *loader) write(ctx context.Context, data []byte) error {
	if l.direct {
		err := l.copyDirect(ctx, data)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "23505" { // unique_violation
			return err
		}
		// an id of an earlier batch: undo this batch, merge from now on
		if _, err := l.tx.Exec(ctx, "ROLLBACK TO SAVEPOINT riskmap_batch"); err != nil {
			return err
		}
		l.direct = false
	}
	if err := l.copy(ctx, stagingTable, data); err != nil {
		return err
	}
	// one round trip: simple protocol runs both statements
	_, err := l.tx.Exec(ctx, fmt.Sprintf(l.t.mergeSQL, stagingTable)+"; TRUNCATE "+stagingTable)
	return err
}

// copyDirect copies a batch into the table under a savepoint, so that a
// repeated id can be undone.
func (l *loader) copyDirect(ctx context.Context, data []byte) error {
	if _, err := l.tx.Exec(ctx, "SAVEPOINT riskmap_batch"); err != nil {
		return err
	}
	if err := l.copy(ctx, l.t.name, data); err != nil {
		return err
	}
	_, err := l.tx.Exec(ctx, "RELEASE SAVEPOINT riskmap_batch")
	return err
}

// copy sends binary COPY data (see encodeCopy) into table (quoted).
func (l *loader) copy(ctx context.Context, table string, data []byte) error {
	_, err := l.tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(data),
		"COPY "+table+" ("+l.t.copyList+") FROM STDIN (FORMAT binary)")
	return err
}

// finish rebuilds dropped indexes and refreshes the planner's statistics
// of a freshly loaded table.
func (l *loader) finish(ctx context.Context) error {
	if !l.fresh {
		return nil
	}
	for _, d := range l.index {
		if _, err := l.tx.Exec(ctx, d); err != nil {
			return err
		}
	}
	_, err := l.tx.Exec(ctx, "ANALYZE "+l.t.name)
	return err
}
