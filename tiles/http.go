package tiles

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/maptile"

	"riskmap/layers"
)

// ContentType is the media type of a vector tile.
const ContentType = "application/vnd.mapbox-vector-tile"

// DefaultMaxAge is the default Cache-Control max-age of tiles.
const DefaultMaxAge = time.Minute

// Handler serves tiles, TileJSON and H3 cells over HTTP. Its methods take
// the path variables as strings, write a response on success and return
// an error otherwise, for the web package's single error-to-status mapper:
// errors wrap layers.ErrInvalid (400: bad tile address, ids, res, bbox,
// metric, too many cells) or layers.ErrUnknownLayer (404), or come from
// the store.
type Handler struct {
	r      *Renderer
	cache  *Cache
	gz     gzipper // without a cache
	maxAge time.Duration
	slots  chan struct{} // bounds the tiles built at once; nil: no bound
}

// HandlerOption configures a Handler.
type HandlerOption func(*Handler)

// WithMaxAge sets the Cache-Control max-age of tiles (default one minute).
func WithMaxAge(d time.Duration) HandlerOption { return func(h *Handler) { h.maxAge = d } }

// WithBuildLimit bounds the tiles built at once (rendered, hashed and
// gzipped: cache misses) to n; n ≤ 0 means no bound, the default. With
// an embedded store a build is pure CPU: bounding builds to the number of
// cores (runtime.GOMAXPROCS) makes them queue first come, first served
// instead of sharing the cores, so that a large tile is not slowed down
// by every request that arrives while it renders; cached tiles never
// wait. With PostGIS a build mostly waits for the database: leave it
// unbounded.
func WithBuildLimit(n int) HandlerOption {
	return func(h *Handler) {
		h.slots = nil
		if n > 0 {
			h.slots = make(chan struct{}, n)
		}
	}
}

// NewHandler serves the tiles of r, keeping them in c (nil: no cache).
func NewHandler(r *Renderer, c *Cache, opts ...HandlerOption) *Handler {
	h := &Handler{r: r, cache: c, maxAge: DefaultMaxAge}
	for _, o := range opts {
		o(h)
	}
	return h
}

// Watch subscribes the H3 index and the cache to the writes of o. Call it
// before serving; without it tiles and cells go stale after a write.
func (h *Handler) Watch(o *layers.Observed) {
	o.Subscribe(func(ctx context.Context, ch layers.Change) {
		h.r.index.Apply(ctx, ch)
		if h.cache != nil {
			h.cache.Invalidate(ch)
		}
	})
}

// Cache returns the handler's cache (nil when it has none).
func (h *Handler) Cache() *Cache { return h.cache }

// Tile serves GET /tiles/{ids}/{z}/{x}/{y}.mvt: 200 with the tile
// (gzipped when the client accepts it), 204 No Content for an empty
// tile, 304 Not Modified when If-None-Match holds the tile's ETag.
func (h *Handler) Tile(w http.ResponseWriter, r *http.Request, ids, z, x, y string) error {
	list, err := ParseIDs(ids)
	if err != nil {
		return err
	}
	t, err := Parse(z, x, y)
	if err != nil {
		return err
	}
	deps := make([]string, len(list))
	private := false
	for i, id := range list {
		l, err := h.r.cat.Layer(strings.TrimPrefix(id, H3Prefix))
		if err != nil {
			return err
		}
		deps[i] = l.ID
		private = private || l.Sensitive
	}
	key := Key(list, uint32(t.Z), t.X, t.Y)
	var e *Entry
	if h.cache != nil {
		e, err = h.cache.get(r.Context(), key, deps, func(ctx context.Context) (*Entry, error) {
			return h.build(ctx, key, t, list, &h.cache.gz)
		})
	} else {
		e, err = h.build(r.Context(), key, t, list, &h.gz)
	}
	if err != nil {
		return err
	}

	gz := len(e.Gzip) > 0 && acceptsGzip(r.Header.Get("Accept-Encoding"))
	hd := w.Header()
	hd.Set("Vary", "Accept-Encoding")
	scope := "public"
	if private {
		scope = "private"
	}
	hd.Set("Cache-Control", fmt.Sprintf("%s, max-age=%d", scope, int(h.maxAge.Seconds())))
	etag := e.ETag
	if gz {
		etag = strings.TrimSuffix(etag, `"`) + `-gz"`
	}
	hd.Set("ETag", etag)
	if matchesETag(r.Header.Get("If-None-Match"), e.ETag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	if len(e.Tile.Data) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	body := e.Tile.Data
	hd.Set("Content-Type", ContentType)
	if gz {
		hd.Set("Content-Encoding", "gzip")
		body = e.Gzip
	}
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
	return nil
}

// build renders tile t of list and makes its entry, within the build
// limit (WithBuildLimit).
func (h *Handler) build(ctx context.Context, key string, t maptile.Tile, list []string, gz *gzipper) (*Entry, error) {
	if h.slots != nil {
		select {
		case h.slots <- struct{}{}:
		case <-ctx.Done():
			return nil, fmt.Errorf("tiles: waiting to build %d/%d/%d: %w", t.Z, t.X, t.Y, ctx.Err())
		}
		defer func() { <-h.slots }()
	}
	tl, err := h.r.RenderTile(ctx, t, list)
	if err != nil {
		return nil, err
	}
	return newEntry(key, tl, gz)
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip.
func acceptsGzip(h string) bool {
	for _, part := range strings.Split(h, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name != "gzip" && name != "*" {
			continue
		}
		q := strings.ReplaceAll(strings.ToLower(params), " ", "")
		if v, ok := strings.CutPrefix(q, "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil && f == 0 {
				return false
			}
		}
		return true
	}
	return false
}

// matchesETag reports whether an If-None-Match header names etag, in
// either encoding (a "-gz" suffix) and weak or strong.
func matchesETag(h, etag string) bool {
	if h == "" {
		return false
	}
	for _, part := range strings.Split(h, ",") {
		tag := strings.TrimPrefix(strings.TrimSpace(part), "W/")
		if tag == "*" || tag == etag || tag == strings.TrimSuffix(etag, `"`)+`-gz"` {
			return true
		}
	}
	return false
}

// TileJSON serves GET /tiles/{ids}.json: TileJSON 3.0.0 whose tile URL is
// absolute, built from the request's Host and X-Forwarded-Proto.
func (h *Handler) TileJSON(w http.ResponseWriter, r *http.Request, ids string) error {
	list, err := ParseIDs(ids)
	if err != nil {
		return err
	}
	base, err := BaseURL(r)
	if err != nil {
		return err
	}
	doc, err := TileJSON(r.Context(), h.r.store, h.r.cat, list, base)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(h.maxAge.Seconds())))
	return writeJSON(w, r, "application/json", doc)
}

// BaseURL is the scheme and host a client reached the server at: the
// first X-Forwarded-Proto (http or https) or the connection's, and the
// Host header, checked to hold only host-name characters.
func BaseURL(r *http.Request) (string, error) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
		p, _, _ = strings.Cut(p, ",")
		switch p = strings.ToLower(strings.TrimSpace(p)); p {
		case "http", "https":
			scheme = p
		}
	}
	host := r.Host
	if host == "" || len(host) > 255 || strings.ContainsFunc(host, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(".-:[]_", c))
	}) {
		return "", fmt.Errorf("%w: Host header %q", layers.ErrInvalid, host)
	}
	return scheme + "://" + host, nil
}

// H3 serves GET /api/h3/{id}?res=&bbox=&metric=: a GeoJSON
// FeatureCollection of the cells at res (MinRes–MaxRes, default 8) whose
// centre lies in bbox (minLon,minLat,maxLon,maxLat; default the layer's
// extent) and that hold a feature, each a polygon with the properties
// cell, res, value (the metric, null when no feature of the cell has the
// field), count and, for layers with a risk level, risk_max. The metric
// is one of Metrics (default count).
func (h *Handler) H3(w http.ResponseWriter, r *http.Request, id string) error {
	q := CellsQuery{Layer: id, Res: 8, Metric: r.URL.Query().Get("metric")}
	if s := r.URL.Query().Get("res"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("%w: res %q is not an integer %d..%d", layers.ErrInvalid, s, MinRes, MaxRes)
		}
		q.Res = n
	}
	if s := r.URL.Query().Get("bbox"); s != "" {
		b, err := ParseBBox(s)
		if err != nil {
			return err
		}
		q.BBox = b
	}
	cells, err := h.r.index.Cells(r.Context(), q)
	if err != nil {
		return err
	}
	l, _ := h.r.cat.Layer(id)
	sch := schemaOf(l)
	fc := geojson.NewFeatureCollection()
	fc.Features = make([]*geojson.Feature, 0, len(cells))
	for _, c := range cells {
		f := geojson.NewFeature(c.Polygon)
		f.ID = c.Cell.String()
		f.Properties["cell"] = c.Cell.String()
		f.Properties["res"] = c.Res
		f.Properties["count"] = c.Count
		if c.Has {
			f.Properties["value"] = c.Value
		} else {
			f.Properties["value"] = nil
		}
		if sch.risk && c.Risk > 0 {
			f.Properties["risk_max"] = riskCode(c.Risk)
		}
		fc.Features = append(fc.Features, f)
	}
	metric := q.Metric
	if metric == "" {
		metric = "count"
	}
	fc.ExtraMembers = geojson.Properties{"layer": id, "res": q.Res, "metric": metric, "numberReturned": len(cells)}
	return writeJSON(w, r, "application/geo+json", fc)
}

// ParseBBox reads "minLon,minLat,maxLon,maxLat" in WGS84. Errors wrap
// layers.ErrInvalid.
func ParseBBox(s string) (orb.Bound, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return orb.Bound{}, fmt.Errorf("%w: bbox %q must be minLon,minLat,maxLon,maxLat", layers.ErrInvalid, s)
	}
	var v [4]float64
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return orb.Bound{}, fmt.Errorf("%w: bbox %q must be minLon,minLat,maxLon,maxLat", layers.ErrInvalid, s)
		}
		v[i] = f
	}
	b := orb.Bound{Min: orb.Point{v[0], v[1]}, Max: orb.Point{v[2], v[3]}}
	return b, layers.ValidateBBox(b)
}

func writeJSON(w http.ResponseWriter, r *http.Request, contentType string, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("tiles: encode json: %w", err)
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
	return nil
}
