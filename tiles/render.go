package tiles

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/paulmach/orb"
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
	pool     sync.Pool // of *scratch
	store    layers.Store
	cat      *layers.Catalog
	index    *H3Index
	buffer   float64
	budget   int
	maxBytes int

	fields sync.Map  // layer id → its fields by name ([]layers.Field)
	values sync.Map  // interned property values of kept forms
	memo   memoBound // the memory of kept feature forms (see memo.go)
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

// WithMemoBytes bounds the memory the renderer keeps in a store's memos
// (layers.MemoViewer: the embedded store) for features it has readied
// once: their typed properties and their shaped geometry per zoom
// (default DefaultMemoBytes; 0 keeps nothing). Tiles are the same either
// way; kept forms make them cheaper.
func WithMemoBytes(n int64) Option { return func(r *Renderer) { r.memo.max = max(n, 0) } }

// WithH3Index shares an H3 index (for example with the /api/h3 handler).
// By default the renderer makes its own.
func WithH3Index(ix *H3Index) Option { return func(r *Renderer) { r.index = ix } }

// New returns a renderer of the layers of cat held by store.
func New(store layers.Store, cat *layers.Catalog, opts ...Option) *Renderer {
	r := &Renderer{store: store, cat: cat, buffer: DefaultBuffer, budget: DefaultFeatureBudget, maxBytes: DefaultMaxBytes}
	r.memo.max = DefaultMemoBytes
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

// scratch is the working memory of one render, pooled by the Renderer:
// the slabs of the shaped layers, the shaper's buffers and the encoder's
// tables are reused from tile to tile.
type scratch struct {
	sh     shaper
	enc    *encoder
	layers []*layerFeatures
	out    []byte
}

// layer returns the i-th layer slab, emptied and named.
func (sc *scratch) layer(i int, name string) *layerFeatures {
	for len(sc.layers) <= i {
		sc.layers = append(sc.layers, &layerFeatures{})
	}
	lf := sc.layers[i]
	lf.name, lf.feats, lf.geom, lf.props, lf.sorted = name, lf.feats[:0], lf.geom[:0], lf.props[:0], false
	return lf
}

// shaper readies the shaper for tile t.
func (sc *scratch) shaper(t maptile.Tile, buffer, tol float64) *shaper {
	s := newShaper(t, buffer, tol)
	s.all, s.ends, s.pts, s.mask, s.stack, s.cbuf = sc.sh.all, sc.sh.ends, sc.sh.pts, sc.sh.mask, sc.sh.stack, sc.sh.cbuf
	sc.sh = *s
	return &sc.sh
}

// maxPooled is the largest slab kept for the next render: a huge tile's
// memory goes back to the heap.
const maxPooled = 4 << 20

func (r *Renderer) getScratch() *scratch {
	if sc, ok := r.pool.Get().(*scratch); ok {
		return sc
	}
	return &scratch{enc: newEncoder()}
}

func (r *Renderer) putScratch(sc *scratch) {
	for _, lf := range sc.layers {
		clear(lf.props) // drop references to property values
		if cap(lf.geom) > maxPooled || cap(lf.props) > maxPooled/32 {
			*lf = layerFeatures{}
		}
	}
	if cap(sc.out) > maxPooled {
		sc.out = nil
	}
	r.pool.Put(sc)
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
	sc := r.getScratch()
	defer r.putScratch(sc)
	bound := t.Bound(r.buffer / Extent)
	out := &Tile{}
	var lfs []*layerFeatures
	for _, p := range parts {
		lf := sc.layer(len(lfs), p.name)
		if !p.h3 {
			err = r.features(ctx, sc, lf, t, p.layer)
			if errors.Is(err, errOverBudget) {
				p = part{name: H3Prefix + p.layer.ID, layer: p.layer, h3: true}
				if slices.ContainsFunc(out.Layers, func(n string) bool { return n == p.name }) {
					continue
				}
				lf.name, err = p.name, nil
			}
			if err != nil {
				return nil, err
			}
		}
		dep := Dep{Layer: p.layer.ID, Bound: bound}
		if p.h3 {
			res := r.index.tileRes(p.layer, t.Z)
			if err := r.cells(ctx, sc, lf, t, p.layer, res); err != nil {
				return nil, err
			}
			dep.Bound = geo.ExpandBound(bound, 2*geo.EdgeLengthM(res))
		}
		out.Deps = append(out.Deps, dep)
		if len(lf.feats) == 0 {
			continue
		}
		out.Layers = append(out.Layers, p.name)
		lfs = append(lfs, lf)
	}
	if len(lfs) == 0 {
		return out, nil
	}
	data, err := sc.encode(lfs)
	if err != nil {
		return nil, fmt.Errorf("tiles: encode %d/%d/%d: %w", t.Z, t.X, t.Y, err)
	}
	// Over the size cap: halve the largest layer, least visible features
	// first, until the tile fits.
	for len(data) > r.maxBytes {
		big := 0
		for i := range lfs {
			if len(lfs[i].feats) > len(lfs[big].feats) {
				big = i
			}
		}
		lfs[big].cut(len(lfs[big].feats) / 2)
		if len(lfs[big].feats) == 0 { // MVT layers are not empty
			lfs = slices.Delete(lfs, big, big+1)
			out.Layers = slices.Delete(out.Layers, big, big+1)
			if len(lfs) == 0 {
				return out, nil
			}
		}
		if data, err = sc.encode(lfs); err != nil {
			return nil, fmt.Errorf("tiles: encode %d/%d/%d: %w", t.Z, t.X, t.Y, err)
		}
	}
	out.Data = bytes.Clone(data)
	return out, nil
}

// encode writes the tile of lfs into sc.out.
func (sc *scratch) encode(lfs []*layerFeatures) ([]byte, error) {
	data := sc.out[:0]
	var err error
	for _, lf := range lfs {
		if data, err = sc.enc.appendLayer(data, lf); err != nil {
			return nil, err
		}
	}
	sc.out = data
	return data, nil
}

var errOverBudget = errors.New("over budget")

// yieldEvery is how many features a render shapes between yields of its
// processor: a large tile takes milliseconds of CPU, and requests that
// only need a moment (reading a request, writing a cached tile) would
// otherwise wait for the scheduler to preempt it.
const yieldEvery = 1024

// features reads and shapes the features of l in tile t into lf, in id
// order, or the heaviest first when over the budget. A point layer with more features than the budget
// returns errOverBudget. The store lends its features (layers.View): they
// are read, never modified or kept.
func (r *Renderer) features(ctx context.Context, sc *scratch, lf *layerFeatures, t maptile.Tile, l *layers.Layer) error {
	q := layers.Query{Layer: l.ID, BBox: t.Bound(r.buffer / Extent)}
	if pointLayer(l) {
		n, err := r.store.Count(ctx, q)
		if err != nil {
			return err
		}
		if n > r.budget {
			return errOverBudget
		}
	}
	sh := sc.shaper(t, r.buffer, tolerance(t.Z))
	fields := r.sortedFields(l)
	add := func(f layers.Feature, m *layers.Memo) error {
		fm := r.memoOf(m, f, fields)
		g0, p0 := len(lf.geom), len(lf.props)
		geom, typ, w := sh.shape(lf.geom, f.Geometry, fm.slot(t.Z))
		if typ == 0 {
			return nil
		}
		lf.geom = geom
		if f.Geometry.Dimensions() == 0 {
			w = spread(f.ID) // points: a sample spread evenly in space
		}
		if fm != nil && len(fields) > 0 {
			lf.props = fm.appendProps(lf.props, fields)
		} else {
			lf.props = appendProps(lf.props, fields, f.Props)
		}
		lf.add(uint64(f.ID), w, typ, g0, p0)
		if len(lf.feats)%yieldEvery == 0 {
			runtime.Gosched()
		}
		return nil
	}
	var err error
	if r.memo.max > 0 {
		err = layers.ViewMemo(ctx, r.store, q, add)
	} else {
		err = layers.View(ctx, r.store, q, func(f layers.Feature) error { return add(f, nil) })
	}
	if err != nil {
		return err
	}
	if len(lf.feats) > r.budget {
		lf.cut(r.budget)
	}
	return nil
}

// spread maps an id to a weight in [1, 2): a hash (FNV-1a of the id's
// little-endian bytes), so that cutting points by weight thins them
// evenly instead of dropping one area.
func spread(id int64) float64 {
	h := uint64(14695981039346656037)
	for i := range 8 {
		h ^= uint64(byte(id >> (8 * i)))
		h *= 1099511628211
	}
	return 1 + float64(h>>11)/(1<<53)
}

// sortedFields returns the fields of l by name (see sortedFields),
// remembered per layer (catalog ids are unique: a layer's fields never
// change).
func (r *Renderer) sortedFields(l *layers.Layer) []layers.Field {
	if fs, ok := r.fields.Load(l.ID); ok {
		return fs.([]layers.Field)
	}
	fs := sortedFields(l)
	r.fields.Store(l.ID, fs)
	return fs
}

// sortedFields returns the fields of l by name, the order of a feature's
// MVT properties; nil for a layer without fields.
func sortedFields(l *layers.Layer) []layers.Field {
	if len(l.Fields) == 0 {
		return nil
	}
	fs := slices.Clone(l.Fields)
	slices.SortFunc(fs, func(a, b layers.Field) int { return cmp.Compare(a.Name, b.Name) })
	return fs
}

// appendProps appends the props of a feature as MVT values, typed by the
// layer schema (fields, by name): strings (also enums and dates),
// integers, numbers and booleans; nil and values that are not scalars
// are left out. A layer without fields (a derived layer that declares
// none) keeps every scalar.
func appendProps(dst []kv, fields []layers.Field, props map[string]any) []kv {
	if len(fields) == 0 {
		for k, v := range props {
			if s, ok := scalar(v); ok {
				dst = append(dst, kv{k, s})
			}
		}
		return dst
	}
	for _, fd := range fields {
		v, ok := props[fd.Name]
		if !ok || v == nil {
			continue
		}
		if s, ok := typed(fd.Type, v); ok {
			dst = append(dst, kv{fd.Name, s})
		}
	}
	return dst
}

// typed converts v to the MVT value of a field type. A value already of
// the right type is returned as is (no new interface value).
func typed(ft layers.FieldType, v any) (any, bool) {
	switch ft {
	case layers.Int:
		switch n := v.(type) {
		case int64:
			return v, true
		case int:
			return int64(n), true
		case float64:
			if n == float64(int64(n)) {
				return int64(n), true
			}
			return v, true
		}
	case layers.Float:
		switch n := v.(type) {
		case float64:
			return v, true
		case int64:
			return float64(n), true
		case int:
			return float64(n), true
		}
	case layers.Bool:
		if _, ok := v.(bool); ok {
			return v, true
		}
	default: // strings, enums, dates
		if _, ok := v.(string); ok {
			return v, true
		}
	}
	return scalar(v)
}

// scalar keeps the scalar values MVT can hold.
func scalar(v any) (any, bool) {
	switch x := v.(type) {
	case string, bool, int64, float64:
		return v, true
	case int:
		return int64(x), true
	case int32:
		return int64(x), true
	case float32:
		return float64(x), true
	}
	return nil, false
}

// cells shapes the H3 cells of layer l at res that reach into tile t
// into lf.
func (r *Renderer) cells(ctx context.Context, sc *scratch, lf *layerFeatures, t maptile.Tile, l *layers.Layer, res int) error {
	g, err := r.index.Grid(ctx, l.ID, res)
	if err != nil {
		return err
	}
	bound := t.Bound(r.buffer / Extent)
	sh := sc.shaper(t, r.buffer, 0)
	sch := schemaOf(l)
	for _, a := range g.Cells {
		if !a.Bound.Intersects(bound) {
			continue
		}
		g0, p0 := len(lf.geom), len(lf.props)
		geom, typ, w := sh.shape(lf.geom, a.Polygon, memoSlot{})
		if typ == 0 {
			continue
		}
		lf.geom = geom
		for k, v := range tileProps(sch, a, res) {
			lf.props = append(lf.props, kv{k, v})
		}
		lf.add(uint64(a.Cell), w, typ, g0, p0)
	}
	return nil
}
