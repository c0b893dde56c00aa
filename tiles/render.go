package tiles

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/maptile"

	"riskmap/geo"
	"riskmap/layers"
)

// Defaults of a Renderer; see the options.
const (
	DefaultBuffer        = 64
	DefaultFeatureBudget = 10000
	DefaultMaxBytes      = 500 << 10
)

// Renderer builds vector tiles from a store. It is safe for concurrent
// use.
type Renderer struct {
	store    layers.Store
	cat      *layers.Catalog
	index    *H3Index
	buffer   float64
	budget   int
	maxBytes int
}

// Option configures a Renderer.
type Option func(*Renderer)

// WithBuffer sets the buffer around a tile, in tile units of the 4096
// extent (default 64).
func WithBuffer(units int) Option { return func(r *Renderer) { r.buffer = float64(max(units, 0)) } }

// WithFeatureBudget sets the most features one layer contributes to one
// tile (default 10,000). A point layer over budget is drawn as its H3
// aggregate; other layers keep their largest features.
func WithFeatureBudget(n int) Option { return func(r *Renderer) { r.budget = max(n, 1) } }

// WithMaxBytes sets the largest encoded tile (default 500 KB).
func WithMaxBytes(n int) Option { return func(r *Renderer) { r.maxBytes = max(n, 1) } }

// WithH3Index shares an H3 index (for example with the /api/h3 handler).
// By default the renderer makes its own.
func WithH3Index(ix *H3Index) Option { return func(r *Renderer) { r.index = ix } }

// New returns a renderer of the layers of cat held by store.
func New(store layers.Store, cat *layers.Catalog, opts ...Option) *Renderer {
	r := &Renderer{store: store, cat: cat, buffer: DefaultBuffer, budget: DefaultFeatureBudget, maxBytes: DefaultMaxBytes}
	for _, o := range opts {
		o(r)
	}
	if r.index == nil {
		r.index = NewH3Index(store, cat)
	}
	return r
}

// Index returns the renderer's H3 index.
func (r *Renderer) Index() *H3Index { return r.index }

// Catalog returns the renderer's catalog.
func (r *Renderer) Catalog() *layers.Catalog { return r.cat }

// Store returns the renderer's store.
func (r *Renderer) Store() layers.Store { return r.store }

// Tile is a rendered tile and what it depends on.
type Tile struct {
	// Data is the encoded MVT, uncompressed; empty when no layer has a
	// feature in the tile.
	Data []byte
	// Layers lists the MVT layers in the tile, in order.
	Layers []string
	// Deps says which writes can change the tile: a write to Deps[i].Layer
	// whose bounds intersect Deps[i].Bound.
	Deps []Dep
}

// Dep is one dependency of a tile: a stored layer and the WGS84 area of it
// that the tile shows (the buffered tile, widened by a cell for H3
// layers).
type Dep struct {
	Layer string
	Bound orb.Bound
}

// Render encodes tile t of the layers ids (see the package doc). It
// returns nil bytes for an empty tile. Unknown ids are an error wrapping
// layers.ErrUnknownLayer; the error of a store is returned as is and no
// partial tile is ever returned.
func (r *Renderer) Render(ctx context.Context, t maptile.Tile, ids []string) ([]byte, error) {
	tl, err := r.RenderTile(ctx, t, ids)
	if err != nil {
		return nil, err
	}
	return tl.Data, nil
}

// part is one planned MVT layer.
type part struct {
	name  string        // the MVT layer name
	layer *layers.Layer // the catalog layer (the base layer of an H3 part)
	h3    bool
}

// Plan resolves ids for zoom z into the MVT layers a tile holds: ids in
// order, a point layer below its MinZoom replaced by its H3 layer, other
// layers outside their zoom range left out, repeats dropped.
func (r *Renderer) plan(ids []string, z maptile.Zoom) ([]part, error) {
	var out []part
	add := func(p part) {
		if !slices.ContainsFunc(out, func(q part) bool { return q.name == p.name }) {
			out = append(out, p)
		}
	}
	for _, id := range ids {
		base, isH3 := strings.CutPrefix(id, H3Prefix)
		l, err := r.cat.Layer(base)
		if err != nil {
			return nil, err
		}
		switch {
		case isH3:
			add(part{name: id, layer: l, h3: true})
		case int(z) > l.MaxZoom:
		case int(z) < l.MinZoom:
			if pointLayer(l) {
				add(part{name: H3Prefix + l.ID, layer: l, h3: true})
			}
		default:
			add(part{name: l.ID, layer: l})
		}
	}
	return out, nil
}

func pointLayer(l *layers.Layer) bool {
	return len(l.Geometry) == 1 && l.Geometry[0] == layers.Point
}

// item is a feature ready for encoding with its weight.
type item struct {
	f *geojson.Feature
	w float64
}

// RenderTile is Render with the tile's layers and dependencies, for
// caches.
func (r *Renderer) RenderTile(ctx context.Context, t maptile.Tile, ids []string) (*Tile, error) {
	if !t.Valid() || t.Z > MaxZoom {
		return nil, fmt.Errorf("%w: %d/%d/%d", ErrInvalidTile, t.Z, t.X, t.Y)
	}
	parts, err := r.plan(ids, t.Z)
	if err != nil {
		return nil, err
	}
	bound := t.Bound(r.buffer / Extent)
	out := &Tile{}
	var mls mvt.Layers
	var items [][]item
	for _, p := range parts {
		var its []item
		if !p.h3 {
			its, err = r.features(ctx, t, p.layer)
			if errors.Is(err, errOverBudget) {
				p = part{name: H3Prefix + p.layer.ID, layer: p.layer, h3: true}
				if slices.ContainsFunc(out.Layers, func(n string) bool { return n == p.name }) {
					continue
				}
				err = nil
			}
			if err != nil {
				return nil, err
			}
		}
		dep := Dep{Layer: p.layer.ID, Bound: bound}
		if p.h3 {
			res := r.index.tileRes(p.layer, t.Z)
			its, err = r.cells(ctx, t, p.layer, res)
			if err != nil {
				return nil, err
			}
			dep.Bound = geo.ExpandBound(bound, 2*geo.EdgeLengthM(res))
		}
		out.Deps = append(out.Deps, dep)
		if len(its) == 0 {
			continue
		}
		out.Layers = append(out.Layers, p.name)
		items = append(items, its)
		mls = append(mls, &mvt.Layer{Name: p.name, Version: 2, Extent: Extent})
	}
	if len(mls) == 0 {
		return out, nil
	}
	for i := range mls {
		mls[i].Features = features(items[i])
	}
	data, err := mvt.Marshal(mls)
	if err != nil {
		return nil, fmt.Errorf("tiles: encode %d/%d/%d: %w", t.Z, t.X, t.Y, err)
	}
	// Over the size cap: halve the largest layer, least visible features
	// first, until the tile fits.
	for len(data) > r.maxBytes {
		big := 0
		for i := range items {
			if len(items[i]) > len(items[big]) {
				big = i
			}
		}
		items[big] = items[big][:len(items[big])/2]
		mls[big].Features = features(items[big])
		if len(items[big]) == 0 { // MVT layers are not empty
			items = slices.Delete(items, big, big+1)
			mls = slices.Delete(mls, big, big+1)
			out.Layers = slices.Delete(out.Layers, big, big+1)
			if len(mls) == 0 {
				return out, nil
			}
		}
		if data, err = mvt.Marshal(mls); err != nil {
			return nil, fmt.Errorf("tiles: encode %d/%d/%d: %w", t.Z, t.X, t.Y, err)
		}
	}
	out.Data = data
	return out, nil
}

func features(its []item) []*geojson.Feature {
	fs := make([]*geojson.Feature, len(its))
	for i, it := range its {
		fs[i] = it.f
	}
	return fs
}

var errOverBudget = errors.New("over budget")

// features reads and shapes the features of l in tile t, heaviest first.
// A point layer with more features than the budget returns errOverBudget.
func (r *Renderer) features(ctx context.Context, t maptile.Tile, l *layers.Layer) ([]item, error) {
	q := layers.Query{Layer: l.ID, BBox: t.Bound(r.buffer / Extent)}
	if pointLayer(l) {
		n, err := r.store.Count(ctx, q)
		if err != nil {
			return nil, err
		}
		if n > r.budget {
			return nil, errOverBudget
		}
	}
	sh := newShaper(t, r.buffer, tolerance(t.Z))
	var its []item
	err := r.store.Query(ctx, q, func(f layers.Feature) error {
		g, w := sh.shape(f.Geometry)
		if g == nil {
			return nil
		}
		if f.Geometry.Dimensions() == 0 {
			w = spread(f.ID) // points: a sample spread evenly in space
		}
		its = append(its, item{f: &geojson.Feature{ID: uint64(f.ID), Geometry: g, Properties: properties(l, f.Props)}, w: w})
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Heaviest first, then by id: the order of the encoded features is
	// deterministic, and cutting the tail drops the least visible.
	slices.SortStableFunc(its, func(a, b item) int {
		if c := cmp.Compare(b.w, a.w); c != 0 {
			return c
		}
		return cmp.Compare(a.f.ID.(uint64), b.f.ID.(uint64))
	})
	if len(its) > r.budget {
		its = its[:r.budget]
	}
	return its, nil
}

// spread maps an id to a weight in [1, 2): a hash, so that cutting points
// by weight thins them evenly instead of dropping one area.
func spread(id int64) float64 {
	h := fnv.New64a()
	var b [8]byte
	for i := range b {
		b[i] = byte(id >> (8 * i))
	}
	h.Write(b[:])
	return 1 + float64(h.Sum64()>>11)/(1<<53)
}

// properties returns the props of a feature as MVT values, typed by the
// layer schema: strings (also enums and dates), integers, numbers and
// booleans; nil and values that are not scalars are left out. A layer
// without fields (a derived layer that declares none) keeps every scalar.
func properties(l *layers.Layer, props map[string]any) geojson.Properties {
	out := make(geojson.Properties, len(props))
	if len(l.Fields) == 0 {
		for k, v := range props {
			if s, ok := scalar(v); ok {
				out[k] = s
			}
		}
		return out
	}
	for _, fd := range l.Fields {
		v, ok := props[fd.Name]
		if !ok || v == nil {
			continue
		}
		if s, ok := typed(fd.Type, v); ok {
			out[fd.Name] = s
		}
	}
	return out
}

// typed converts v to the MVT value of a field type.
func typed(ft layers.FieldType, v any) (any, bool) {
	switch ft {
	case layers.Int:
		switch n := v.(type) {
		case int64:
			return n, true
		case int:
			return int64(n), true
		case float64:
			if n == float64(int64(n)) {
				return int64(n), true
			}
			return n, true
		}
	case layers.Float:
		switch n := v.(type) {
		case float64:
			return n, true
		case int64:
			return float64(n), true
		case int:
			return float64(n), true
		}
	case layers.Bool:
		if b, ok := v.(bool); ok {
			return b, true
		}
	default: // strings, enums, dates
		if s, ok := v.(string); ok {
			return s, true
		}
	}
	return scalar(v)
}

// scalar keeps the scalar values MVT can hold.
func scalar(v any) (any, bool) {
	switch x := v.(type) {
	case string, bool, int64, float64:
		return x, true
	case int:
		return int64(x), true
	case int32:
		return int64(x), true
	case float32:
		return float64(x), true
	}
	return nil, false
}

// cells shapes the H3 cells of layer l at res that reach into tile t.
func (r *Renderer) cells(ctx context.Context, t maptile.Tile, l *layers.Layer, res int) ([]item, error) {
	g, err := r.index.Grid(ctx, l.ID, res)
	if err != nil {
		return nil, err
	}
	bound := t.Bound(r.buffer / Extent)
	sh := newShaper(t, r.buffer, 0)
	sch := schemaOf(l)
	var its []item
	for _, a := range g.Cells {
		if !a.Bound.Intersects(bound) {
			continue
		}
		shape, w := sh.shape(orb.Clone(a.Polygon))
		if shape == nil {
			continue
		}
		its = append(its, item{f: &geojson.Feature{ID: uint64(a.Cell), Geometry: shape, Properties: tileProps(sch, a, res)}, w: w})
	}
	return its, nil
}
