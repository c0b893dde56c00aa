package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/paulmach/orb/geojson"

	"riskmap/geo"
	"riskmap/layers"
)

// Bounds on what one request may ask for.
const (
	defaultLimit = 100
	maxLimit     = 10000
	maxBBoxDeg2  = 4.0 // about 40,000 km² at Chongqing's latitude
)

// Cache-Control of successful responses: data may change with any write,
// so shared caches keep it briefly; the conformance list is static.
const (
	cacheData   = "public, max-age=10"
	cacheStatic = "public, max-age=3600"
)

const crs84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"

type link struct {
	Href  string `json:"href"`
	Rel   string `json:"rel"`
	Type  string `json:"type,omitempty"`
	Title string `json:"title,omitempty"`
}

func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *server) health(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	body := map[string]string{"status": "ok", "store": s.Store.Kind()}
	code := http.StatusOK
	if err := s.Store.Ping(ctx); err != nil {
		s.log.WarnContext(ctx, "health check: store unavailable", "store", s.Store.Kind(), "err", err)
		body["status"] = "unavailable"
		code = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "5")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	return json.NewEncoder(w).Encode(body)
}

func (s *server) landing(w http.ResponseWriter, r *http.Request) error {
	b := baseURL(r)
	return writeJSON(w, "application/json", cacheStatic, map[string]any{
		"title":       "riskmap — 巴南区安全风险一张图",
		"description": "Banan District safety risk layers and analyses (OGC API – Features)",
		"links": []link{
			{b + "/api", "self", "application/json", "this document"},
			{b + "/api/conformance", "conformance", "application/json", "conformance classes"},
			{b + "/api/openapi.json", "service-desc", "application/vnd.oai.openapi+json;version=3.0", "the API definition (OpenAPI 3.0)"},
			{b + "/api/collections", "data", "application/json", "layers"},
			{b + "/api/analyses", "analyses", "application/json", "analyses and their rules"},
		},
	})
}

func (s *server) conformance(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, "application/json", cacheStatic, map[string]any{"conformsTo": []string{
		"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
		"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
		"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
		"http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
		"http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
		"http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
		"http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
		"http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
		"http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
		"http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
	}})
}

// collectionDoc describes one layer.
func (s *server) collectionDoc(r *http.Request, l *layers.Layer, st layers.LayerStats) map[string]any {
	b := baseURL(r) + "/api/collections/" + l.ID
	doc := map[string]any{
		"id": l.ID, "title": l.Title.Zh + " " + l.Title.En, "title_zh": l.Title.Zh, "title_en": l.Title.En,
		"description": description(l), "itemType": "feature", "crs": []string{crs84},
		"feature_count": st.Count, "derived": l.Derived,
		"geometry": l.Geometry, "fields": l.Fields, "minzoom": l.MinZoom, "maxzoom": l.MaxZoom,
		"links": []link{
			{b, "self", "application/json", l.Title.En},
			{b + "/items", "items", "application/geo+json", "features"},
			{b + "/items?f=csv", "alternate", "text/csv", "features as CSV"},
			{b + "/queryables", "http://www.opengis.net/def/rel/ogc/1.0/queryables", "application/schema+json", "properties a filter may use"},
		},
	}
	if st.Count > 0 {
		e := st.Extent
		doc["extent"] = map[string]any{"spatial": map[string]any{"bbox": [][4]float64{{e.Min[0], e.Min[1], e.Max[0], e.Max[1]}}, "crs": crs84}}
	}
	return doc
}

// description says in one line what a layer holds, for clients that show
// only the description (QGIS's layer list).
func description(l *layers.Layer) string {
	kind := "base layer"
	if l.Derived {
		kind = "derived layer, computed by an analysis"
	}
	geoms := make([]string, len(l.Geometry))
	for i, g := range l.Geometry {
		geoms[i] = string(g)
	}
	return fmt.Sprintf("%s / %s: %s of %s features with fields %s", l.Title.Zh, l.Title.En, kind,
		strings.Join(geoms, " or "), fieldNames(l))
}

func (s *server) collections(w http.ResponseWriter, r *http.Request) error {
	stats, err := s.Store.Stats(r.Context())
	if err != nil {
		return err
	}
	var docs []map[string]any
	for _, l := range s.Catalog.Layers() {
		if !canSee(r, l) { // sensitive layers only with a token (auth.go)
			continue
		}
		docs = append(docs, s.collectionDoc(r, l, stats[l.ID]))
	}
	return writeJSON(w, "application/json", cacheData, map[string]any{
		"collections": docs,
		"links":       []link{{baseURL(r) + "/api/collections", "self", "application/json", ""}},
	})
}

func (s *server) collection(w http.ResponseWriter, r *http.Request) error {
	l, err := s.Catalog.Layer(mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	stats, err := s.Store.Stats(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, "application/json", cacheData, s.collectionDoc(r, l, stats[l.ID]))
}

func (s *server) item(w http.ResponseWriter, r *http.Request) error {
	vars := mux.Vars(r)
	l, err := s.Catalog.Layer(vars["id"])
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(vars["fid"], 10, 64)
	if err != nil || id <= 0 {
		return badRequest("feature id must be a positive integer, got %q", vars["fid"])
	}
	crs := geo.WGS84
	for key, vals := range r.URL.Query() {
		switch {
		case key == "crs":
			if crs, err = geo.ParseCRS(vals[0]); err != nil {
				return badRequest("crs: %v", err)
			}
		case key == "f" && (vals[0] == "json" || vals[0] == "geojson"):
		default:
			return badRequest("unknown parameter %q: one feature takes crs and f=json", key)
		}
	}
	f, err := s.Store.Get(r.Context(), l.ID, id)
	if err != nil {
		return err
	}
	gf := geoJSONFeature(f, crs)
	b := baseURL(r) + "/api/collections/" + l.ID
	gf.ExtraMembers = geojson.Properties{"links": []link{
		{fmt.Sprintf("%s/items/%d", b, id), "self", "application/geo+json", ""},
		{b, "collection", "application/json", l.Title.En},
	}}
	return writeJSON(w, "application/geo+json", cacheData, gf)
}
