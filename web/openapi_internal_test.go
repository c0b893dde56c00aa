package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gorilla/mux"

	"riskmap/auth"
	"riskmap/layers"
	"riskmap/layers/analysis"
	"riskmap/layers/memstore"
	"riskmap/ledger"
)

type noTiles struct{}

func (noTiles) Tile(http.ResponseWriter, *http.Request, string, string, string, string) error {
	return layers.ErrNotFound
}
func (noTiles) TileJSON(http.ResponseWriter, *http.Request, string) error { return layers.ErrNotFound }
func (noTiles) H3(http.ResponseWriter, *http.Request, string) error       { return layers.ErrNotFound }

// TestOpenAPIMatchesRoutes walks the router: every route and method is in
// the OpenAPI document and every path and operation of the document is a
// route; the document is valid OpenAPI 3.0. Run with and without the
// optional parts (analyses, tiles, tokens, the hazard ledger).
func TestOpenAPIMatchesRoutes(t *testing.T) {
	cat := layers.NewCatalog()
	e, err := analysis.New(cat, analysis.DefaultRules(), analysis.NewWater())
	if err != nil {
		t.Fatal(err)
	}
	for _, full := range []bool{true, false} {
		st := memstore.New()
		d := Deps{Store: st, Catalog: cat}
		if full {
			d.Analyses, d.Tiles = e, noTiles{}
			as, err := auth.OpenFileStore(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer as.Close()
			hist, err := ledger.OpenFileHistory(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer hist.Close()
			lg, err := ledger.New(st, cat, hist)
			if err != nil {
				t.Fatal(err)
			}
			d.Auth, d.Ledger = as, lg
		}
		s := newServer(d)
		var routes []string // "METHOD /path/{}"
		err := s.routes().Walk(func(r *mux.Route, _ *mux.Router, _ []*mux.Route) error {
			tpl, err := r.GetPathTemplate()
			if err != nil {
				return err
			}
			switch tpl {
			case "/", "/static/": // the web page and its files
				return nil
			}
			methods, err := r.GetMethods()
			if err != nil {
				return fmt.Errorf("route %s takes any method", tpl)
			}
			for _, m := range methods {
				if m != http.MethodHead {
					routes = append(routes, m+" "+normalise(strings.TrimSuffix(tpl, "/")))
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(routes) < 10 {
			t.Fatalf("walked only %v", routes)
		}
		doc := s.openAPIDoc("http://riskmap.test")
		var paths []string
		for p, ops := range doc["paths"].(obj) {
			for m := range ops.(obj) {
				paths = append(paths, strings.ToUpper(m)+" "+normalise(p))
			}
		}
		slices.Sort(routes)
		routes = slices.Compact(routes)
		slices.Sort(paths)
		for _, r := range routes {
			if !slices.Contains(paths, r) {
				t.Errorf("route %s is not in openapi.json", r)
			}
		}
		for _, p := range paths {
			if !slices.Contains(routes, p) {
				t.Errorf("openapi.json operation %s is not a route (optional parts %v)", p, full)
			}
		}
		b, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		loaded, err := openapi3.NewLoader().LoadFromData(b)
		if err != nil {
			t.Fatal(err)
		}
		if err := loaded.Validate(context.Background()); err != nil {
			t.Errorf("openapi.json is not valid OpenAPI 3.0: %v", err)
		}
	}
}

var pathParam = regexp.MustCompile(`\{[^}]*\}`)

// normalise names every path parameter {} (the router says {id}, the
// document {collectionId}).
func normalise(p string) string { return pathParam.ReplaceAllString(p, "{}") }
