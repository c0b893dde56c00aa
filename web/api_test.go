package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"riskmap/layers"
	"riskmap/layers/memstore"
	"riskmap/layers/postgis"
	"riskmap/layers/postgis/pgtest"
	"riskmap/web"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// small is a hand-made district: two towns, three fire stations, a road.
func small(t *testing.T) layers.Store { return smallIn(t, memstore.New()) }

// smallIn writes the small district into st.
func smallIn(t *testing.T, st layers.Store) layers.Store {
	t.Helper()
	ctx := context.Background()
	sq := func(x, y float64) orb.Polygon {
		return orb.Polygon{{{x, y}, {x + 0.1, y}, {x + 0.1, y + 0.1}, {x, y + 0.1}, {x, y}}}
	}
	put := func(layer string, fs ...layers.Feature) {
		if err := st.Upsert(ctx, layer, fs); err != nil {
			t.Fatal(err)
		}
	}
	put(layers.Towns,
		layers.Feature{ID: 1, Geometry: sq(106.5, 29.3), Props: map[string]any{"name": "鱼洞街道", "code": "500113001", "kind": "street", "population": int64(210000)}},
		layers.Feature{ID: 2, Geometry: sq(106.6, 29.3), Props: map[string]any{"name": "界石镇", "code": "500113101", "kind": "town"}})
	put(layers.FireStations,
		layers.Feature{ID: 1, Geometry: orb.Point{106.52, 29.35}, Props: map[string]any{"name": "鱼洞站", "kind": "station", "grade": "grade1", "engines": int64(6), "town": "鱼洞街道"}},
		layers.Feature{ID: 2, Geometry: orb.Point{106.63, 29.36}, Props: map[string]any{"name": "界石专职队", "kind": "full_time", "town": "界石镇"}},
		layers.Feature{ID: 3, Geometry: orb.Point{106.66, 29.38}, Props: map[string]any{"name": "微型站", "kind": "micro", "town": "界石镇"}})
	put(layers.Roads,
		layers.Feature{ID: 1, Geometry: orb.LineString{{106.5, 29.35}, {106.7, 29.36}}, Props: map[string]any{"class": "arterial", "oneway": false, "width_m": 24.0}})
	return st
}

// do serves one request directly and returns the recorder.
func do(t *testing.T, h http.Handler, method, target string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, "http://riskmap.test"+target, nil))
	return rec
}

// TestCollectionsGolden pins the /api/collections document (ids, titles,
// extents, counts, schemas, links) of the hand-made district; run with
// -update after a deliberate change.
func TestCollectionsGolden(t *testing.T) {
	h := web.New(web.Deps{Store: small(t), Catalog: layers.NewCatalog()})
	rec := do(t, h, http.MethodGet, "/api/collections")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" || rec.Header().Get("Cache-Control") == "" {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
	var doc any
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	got, _ := json.MarshalIndent(doc, "", "  ")
	got = append(got, '\n')
	path := filepath.Join("testdata", "collections.golden.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./web -run Golden -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("/api/collections differs from %s (go test ./web -run Golden -update after a deliberate change):\n%s", path, got)
	}
}

func TestLandingConformanceCollection(t *testing.T) {
	h := web.New(web.Deps{Store: small(t), Catalog: layers.NewCatalog()})
	var landing struct{ Links []struct{ Href, Rel string } }
	rec := do(t, h, http.MethodGet, "/api")
	if err := json.Unmarshal(rec.Body.Bytes(), &landing); err != nil || rec.Code != 200 {
		t.Fatalf("landing %d %v", rec.Code, err)
	}
	rels := map[string]string{}
	for _, l := range landing.Links {
		rels[l.Rel] = l.Href
	}
	if rels["conformance"] != "http://riskmap.test/api/conformance" || rels["data"] != "http://riskmap.test/api/collections" {
		t.Errorf("landing links %v", rels)
	}
	rec = do(t, h, http.MethodGet, "/api/conformance")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "ogcapi-features-1/1.0/conf/geojson") {
		t.Errorf("conformance %d %s", rec.Code, rec.Body)
	}
	var c struct {
		ID, Title, TitleZh string
		TitleEn            string `json:"title_en"`
		Count              int    `json:"feature_count"`
		Extent             struct{ Spatial struct{ BBox [][4]float64 } }
	}
	rec = do(t, h, http.MethodGet, "/api/collections/fire_stations")
	if err := json.Unmarshal(rec.Body.Bytes(), &c); err != nil || rec.Code != 200 {
		t.Fatalf("collection %d %v", rec.Code, err)
	}
	if c.ID != "fire_stations" || c.Count != 3 || c.TitleEn != "Fire stations" ||
		c.Extent.Spatial.BBox[0] != [4]float64{106.52, 29.35, 106.66, 29.38} {
		t.Errorf("collection %+v", c)
	}
	if rec := do(t, h, http.MethodHead, "/api/collections/towns"); rec.Code != 200 {
		t.Errorf("HEAD %d", rec.Code)
	}
}

// items fetches a FeatureCollection.
type page struct {
	Features []struct {
		ID         int64
		Geometry   map[string]any
		Properties map[string]any
	}
	NumberMatched, NumberReturned int
	TimeStamp                     string
	Links                         []struct{ Href, Rel, Type string }
}

func items(t *testing.T, h http.Handler, target string) (page, *httptest.ResponseRecorder) {
	t.Helper()
	rec := do(t, h, http.MethodGet, target)
	var p page
	if rec.Code == 200 {
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
			t.Fatalf("%s: %v", target, err)
		}
	}
	return p, rec
}

func ids(p page) []int64 {
	var out []int64
	for _, f := range p.Features {
		out = append(out, f.ID)
	}
	return out
}

func TestItemsQueries(t *testing.T) { itemsQueries(t, small(t)) }

// TestItemsQueriesPostGIS runs the same queries, filters and sorts over
// PostGIS.
func TestItemsQueriesPostGIS(t *testing.T) {
	pg, err := postgis.Open(context.Background(), pgtest.Database(t), layers.NewCatalog())
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	itemsQueries(t, smallIn(t, pg))
}

func itemsQueries(t *testing.T, st layers.Store) {
	h := web.New(web.Deps{Store: st, Catalog: layers.NewCatalog()})
	tests := []struct {
		target  string
		want    []int64
		matched int
	}{
		{"/api/collections/fire_stations/items", []int64{1, 2, 3}, 3},
		{"/api/collections/fire_stations/items?town=界石镇", []int64{2, 3}, 2},
		{"/api/collections/fire_stations/items?kind=station,micro", []int64{1, 3}, 2},
		{"/api/collections/fire_stations/items?kind=微型消防站", []int64{3}, 1}, // an enum by its Chinese title
		{"/api/collections/fire_stations/items?engines=6", []int64{1}, 1},
		{"/api/collections/fire_stations/items?engines=6.0", []int64{1}, 1},
		{"/api/collections/fire_stations/items?bbox=106.6,29.3,106.65,29.4", []int64{2}, 1},
		{"/api/collections/fire_stations/items?bbox=106.6,29.3,106.7,29.4&town=界石镇&kind=micro", []int64{3}, 1},
		{"/api/collections/fire_stations/items?limit=2", []int64{1, 2}, 3},
		{"/api/collections/fire_stations/items?after=1&limit=1", []int64{2}, 3},
		{"/api/collections/fire_stations/items?after=3", nil, 3},
		{"/api/collections/roads/items?oneway=否", []int64{1}, 1},
		{"/api/collections/towns/items?bbox=106.55,29.35,106.65,29.36", []int64{1, 2}, 2}, // polygons by their bounds
		{"/api/collections/mines/items", nil, 0},
		{"/api/collections/fire_stations/items?crs=http://www.opengis.net/def/crs/OGC/1.3/CRS84&f=json", []int64{1, 2, 3}, 3},
		// bbox-crs: the same numbers as a GCJ-02 box hold station 2 (its
		// GCJ-02 position is 106.6337), as a WGS84 box station 3 (106.66)
		{"/api/collections/fire_stations/items?bbox=106.632,29.3,106.662,29.4", []int64{3}, 1},
		{"/api/collections/fire_stations/items?bbox=106.632,29.3,106.662,29.4&bbox-crs=gcj02", []int64{2}, 1},
		{"/api/collections/fire_stations/items?bbox=106.632,29.3,106.662,29.4&bbox-crs=http://www.opengis.net/def/crs/OGC/1.3/CRS84", []int64{3}, 1},
		// CQL2 filters
		{"/api/collections/fire_stations/items?filter=kind='micro'", []int64{3}, 1},
		{"/api/collections/fire_stations/items?filter-lang=cql2-text&filter=" + url.QueryEscape("kind IN ('station','micro') AND town LIKE '界%'"), []int64{3}, 1},
		{"/api/collections/fire_stations/items?filter=engines+IS+NULL", []int64{2, 3}, 2},
		{"/api/collections/fire_stations/items?filter=" + url.QueryEscape("NOT engines > 5"), []int64{2, 3}, 2},
		{"/api/collections/fire_stations/items?filter=" + url.QueryEscape("S_DWITHIN(geometry, POINT(106.52 29.351), 120)"), []int64{1}, 1},
		{"/api/collections/fire_stations/items?filter=" + url.QueryEscape("S_DWITHIN(geometry, POINT(106.52 29.351), 100)"), nil, 0},
		{"/api/collections/fire_stations/items?filter=" + url.QueryEscape("S_INTERSECTS(geometry, BBOX(106.6, 29.3, 106.7, 29.4)) AND kind <> 'micro'"), []int64{2}, 1},
		{"/api/collections/fire_stations/items?filter-crs=gcj02&filter=" + url.QueryEscape("S_INTERSECTS(geometry, BBOX(106.632, 29.3, 106.662, 29.4))"), []int64{2}, 1},
		{"/api/collections/fire_stations/items?bbox=106.5,29.3,106.55,29.4&filter=" + url.QueryEscape("S_INTERSECTS(geometry, BBOX(106.6, 29.3, 106.7, 29.4))"), nil, 0},
		{"/api/collections/fire_stations/items?filter=" + url.QueryEscape("town = '界石镇'") + "&limit=1", []int64{2}, 2},
		{"/api/collections/fire_stations/items?filter=" + url.QueryEscape("town = '界石镇'") + "&after=2", []int64{3}, 2},
		// sortby: names in code-point order are 微型站 3, 界石专职队 2, 鱼洞站 1
		{"/api/collections/fire_stations/items?sortby=name", []int64{3, 2, 1}, 3},
		{"/api/collections/fire_stations/items?sortby=-name", []int64{1, 2, 3}, 3},
		{"/api/collections/fire_stations/items?sortby=%2Bname", []int64{3, 2, 1}, 3},
		{"/api/collections/fire_stations/items?sortby=town,-id", []int64{3, 2, 1}, 3},
		{"/api/collections/fire_stations/items?sortby=-engines", []int64{1, 2, 3}, 3}, // absent values last
		{"/api/collections/fire_stations/items?sortby=name&limit=1&offset=1", []int64{2}, 3},
		{"/api/collections/fire_stations/items?sortby=name&filter=town='界石镇'", []int64{3, 2}, 2},
	}
	for _, tt := range tests {
		p, rec := items(t, h, tt.target)
		if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/geo+json" {
			t.Errorf("%s: %d %s %s", tt.target, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
			continue
		}
		if got := ids(p); !equal(got, tt.want) || p.NumberMatched != tt.matched || p.NumberReturned != len(tt.want) {
			t.Errorf("%s: ids %v matched %d returned %d, want %v %d", tt.target, got, p.NumberMatched, p.NumberReturned, tt.want, tt.matched)
		}
		if _, err := time.Parse(time.RFC3339, p.TimeStamp); err != nil {
			t.Errorf("%s: timeStamp %q", tt.target, p.TimeStamp)
		}
	}
	p, _ := items(t, h, "/api/collections/fire_stations/items?limit=1&town=界石镇")
	rels := map[string]string{}
	for _, l := range p.Links {
		rels[l.Rel] = l.Href
	}
	if !strings.Contains(rels["next"], "after=2") || !strings.Contains(rels["next"], "limit=1") || !strings.Contains(rels["next"], "town=") {
		t.Errorf("next link keeps the query and moves the cursor: %v", rels)
	}
	if rels["self"] == "" || rels["collection"] != "http://riskmap.test/api/collections/fire_stations" {
		t.Errorf("links %v", rels)
	}
	// a last full page has no next link
	if p, _ := items(t, h, "/api/collections/fire_stations/items?after=1&limit=2"); hasNext(p) || len(p.Features) != 2 {
		t.Errorf("last page: %+v", p)
	}
	// offset paging under sortby: next and prev links
	p, _ = items(t, h, "/api/collections/fire_stations/items?sortby=name&limit=1&offset=1")
	rels = map[string]string{}
	for _, l := range p.Links {
		rels[l.Rel] = l.Href
	}
	if !strings.Contains(rels["next"], "offset=2") || !strings.Contains(rels["prev"], "sortby=name") || strings.Contains(rels["prev"], "offset") {
		t.Errorf("sorted page links %v", rels)
	}
	// properties= keeps only the fields asked for
	p, _ = items(t, h, "/api/collections/fire_stations/items?properties=name,engines")
	for _, f := range p.Features {
		for k := range f.Properties {
			if k != "name" && k != "engines" {
				t.Errorf("properties=name,engines: feature %d has %s", f.ID, k)
			}
		}
	}
	one := do(t, h, http.MethodGet, "/api/collections/fire_stations/items/2")
	var f struct {
		Type       string
		ID         int64
		Geometry   struct{ Coordinates []float64 }
		Properties map[string]any
	}
	if err := json.Unmarshal(one.Body.Bytes(), &f); err != nil || one.Code != 200 ||
		one.Header().Get("Content-Type") != "application/geo+json" || f.Type != "Feature" || f.ID != 2 ||
		f.Properties["name"] != "界石专职队" || f.Geometry.Coordinates[0] != 106.63 {
		t.Errorf("one feature %d %+v %v", one.Code, f, err)
	}
}

func hasNext(p page) bool {
	for _, l := range p.Links {
		if l.Rel == "next" {
			return true
		}
	}
	return false
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestErrorPaths checks every refused request: its status, that the body
// is {"code","message"} JSON, and that the message names the problem.
func TestErrorPaths(t *testing.T) {
	h := web.New(web.Deps{Store: small(t), Catalog: layers.NewCatalog()})
	const items = "/api/collections/fire_stations/items"
	tests := []struct {
		method, target string
		status         int
		code, has      string
	}{
		{"GET", "/api/collections/nope", 404, "not_found", `unknown layer: "nope"`},
		{"GET", "/api/collections/nope/items", 404, "not_found", "unknown layer"},
		{"GET", "/api/collections/nope/items/1", 404, "not_found", "unknown layer"},
		{"GET", items + "/99", 404, "not_found", "not found"},
		{"GET", items + "/abc", 400, "invalid", "positive integer"},
		{"GET", items + "/0", 400, "invalid", "positive integer"},
		{"GET", items + "/1?limit=3", 400, "invalid", `unknown parameter "limit"`},
		{"GET", items + "?bbox=1,2,3", 400, "invalid", "minLon,minLat,maxLon,maxLat"},
		{"GET", items + "?bbox=1,2,3,4,5,6", 400, "invalid", "minLon,minLat,maxLon,maxLat"},
		{"GET", items + "?bbox=a,29,107,30", 400, "invalid", "not a number"},
		{"GET", items + "?bbox=107,29,106,30", 400, "invalid", "bbox"},         // reversed longitudes
		{"GET", items + "?bbox=106,30,107,29", 400, "invalid", "bbox"},         // reversed latitudes
		{"GET", items + "?bbox=106,29,181,30", 400, "invalid", "WGS84"},        // out of range
		{"GET", items + "?bbox=100,20,110,30", 400, "invalid", "at most 4"},    // too large, says the bound
		{"GET", items + "?bbox=NaN,29,107,30", 400, "invalid", "not a number"}, // not finite
		{"GET", items + "?limit=0", 400, "invalid", "from 1 to 10000"},
		{"GET", items + "?limit=10001", 400, "invalid", "from 1 to 10000"},
		{"GET", items + "?limit=x", 400, "invalid", "from 1 to 10000"},
		{"GET", items + "?limit=-5", 400, "invalid", "from 1 to 10000"},
		{"GET", items + "?after=x", 400, "invalid", "after"},
		{"GET", items + "?limit=1&limit=2", 400, "invalid", "given 2 times"},
		{"GET", items + "?colour=red", 400, "invalid", `unknown parameter "colour": not a field of fire_stations`},
		{"GET", items + "?kind=tower", 400, "invalid", `field kind: "tower" is not one of station, full_time, micro`},
		{"GET", items + "?engines=many", 400, "invalid", "field engines"},
		{"GET", items + "?kind=", 400, "invalid", "empty value"},
		{"GET", items + "?kind=station,,micro", 400, "invalid", "empty value"},
		{"GET", items + "?datetime=2025-01-01", 400, "invalid", `"datetime" is not supported`},
		{"GET", items + "?sortby=colour", 400, "invalid", `sortby: "colour" is not a field`},
		{"GET", items + "?sortby=a,b,c,d,e,f", 400, "invalid", `sortby: "a" is not a field`},
		{"GET", items + "?sortby=name&after=1", 400, "invalid", "with sortby page with offset"},
		{"GET", items + "?offset=1", 400, "invalid", "offset pages a sorted selection"},
		{"GET", items + "?filter=colour='red'", 400, "invalid", `unknown property "colour"`},
		{"GET", items + "?filter=kind='micro'&filter-lang=cql2-json", 400, "invalid", "filter-lang must be cql2-text"},
		{"GET", items + "?filter-lang=cql2-text", 400, "invalid", "need a filter"},
		{"GET", items + "?filter=kind=", 400, "invalid", "expected a value"},
		{"GET", items + "?properties=colour", 400, "invalid", `properties: "colour" is not a field`},
		{"GET", items + "?f=xml", 400, "invalid", "f must be"},
		{"GET", items + "?crs=EPSG:3857", 400, "invalid", "crs"},
		{"POST", items, 405, "method_not_allowed", "only GET and HEAD"},
		{"GET", "/no/such/path", 404, "not_found", "not found"},
	}
	for _, tt := range tests {
		rec := do(t, h, tt.method, tt.target)
		var body struct{ Code, Message string }
		err := json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != tt.status || err != nil || body.Code != tt.code || !strings.Contains(body.Message, tt.has) {
			t.Errorf("%s %s: %d %s, want %d %s with %q", tt.method, tt.target, rec.Code, rec.Body, tt.status, tt.code, tt.has)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" || rec.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s: content type %q, cache %q", tt.target, ct, rec.Header().Get("Cache-Control"))
		}
	}
}

// faulty is a store that fails in the ways a real one can.
type faulty struct {
	layers.Store
	stats func() // called by Stats
	count error  // returned by Count
	block bool   // Count waits for the request's deadline
	query error  // returned by Query after the features
}

func (f faulty) Query(ctx context.Context, q layers.Query, fn func(layers.Feature) error) error {
	if err := f.Store.Query(ctx, q, fn); err != nil || f.query == nil {
		return err
	}
	return f.query
}

func (f faulty) Stats(ctx context.Context) (map[string]layers.LayerStats, error) {
	if f.stats != nil {
		f.stats()
	}
	return f.Store.Stats(ctx)
}

func (f faulty) Count(ctx context.Context, q layers.Query) (int, error) {
	if f.block {
		<-ctx.Done()
		return 0, ctx.Err()
	}
	if f.count != nil {
		return 0, f.count
	}
	return f.Store.Count(ctx, q)
}

func TestServerFaults(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	tests := []struct {
		name   string
		store  faulty
		target string
		status int
		code   string
		logged string
	}{
		{"panic", faulty{stats: func() { panic("boom: index out of range") }}, "/api/collections", 500, "internal", "boom"},
		{"internal", faulty{count: errors.New(`ERROR: syntax error at or near "SELECT" (SQLSTATE 42601)`)},
			"/api/collections/towns/items", 500, "internal", "SQLSTATE"},
		{"unavailable", faulty{count: errors.Join(layers.ErrUnavailable, errors.New("dial tcp 10.0.0.5:5432: connect: connection refused"))},
			"/api/collections/towns/items", 503, "unavailable", "connection refused"},
		{"timeout", faulty{block: true}, "/api/collections/towns/items", 504, "timeout", "deadline"},
	}
	for _, tt := range tests {
		logs.Reset()
		tt.store.Store = small(t)
		h := web.New(web.Deps{Store: tt.store, Catalog: layers.NewCatalog(), Log: log, Timeout: 50 * time.Millisecond})
		rec := do(t, h, http.MethodGet, tt.target)
		var body struct{ Code, Message string }
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != tt.status || body.Code != tt.code {
			t.Errorf("%s: %d %s", tt.name, rec.Code, rec.Body)
		}
		// the details reach the log, once, and never the client
		if strings.Count(logs.String(), tt.logged) != 1 {
			t.Errorf("%s: log should hold %q once:\n%s", tt.name, tt.logged, logs.String())
		}
		if strings.Contains(rec.Body.String(), tt.logged) || strings.Contains(rec.Body.String(), "goroutine") {
			t.Errorf("%s: body leaks details: %s", tt.name, rec.Body)
		}
		if tt.status == 503 && rec.Header().Get("Retry-After") == "" {
			t.Errorf("%s: no Retry-After", tt.name)
		}
	}
}

// TestFailureAfterStart: a CSV download that fails before its first byte
// is a 500; one that fails half-way is cut off, so the client sees a
// broken transfer, not a short file with status 200.
func TestFailureAfterStart(t *testing.T) {
	var logs bytes.Buffer
	mem := small(t)
	var many []layers.Feature
	for i := range 5000 {
		many = append(many, layers.Feature{ID: int64(i + 1), Geometry: orb.Point{106.5 + float64(i)*1e-5, 29.4},
			Props: map[string]any{"kind": "hydrant", "status": "in_service", "name": "一个相当长的消火栓名称，用来填满缓冲区"}})
	}
	if err := mem.Upsert(context.Background(), layers.WaterSources, many); err != nil {
		t.Fatal(err)
	}
	st := faulty{Store: mem, query: errors.New("connection reset by peer")}
	srv := httptest.NewServer(web.New(web.Deps{Store: st, Catalog: layers.NewCatalog(), Log: slog.New(slog.NewTextHandler(&logs, nil))}))
	defer srv.Close()
	get := func(layer string) (*http.Response, []byte, error) {
		resp, err := http.Get(srv.URL + "/api/collections/" + layer + "/items?f=csv")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp, body, err
	}
	if resp, body, err := get(layers.FireStations); err != nil || resp.StatusCode != 500 || !strings.Contains(string(body), `"internal"`) {
		t.Errorf("failure before the first byte: %d %q %v", resp.StatusCode, body, err)
	}
	if resp, body, err := get(layers.WaterSources); err == nil {
		t.Errorf("a failed download read as complete: %d, %d bytes", resp.StatusCode, len(body))
	}
	if n := strings.Count(logs.String(), "connection reset by peer"); n != 2 {
		t.Errorf("logged %d times, want once per request:\n%s", n, logs.String())
	}
}
