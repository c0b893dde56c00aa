package web

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"riskmap/auth"
)

// audit appends one write to the audit log. A failure to record is logged
// (the write itself has happened and is not undone).
func (s *server) audit(r *http.Request, tmpl string, note *auditNote, w *statusWriter, start time.Time) {
	if s.Auth == nil {
		return
	}
	code := w.code
	if code == 0 {
		code = http.StatusOK
	}
	outcome := "ok"
	if code >= 400 {
		outcome = http.StatusText(code)
	}
	id := identity(r)
	e := auth.AuditEntry{At: start.UTC(), Who: id.Name, Role: id.Role, Method: r.Method, Route: tmpl, Path: r.URL.Path,
		Layer: note.layer, IDs: note.ids, Status: code, Outcome: outcome, Remote: remoteIP(r)}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	if err := s.Auth.Append(ctx, e); err != nil {
		s.log.ErrorContext(ctx, "audit log append failed", "route", tmpl, "who", id.Name, "err", err)
	}
}

// auditEntries serves GET /api/audit (admin): newest first, ?limit=
// (1..1000, default 100) and ?before= (RFC 3339) to page back.
func (s *server) auditEntries(w http.ResponseWriter, r *http.Request) error {
	limit := 100
	var before time.Time
	for key, vals := range r.URL.Query() {
		switch key {
		case "limit":
			n, err := strconv.Atoi(vals[0])
			if err != nil || n < 1 || n > 1000 {
				return badRequest("limit must be an integer from 1 to 1000, got %q", vals[0])
			}
			limit = n
		case "before":
			t, err := time.Parse(time.RFC3339Nano, vals[0])
			if err != nil {
				return badRequest("before must be an RFC 3339 time, got %q", vals[0])
			}
			before = t
		default:
			return badRequest("unknown parameter %q: the audit log takes limit and before", key)
		}
	}
	es, err := s.Auth.Entries(r.Context(), before, limit)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, "application/json", "", map[string]any{"entries": es})
}
