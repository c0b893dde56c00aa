package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"riskmap/auth"
	"riskmap/layers"
	"riskmap/layers/memstore"
	"riskmap/layers/postgis"
	"riskmap/layers/postgis/pgtest"
	"riskmap/ledger"
	"riskmap/tiles"
	"riskmap/web"
)

// vulnerable is a sensitive test layer (the catalog has none yet): homes
// of people who need help to evacuate.
const vulnerable = "vulnerable_residents"

type authServer struct {
	srv    *httptest.Server
	store  *layers.Observed
	auth   auth.Store
	tokens map[auth.Role]string
	ledger *ledger.Ledger
}

// backend is where a test server keeps features, tokens and history.
type backend struct {
	store layers.Store
	auth  auth.Store
	hist  ledger.History
}

// testCatalog is the catalog with a sensitive test layer.
func testCatalog(t *testing.T) *layers.Catalog {
	cat := layers.NewCatalog()
	err := cat.Add(layers.Layer{ID: vulnerable, Title: layers.Title{Zh: "需协助疏散人员", En: "Vulnerable residents"},
		Geometry: []layers.GeomType{layers.Point}, MinZoom: 0, MaxZoom: 22, Sensitive: true,
		Fields: []layers.Field{{Name: "name", Type: layers.String, Title: layers.Title{Zh: "姓名", En: "Name"}}}})
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// newAuthServer serves hazards, water sources and a sensitive layer with
// tiles, a file token store and a token of every role, over memstore.
func newAuthServer(t *testing.T, d web.Deps) *authServer {
	t.Helper()
	as, err := auth.OpenFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { as.Close() })
	hist, err := ledger.OpenFileHistory(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hist.Close() })
	return serveBackend(t, d, testCatalog(t), backend{memstore.New(), as, hist})
}

// newPGAuthServer is newAuthServer over PostGIS: features, tokens, audit
// and history in a fresh database.
func newPGAuthServer(t *testing.T, d web.Deps) *authServer {
	t.Helper()
	ctx := context.Background()
	url := pgtest.Database(t)
	cat := testCatalog(t)
	st, err := postgis.Open(ctx, url, cat)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return serveBackend(t, d, cat, backend{st, auth.NewPGStore(pool), ledger.NewPGHistory(pool)})
}

func serveBackend(t *testing.T, d web.Deps, cat *layers.Catalog, b backend) *authServer {
	t.Helper()
	ctx := context.Background()
	st := layers.Observe(b.store)
	p := orb.Point{106.52, 29.40}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.Upsert(ctx, vulnerable, []layers.Feature{{Layer: vulnerable, ID: 1, Geometry: p, Props: map[string]any{"name": "张某"}}}))
	must(st.Upsert(ctx, layers.WaterSources, []layers.Feature{{Layer: layers.WaterSources, ID: 1, Geometry: p,
		Props: map[string]any{"kind": "hydrant", "status": "in_service"}}}))
	lg, err := ledger.New(st, cat, b.hist)
	must(err)
	lg.SetClock(func() time.Time { return time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC) })
	tokens := map[auth.Role]string{}
	for _, r := range []auth.Role{auth.Viewer, auth.Editor, auth.Admin} {
		s, _, err := auth.Create(ctx, b.auth, r.String()+"-1", r, time.Now())
		must(err)
		tokens[r] = s
	}
	th := tiles.NewHandler(tiles.New(st, cat), nil)
	d.Store, d.Catalog, d.Auth, d.Ledger, d.Tiles = st, cat, b.auth, lg, th
	srv := httptest.NewServer(web.New(d))
	t.Cleanup(srv.Close)
	return &authServer{srv: srv, store: st, auth: b.auth, tokens: tokens, ledger: lg}
}

// do sends a request with an optional token and JSON body and decodes
// the JSON answer into v (if not nil).
func (a *authServer) do(t *testing.T, method, path string, role auth.Role, body string, v any) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, a.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if s := a.tokens[role]; s != "" {
		req.Header.Set("Authorization", "Bearer "+s)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if v != nil && len(b) > 0 {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp
}

// TestSensitiveLayers: absent from collections, items and tiles without
// a token; served with a viewer token.
func TestSensitiveLayers(t *testing.T) {
	forEachBackend(t, testSensitiveLayers)
}

func testSensitiveLayers(t *testing.T, a *authServer) {
	tl := maptile.At(orb.Point{106.52, 29.40}, 14)
	zxy := fmt.Sprintf("/%d/%d/%d.mvt", tl.Z, tl.X, tl.Y)
	paths := []string{
		"/api/collections/" + vulnerable,
		"/api/collections/" + vulnerable + "/items",
		"/api/collections/" + vulnerable + "/items/1",
		"/tiles/" + vulnerable + zxy,
		"/tiles/water_sources," + vulnerable + zxy,
		"/tiles/h3:" + vulnerable + zxy,
		"/tiles/" + vulnerable + ".json",
	}
	for _, p := range paths {
		if c := a.do(t, "GET", p, auth.Anonymous, "", nil).StatusCode; c != 401 {
			t.Errorf("anonymous %s: %d, want 401", p, c)
		}
		if c := a.do(t, "GET", p, auth.Viewer, "", nil).StatusCode; c != 200 {
			t.Errorf("viewer %s: %d", p, c)
		}
	}
	list := func(role auth.Role) []string {
		var cols struct{ Collections []struct{ ID string } }
		a.do(t, "GET", "/api/collections", role, "", &cols)
		var ids []string
		for _, c := range cols.Collections {
			ids = append(ids, c.ID)
		}
		return ids
	}
	if ids := strings.Join(list(auth.Anonymous), ","); strings.Contains(ids, vulnerable) || !strings.Contains(ids, "hazards") {
		t.Errorf("anonymous collections: %s", ids)
	}
	if ids := strings.Join(list(auth.Viewer), ","); !strings.Contains(ids, vulnerable) {
		t.Errorf("viewer collections: %s", ids)
	}
	// what a token sees is kept from shared caches
	if cc := a.do(t, "GET", "/api/collections", auth.Viewer, "", nil).Header.Get("Cache-Control"); !strings.HasPrefix(cc, "private") {
		t.Errorf("viewer's collections: Cache-Control %q", cc)
	}
	resp := a.do(t, "GET", "/api/collections", auth.Anonymous, "", nil)
	if cc := resp.Header.Get("Cache-Control"); !strings.HasPrefix(cc, "public") || !strings.Contains(resp.Header.Get("Vary"), "Authorization") {
		t.Errorf("anonymous collections: Cache-Control %q Vary %q", cc, resp.Header.Get("Vary"))
	}
	// the public layers stay public
	if c := a.do(t, "GET", "/tiles/water_sources"+zxy, auth.Anonymous, "", nil).StatusCode; c != 200 {
		t.Errorf("public tile: %d", c)
	}
}

func TestWhoamiAndRevocation(t *testing.T) {
	forEachBackend(t, testWhoamiAndRevocation)
}

func testWhoamiAndRevocation(t *testing.T, a *authServer) {
	var who map[string]string
	if c := a.do(t, "GET", "/api/whoami", auth.Editor, "", &who).StatusCode; c != 200 || who["name"] != "editor-1" || who["role"] != "editor" {
		t.Fatalf("whoami %d %v", c, who)
	}
	if c := a.do(t, "GET", "/api/whoami", auth.Anonymous, "", nil).StatusCode; c != 401 {
		t.Errorf("whoami without token: %d", c)
	}
	body := `{"type":"Feature","geometry":{"type":"Point","coordinates":[106.52,29.40]},"properties":{"category":"fire","title":"安全出口锁闭","town":"鱼洞街道"}}`
	if c := a.do(t, "POST", "/api/hazards", auth.Editor, body, nil).StatusCode; c != 201 {
		t.Fatalf("create: %d", c)
	}
	if _, err := a.auth.RevokeToken(context.Background(), "editor-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	// the very next request fails
	if c := a.do(t, "POST", "/api/hazards", auth.Editor, body, nil).StatusCode; c != 401 {
		t.Errorf("revoked token: %d, want 401", c)
	}
	if c := a.do(t, "GET", "/api/whoami", auth.Editor, "", nil).StatusCode; c != 401 {
		t.Errorf("revoked whoami: %d", c)
	}
}

func TestAuditEndpoint(t *testing.T) {
	forEachBackend(t, testAuditEndpoint)
}

func testAuditEndpoint(t *testing.T, a *authServer) {
	body := `{"type":"Feature","geometry":{"type":"Point","coordinates":[106.52,29.40]},"properties":{"category":"gas"}}`
	a.do(t, "POST", "/api/hazards", auth.Editor, body, nil)
	a.do(t, "POST", "/api/hazards", auth.Viewer, body, nil)
	for role, want := range map[auth.Role]int{auth.Anonymous: 401, auth.Viewer: 403, auth.Editor: 403, auth.Admin: 200} {
		if c := a.do(t, "GET", "/api/audit", role, "", nil).StatusCode; c != want {
			t.Errorf("audit as %v: %d, want %d", role, c, want)
		}
	}
	var log struct{ Entries []auth.AuditEntry }
	a.do(t, "GET", "/api/audit?limit=10", auth.Admin, "", &log)
	if len(log.Entries) != 2 {
		t.Fatalf("entries %+v", log.Entries)
	}
	refused, ok := log.Entries[0], log.Entries[1]
	if refused.Who != "viewer-1" || refused.Status != 403 || ok.Who != "editor-1" || ok.Status != 201 ||
		ok.Layer != layers.Hazards || len(ok.IDs) != 1 || ok.Route != "/api/hazards" || ok.Outcome != "ok" {
		t.Errorf("audit entries %+v", log.Entries)
	}
	if c := a.do(t, "GET", "/api/audit?limit=0", auth.Admin, "", nil).StatusCode; c != 400 {
		t.Errorf("limit=0: %d", c)
	}
}

func TestPrivateReads(t *testing.T) {
	a := newAuthServer(t, web.Deps{Private: true})
	for path, want := range map[string]int{"/api/collections": 401, "/api/collections/hazards/items": 401,
		"/tiles/water_sources/14/13040/6827.mvt": 401, "/healthz": 200, "/": 200, "/api/hazards/stats": 401} {
		if c := a.do(t, "GET", path, auth.Anonymous, "", nil).StatusCode; c != want {
			t.Errorf("private anonymous %s: %d, want %d", path, c, want)
		}
	}
	if c := a.do(t, "GET", "/api/collections", auth.Viewer, "", nil).StatusCode; c != 200 {
		t.Errorf("private viewer: %d", c)
	}
}

func TestLimits(t *testing.T) {
	a := newAuthServer(t, web.Deps{MaxBody: 200, WriteRate: 0.001, WriteBurst: 3})
	big := `{"type":"Feature","geometry":{"type":"Point","coordinates":[106.52,29.40]},"properties":{"category":"gas","description":"` +
		strings.Repeat("很长", 100) + `"}}`
	var e struct{ Code string }
	if c := a.do(t, "POST", "/api/hazards", auth.Editor, big, &e).StatusCode; c != 413 || e.Code != "too_large" {
		t.Errorf("big body: %d %v", c, e)
	}
	small := `{"type":"Feature","geometry":{"type":"Point","coordinates":[106.52,29.40]},"properties":{"category":"gas"}}`
	a.do(t, "POST", "/api/hazards", auth.Editor, small, nil)
	a.do(t, "POST", "/api/hazards", auth.Editor, small, nil)
	resp := a.do(t, "POST", "/api/hazards", auth.Editor, small, nil)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("4th write in the burst of 3: %d retry-after %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// per token: another token still writes
	if c := a.do(t, "POST", "/api/hazards", auth.Admin, small, nil).StatusCode; c != 201 {
		t.Errorf("another token: %d", c)
	}
}

func TestCORS(t *testing.T) {
	preflight := func(a *authServer, origin string) *http.Response {
		req, _ := http.NewRequest("OPTIONS", a.srv.URL+"/api/hazards", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	off := newAuthServer(t, web.Deps{})
	if r := preflight(off, "https://gis.example"); r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("CORS is on by default")
	}
	on := newAuthServer(t, web.Deps{CORSOrigins: []string{"https://gis.example"}})
	if r := preflight(on, "https://gis.example"); r.StatusCode != 204 || r.Header.Get("Access-Control-Allow-Origin") != "https://gis.example" ||
		!strings.Contains(r.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight %d %v", r.StatusCode, r.Header)
	}
	if r := preflight(on, "https://evil.example"); r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("CORS for an origin not listed")
	}
}

// forEachBackend runs a test on memstore and on PostGIS.
func forEachBackend(t *testing.T, test func(*testing.T, *authServer)) {
	t.Run("memstore", func(t *testing.T) { test(t, newAuthServer(t, web.Deps{})) })
	t.Run("postgis", func(t *testing.T) { test(t, newPGAuthServer(t, web.Deps{})) })
}

// TestTokensAPI: an admin makes, lists and revokes tokens over HTTP; the
// secret shows once; nobody else may.
func TestTokensAPI(t *testing.T) {
	a := newAuthServer(t, web.Deps{})
	for role, want := range map[auth.Role]int{auth.Anonymous: 401, auth.Viewer: 403, auth.Editor: 403} {
		if c := a.do(t, "POST", "/api/tokens", role, `{"name":"x","role":"admin"}`, nil).StatusCode; c != want {
			t.Errorf("create as %v: %d, want %d", role, c, want)
		}
		if c := a.do(t, "GET", "/api/tokens", role, "", nil).StatusCode; c != want {
			t.Errorf("list as %v: %d, want %d", role, c, want)
		}
	}
	var made struct{ ID, Name, Role, Token string }
	if c := a.do(t, "POST", "/api/tokens", auth.Admin, `{"name":"field-team","role":"editor"}`, &made).StatusCode; c != 201 ||
		!strings.HasPrefix(made.Token, auth.Prefix) || made.Role != "editor" {
		t.Fatalf("create %d %+v", c, made)
	}
	if c := a.do(t, "POST", "/api/tokens", auth.Admin, `{"name":"field-team","role":"viewer"}`, nil).StatusCode; c != 409 {
		t.Errorf("same name again: %d", c)
	}
	if c := a.do(t, "POST", "/api/tokens", auth.Admin, `{"name":"x","role":"root"}`, nil).StatusCode; c != 400 {
		t.Errorf("bad role: %d", c)
	}
	a.tokens[auth.Role(9)] = made.Token
	var who map[string]string
	if c := a.do(t, "GET", "/api/whoami", auth.Role(9), "", &who).StatusCode; c != 200 || who["name"] != "field-team" {
		t.Errorf("new token: %d %v", c, who)
	}
	var list struct{ Tokens []map[string]any }
	a.do(t, "GET", "/api/tokens", auth.Admin, "", &list)
	if len(list.Tokens) != 4 {
		t.Errorf("tokens %v", list.Tokens)
	}
	for _, tk := range list.Tokens {
		if tk["token"] != nil || tk["hash"] != nil {
			t.Errorf("list shows a secret or hash: %v", tk)
		}
	}
	if c := a.do(t, "DELETE", "/api/tokens/"+made.ID, auth.Admin, "", nil).StatusCode; c != 200 {
		t.Errorf("revoke: %d", c)
	}
	if c := a.do(t, "GET", "/api/whoami", auth.Role(9), "", nil).StatusCode; c != 401 {
		t.Errorf("revoked token: %d", c)
	}
	if c := a.do(t, "DELETE", "/api/tokens/nobody", auth.Admin, "", nil).StatusCode; c != 404 {
		t.Errorf("revoke unknown: %d", c)
	}
}
