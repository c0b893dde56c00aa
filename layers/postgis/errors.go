package postgis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"riskmap/layers"
)

// wrap names the operation and classifies err: failures to reach or keep a
// connection to the server wrap layers.ErrUnavailable, as do the server's
// own "cannot serve now" errors (shutdown, too many connections, recovery,
// read-only standby). A cancelled or expired caller context is returned
// as is (wrapped), not as unavailability, except by Ping.
func wrap(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() == nil && unavailable(err) || op == "ping" {
		return fmt.Errorf("postgis: %s: %w: %w", op, layers.ErrUnavailable, err)
	}
	return fmt.Errorf("postgis: %s: %w", op, err)
}

func unavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		code := pgErr.Code
		switch {
		case strings.HasPrefix(code, "08"), // connection exception
			strings.HasPrefix(code, "53"), // insufficient resources
			strings.HasPrefix(code, "57P"),
			code == "25006": // read-only transaction (a standby)
			return true
		}
		return false
	}
	var connErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &connErr), errors.As(err, &netErr),
		errors.Is(err, pgconn.ErrConnClosed),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		pgconn.Timeout(err):
		return true
	}
	// pgconn reports a connection lost mid-query as a plain error; it marks
	// it safe to retry only when nothing was sent.
	return pgconn.SafeToRetry(err) || strings.Contains(err.Error(), "conn closed")
}

// constraintError reports a constraint violation a retry cannot fix.
func constraintError(err error) (*pgconn.PgError, bool) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && strings.HasPrefix(pgErr.Code, "23") {
		return pgErr, true
	}
	return nil, false
}
