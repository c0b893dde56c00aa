package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"riskmap/auth"
	"riskmap/layers"
	"riskmap/layers/memstore"
	"riskmap/ledger"
)

// TestEveryWriteRouteNeedsEditor walks the router: every route with a
// method other than GET and HEAD refuses a request without a token (401)
// and one with a viewer token (403), and each refusal is audited. A write
// route added later is covered without editing this test.
func TestEveryWriteRouteNeedsEditor(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	cat := layers.NewCatalog()
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
	viewer, _, err := auth.Create(ctx, as, "viewer", auth.Viewer, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	h := New(Deps{Store: st, Catalog: cat, Auth: as, Ledger: lg, WriteBurst: 1000,
		Tiles: refuseTiles{t}}).(*root)

	type write struct{ method, path, tmpl string }
	var writes []write
	err = h.router.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tmpl, err := route.GetPathTemplate()
		if err != nil {
			return nil // a prefix-only route
		}
		methods, err := route.GetMethods()
		if err != nil {
			methods = []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} // any method
		}
		names, _ := route.GetVarNames()
		// each variable a layer id or a number, whichever the route's pattern accepts
		var pairs []string
		for combo := range 1 << len(names) {
			pairs = pairs[:0]
			for i, n := range names {
				v := layers.Hazards
				if combo&(1<<i) != 0 {
					v = "1"
				}
				pairs = append(pairs, n, v)
			}
			if _, err := route.URLPath(pairs...); err == nil {
				break
			}
		}
		u, err := route.URLPath(pairs...)
		if err != nil {
			t.Errorf("route %s: no URL: %v", tmpl, err)
			return nil
		}
		for _, m := range methods {
			if m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions {
				writes = append(writes, write{m, u.Path, tmpl})
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/api/hazards", "/api/hazards/{id:[0-9]+}/transitions", "/api/collections/{id}/import"} {
		if !slices.ContainsFunc(writes, func(w write) bool { return w.tmpl == want }) {
			t.Errorf("write route %s not found among %v", want, writes)
		}
	}
	for _, w := range writes {
		for _, tc := range []struct {
			token string
			code  int
		}{{"", 401}, {"rm_forged", 401}, {viewer, 403}} {
			req := httptest.NewRequest(w.method, w.path, strings.NewReader(`{"to":"assigned"}`))
			req.Header.Set("Content-Type", "application/json")
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.code {
				t.Errorf("%s %s with token %q: %d %s, want %d", w.method, w.path, tc.token, rec.Code, rec.Body, tc.code)
			}
			if tc.code == 401 && rec.Header().Get("WWW-Authenticate") == "" {
				t.Errorf("%s %s: 401 without WWW-Authenticate", w.method, w.path)
			}
		}
	}
	es, err := as.Entries(ctx, time.Time{}, 0)
	if err != nil || len(es) != 3*len(writes) {
		t.Fatalf("audit: %d entries for %d refused writes: %v", len(es), 3*len(writes), err)
	}
	if es[0].Who != "viewer" || es[0].Status != 403 || es[0].Route == "" {
		t.Errorf("audit entry %+v", es[0])
	}
	if n, _ := st.Count(ctx, layers.Query{Layer: layers.Hazards}); n != 0 {
		t.Errorf("a refused write wrote %d hazards", n)
	}
}

// refuseTiles fails the test if a tile is rendered.
type refuseTiles struct{ t *testing.T }

func (f refuseTiles) Tile(http.ResponseWriter, *http.Request, string, string, string, string) error {
	f.t.Error("tile rendered")
	return nil
}
func (f refuseTiles) TileJSON(http.ResponseWriter, *http.Request, string) error {
	f.t.Error("tilejson rendered")
	return nil
}
func (f refuseTiles) H3(http.ResponseWriter, *http.Request, string) error {
	f.t.Error("h3 rendered")
	return nil
}

// TestMethodNotAllowed: a 405 names the methods the path takes.
func TestMethodNotAllowed(t *testing.T) {
	st := memstore.New()
	cat := layers.NewCatalog()
	hist, err := ledger.OpenFileHistory(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer hist.Close()
	lg, _ := ledger.New(st, cat, hist)
	h := New(Deps{Store: st, Catalog: cat, Ledger: lg})
	for _, tc := range []struct{ method, path, allow string }{
		{"GET", "/api/hazards", "POST"},
		{"DELETE", "/api/collections/towns/items", "GET, HEAD"},
		{"PUT", "/api/hazards/3/transitions", "POST"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != 405 || rec.Header().Get("Allow") != tc.allow {
			t.Errorf("%s %s: %d Allow %q, want 405 %q: %s", tc.method, tc.path, rec.Code, rec.Header().Get("Allow"), tc.allow, rec.Body)
		}
	}
}
