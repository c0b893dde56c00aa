package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"riskmap/layers"
	"riskmap/layers/memstore"
	"riskmap/web"
)

// TestStatic serves the map page and its modules from the embedded files.
func TestStatic(t *testing.T) {
	srv := httptest.NewServer(web.New(web.Deps{Store: memstore.New(), Catalog: layers.NewCatalog()}))
	defer srv.Close()
	for _, tc := range []struct {
		path, typ, body, cache string
	}{
		{"/", "text/html", `<script type="module" src="/static/js/app.js">`, "no-cache"},
		// MapLibre fetched and compiled alongside the page's modules
		{"/", "text/html", `<link rel="modulepreload" href="/static/vendor/maplibre-gl.mjs">`, "no-cache"},
		{"/static/js/app.js", "text/javascript", "import('../vendor/maplibre-gl.mjs')", "no-cache"},
		{"/static/js/i18n.js", "text/javascript", "巴南区安全风险一张图", "no-cache"},
		{"/static/app.css", "text/css", "#panel", "no-cache"},
	} {
		resp, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.typ) ||
			!strings.Contains(string(b), tc.body) || resp.Header.Get("Cache-Control") != tc.cache {
			t.Errorf("%s: %d %s %q, body has %q: %v", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"),
				resp.Header.Get("Cache-Control"), tc.body, strings.Contains(string(b), tc.body))
		}
	}
	// MapLibre is there when make vendor ran before the build; either way
	// the answer is the module or a 404, never the page
	resp, err := http.Get(srv.URL + "/static/vendor/maplibre-gl.mjs")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case 200:
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") || resp.Header.Get("Cache-Control") != "public, max-age=3600" {
			t.Errorf("maplibre-gl.mjs: %s, %s", ct, resp.Header.Get("Cache-Control"))
		}
	case 404:
		t.Log("web/static/vendor is empty: run make vendor before go build")
	default:
		t.Errorf("maplibre-gl.mjs: %d", resp.StatusCode)
	}
}
