package tiles

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"riskmap/layers"
)

// testServer routes like the web package does and maps errors to status
// the same way (ErrInvalid 400, ErrUnknownLayer 404, else 500).
func testServer(h *Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var err error
		p := r.URL.Path
		switch {
		case strings.HasPrefix(p, "/api/h3/"):
			err = h.H3(w, r, strings.TrimPrefix(p, "/api/h3/"))
		case strings.HasPrefix(p, "/tiles/") && strings.HasSuffix(p, ".json"):
			err = h.TileJSON(w, r, strings.TrimSuffix(strings.TrimPrefix(p, "/tiles/"), ".json"))
		case strings.HasPrefix(p, "/tiles/"):
			seg := strings.Split(strings.TrimSuffix(strings.TrimPrefix(p, "/tiles/"), ".mvt"), "/")
			if len(seg) != 4 {
				http.NotFound(w, r)
				return
			}
			err = h.Tile(w, r, seg[0], seg[1], seg[2], seg[3])
		default:
			http.NotFound(w, r)
			return
		}
		switch {
		case err == nil:
		case errors.Is(err, layers.ErrInvalid):
			http.Error(w, err.Error(), http.StatusBadRequest)
		case errors.Is(err, layers.ErrUnknownLayer):
			http.Error(w, err.Error(), http.StatusNotFound)
		default:
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
}

func get(t testing.TB, h http.Handler, path string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func tilePath(ids string, t maptile.Tile) string {
	return fmt.Sprintf("/tiles/%s/%d/%d/%d.mvt", ids, t.Z, t.X, t.Y)
}

func TestHTTPTile(t *testing.T) {
	h := NewHandler(New(smallStore(t), layers.NewCatalog()), NewCache(1<<20))
	srv := testServer(h)
	path := tilePath("buildings,water_sources", tileAt(yudong, 15))

	rec := get(t, srv, path)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != ContentType {
		t.Fatalf("%s: %d %q %s", path, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	etag := rec.Header().Get("ETag")
	if etag == "" || !strings.Contains(rec.Header().Get("Cache-Control"), "max-age=60") || rec.Header().Get("Content-Encoding") != "" {
		t.Errorf("headers %v", rec.Header())
	}
	plain := rec.Body.Bytes()
	checkMVT(t, plain)

	rec = get(t, srv, path, "Accept-Encoding", "br, gzip;q=0.8")
	if rec.Header().Get("Content-Encoding") != "gzip" || rec.Header().Get("Vary") != "Accept-Encoding" {
		t.Fatalf("gzip not used: %v", rec.Header())
	}
	zr, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	unz, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(unz, plain) {
		t.Errorf("gzipped body differs from the plain one (%v)", err)
	}
	if gz := get(t, srv, path, "Accept-Encoding", "gzip;q=0"); gz.Header().Get("Content-Encoding") != "" {
		t.Error("gzip;q=0 must not be gzipped")
	}

	for _, inm := range []string{etag, `W/` + etag, rec.Header().Get("ETag"), `"x", ` + etag, "*"} {
		if rec := get(t, srv, path, "If-None-Match", inm); rec.Code != http.StatusNotModified || rec.Body.Len() != 0 || rec.Header().Get("ETag") == "" {
			t.Errorf("If-None-Match %s: %d", inm, rec.Code)
		}
	}
	if rec := get(t, srv, path, "If-None-Match", `"other"`); rec.Code != 200 {
		t.Errorf("stale If-None-Match: %d", rec.Code)
	}

	far := tilePath("buildings", tileAt(orb.Point{0, 0}, 15))
	if rec := get(t, srv, far); rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
		t.Errorf("empty tile: %d %d bytes", rec.Code, rec.Body.Len())
	}

	for path, want := range map[string]int{
		"/tiles/buildings/23/0/0.mvt":                 400,
		"/tiles/buildings/15/32768/0.mvt":             400,
		"/tiles/buildings/15/-1/0.mvt":                400,
		"/tiles/buildings/a/b/c.mvt":                  400,
		"/tiles/buildings/015/1/1.mvt":                400,
		"/tiles/Buildings/15/1/1.mvt":                 400,
		"/tiles/,/15/1/1.mvt":                         400,
		"/tiles/nope/15/1/1.mvt":                      404,
		"/tiles/h3:nope/15/1/1.mvt":                   404,
		"/tiles/buildings,nope/15/1/1.mvt":            404,
		"/tiles/towns/0/0/0.mvt":                      204, // the district is 2 px wide at z0: below the tolerance
		tilePath("towns", tileAt(yudong, 9)):          200,
		"/tiles/h3:enterprises/9/416/211.mvt":         204,
		tilePath("h3:enterprises", tileAt(yudong, 9)): 200,
	} {
		if rec := get(t, srv, path); rec.Code != want {
			t.Errorf("%s: %d, want %d (%s)", path, rec.Code, want, strings.TrimSpace(rec.Body.String()))
		}
	}
}

func TestHTTPSensitiveIsPrivate(t *testing.T) {
	cat := layers.NewCatalog()
	if err := cat.Add(layers.Layer{ID: "secret", Geometry: []layers.GeomType{layers.Point}, MaxZoom: 22, Sensitive: true}); err != nil {
		t.Fatal(err)
	}
	st := smallStore(t)
	if err := st.Upsert(context.Background(), "secret", []layers.Feature{{ID: 1, Geometry: yudong}}); err != nil {
		t.Fatal(err)
	}
	rec := get(t, testServer(NewHandler(New(st, cat), nil)), tilePath("buildings,secret", tileAt(yudong, 15)))
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Cache-Control"), "private") {
		t.Errorf("%d Cache-Control %q", rec.Code, rec.Header().Get("Cache-Control"))
	}
}

// TestEditChangesExactlyItsTiles edits a water source through an Observed
// store: the tiles holding it get a new ETag, a far tile keeps its own and
// stays cached.
func TestEditChangesExactlyItsTiles(t *testing.T) {
	ctx := context.Background()
	obs := layers.Observe(smallStore(t))
	h := NewHandler(New(obs, layers.NewCatalog()), NewCache(1<<20))
	h.Watch(obs)
	srv := testServer(h)

	ws, err := obs.Get(ctx, "water_sources", 10)
	if err != nil {
		t.Fatal(err)
	}
	farWS, err := obs.Get(ctx, "water_sources", 12)
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string]bool{ // path → holds water source 10
		tilePath("water_sources", tileAt(ws.Geometry.(orb.Point), 15)):                true,
		tilePath("water_sources,buildings", tileAt(ws.Geometry.(orb.Point), 16)):      true,
		tilePath("h3:water_sources", tileAt(ws.Geometry.(orb.Point), 13)):             true,
		tilePath("water_sources", tileAt(farWS.Geometry.(orb.Point), 15)):             false,
		tilePath("h3:water_sources", tileAt(farWS.Geometry.(orb.Point), 13)):          false,
		tilePath("buildings", tileAt(ws.Geometry.(orb.Point), 15)):                    false,
		tilePath("water_sources", tileAt(orb.Point{yudong[0] + 0.05, yudong[1]}, 15)): false,
	}
	before := map[string]string{}
	for p := range paths {
		rec := get(t, srv, p)
		if rec.Code != 200 && rec.Code != 204 {
			t.Fatalf("%s: %d", p, rec.Code)
		}
		before[p] = rec.Header().Get("ETag")
	}
	hits := h.Cache().Stats().Hits

	ws.Props["status"] = "faulty"
	if err := obs.Upsert(ctx, "water_sources", []layers.Feature{ws}); err != nil {
		t.Fatal(err)
	}
	for p, holds := range paths {
		after := get(t, srv, p).Header().Get("ETag")
		if changed := after != before[p]; changed != holds {
			t.Errorf("%s: ETag changed %v, want %v", p, changed, holds)
		}
	}
	if got := h.Cache().Stats().Hits - hits; got != uint64(len(paths)-3) {
		t.Errorf("%d cache hits after the edit, want %d (the tiles that do not hold it)", got, len(paths)-3)
	}

	// Moving it: the old and the new place change.
	old := tilePath("water_sources", tileAt(ws.Geometry.(orb.Point), 15))
	ws.Geometry = farWS.Geometry
	etagOld := get(t, srv, old).Header().Get("ETag")
	farPath := tilePath("water_sources", tileAt(farWS.Geometry.(orb.Point), 15))
	etagFar := get(t, srv, farPath).Header().Get("ETag")
	if err := obs.Upsert(ctx, "water_sources", []layers.Feature{ws}); err != nil {
		t.Fatal(err)
	}
	if get(t, srv, old).Header().Get("ETag") == etagOld || get(t, srv, farPath).Header().Get("ETag") == etagFar {
		t.Error("a move must change the tiles at both ends")
	}
}

func TestHTTPTileJSON(t *testing.T) {
	srv := testServer(NewHandler(New(smallStore(t), layers.NewCatalog()), nil))
	rec := get(t, srv, "/tiles/buildings,enterprises.json", "X-Forwarded-Proto", "https")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	var doc TileJSONDoc
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.TileJSON != "3.0.0" || len(doc.Tiles) != 1 || doc.Tiles[0] != "https://example.com/tiles/buildings,enterprises/{z}/{x}/{y}.mvt" {
		t.Errorf("tilejson %q tiles %v", doc.TileJSON, doc.Tiles)
	}
	var vl []string
	for _, l := range doc.VectorLayers {
		vl = append(vl, fmt.Sprintf("%s:%d-%d", l.ID, l.MinZoom, l.MaxZoom))
	}
	if got, want := strings.Join(vl, " "), "buildings:13-22 enterprises:10-22 h3:enterprises:0-22"; got != want {
		t.Errorf("vector_layers %s, want %s", got, want)
	}
	if f := doc.VectorLayers[1].Fields["risk_level"]; !strings.HasPrefix(f, "String") || !strings.Contains(f, "red, orange, yellow, blue") {
		t.Errorf("risk_level field %q", f)
	}
	if f := doc.VectorLayers[0].Fields["floors"]; !strings.HasPrefix(f, "Number") {
		t.Errorf("floors field %q", f)
	}
	if doc.MinZoom != 0 || doc.MaxZoom != 22 {
		t.Errorf("zooms %d-%d", doc.MinZoom, doc.MaxZoom)
	}
	if b := doc.Bounds; b[0] > yudong[0] || b[2] < yudong[0] || b[1] > yudong[1] || b[3] < yudong[1] || b[2]-b[0] > 0.1 {
		t.Errorf("bounds %v do not hug the data around %v", b, yudong)
	}
	if rec := get(t, srv, "/tiles/nope.json"); rec.Code != 404 {
		t.Errorf("unknown layer: %d", rec.Code)
	}
	req := httptest.NewRequest(http.MethodGet, "/tiles/towns.json", nil)
	req.Host = "evil.com/<script>"
	rr := httptest.NewRecorder()
	srv.ServeHTTP(rr, req)
	if rr.Code != 400 {
		t.Errorf("bad Host: %d", rr.Code)
	}
}

func TestHTTPH3(t *testing.T) {
	srv := testServer(NewHandler(New(smallStore(t), layers.NewCatalog()), nil))
	rec := get(t, srv, "/api/h3/enterprises?res=7&metric=risk_max")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/geo+json" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	var fc struct {
		Type     string `json:"type"`
		Metric   string `json:"metric"`
		Features []struct {
			ID         string         `json:"id"`
			Geometry   map[string]any `json:"geometry"`
			Properties map[string]any `json:"properties"`
		} `json:"features"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &fc); err != nil {
		t.Fatal(err)
	}
	count := 0.0
	for _, f := range fc.Features {
		count += f.Properties["count"].(float64)
		if f.Geometry["type"] != "Polygon" || f.ID != f.Properties["cell"] || f.Properties["value"] == nil {
			t.Errorf("feature %v %v", f.ID, f.Properties)
		}
	}
	if fc.Type != "FeatureCollection" || fc.Metric != "risk_max" || count != 40 {
		t.Errorf("type %s metric %s count %v", fc.Type, fc.Metric, count)
	}

	rec = get(t, srv, fmt.Sprintf("/api/h3/enterprises?res=9&metric=staff_sum&bbox=%v,%v,%v,%v", yudong[0]-0.01, yudong[1]-0.01, yudong[0]+0.01, yudong[1]+0.01))
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	for path, want := range map[string]int{
		"/api/h3/enterprises?res=4":                              400,
		"/api/h3/enterprises?res=13":                             400,
		"/api/h3/enterprises?res=x":                              400,
		"/api/h3/enterprises?metric=nope":                        400,
		"/api/h3/enterprises?bbox=1,2,3":                         400,
		"/api/h3/enterprises?bbox=106,29,NaN,30":                 400,
		"/api/h3/enterprises?res=12&bbox=106,29,107,30":          400, // too many cells
		"/api/h3/enterprises?res=5&bbox=100,20,120,40":           400, // too large
		"/api/h3/nope":                                           404,
		"/api/h3/buildings?res=12&bbox=106.49,29.36,106.5,29.37": 200, // polygons finer than the index
		"/api/h3/water_sources?metric=status_faulty":             200,
		"/api/h3/life_lanes?res=10&metric=width_m_avg":           200,
	} {
		if rec := get(t, srv, path); rec.Code != want {
			t.Errorf("%s: %d, want %d (%s)", path, rec.Code, want, strings.TrimSpace(rec.Body.String()))
		}
	}
}

// countingStore counts the reads of a store.
type countingStore struct {
	layers.Store
	reads atomic.Int64
}

func (s *countingStore) Query(ctx context.Context, q layers.Query, fn func(layers.Feature) error) error {
	s.reads.Add(1)
	return s.Store.Query(ctx, q, fn)
}

func (s *countingStore) Count(ctx context.Context, q layers.Query) (int, error) {
	s.reads.Add(1)
	return s.Store.Count(ctx, q)
}

// TestHTTPBuildLimit checks WithBuildLimit: with every build slot taken a
// cache miss waits for a slot before reading the store (and gives up with
// its request's context) while a cached tile is served at once; concurrent
// requests under a limit get the same tiles as without one.
func TestHTTPBuildLimit(t *testing.T) {
	st := &countingStore{Store: smallStore(t)}
	r := New(st, layers.NewCatalog())
	ids := "buildings,water_sources,enterprises"
	tl := tileAt(yudong, 15)
	others := []maptile.Tile{tl, {X: tl.X + 1, Y: tl.Y, Z: 15}, tl.Parent(), tl.Parent().Parent(), {X: tl.X - 1, Y: tl.Y + 1, Z: 15}}
	serve := func(h *Handler, ctx context.Context, tl maptile.Tile) (*httptest.ResponseRecorder, error) {
		req := httptest.NewRequest(http.MethodGet, tilePath(ids, tl), nil).WithContext(ctx)
		rec := httptest.NewRecorder()
		err := h.Tile(rec, req, ids, fmt.Sprint(tl.Z), fmt.Sprint(tl.X), fmt.Sprint(tl.Y))
		return rec, err
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()

	h := NewHandler(r, NewCache(1<<20), WithBuildLimit(1))
	if rec, err := serve(h, context.Background(), tl); err != nil || rec.Code != 200 {
		t.Fatalf("first request: %v %d", err, rec.Code)
	}
	h.slots <- struct{}{} // every slot taken
	if rec, err := serve(h, cancelled, tl); err != nil || rec.Code != 200 {
		t.Errorf("cached tile with the slots taken: %v %d, want 200", err, rec.Code)
	}
	<-h.slots

	h = NewHandler(r, nil, WithBuildLimit(1))
	h.slots <- struct{}{}
	n := st.reads.Load()
	if _, err := serve(h, cancelled, others[1]); !errors.Is(err, context.Canceled) {
		t.Errorf("a miss with the slots taken returned %v, want %v", err, context.Canceled)
	}
	if st.reads.Load() != n {
		t.Errorf("a miss read the store with every build slot taken")
	}
	<-h.slots

	plain := NewHandler(r, nil)
	want := map[maptile.Tile][]byte{}
	for _, o := range others {
		rec, err := serve(plain, context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		want[o] = rec.Body.Bytes()
	}
	for _, c := range []*Cache{NewCache(1 << 20), nil} {
		h := NewHandler(r, c, WithBuildLimit(2))
		errc := make(chan error, 8*len(others))
		for g := range 8 {
			go func() {
				for i := range others {
					o := others[(g+i)%len(others)]
					rec, err := serve(h, context.Background(), o)
					if err == nil && !bytes.Equal(rec.Body.Bytes(), want[o]) {
						err = fmt.Errorf("tile %v differs under the build limit", o)
					}
					errc <- err
				}
			}()
		}
		for range 8 * len(others) {
			if err := <-errc; err != nil {
				t.Error(err)
			}
		}
	}
}
