package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"riskmap/layers"
)

// PGStore keeps tokens and the audit log in the tables riskmap_tokens and
// riskmap_audit, created by the PostGIS store's migrations
// (layers/postgis/migrations). Every lookup queries the database.
type PGStore struct {
	pool *pgxpool.Pool
}

var _ Store = (*PGStore)(nil)

// NewPGStore uses pool, which the caller closes.
func NewPGStore(pool *pgxpool.Pool) *PGStore { return &PGStore{pool: pool} }

func pgErr(op string, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return fmt.Errorf("%w: %s: %s", layers.ErrConflict, op, pe.Detail)
	}
	return fmt.Errorf("auth: %s: %w", op, err)
}

// AddToken implements TokenStore.
func (s *PGStore) AddToken(ctx context.Context, t Token) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO riskmap_tokens (id, name, role, hash, created_at, revoked_at)
VALUES ($1, $2, $3, $4, $5, $6)`, t.ID, t.Name, t.Role.String(), t.Hash, t.Created, t.Revoked)
	if err != nil {
		return pgErr("add token", err)
	}
	return nil
}

const tokenCols = "id, name, role, hash, created_at, revoked_at"

func scanToken(row pgx.Row) (Token, error) {
	var t Token
	var role string
	if err := row.Scan(&t.ID, &t.Name, &role, &t.Hash, &t.Created, &t.Revoked); err != nil {
		return t, err
	}
	t.Created = t.Created.UTC()
	if t.Revoked != nil {
		r := t.Revoked.UTC()
		t.Revoked = &r
	}
	var err error
	t.Role, err = ParseRole(role)
	return t, err
}

// Tokens implements TokenStore.
func (s *PGStore) Tokens(ctx context.Context) ([]Token, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+tokenCols+" FROM riskmap_tokens ORDER BY created_at, id")
	if err != nil {
		return nil, pgErr("list tokens", err)
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, pgErr("list tokens", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, pgErr("list tokens", err)
	}
	return out, nil
}

// TokenByHash implements TokenStore.
func (s *PGStore) TokenByHash(ctx context.Context, hash string) (Token, error) {
	t, err := scanToken(s.pool.QueryRow(ctx, "SELECT "+tokenCols+" FROM riskmap_tokens WHERE hash = $1", hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return Token{}, layers.ErrNotFound
	}
	if err != nil {
		return Token{}, pgErr("find token", err)
	}
	return t, nil
}

// RevokeToken implements TokenStore.
func (s *PGStore) RevokeToken(ctx context.Context, idOrName string, at time.Time) (Token, error) {
	t, err := scanToken(s.pool.QueryRow(ctx, `UPDATE riskmap_tokens SET revoked_at = COALESCE(revoked_at, $2)
WHERE id = $1 OR name = $1 RETURNING `+tokenCols, idOrName, at.UTC().Truncate(time.Second)))
	if errors.Is(err, pgx.ErrNoRows) {
		return Token{}, fmt.Errorf("%w: no token with id or name %q", layers.ErrNotFound, idOrName)
	}
	if err != nil {
		return Token{}, pgErr("revoke token", err)
	}
	return t, nil
}

// Append implements AuditLog.
func (s *PGStore) Append(ctx context.Context, e AuditEntry) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO riskmap_audit (at, who, role, method, route, path, layer, ids, status, outcome, remote)
VALUES ($1, $2, $3, $4, $5, $6, NULLIF($7, ''), $8, $9, $10, NULLIF($11, ''))`,
		e.At, e.Who, e.Role.String(), e.Method, e.Route, e.Path, e.Layer, e.IDs, e.Status, e.Outcome, e.Remote)
	if err != nil {
		return pgErr("audit", err)
	}
	return nil
}

// Entries implements AuditLog.
func (s *PGStore) Entries(ctx context.Context, before time.Time, limit int) ([]AuditEntry, error) {
	if limit <= 0 {
		limit = 1000
	}
	var b *time.Time
	if !before.IsZero() {
		b = &before
	}
	rows, err := s.pool.Query(ctx, `SELECT at, who, role, method, route, path, COALESCE(layer, ''), ids, status, outcome, COALESCE(remote, '')
FROM riskmap_audit WHERE $1::timestamptz IS NULL OR at < $1 ORDER BY at DESC, seq DESC LIMIT $2`, b, limit)
	if err != nil {
		return nil, pgErr("audit entries", err)
	}
	defer rows.Close()
	out := []AuditEntry{}
	for rows.Next() {
		var e AuditEntry
		var role string
		if err := rows.Scan(&e.At, &e.Who, &role, &e.Method, &e.Route, &e.Path, &e.Layer, &e.IDs, &e.Status, &e.Outcome, &e.Remote); err != nil {
			return nil, pgErr("audit entries", err)
		}
		e.At = e.At.UTC()
		_ = e.Role.UnmarshalText([]byte(role)) // anonymous for refused requests
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, pgErr("audit entries", err)
	}
	return out, nil
}
