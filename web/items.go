package web

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
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

	"riskmap/cql"
	"riskmap/exports"
	"riskmap/geo"
	"riskmap/layers"
)

// Bounds of the items route beyond limit and bbox.
const (
	maxSorted   = 100000 // features sortby may sort
	maxSortKeys = 5
)

// Query parameters of the items route other than field filters, and those
// of OGC API – Features parts it does not implement, which are refused by
// name rather than taken for unknown fields.
var (
	reserved    = []string{"bbox", "bbox-crs", "limit", "after", "offset", "crs", "f", "filter", "filter-lang", "filter-crs", "properties", "sortby"}
	unsupported = []string{"datetime"}
)

// itemsRequest is a parsed items request.
type itemsRequest struct {
	q      layers.Query // bbox, field filters and the filter's pushdown; AfterID; Limit (0: all)
	crs    geo.CRS      // of the output
	filter *cql.Filter  // nil: none
	empty  bool         // the filter cannot match anything
	props  []string     // nil: every property
	sortby []sortKey    // nil: id order, paged by after
	offset int          // with sortby
}

type sortKey struct {
	field string // a field or "id"
	desc  bool
}

// parseItems reads the parameters of the items route.
func parseItems(l *layers.Layer, v url.Values) (itemsRequest, error) {
	req := itemsRequest{q: layers.Query{Layer: l.ID, Limit: defaultLimit}, crs: geo.WGS84}
	q := &req.q
	for key, vals := range v {
		if len(vals) != 1 {
			return req, badRequest("parameter %q is given %d times; give it once (a comma list means any of)", key, len(vals))
		}
		val := vals[0]
		switch key {
		case "limit":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 || n > maxLimit {
				return req, badRequest("limit must be an integer from 1 to %d, got %q", maxLimit, val)
			}
			q.Limit = n
		case "after":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil || n < 0 {
				return req, badRequest("after must be a feature id (an integer ≥ 0), got %q", val)
			}
			q.AfterID = n
		case "offset":
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 || n > maxSorted {
				return req, badRequest("offset must be an integer from 0 to %d, got %q", maxSorted, val)
			}
			req.offset = n
		case "bbox":
			b, err := parseBBox(val)
			if err != nil {
				return req, err
			}
			q.BBox = b
		case "bbox-crs", "crs", "filter", "filter-crs":
		case "filter-lang":
			if val != "cql2-text" {
				return req, badRequest("filter-lang must be cql2-text, got %q", val)
			}
		case "f":
			if val != "json" && val != "geojson" && val != "csv" {
				return req, badRequest("f must be json, geojson or csv, got %q", val)
			}
		case "properties":
			req.props = []string{}
			for p := range strings.SplitSeq(val, ",") {
				if p = strings.TrimSpace(p); p == "" {
					continue
				}
				if _, ok := l.Field(p); !ok {
					return req, badRequest("properties: %q is not a field of %s (fields: %s)", p, l.ID, fieldNames(l))
				}
				req.props = append(req.props, p)
			}
		case "sortby":
			keys, err := parseSortBy(l, val)
			if err != nil {
				return req, err
			}
			req.sortby = keys
		default:
			if slices.Contains(unsupported, key) {
				return req, badRequest("parameter %q is not supported; supported: %s and the fields of %s",
					key, strings.Join(reserved, ", "), l.ID)
			}
			f, err := parseFieldFilter(l, key, val)
			if err != nil {
				return req, err
			}
			q.Filters = append(q.Filters, f)
		}
	}
	crsOf := func(key string) (geo.CRS, error) {
		val := v.Get(key)
		if val == "" {
			return geo.WGS84, nil
		}
		c, err := geo.ParseCRS(val)
		if err != nil {
			return c, badRequest("%s: %v", key, err)
		}
		return c, nil
	}
	var err error
	if req.crs, err = crsOf("crs"); err != nil {
		return req, err
	}
	bc, err := crsOf("bbox-crs")
	if err != nil {
		return req, err
	}
	if q.HasBBox() {
		q.BBox = geo.ToWGS84(bc, q.BBox).Bound()
	}
	if req.offset > 0 && req.sortby == nil {
		return req, badRequest("offset pages a sorted selection (with sortby); without sortby page with after")
	}
	if req.sortby != nil && q.AfterID > 0 {
		return req, badRequest("after pages in id order; with sortby page with offset")
	}
	if text := v.Get("filter"); text != "" {
		fc, err := crsOf("filter-crs")
		if err != nil {
			return req, err
		}
		e, err := cql.Parse(text)
		if err != nil {
			return req, err
		}
		if req.filter, err = cql.Bind(e, l, fc); err != nil {
			return req, err
		}
		bbox, filters, empty := req.filter.Pushdown()
		q.Filters = append(q.Filters, filters...)
		req.empty = empty
		if bbox != (orb.Bound{}) {
			if !q.HasBBox() {
				q.BBox = bbox
			} else if !q.BBox.Intersects(bbox) {
				req.empty = true
			} else {
				q.BBox = orb.Bound{Min: orb.Point{max(q.BBox.Min[0], bbox.Min[0]), max(q.BBox.Min[1], bbox.Min[1])},
					Max: orb.Point{min(q.BBox.Max[0], bbox.Max[0]), min(q.BBox.Max[1], bbox.Max[1])}}
			}
		}
	} else if v.Has("filter-crs") || v.Has("filter-lang") {
		return req, badRequest("filter-lang and filter-crs need a filter")
	}
	slices.SortStableFunc(q.Filters, func(a, b layers.Filter) int { return strings.Compare(a.Field, b.Field) })
	return req, nil
}

// parseSortBy reads sortby: a comma list of fields (or id), each with an
// optional + (ascending, the default) or - (descending).
func parseSortBy(l *layers.Layer, val string) ([]sortKey, error) {
	var keys []sortKey
	for part := range strings.SplitSeq(val, ",") {
		k := sortKey{}
		part = strings.TrimSpace(part) // a + unescaped in a URL arrives as a space
		switch {
		case strings.HasPrefix(part, "-"):
			k.desc, part = true, part[1:]
		case strings.HasPrefix(part, "+"):
			part = part[1:]
		}
		if _, ok := l.Field(part); !ok && part != "id" {
			return nil, badRequest("sortby: %q is not a field of %s (fields: id, %s)", part, l.ID, fieldNames(l))
		}
		keys = append(keys, sortKey{field: part, desc: k.desc})
	}
	if len(keys) > maxSortKeys {
		return nil, badRequest("sortby takes at most %d keys, got %d", maxSortKeys, len(keys))
	}
	return keys, nil
}

// parseFieldFilter makes the filter of one field parameter: its value
// coerced to the field's type (enums accept their codes and titles), a
// comma list meaning any of.
func parseFieldFilter(l *layers.Layer, key, val string) (layers.Filter, error) {
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

// page is what an items request selects.
type page struct {
	matched int  // numberMatched; -1 when not counted
	more    bool // features follow the page
}

// selectPage calls fn with the features of the request's page, in order.
// Without filter and sortby the store does the work (keyset paging by id,
// one feature read past the page to know if more follow). A filter is
// evaluated in Go over what the store selects with its pushdown; sortby
// sorts the whole selection (at most maxSorted features) by its keys, then
// id, and pages by offset. count asks for numberMatched.
func (s *server) selectPage(ctx context.Context, req itemsRequest, count bool, fn func(layers.Feature) error) (page, error) {
	pg := page{matched: -1}
	limit := req.q.Limit
	if req.empty {
		pg.matched = 0
		return pg, nil
	}
	if req.filter == nil && req.sortby == nil {
		if count {
			n, err := s.count(ctx, req.q)
			if err != nil {
				return pg, err
			}
			pg.matched = n
		}
		q := req.q
		if limit > 0 {
			q.Limit++
		}
		n := 0
		err := s.Store.Query(ctx, q, func(f layers.Feature) error {
			if n == limit && limit > 0 {
				pg.more = true
				return nil
			}
			n++
			return fn(f)
		})
		return pg, err
	}
	q := req.q
	q.AfterID, q.Limit = 0, 0
	match := func(f layers.Feature) bool { return req.filter == nil || req.filter.Match(f) }
	if req.sortby == nil {
		matched, n := 0, 0
		err := s.Store.Query(ctx, q, func(f layers.Feature) error {
			if !match(f) {
				return nil
			}
			matched++
			if f.ID <= req.q.AfterID {
				return nil
			}
			if limit > 0 && n == limit {
				pg.more = true
				return nil
			}
			n++
			return fn(f)
		})
		pg.matched = matched
		return pg, err
	}
	var all []layers.Feature
	err := s.Store.Query(ctx, q, func(f layers.Feature) error {
		if !match(f) {
			return nil
		}
		if len(all) == maxSorted {
			return badRequest("sortby sorts at most %d features; narrow the selection with bbox, filter or field filters", maxSorted)
		}
		all = append(all, f)
		return nil
	})
	if err != nil {
		return pg, err
	}
	slices.SortStableFunc(all, func(a, b layers.Feature) int {
		for _, k := range req.sortby {
			if c := compareProp(a, b, k.field, k.desc); c != 0 {
				return c
			}
		}
		return cmp.Compare(a.ID, b.ID)
	})
	pg.matched = len(all)
	end := len(all)
	if limit > 0 {
		end = min(end, req.offset+limit)
	}
	pg.more = end < len(all)
	for _, f := range all[min(req.offset, len(all)):end] {
		if err := fn(f); err != nil {
			return pg, err
		}
	}
	return pg, nil
}

// count is Store.Count through the count cache, if any.
func (s *server) count(ctx context.Context, q layers.Query) (int, error) {
	if s.counts == nil {
		return s.Store.Count(ctx, q)
	}
	key := countKey(q)
	if n, ok := s.counts.get(key); ok {
		return n, nil
	}
	n, err := s.Store.Count(ctx, q)
	if err == nil {
		s.counts.put(key, n)
	}
	return n, err
}

// compareProp orders two features by a property (or id), descending if
// desc; absent values sort last either way, values that cannot be
// compared as equal.
func compareProp(a, b layers.Feature, field string, desc bool) int {
	c := 0
	if field == "id" {
		c = cmp.Compare(a.ID, b.ID)
	} else {
		x, y := a.Props[field], b.Props[field]
		switch {
		case x == nil && y == nil:
			return 0
		case x == nil:
			return 1
		case y == nil:
			return -1
		}
		if c = layers.Compare(x, y); c == 2 {
			c = 0
		}
	}
	if desc {
		return -c
	}
	return c
}

func (s *server) items(w http.ResponseWriter, r *http.Request) error {
	l, err := s.Catalog.Layer(mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	v := r.URL.Query()
	req, err := parseItems(l, v)
	if err != nil {
		return err
	}
	ctx := r.Context()
	if v.Get("f") == "csv" {
		if v.Get("limit") == "" {
			req.q.Limit = 0 // a download: the whole selection
		}
		cl := l
		if req.props != nil {
			c := *l
			c.Fields = nil
			for _, p := range req.props {
				fd, _ := l.Field(p)
				c.Fields = append(c.Fields, fd)
			}
			cl = &c
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.csv"`, l.ID))
		_, err := exports.CSVOf(cl, req.crs, w, func(fn func(layers.Feature) error) error {
			_, err := s.selectPage(ctx, req, false, fn)
			return err
		})
		return err
	}
	fc := geojson.NewFeatureCollection()
	var last int64
	pg, err := s.selectPage(ctx, req, true, func(f layers.Feature) error {
		f.Props = pick(f.Props, req.props)
		fc.Append(geoJSONFeature(f, req.crs))
		last = f.ID
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
	with := func(key, val string) string {
		u := url.Values{}
		for k, vals := range v {
			u[k] = vals
		}
		if val == "" {
			u.Del(key)
		} else {
			u.Set(key, val)
		}
		return withQuery(self, u)
	}
	if pg.more {
		next := with("after", strconv.FormatInt(last, 10))
		if req.sortby != nil {
			next = with("offset", strconv.Itoa(req.offset+req.q.Limit))
		}
		links = append(links, link{next, "next", "application/geo+json", "next page"})
	}
	if req.sortby != nil && req.offset > 0 {
		prev := ""
		if o := req.offset - req.q.Limit; o > 0 {
			prev = strconv.Itoa(o)
		}
		links = append(links, link{with("offset", prev), "prev", "application/geo+json", "previous page"})
	}
	return writeFeatures(w, fc.Features, map[string]any{
		"numberMatched": pg.matched, "numberReturned": len(fc.Features),
		"timeStamp": time.Now().UTC().Format(time.RFC3339), "links": links,
	})
}

// writeFeatures writes a GeoJSON FeatureCollection with extra members.
// It marshals feature by feature: handing the whole collection to
// encoding/json re-validates each feature's JSON once per level of
// nesting, which costs most of the time of a page of 1,000 polygons.
func writeFeatures(w http.ResponseWriter, fs []*geojson.Feature, extra map[string]any) error {
	buf := bytes.NewBufferString(`{"type":"FeatureCollection","features":[`)
	for i, f := range fs {
		if i > 0 {
			buf.WriteByte(',')
		}
		b, err := f.MarshalJSON()
		if err != nil {
			return err
		}
		buf.Write(b)
	}
	buf.WriteByte(']')
	keys := slices.Sorted(maps.Keys(extra))
	for _, k := range keys {
		b, err := json.Marshal(extra[k])
		if err != nil {
			return err
		}
		kb, _ := json.Marshal(k)
		buf.WriteByte(',')
		buf.Write(kb)
		buf.WriteByte(':')
		buf.Write(b)
	}
	buf.WriteString("}\n")
	w.Header().Set("Content-Type", "application/geo+json")
	w.Header().Set("Cache-Control", cacheData)
	_, err := buf.WriteTo(w)
	return err
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

// pick returns the properties named in names (nil: all of them).
func pick(props map[string]any, names []string) map[string]any {
	if names == nil {
		return props
	}
	out := make(map[string]any, len(names))
	for _, n := range names {
		if v, ok := props[n]; ok {
			out[n] = v
		}
	}
	return out
}

// withQuery appends the encoded parameters, if any, to a URL.
func withQuery(u string, v url.Values) string {
	if len(v) == 0 {
		return u
	}
	return u + "?" + v.Encode()
}
