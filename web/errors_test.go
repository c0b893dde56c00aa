package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"riskmap/layers"
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
	}
	for _, tt := range tests {
		code, name := status(tt.err)
		if code != tt.code || name != tt.name {
			t.Errorf("status(%v) = %d %s, want %d %s", tt.err, code, name, tt.code, tt.name)
		}
	}
}
