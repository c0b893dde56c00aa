package ledger

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PGHistory keeps the history in the table riskmap_hazard_history
// (layers/postgis/migrations), which refuses updates and deletes.
type PGHistory struct {
	pool *pgxpool.Pool
}

var _ History = (*PGHistory)(nil)

// NewPGHistory uses pool, which the caller closes.
func NewPGHistory(pool *pgxpool.Pool) *PGHistory { return &PGHistory{pool: pool} }

// Append implements History.
// The check of the last state runs under a transaction-scoped advisory
// lock on the hazard, so servers sharing the database append in turn.
func (h *PGHistory) Append(ctx context.Context, t Transition) error {
	var moved error
	err := pgx.BeginFunc(ctx, h.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, hashint8($2))", historyLock, t.Hazard); err != nil {
			return err
		}
		var last string
		err := tx.QueryRow(ctx, `SELECT to_status FROM riskmap_hazard_history WHERE hazard_id = $1 ORDER BY seq DESC LIMIT 1`, t.Hazard).Scan(&last)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if moved = checkLast(t, last, err == nil); moved != nil {
			return nil
		}
		_, err = tx.Exec(ctx, `INSERT INTO riskmap_hazard_history (hazard_id, from_status, to_status, by_name, at, note)
VALUES ($1, $2, $3, $4, $5, $6)`, t.Hazard, t.From, t.To, t.By, t.At, t.Note)
		return err
	})
	if err != nil {
		return fmt.Errorf("ledger: history: %w", err)
	}
	return moved
}

// historyLock is the advisory lock class of hazard histories ("hl").
const historyLock int32 = 0x686c

// History implements History.
func (h *PGHistory) History(ctx context.Context, hazard int64) ([]Transition, error) {
	rows, err := h.pool.Query(ctx, `SELECT hazard_id, from_status, to_status, by_name, at, note
FROM riskmap_hazard_history WHERE hazard_id = $1 ORDER BY seq`, hazard)
	if err != nil {
		return nil, fmt.Errorf("ledger: history: %w", err)
	}
	defer rows.Close()
	var out []Transition
	for rows.Next() {
		var t Transition
		if err := rows.Scan(&t.Hazard, &t.From, &t.To, &t.By, &t.At, &t.Note); err != nil {
			return nil, fmt.Errorf("ledger: history: %w", err)
		}
		t.At = t.At.UTC()
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ledger: history: %w", err)
	}
	return out, nil
}
