package web

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"riskmap/exports"
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
			{b + "/api/collections", "data", "application/json", "layers"},
			{b + "/api/analyses", "analyses", "application/json", "analyses and their rules"},
		},
	})
}

func (s *server) conformance(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, "application/json", cacheStatic, map[string]any{"conformsTo": []string{
		"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
		"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
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

// Query parameters of the items route other than field filters: those it
// implements, and those of OGC API – Features parts it does not (yet),
// which are refused by name rather than taken for unknown fields.
var (
	reserved    = []string{"bbox", "bbox-crs", "limit", "after", "crs", "f"}
	unsupported = []string{"filter", "filter-lang", "filter-crs", "properties", "sortby", "datetime"}
)

// parseQuery turns the items parameters into a store query and the output
// CRS.
func parseQuery(l *layers.Layer, v url.Values) (layers.Query, geo.CRS, error) {
	q := layers.Query{Layer: l.ID, Limit: defaultLimit}
	out := geo.WGS84
	for key, vals := range v {
		if len(vals) != 1 {
			return q, out, badRequest("parameter %q is given %d times; give it once (a comma list means any of)", key, len(vals))
		}
		val := vals[0]
		switch key {
		case "limit":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 || n > maxLimit {
				return q, out, badRequest("limit must be an integer from 1 to %d, got %q", maxLimit, val)
			}
			q.Limit = n
		case "after":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil || n < 0 {
				return q, out, badRequest("after must be a feature id (an integer ≥ 0), got %q", val)
			}
			q.AfterID = n
		case "bbox":
			b, err := parseBBox(val)
			if err != nil {
				return q, out, err
			}
			q.BBox = b
		case "bbox-crs", "crs":
		case "f":
			if val != "json" && val != "geojson" && val != "csv" {
				return q, out, badRequest("f must be json, geojson or csv, got %q", val)
			}
		default:
			if slices.Contains(unsupported, key) {
				return q, out, badRequest("parameter %q is not supported (yet); supported: %s and the fields of %s",
					key, strings.Join(reserved, ", "), l.ID)
			}
			f, err := parseFilter(l, key, val)
			if err != nil {
				return q, out, err
			}
			q.Filters = append(q.Filters, f)
		}
	}
	for _, key := range []string{"crs", "bbox-crs"} {
		if val := v.Get(key); val != "" {
			c, err := geo.ParseCRS(val)
			if err != nil {
				return q, out, badRequest("%s: %v", key, err)
			}
			if key == "crs" {
				out = c
			} else if q.HasBBox() {
				q.BBox = geo.ToWGS84(c, q.BBox).Bound()
			}
		}
	}
	slices.SortFunc(q.Filters, func(a, b layers.Filter) int { return strings.Compare(a.Field, b.Field) })
	return q, out, nil
}

// parseFilter makes the filter of one field parameter: its value coerced
// to the field's type (enums accept their codes and titles), a comma list
// meaning any of.
func parseFilter(l *layers.Layer, key, val string) (layers.Filter, error) {
	fd, ok := l.Field(key)
	if !ok {
		return layers.Filter{}, badRequest("unknown parameter %q: not a field of %s (fields: %s; other parameters: %s)",
			key, l.ID, fieldNames(l), strings.Join(reserved, ", "))
	}
	var values []any
	for _, part := range strings.Split(val, ",") {
		c, err := fd.Coerce(part)
		if err != nil {
			return layers.Filter{}, badRequest("field %s: %v", key, err)
		}
		if c == nil {
			return layers.Filter{}, badRequest("field %s: empty value; give a value or a comma list of values", key)
		}
		values = append(values, c)
	}
	if len(values) == 1 {
		return layers.Eq(key, values[0]), nil
	}
	return layers.Filter{Field: key, Op: layers.OpIn, Values: values}, nil
}

func fieldNames(l *layers.Layer) string {
	var n []string
	for _, f := range l.Fields {
		n = append(n, f.Name)
	}
	return strings.Join(n, ", ")
}

func parseBBox(s string) (orb.Bound, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return orb.Bound{}, badRequest("bbox must be minLon,minLat,maxLon,maxLat, got %q", s)
	}
	var v [4]float64
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return orb.Bound{}, badRequest("bbox value %q is not a number", p)
		}
		v[i] = f
	}
	b := orb.Bound{Min: orb.Point{v[0], v[1]}, Max: orb.Point{v[2], v[3]}}
	if err := layers.ValidateBBox(b); err != nil {
		return b, err
	}
	if a := (b.Max[0] - b.Min[0]) * (b.Max[1] - b.Min[1]); a > maxBBoxDeg2 {
		return b, badRequest("bbox covers %.2f square degrees; at most %.0f are allowed", a, maxBBoxDeg2)
	}
	return b, nil
}

func (s *server) items(w http.ResponseWriter, r *http.Request) error {
	l, err := s.Catalog.Layer(mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	v := r.URL.Query()
	q, crs, err := parseQuery(l, v)
	if err != nil {
		return err
	}
	ctx := r.Context()
	if v.Get("f") == "csv" {
		if v.Get("limit") == "" {
			q.Limit = 0 // a download: the whole selection
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.csv"`, l.ID))
		_, err := exports.CSV(ctx, s.Store, l, q, crs, w)
		return err
	}
	matched, err := s.Store.Count(ctx, q)
	if err != nil {
		return err
	}
	// one more than the page: a next link only when there is a next page
	limit := q.Limit
	q.Limit++
	more := false
	fc := geojson.NewFeatureCollection()
	err = s.Store.Query(ctx, q, func(f layers.Feature) error {
		if len(fc.Features) == limit {
			more = true
			return nil
		}
		fc.Append(geoJSONFeature(f, crs))
		return nil
	})
	if err != nil {
		return err
	}
	self := baseURL(r) + r.URL.Path
	links := []link{
		{withQuery(self, v), "self", "application/geo+json", "this page"},
		{baseURL(r) + "/api/collections/" + l.ID, "collection", "application/json", l.Title.En},
	}
	if more {
		next := url.Values{}
		for k, vals := range v {
			next[k] = vals
		}
		next.Set("after", strconv.FormatInt(fc.Features[len(fc.Features)-1].ID.(int64), 10))
		links = append(links, link{withQuery(self, next), "next", "application/geo+json", "next page"})
	}
	fc.ExtraMembers = geojson.Properties{
		"numberMatched": matched, "numberReturned": len(fc.Features),
		"timeStamp": time.Now().UTC().Format(time.RFC3339), "links": links,
	}
	return writeJSON(w, "application/geo+json", cacheData, fc)
}

// geoJSONFeature converts a stored feature, its geometry in crs.
func geoJSONFeature(f layers.Feature, crs geo.CRS) *geojson.Feature {
	gf := geojson.NewFeature(geo.FromWGS84(crs, f.Geometry))
	gf.ID = f.ID
	if f.Props != nil {
		gf.Properties = f.Props
	}
	return gf
}

// withQuery appends the encoded parameters, if any, to a URL.
func withQuery(u string, v url.Values) string {
	if len(v) == 0 {
		return u
	}
	return u + "?" + v.Encode()
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
