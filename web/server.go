package web

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"golang.org/x/time/rate"

	"riskmap/auth"
	"riskmap/dispatch"
	"riskmap/layers"
	"riskmap/layers/analysis"
	"riskmap/ledger"
)

// TileServer serves vector tiles, TileJSON and H3 cells (tiles.Handler).
type TileServer interface {
	Tile(w http.ResponseWriter, r *http.Request, ids, z, x, y string) error
	TileJSON(w http.ResponseWriter, r *http.Request, ids string) error
	H3(w http.ResponseWriter, r *http.Request, id string) error
}

// Deps are what the routes serve from.
type Deps struct {
	Store    layers.Store
	Catalog  *layers.Catalog
	Analyses *analysis.Engine // nil: no analysis routes
	Tiles    TileServer       // nil: no tile routes
	Log      *slog.Logger
	Timeout  time.Duration // per request; 0 means 30 s

	// Access control and limits (auth.go).
	Auth          auth.Store     // tokens and the audit log; nil: every write is refused (401)
	Private       bool           // reads need a viewer token too (the page and /healthz stay public)
	CORSOrigins   []string       // origins allowed cross-origin ("*" for any); empty: CORS off
	MaxBody       int64          // bytes of a write's body; 0 means 1 MiB
	MaxUpload     int64          // bytes of an import upload; 0 means 256 MiB
	WriteRate     rate.Limit     // writes per second per token (or IP); 0 means 5
	WriteBurst    int            // burst of writes; 0 means 20
	Ledger        *ledger.Ledger // the hazard ledger; nil: no /api/hazards routes
	ImportTimeout time.Duration  // time limit of an import request; 0 means 10 min
}

type server struct {
	Deps
	log    *slog.Logger
	roles  map[string]auth.Role // "METHOD /template" → role, where not the default (auth.go)
	writes *limiter
	disp   *dispatch.Service
	counts *countCache // nil: count every time
}

//go:embed static
var static embed.FS

// New returns the HTTP handler with every route.
func New(d Deps) http.Handler {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Timeout == 0 {
		d.Timeout = 30 * time.Second
	}
	s := newServer(d)
	s.disp = dispatch.New(d.Store)
	if o, ok := d.Store.(*layers.Observed); ok {
		// dispatch keeps a road graph and station travel times; items
		// remember counts
		s.counts = newCountCache()
		o.Subscribe(func(_ context.Context, c layers.Change) {
			s.disp.Changed(c.Layer)
			s.counts.forget(c.Layer)
		})
	}
	return &root{s: s, router: s.routes()}
}

// routes registers every route.
func (s *server) routes() *mux.Router {
	d := s.Deps
	r := mux.NewRouter()
	get := func(path string, h handlerFunc) { r.Handle(path, s.handle(h)).Methods(http.MethodGet, http.MethodHead) }
	get("/healthz", s.health)
	get("/api", s.landing)
	get("/api/", s.landing)
	get("/api/conformance", s.conformance)
	get("/api/collections", s.collections)
	get("/api/collections/{id}", s.collection)
	get("/api/collections/{id}/items", s.items)
	get("/api/collections/{id}/items/{fid}", s.item)
	get("/api/collections/{id}/queryables", s.queryables)
	get("/api/openapi.json", s.openapi)
	get("/api/dispatch", s.dispatch)
	if d.Analyses != nil {
		get("/api/analyses", s.analyses)
		get("/api/analyses/{id}", s.analysis)
	}
	if d.Tiles != nil {
		get("/tiles/{ids}/{z}/{x}/{y}.mvt", func(w http.ResponseWriter, r *http.Request) error {
			v := mux.Vars(r)
			return d.Tiles.Tile(w, r, v["ids"], v["z"], v["x"], v["y"])
		})
		get("/tiles/{ids}.json", func(w http.ResponseWriter, r *http.Request) error {
			return d.Tiles.TileJSON(w, r, mux.Vars(r)["ids"])
		})
		get("/api/h3/{id}", func(w http.ResponseWriter, r *http.Request) error {
			return d.Tiles.H3(w, r, mux.Vars(r)["id"])
		})
	}
	s.authRoutes(r)
	// the map page: web/static, with MapLibre in static/vendor when
	// `make vendor` ran before the build (the page says so otherwise)
	sub, _ := fs.Sub(static, "static")
	files := staticFiles(http.FileServerFS(sub))
	r.Handle("/", files).Methods(http.MethodGet, http.MethodHead)
	r.PathPrefix("/static/").Handler(http.StripPrefix("/static", files)).Methods(http.MethodGet, http.MethodHead)
	r.NotFoundHandler = s.handle(func(http.ResponseWriter, *http.Request) error { return layers.ErrNotFound })
	router := r
	r.MethodNotAllowedHandler = s.handle(func(w http.ResponseWriter, r *http.Request) error {
		allowed := allowedMethods(router, r)
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		return fmt.Errorf("%w: %s on %s (only %s)", errMethod, r.Method, r.URL.Path, strings.Join(allowed, " and "))
	})
	r.Use(s.guard)
	return r
}

// root is the handler New returns: CORS, then the time limit, then the
// router.
type root struct {
	s      *server
	router *mux.Router
}

func (h *root) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if h.s.cors(w, req) {
		return
	}
	timeout := h.s.Timeout
	if strings.HasSuffix(req.URL.Path, "/import") {
		timeout = h.s.ImportTimeout
	}
	ctx, cancel := context.WithTimeout(req.Context(), timeout)
	defer cancel()
	h.router.ServeHTTP(w, req.WithContext(ctx))
}

// staticFiles sets the Cache-Control of the page's files: the vendored
// MapLibre changes only with package-lock.json, so browsers keep it an hour;
// the page's own files carry no validator (embedded files have no
// modification time), so they are fetched again each time and a new
// binary's page is seen at once.
func staticFiles(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/vendor/") {
			w.Header().Set("Cache-Control", "public, max-age=3600")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		h.ServeHTTP(w, r)
	})
}
