package web

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gorilla/mux"

	"riskmap/layers"
	"riskmap/layers/analysis"
	"riskmap/layers/memstore"
)

type noTiles struct{}

func (noTiles) Tile(http.ResponseWriter, *http.Request, string, string, string, string) error {
	return layers.ErrNotFound
}
func (noTiles) TileJSON(http.ResponseWriter, *http.Request, string) error { return layers.ErrNotFound }
func (noTiles) H3(http.ResponseWriter, *http.Request, string) error       { return layers.ErrNotFound }

// TestOpenAPIMatchesRoutes walks the router: every route is in the
// OpenAPI document and every path of the document is a route; the
// document is valid OpenAPI 3.0.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	cat := layers.NewCatalog()
	e, err := analysis.New(cat, analysis.DefaultRules(), analysis.NewWater())
	if err != nil {
		t.Fatal(err)
	}
	for _, full := range []bool{true, false} {
		d := Deps{Store: memstore.New(), Catalog: cat}
		if full {
			d.Analyses, d.Tiles = e, noTiles{}
		}
		s := &server{Deps: d}
		var routes []string
		err := s.routes().Walk(func(r *mux.Route, _ *mux.Router, _ []*mux.Route) error {
			tpl, err := r.GetPathTemplate()
			if err != nil {
				return err
			}
			switch tpl {
			case "/", "/static/": // the web page and its files
				return nil
			}
			routes = append(routes, normalise(strings.TrimSuffix(tpl, "/")))
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
		for p := range doc["paths"].(obj) {
			paths = append(paths, normalise(p))
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
				t.Errorf("openapi.json path %s is not a route (analyses and tiles %v)", p, full)
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
