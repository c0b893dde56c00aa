package auth

import (
	"context"
	"time"
)

// AuditEntry records one write request: who, when, what and the outcome.
type AuditEntry struct {
	At      time.Time `json:"at"`
	Who     string    `json:"who"` // token name; "" when no valid token was given
	Role    Role      `json:"role"`
	Method  string    `json:"method"`
	Route   string    `json:"route"` // the route template, e.g. /api/hazards/{id}/transitions
	Path    string    `json:"path"`
	Layer   string    `json:"layer,omitempty"`
	IDs     []int64   `json:"ids,omitempty"` // features written, where the handler says
	Status  int       `json:"status"`
	Outcome string    `json:"outcome"` // "ok", or the error's message
	Remote  string    `json:"remote,omitempty"`
}

// AuditLog is the append-only log of writes. Implementations: FileStore
// and PGStore.
type AuditLog interface {
	Append(ctx context.Context, e AuditEntry) error
	// Entries returns up to limit entries, newest first, older than
	// before when it is not zero.
	Entries(ctx context.Context, before time.Time, limit int) ([]AuditEntry, error)
}

// Store is where a deployment keeps tokens and its audit log.
type Store interface {
	TokenStore
	AuditLog
}
