package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/layers"
	"riskmap/layers/analysis"
	"riskmap/layers/memstore"
	"riskmap/web"
)

// newServer serves a small hand-made district over memstore.
func newServer(t *testing.T) (*httptest.Server, layers.Store) {
	t.Helper()
	ctx := context.Background()
	st := layers.Observe(memstore.New())
	var hs []layers.Feature
	for i := range 250 {
		status := "in_service"
		if i%10 == 0 {
			status = "faulty"
		}
		hs = append(hs, layers.Feature{Layer: layers.WaterSources, ID: int64(i + 1),
			Geometry: orb.Point{106.50 + float64(i%50)*0.001, 29.38 + float64(i/50)*0.001},
			Props:    map[string]any{"kind": "hydrant", "status": status, "flow_lps": float64(10 + i%7)}})
	}
	if err := st.Upsert(ctx, layers.WaterSources, hs); err != nil {
		t.Fatal(err)
	}
	cat := layers.NewCatalog()
	e, err := analysis.New(cat, analysis.DefaultRules(), analysis.NewWater())
	if err != nil {
		t.Fatal(err)
	}
	e.Attach(st, nil)
	if err := e.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(web.New(web.Deps{Store: st, Catalog: cat, Analyses: e}))
	t.Cleanup(srv.Close)
	return srv, st
}

func get(t *testing.T, u string, v any) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("%s: %v", u, err)
		}
	}
	return resp.StatusCode
}

func TestRoutes(t *testing.T) {
	srv, _ := newServer(t)
	var health map[string]string
	if c := get(t, srv.URL+"/healthz", &health); c != 200 || health["store"] != "memory" || health["status"] != "ok" {
		t.Errorf("healthz %d %v", c, health)
	}
	var cols struct {
		Collections []struct {
			ID    string `json:"id"`
			Count int    `json:"feature_count"`
		}
	}
	if c := get(t, srv.URL+"/api/collections", &cols); c != 200 || len(cols.Collections) != 16 {
		t.Fatalf("collections %d: %d", c, len(cols.Collections))
	}
	var fc struct {
		Features []struct {
			ID         int64          `json:"id"`
			Properties map[string]any `json:"properties"`
		}
		NumberMatched, NumberReturned int
	}
	if c := get(t, srv.URL+"/api/collections/water_sources/items?status=faulty&limit=5", &fc); c != 200 ||
		fc.NumberMatched != 25 || fc.NumberReturned != 5 || fc.Features[0].Properties["status"] != "faulty" {
		t.Errorf("filtered items %d %+v", c, fc)
	}
	var one map[string]any
	if c := get(t, srv.URL+"/api/collections/water_sources/items/7", &one); c != 200 || one["id"].(float64) != 7 {
		t.Errorf("item %d %v", c, one)
	}
	var an map[string]any
	if c := get(t, srv.URL+"/api/analyses/water-coverage?exclude=1,2", &an); c != 200 || an["what_if"] != true {
		t.Errorf("analysis %d %v", c, an["what_if"])
	}
}

// TestAnalysisErrors: the analysis routes' refusals (the feature routes'
// are in TestErrorPaths).
func TestAnalysisErrors(t *testing.T) {
	srv, _ := newServer(t)
	tests := []struct {
		path   string
		status int
		has    string
	}{
		{"/api/analyses/water-coverage?town=nowhere", 400, "unknown town"},
		{"/api/analyses/water-coverage?exclude=x", 400, "exclude"},
		{"/api/analyses/water-coverage?status=broken", 400, "status"},
		{"/api/analyses/water-coverage?limit=-1", 400, "limit"},
		{"/api/analyses/water-coverage?colour=red", 400, "unknown parameter"},
		{"/api/analyses/water-coverage?bbox=100,20,110,30", 400, "square degrees"},
		{"/api/analyses/nope", 404, "analysis"},
	}
	for _, tt := range tests {
		var body struct{ Code, Message string }
		c := get(t, srv.URL+tt.path, &body)
		if c != tt.status || !strings.Contains(body.Message, tt.has) {
			t.Errorf("%s: %d %+v, want %d with %q", tt.path, c, body, tt.status, tt.has)
		}
	}
}

// TestPaging follows next links through a whole layer: every feature
// exactly once.
func TestPaging(t *testing.T) {
	srv, _ := newServer(t)
	seen := map[int64]int{}
	next := srv.URL + "/api/collections/water_sources/items?limit=37"
	for pages := 0; next != ""; pages++ {
		if pages > 20 {
			t.Fatal("too many pages")
		}
		var fc struct {
			Features []struct{ ID int64 }
			Links    []struct{ Href, Rel string }
		}
		if c := get(t, next, &fc); c != 200 {
			t.Fatalf("%s: %d", next, c)
		}
		next = ""
		for _, f := range fc.Features {
			seen[f.ID]++
		}
		for _, l := range fc.Links {
			if l.Rel == "next" {
				u, err := url.Parse(l.Href)
				if err != nil {
					t.Fatal(err)
				}
				next = srv.URL + u.RequestURI()
			}
		}
	}
	if len(seen) != 250 {
		t.Errorf("paged %d features, want 250", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("feature %d seen %d times", id, n)
		}
	}
}

// unavailable is a store whose database is down.
type unavailable struct{ layers.Store }

func (unavailable) Ping(context.Context) error { return layers.ErrUnavailable }
func (unavailable) Kind() string               { return "postgis" }
func (unavailable) Count(context.Context, layers.Query) (int, error) {
	return 0, errors.Join(layers.ErrUnavailable, errors.New("dial tcp: connection refused"))
}

func TestUnavailable(t *testing.T) {
	srv := httptest.NewServer(web.New(web.Deps{Store: unavailable{memstore.New()}, Catalog: layers.NewCatalog()}))
	defer srv.Close()
	var h map[string]string
	if c := get(t, srv.URL+"/healthz", &h); c != 503 || h["store"] != "postgis" {
		t.Errorf("healthz %d %v", c, h)
	}
	resp, err := http.Get(srv.URL + "/api/collections/towns/items")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("items while down: %d retry-after %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}
