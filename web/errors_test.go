package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"riskmap/auth"
	"riskmap/importers"
	"riskmap/layers"
	"riskmap/ledger"
)

func TestStatus(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("loading: %w", err) }
	tests := []struct {
		err  error
		code int
		name string
	}{
		{badRequest("limit must be …"), http.StatusBadRequest, "invalid"},
		{wrap(&layers.ValidationError{Layer: "towns", Field: "kind", Reason: "bad"}), http.StatusBadRequest, "invalid"},
		{wrap(layers.ErrUnknownLayer), http.StatusNotFound, "not_found"},
		{wrap(layers.ErrNotFound), http.StatusNotFound, "not_found"},
		{wrap(layers.ErrConflict), http.StatusConflict, "conflict"},
		{wrap(errMethod), http.StatusMethodNotAllowed, "method_not_allowed"},
		{wrap(errTooLarge), http.StatusRequestEntityTooLarge, "too_large"},
		{errors.Join(layers.ErrUnavailable, errors.New("dial tcp")), http.StatusServiceUnavailable, "unavailable"},
		{wrap(context.DeadlineExceeded), http.StatusGatewayTimeout, "timeout"},
		{errors.New(`ERROR: relation "towns" does not exist`), http.StatusInternalServerError, "internal"},
		{wrap(auth.ErrUnauthenticated), http.StatusUnauthorized, "unauthorized"},
		{wrap(auth.ErrForbidden), http.StatusForbidden, "forbidden"},
		{&rateError{wait: time.Second}, http.StatusTooManyRequests, "rate_limited"},
		{wrap(&http.MaxBytesError{Limit: 10}), http.StatusRequestEntityTooLarge, "too_large"},
		{wrap(&ledger.TransitionError{From: "reported", To: "closed"}), http.StatusConflict, "illegal_transition"},
		{&importers.RecordError{Where: "a.csv line 3", Field: "id", Err: errors.New("id x is not a number")}, http.StatusBadRequest, "invalid"},
		{fmt.Errorf("a.geojson: %w: unexpected EOF", importers.ErrSyntax), http.StatusBadRequest, "invalid"},
	}
	for _, tt := range tests {
		code, name := status(tt.err)
		if code != tt.code || name != tt.name {
			t.Errorf("status(%v) = %d %s, want %d %s", tt.err, code, name, tt.code, tt.name)
		}
	}
}
