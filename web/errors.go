package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"

	"riskmap/auth"
	"riskmap/importers"
	"riskmap/layers"
	"riskmap/ledger"
)

// handlerFunc is the form of every handler: it writes a response or
// returns an error for writeError.
type handlerFunc func(http.ResponseWriter, *http.Request) error

// apiError is the JSON body of every error response.
type apiError struct {
	Code    string   `json:"code"`
	Message string   `json:"message"`
	Error   string   `json:"error"`             // the message again, under the name the contracts use
	Allowed []string `json:"allowed,omitempty"` // 409 of a hazard transition: the states it may move to
}

// trackWriter remembers whether the response has started, so that an
// error after the first byte is not written into a 200 body.
type trackWriter struct {
	http.ResponseWriter
	started bool
}

func (w *trackWriter) WriteHeader(code int) {
	w.started = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *trackWriter) Write(b []byte) (int, error) {
	w.started = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *trackWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// handle adapts a handlerFunc: errors go to writeError, panics become a
// 500 (logged with the stack, never sent). An error or panic after the
// response has started aborts the connection, so a client sees a broken
// transfer rather than a truncated document with status 200.
func (s *server) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w := &trackWriter{ResponseWriter: rw}
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.log.ErrorContext(r.Context(), "panic in handler", "method", r.Method, "path", r.URL.Path,
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if w.started {
				panic(http.ErrAbortHandler)
			}
			s.writeError(w, r, errors.New("panic"))
		}()
		if err := h(w, r); err != nil {
			if w.started {
				if r.Context().Err() == nil {
					s.log.ErrorContext(r.Context(), "response failed after it started", "method", r.Method, "path", r.URL.Path, "err", err)
				}
				panic(http.ErrAbortHandler)
			}
			s.writeError(w, r, err)
		}
	})
}

// status maps an error to an HTTP status and a code. It is the only place
// that knows which error means which status.
func status(err error) (int, string) {
	var ve *layers.ValidationError
	var mbe *http.MaxBytesError
	var te *ledger.TransitionError
	var re *importers.RecordError
	switch {
	case errors.Is(err, auth.ErrUnauthenticated):
		return http.StatusUnauthorized, "unauthorized"
	case errors.Is(err, auth.ErrForbidden):
		return http.StatusForbidden, "forbidden"
	case errors.Is(err, errRateLimited):
		return http.StatusTooManyRequests, "rate_limited"
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, "too_large"
	case errors.As(err, &te):
		return http.StatusConflict, "illegal_transition"
	case errors.As(err, &re), errors.Is(err, importers.ErrSyntax):
		return http.StatusBadRequest, "invalid"
	case errors.As(err, &ve), errors.Is(err, layers.ErrInvalid):
		return http.StatusBadRequest, "invalid"
	case errors.Is(err, layers.ErrUnknownLayer), errors.Is(err, layers.ErrNotFound):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, errMethod):
		return http.StatusMethodNotAllowed, "method_not_allowed"
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

var (
	errTooLarge = errors.New("request body too large")
	errMethod   = errors.New("method not allowed")
)

// writeError writes the JSON error body. Client errors (4xx) carry the
// error's own message, which the code that made them worded for users;
// server errors carry a fixed message and the error is logged once.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return // the client went away
	}
	code, name := status(err)
	msg := err.Error()
	switch code {
	case http.StatusServiceUnavailable:
		s.log.WarnContext(r.Context(), "store unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "the data store is unavailable; try again shortly"
		w.Header().Set("Retry-After", "5")
	case http.StatusGatewayTimeout:
		s.log.WarnContext(r.Context(), "request timed out", "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "the request took too long"
	case http.StatusInternalServerError:
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "internal error"
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="riskmap"`)
	case http.StatusTooManyRequests:
		if re := (*rateError)(nil); errors.As(err, &re) {
			w.Header().Set("Retry-After", re.retryAfter())
		}
	}
	body := apiError{Code: name, Message: msg, Error: msg}
	if te := (*ledger.TransitionError)(nil); errors.As(err, &te) {
		body.Allowed = te.Allowed
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Del("Content-Disposition")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}

// badRequest makes a client error with a message.
func badRequest(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{layers.ErrInvalid}, a...)...)
}

// writeJSON writes v with a content type and a Cache-Control header
// ("" leaves it unset).
func writeJSON(w http.ResponseWriter, contentType, cache string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", contentType)
	if cache != "" {
		w.Header().Set("Cache-Control", cache)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
