package web

import (
	"context"
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
	w.Header().Set("Cache-Control", "no-store")
	if err := s.Store.Ping(ctx); err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "5")
		w.WriteHeader(http.StatusServiceUnavailable)
		return writeJSON(w, "application/json", map[string]string{"status": "unavailable", "store": s.Store.Kind()})
	}
	return writeJSON(w, "application/json", map[string]string{"status": "ok", "store": s.Store.Kind()})
}

func (s *server) landing(w http.ResponseWriter, r *http.Request) error {
	b := baseURL(r)
	return writeJSON(w, "application/json", map[string]any{
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
	return writeJSON(w, "application/json", map[string]any{"conformsTo": []string{
		"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
		"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
	}})
}

// collectionDoc describes one layer.
func (s *server) collectionDoc(r *http.Request, l *layers.Layer, st layers.LayerStats) map[string]any {
	b := baseURL(r) + "/api/collections/" + l.ID
	doc := map[string]any{
		"id": l.ID, "title": l.Title.Zh + " " + l.Title.En, "title_zh": l.Title.Zh, "title_en": l.Title.En,
		"itemType": "feature", "crs": []string{crs84}, "feature_count": st.Count, "derived": l.Derived,
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

func (s *server) collections(w http.ResponseWriter, r *http.Request) error {
	stats, err := s.Store.Stats(r.Context())
	if err != nil {
		return err
	}
	var docs []map[string]any
	for _, l := range s.Catalog.Layers() {
		docs = append(docs, s.collectionDoc(r, l, stats[l.ID]))
	}
	return writeJSON(w, "application/json", map[string]any{
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
	return writeJSON(w, "application/json", s.collectionDoc(r, l, stats[l.ID]))
}

// reserved query parameters of the items route
var reserved = []string{"bbox", "bbox-crs", "limit", "after", "f", "crs"}

// parseQuery turns the items parameters into a store query.
func parseQuery(l *layers.Layer, v url.Values) (layers.Query, geo.CRS, error) {
	q := layers.Query{Layer: l.ID, Limit: defaultLimit}
	out := geo.WGS84
	for key, vals := range v {
		if len(vals) != 1 {
			return q, out, badRequest("parameter %q is given %d times", key, len(vals))
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
				return q, out, badRequest("after must be a feature id, got %q", val)
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
			fd, ok := l.Field(key)
			if !ok {
				return q, out, badRequest("unknown parameter %q: not a field of %s (fields: %s; reserved: %s)",
					key, l.ID, fieldNames(l), strings.Join(reserved, ", "))
			}
			var values []any
			for _, part := range strings.Split(val, ",") {
				c, err := fd.Coerce(part)
				if err != nil {
					return q, out, badRequest("%s: %v", key, err)
				}
				values = append(values, c)
			}
			op := layers.OpEq
			if len(values) > 1 {
				op = layers.OpIn
			}
			q.Filters = append(q.Filters, layers.Filter{Field: key, Op: op, Values: values})
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
	fc := geojson.NewFeatureCollection()
	var last int64
	err = s.Store.Query(ctx, q, func(f layers.Feature) error {
		gf := geojson.NewFeature(geo.FromWGS84(crs, f.Geometry))
		gf.ID = f.ID
		gf.Properties = f.Props
		if gf.Properties == nil {
			gf.Properties = geojson.Properties{}
		}
		fc.Append(gf)
		last = f.ID
		return nil
	})
	if err != nil {
		return err
	}
	self := baseURL(r) + r.URL.Path
	links := []link{{self + "?" + v.Encode(), "self", "application/geo+json", ""}}
	if len(fc.Features) == q.Limit && q.Limit > 0 {
		next := url.Values{}
		for k, vals := range v {
			next[k] = vals
		}
		next.Set("after", strconv.FormatInt(last, 10))
		links = append(links, link{self + "?" + next.Encode(), "next", "application/geo+json", "next page"})
	}
	fc.ExtraMembers = geojson.Properties{
		"numberMatched": matched, "numberReturned": len(fc.Features),
		"timeStamp": time.Now().UTC().Format(time.RFC3339), "links": links,
	}
	w.Header().Set("Cache-Control", "public, max-age=10")
	return writeJSON(w, "application/geo+json", fc)
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
	if c := r.URL.Query().Get("crs"); c != "" {
		if crs, err = geo.ParseCRS(c); err != nil {
			return badRequest("crs: %v", err)
		}
	}
	f, err := s.Store.Get(r.Context(), l.ID, id)
	if err != nil {
		return err
	}
	gf := geojson.NewFeature(geo.FromWGS84(crs, f.Geometry))
	gf.ID = f.ID
	gf.Properties = f.Props
	b := baseURL(r) + "/api/collections/" + l.ID
	gf.ExtraMembers = geojson.Properties{"links": []link{
		{fmt.Sprintf("%s/items/%d", b, id), "self", "application/geo+json", ""},
		{b, "collection", "application/json", l.Title.En},
	}}
	w.Header().Set("Cache-Control", "public, max-age=10")
	return writeJSON(w, "application/geo+json", gf)
}
