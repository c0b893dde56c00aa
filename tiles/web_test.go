package tiles_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"riskmap/layers"
	"riskmap/layers/memstore"
	"riskmap/tiles"
	"riskmap/web"
)

// TestWebRoutes serves the tile routes through the web package's router
// and error mapper, as riskmap serve does: statuses, headers, the TileJSON
// URL and the H3 endpoint.
func TestWebRoutes(t *testing.T) {
	st := memstore.New()
	p := orb.Point{106.534, 29.389}
	if err := st.Upsert(t.Context(), layers.WaterSources, []layers.Feature{{ID: 1, Geometry: p,
		Props: map[string]any{"kind": "hydrant", "status": "in_service"}}}); err != nil {
		t.Fatal(err)
	}
	cat := layers.NewCatalog()
	h := tiles.NewHandler(tiles.New(st, cat), tiles.NewCache(1<<20))
	srv := web.New(web.Deps{Store: st, Catalog: cat, Tiles: h})
	tl := maptile.At(p, 15)
	tile := "/tiles/water_sources/15/" + itoa(tl.X) + "/" + itoa(tl.Y) + ".mvt"
	cases := []struct {
		path string
		code int
		ct   string
	}{
		{tile, 200, tiles.ContentType},
		{"/tiles/water_sources/15/0/0.mvt", 204, ""},
		{"/tiles/water_sources/23/0/0.mvt", 400, ""},
		{"/tiles/water_sources/15/32768/0.mvt", 400, ""},
		{"/tiles/nope/15/0/0.mvt", 404, ""},
		{"/tiles/water_sources.json", 200, "application/json"},
		{"/tiles/nope.json", 404, ""},
		{"/api/h3/water_sources?res=9", 200, "application/geo+json"},
		{"/api/h3/water_sources?res=13", 400, ""},
	}
	for _, c := range cases {
		req := httptest.NewRequest(http.MethodGet, c.path, nil)
		req.Header.Set("X-Forwarded-Proto", "https")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != c.code {
			t.Errorf("%s: %d, want %d (%s)", c.path, rec.Code, c.code, strings.TrimSpace(rec.Body.String()))
		}
		if c.ct != "" && !strings.HasPrefix(rec.Header().Get("Content-Type"), c.ct) {
			t.Errorf("%s: Content-Type %q, want %q", c.path, rec.Header().Get("Content-Type"), c.ct)
		}
		if strings.HasSuffix(c.path, "water_sources.json") && !strings.Contains(rec.Body.String(), `"https://example.com/tiles/water_sources/{z}/{x}/{y}.mvt"`) {
			t.Errorf("TileJSON tiles URL: %s", rec.Body)
		}
	}
}

func itoa(n uint32) string { return strconv.FormatUint(uint64(n), 10) }
