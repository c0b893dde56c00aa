package web

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"
	"golang.org/x/time/rate"

	"riskmap/auth"
	"riskmap/layers"
)

// Access control. Every route the router matches passes through guard:
//   - a Bearer token is resolved to an identity on every request (no
//     cache: a revoked token fails at once); a bad token is a 401;
//   - a write (any method but GET and HEAD) needs the editor role unless
//     the route asks for more (s.roles); reads are public, or need a
//     viewer token with Deps.Private;
//   - a route naming a sensitive layer ({id} or {ids}) needs a viewer
//     token, whatever Private says;
//   - writes are bounded in body size and rate (per token, else per IP)
//     and every write, refused or not, goes to the audit log.
//
// So a write route added later is protected without being listed here.

type ctxKey int

const (
	identityKey ctxKey = iota
	auditKey
)

// Defaults of the limits in Deps.
const (
	defaultMaxBody    = 1 << 20   // JSON bodies of writes
	defaultMaxUpload  = 256 << 20 // import uploads
	defaultWriteRate  = 5         // writes per second per token or IP…
	defaultWriteBurst = 20        // …with bursts of this many
)

// publicPaths stay readable without a token in a private deployment: the
// page itself (it asks for the token), its files and the health check.
var publicPaths = []string{"/", "/static/", "/healthz", "/api/whoami"}

var errRateLimited = errors.New("too many writes")

// varPattern is the pattern part of a route variable, left out of the
// route templates in messages and the audit log.
var varPattern = regexp.MustCompile(`:[^}]*}`)

// identity returns who made the request (Anonymous when no token).
func identity(r *http.Request) auth.Identity {
	id, _ := r.Context().Value(identityKey).(auth.Identity)
	return id
}

// canSee reports whether the request may read layer l.
func canSee(r *http.Request, l *layers.Layer) bool {
	return !l.Sensitive || identity(r).Can(auth.Viewer)
}

// auditNote is filled by a write handler with what it wrote.
type auditNote struct {
	layer string
	ids   []int64
}

// noteWrite records the layer and feature ids a write touched, for the
// audit log.
func noteWrite(r *http.Request, layer string, ids ...int64) {
	if n, ok := r.Context().Value(auditKey).(*auditNote); ok {
		n.layer = layer
		n.ids = append(n.ids, ids...)
	}
}

// required is the role a route needs.
func (s *server) required(r *http.Request, tmpl string) auth.Role {
	if role, ok := s.roles[r.Method+" "+tmpl]; ok {
		return role
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return auth.Editor
	}
	if s.Private && !slices.Contains(publicPaths, tmpl) {
		return auth.Viewer
	}
	return auth.Anonymous
}

// authenticate resolves the Authorization header.
func (s *server) authenticate(r *http.Request) (auth.Identity, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return auth.Identity{}, nil
	}
	scheme, secret, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return auth.Identity{}, fmt.Errorf("%w: the Authorization header must be \"Bearer <token>\"", auth.ErrUnauthenticated)
	}
	if s.Auth == nil {
		return auth.Identity{}, fmt.Errorf("%w: this server has no token store", auth.ErrUnauthenticated)
	}
	return auth.Authenticate(r.Context(), s.Auth, strings.TrimSpace(secret))
}

// sensitiveIn returns the first sensitive layer a route's variables name.
func (s *server) sensitiveIn(r *http.Request) *layers.Layer {
	v := mux.Vars(r)
	names := strings.Split(v["ids"], ",")
	names = append(names, v["id"])
	for _, n := range names {
		if l, err := s.Catalog.Layer(strings.TrimPrefix(n, "h3:")); err == nil && l.Sensitive {
			return l
		}
	}
	return nil
}

// guard is the router's middleware; see the comment at the top.
func (s *server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tmpl := r.URL.Path
		if cr := mux.CurrentRoute(r); cr != nil {
			if t, err := cr.GetPathTemplate(); err == nil {
				tmpl = varPattern.ReplaceAllString(t, "}") // {id:[0-9]+} → {id}
			}
		}
		w.Header().Add("Vary", "Authorization")
		write := r.Method != http.MethodGet && r.Method != http.MethodHead
		var note *auditNote
		if write {
			note = &auditNote{}
			r = r.WithContext(context.WithValue(r.Context(), auditKey, note))
			sw := &statusWriter{ResponseWriter: w}
			w = sw
			start := time.Now()
			defer func() { s.audit(r, tmpl, note, sw, start) }()
		}
		id, err := s.authenticate(r)
		if err == nil {
			r = r.WithContext(context.WithValue(r.Context(), identityKey, id))
			err = s.authorize(r, tmpl, id)
		}
		if err == nil && write {
			err = s.limit(r, id)
		}
		if err != nil {
			if note != nil {
				note.layer = s.routeLayer(r)
			}
			s.writeError(w, r, err)
			return
		}
		if id.Role != auth.Anonymous || s.Private {
			// an answer that depends on the token is no shared cache's business
			w = &privateWriter{ResponseWriter: w}
		}
		if write {
			max := s.MaxBody
			if strings.HasSuffix(tmpl, "/import") {
				max = s.MaxUpload
			}
			r.Body = http.MaxBytesReader(w, r.Body, max)
		}
		next.ServeHTTP(w, r)
	})
}

// authorize checks the identity against what the route and its layers
// need: 401 for a request without a token, 403 for a role too low.
func (s *server) authorize(r *http.Request, tmpl string, id auth.Identity) error {
	need := s.required(r, tmpl)
	what := fmt.Sprintf("%s %s", r.Method, tmpl)
	if l := s.sensitiveIn(r); l != nil && need < auth.Viewer {
		need, what = auth.Viewer, fmt.Sprintf("layer %s (sensitive)", l.ID)
	}
	switch {
	case id.Can(need):
		return nil
	case id.Role == auth.Anonymous:
		return fmt.Errorf("%w: %s needs a token with the %s role (Authorization: Bearer <token>)", auth.ErrUnauthenticated, what, need)
	}
	return fmt.Errorf("%w: %s needs the %s role; token %q has %s", auth.ErrForbidden, what, need, id.Name, id.Role)
}

// routeLayer is the layer a write route names, for the audit log.
func (s *server) routeLayer(r *http.Request) string {
	if strings.HasPrefix(r.URL.Path, "/api/hazards") {
		return layers.Hazards
	}
	if l, err := s.Catalog.Layer(mux.Vars(r)["id"]); err == nil {
		return l.ID
	}
	return ""
}

// remoteIP is the client's address without the port. X-Forwarded-For is
// not trusted: a proxy in front should rate-limit itself.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limiter is a token bucket per token name or client IP.
type limiter struct {
	rate  rate.Limit
	burst int
	mu    sync.Mutex
	by    map[string]*rate.Limiter
}

func (l *limiter) allow(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.by) > 10000 { // bounded memory: forget everyone now and then
		clear(l.by)
	}
	b := l.by[key]
	if b == nil {
		b = rate.NewLimiter(l.rate, l.burst)
		l.by[key] = b
	}
	res := b.Reserve()
	if d := res.Delay(); d > 0 {
		res.Cancel()
		return false, d
	}
	return true, 0
}

// limit applies the write rate limit.
func (s *server) limit(r *http.Request, id auth.Identity) error {
	key := "ip:" + remoteIP(r)
	if id.Name != "" {
		key = "token:" + id.Name
	}
	if ok, wait := s.writes.allow(key); !ok {
		return &rateError{wait: wait}
	}
	return nil
}

// rateError says how long to wait; it unwraps to errRateLimited.
type rateError struct{ wait time.Duration }

func (e *rateError) Error() string {
	return fmt.Sprintf("too many writes; retry in %s", e.wait.Round(time.Millisecond))
}
func (e *rateError) Unwrap() error { return errRateLimited }

// retryAfter is the Retry-After header of a rate-limited request.
func (e *rateError) retryAfter() string {
	return strconv.Itoa(int(e.wait.Seconds()) + 1)
}

// statusWriter remembers the status for the audit log.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// cors answers preflights and adds the CORS headers for the configured
// origins; with none configured it does nothing (same-origin only).
func (s *server) cors(w http.ResponseWriter, r *http.Request) (done bool) {
	origin := r.Header.Get("Origin")
	if origin == "" || len(s.CORSOrigins) == 0 {
		return false
	}
	if !slices.Contains(s.CORSOrigins, "*") && !slices.Contains(s.CORSOrigins, origin) {
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		h.Set("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, PATCH, DELETE")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	return false
}

// whoami answers who the token belongs to.
func (s *server) whoami(w http.ResponseWriter, r *http.Request) error {
	id := identity(r)
	if id.Role == auth.Anonymous {
		return fmt.Errorf("%w: no token given", auth.ErrUnauthenticated)
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, "application/json", "", map[string]any{"name": id.Name, "role": id.Role})
}

// newServer fills the defaults of the limits.
func newServer(d Deps) *server {
	if d.MaxBody == 0 {
		d.MaxBody = defaultMaxBody
	}
	if d.MaxUpload == 0 {
		d.MaxUpload = defaultMaxUpload
	}
	if d.WriteRate == 0 {
		d.WriteRate = defaultWriteRate
	}
	if d.WriteBurst == 0 {
		d.WriteBurst = defaultWriteBurst
	}
	if d.ImportTimeout == 0 {
		d.ImportTimeout = 10 * time.Minute
	}
	return &server{Deps: d, log: d.Log, roles: map[string]auth.Role{},
		writes: &limiter{rate: d.WriteRate, burst: d.WriteBurst, by: map[string]*rate.Limiter{}}}
}

// authRoutes adds the routes of this file, the ledger's and the import.
func (s *server) authRoutes(r *mux.Router) {
	r.Handle("/api/whoami", s.handle(s.whoami)).Methods(http.MethodGet, http.MethodHead)
	if s.Auth != nil {
		r.Handle("/api/audit", s.handle(s.auditEntries)).Methods(http.MethodGet, http.MethodHead)
		s.roles["GET /api/audit"] = auth.Admin
		s.roles["HEAD /api/audit"] = auth.Admin
		s.tokenRoutes(r)
	}
	if s.Ledger != nil {
		s.hazardRoutes(r)
	}
	r.Handle("/api/collections/{id}/import", s.handle(s.importFile)).Methods(http.MethodPost)
}

// privateWriter turns Cache-Control "public" into "private" when the
// headers are written.
type privateWriter struct {
	http.ResponseWriter
	done bool
}

func (w *privateWriter) fix() {
	if w.done {
		return
	}
	w.done = true
	h := w.Header()
	if cc := h.Get("Cache-Control"); strings.Contains(cc, "public") {
		h.Set("Cache-Control", strings.Replace(cc, "public", "private", 1))
	}
}

func (w *privateWriter) WriteHeader(code int) {
	w.fix()
	w.ResponseWriter.WriteHeader(code)
}

func (w *privateWriter) Write(b []byte) (int, error) {
	w.fix()
	return w.ResponseWriter.Write(b)
}

func (w *privateWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// allowedMethods lists the methods some route takes on the request's path,
// for a 405's Allow header and message.
func allowedMethods(router *mux.Router, r *http.Request) []string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		var match mux.RouteMatch
		if router.Match(probe, &match) && match.MatchErr == nil {
			out = append(out, m)
		}
	}
	return out
}
