package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"riskmap/layers"
)

// handlerFunc is the form of every handler: it writes a response or
// returns an error for writeError.
type handlerFunc func(http.ResponseWriter, *http.Request) error

// apiError is the JSON body of every error response.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// handle adapts a handlerFunc, recovering panics into 500s.
func (s *server) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				s.log.ErrorContext(r.Context(), "panic in handler", "path", r.URL.Path, "panic", fmt.Sprint(p))
				s.writeError(w, r, errors.New("panic"))
			}
		}()
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// status maps an error to an HTTP status and a code; the message of
// client errors is ours and safe to show, that of server errors is not.
func status(err error) (int, string) {
	var ve *layers.ValidationError
	switch {
	case errors.As(err, &ve), errors.Is(err, layers.ErrInvalid):
		return http.StatusBadRequest, "invalid"
	case errors.Is(err, layers.ErrUnknownLayer), errors.Is(err, layers.ErrNotFound):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, layers.ErrConflict):
		return http.StatusConflict, "conflict"
	case errors.Is(err, errTooLarge):
		return http.StatusRequestEntityTooLarge, "too_large"
	case errors.Is(err, layers.ErrUnavailable):
		return http.StatusServiceUnavailable, "unavailable"
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, "timeout"
	}
	return http.StatusInternalServerError, "internal"
}

var errTooLarge = errors.New("request body too large")

func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return // the client went away
	}
	code, name := status(err)
	msg := err.Error()
	switch {
	case code >= 500 && code != http.StatusServiceUnavailable && code != http.StatusGatewayTimeout:
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "internal error"
	case code == http.StatusServiceUnavailable:
		s.log.WarnContext(r.Context(), "store unavailable", "path", r.URL.Path, "err", err)
		msg = "the data store is unavailable; try again shortly"
		w.Header().Set("Retry-After", "5")
	case code == http.StatusGatewayTimeout:
		msg = "the request took too long"
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(apiError{Code: name, Message: msg})
}

// badRequest makes a client error with a message.
func badRequest(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{layers.ErrInvalid}, a...)...)
}

func writeJSON(w http.ResponseWriter, contentType string, v any) error {
	w.Header().Set("Content-Type", contentType)
	enc := json.NewEncoder(w)
	return enc.Encode(v)
}
