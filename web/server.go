package web

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"riskmap/dispatch"
	"riskmap/layers"
	"riskmap/layers/analysis"
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
}

type server struct {
	Deps
	log    *slog.Logger
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
	s := &server{Deps: d, log: d.Log, disp: dispatch.New(d.Store)}
	if o, ok := d.Store.(*layers.Observed); ok {
		// dispatch keeps a road graph and station travel times; items
		// remember counts
		s.counts = newCountCache()
		o.Subscribe(func(_ context.Context, c layers.Change) {
			s.disp.Changed(c.Layer)
			s.counts.forget(c.Layer)
		})
	}
	return s.withTimeout(s.routes())
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
	sub, _ := fs.Sub(static, "static")
	files := http.FileServerFS(sub)
	r.Handle("/", files).Methods(http.MethodGet, http.MethodHead)
	r.PathPrefix("/static/").Handler(http.StripPrefix("/static", files)).Methods(http.MethodGet, http.MethodHead)
	r.NotFoundHandler = s.handle(func(http.ResponseWriter, *http.Request) error { return layers.ErrNotFound })
	r.MethodNotAllowedHandler = s.handle(func(w http.ResponseWriter, r *http.Request) error {
		return fmt.Errorf("%w: %s on %s (only GET and HEAD)", errMethod, r.Method, r.URL.Path)
	})
	return r
}

// withTimeout bounds each request by the server's timeout.
func (s *server) withTimeout(r http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		ctx, cancel := context.WithTimeout(req.Context(), s.Timeout)
		defer cancel()
		r.ServeHTTP(w, req.WithContext(ctx))
	})
}
