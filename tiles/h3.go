package tiles

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/clip"
	"github.com/paulmach/orb/maptile"

	"riskmap/geo"
	"riskmap/layers"
)

// H3Prefix names the H3 aggregate layer of a layer: "h3:{id}".
const H3Prefix = "h3:"

// H3 resolutions.
const (
	// MinRes and MaxRes bound the resolutions of aggregates.
	MinRes = 5
	MaxRes = 12
	// PointRes is the resolution the index keeps points at: every coarser
	// aggregate is exact.
	PointRes = MaxRes
	// FineRes is the default resolution of the cells covering lines and
	// polygons (about 76 m edges, the resolution of the 150 m hydrant
	// rule).
	FineRes = 10
)

// ResForZoom returns the H3 resolution of aggregate tiles at zoom z: res 7
// at z9–10, 8 at z11–12, 9 at z13–14, 10 at z15–16 and so on, within
// MinRes..MaxRes. Cells are then roughly 10–20 screen pixels across.
func ResForZoom(z maptile.Zoom) int {
	return min(max((int(z)+5)/2, MinRes), MaxRes)
}

// H3Index assigns the features of each layer to H3 cells and aggregates
// them per cell. Points get their cell at PointRes, lines and polygons
// their covering cells (geo.Cells) at FineRes. A layer is read from the
// store on first use and kept current by Apply, which a layers.Observed
// store calls on every write (see Watch). It is safe for concurrent use.
type H3Index struct {
	store   layers.Store
	cat     *layers.Catalog
	fineRes int

	mu     sync.Mutex
	layers map[string]*layerCells
}

// NewH3Index returns an empty index over store.
func NewH3Index(store layers.Store, cat *layers.Catalog) *H3Index {
	return &H3Index{store: store, cat: cat, fineRes: FineRes, layers: map[string]*layerCells{}}
}

// layerCells is the index of one layer.
type layerCells struct {
	mu    sync.Mutex // held while reading the store and building
	built bool
	res   int
	feats map[int64]cellFeature
	grids map[int]*Grid

	pendMu  sync.Mutex // guards the writes not yet applied
	pending map[int64]struct{}
	all     bool
}

type cellFeature struct {
	cells []geo.Cell
	props map[string]any
}

// Grid is the aggregate of one layer at one resolution: the cells holding
// at least one feature. A Grid is immutable once returned.
type Grid struct {
	Layer string
	Res   int
	Cells []*Agg // ordered by cell index
}

// Agg is what one cell holds.
type Agg struct {
	Cell    geo.Cell
	Polygon orb.Polygon // the cell outline, shared: clone before changing it
	Bound   orb.Bound
	Count   int            // features touching the cell
	Risk    int            // worst risk_level: 4 red, 3 orange, 2 yellow, 1 blue, 0 none
	Status  map[string]int // features per status code, when the layer has a status
	Nums    map[string]*NumAgg
	Trues   map[string]int // features with a true boolean field
}

// NumAgg aggregates one numeric field over the features of a cell that
// have it.
type NumAgg struct {
	N             int
	Sum, Min, Max float64
}

// Apply records a write; the next read of the layer applies it. It has
// the signature of a layers.Observed subscriber.
func (ix *H3Index) Apply(_ context.Context, ch layers.Change) {
	ix.mu.Lock()
	lc := ix.layers[ch.Layer]
	ix.mu.Unlock()
	if lc == nil {
		return // never read: nothing to update
	}
	lc.pendMu.Lock()
	defer lc.pendMu.Unlock()
	if ch.All {
		lc.all = true
		return
	}
	if lc.pending == nil {
		lc.pending = map[int64]struct{}{}
	}
	for _, id := range ch.IDs {
		lc.pending[id] = struct{}{}
	}
}

func (ix *H3Index) layer(id string) *layerCells {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	lc := ix.layers[id]
	if lc == nil {
		lc = &layerCells{}
		ix.layers[id] = lc
	}
	return lc
}

// indexRes is the resolution the index keeps layer l at.
func (ix *H3Index) indexRes(l *layers.Layer) int {
	if pointLayer(l) {
		return PointRes
	}
	return ix.fineRes
}

// tileRes is the resolution of the H3 tile layer of l at zoom z.
func (ix *H3Index) tileRes(l *layers.Layer, z maptile.Zoom) int {
	return min(ResForZoom(z), ix.indexRes(l))
}

// Grid returns the aggregate of layer id at res (MinRes up to the index
// resolution of the layer: PointRes for point layers, FineRes otherwise).
func (ix *H3Index) Grid(ctx context.Context, id string, res int) (*Grid, error) {
	l, err := ix.cat.Layer(id)
	if err != nil {
		return nil, err
	}
	if res < MinRes || res > ix.indexRes(l) {
		return nil, fmt.Errorf("%w: res %d for layer %s: want %d..%d", layers.ErrInvalid, res, id, MinRes, ix.indexRes(l))
	}
	lc := ix.layer(id)
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if err := ix.refresh(ctx, l, lc); err != nil {
		return nil, err
	}
	g := lc.grids[res]
	if g == nil {
		g = buildGrid(l, res, maps.Values(lc.feats))
		lc.grids[res] = g
	}
	return g, nil
}

// refresh brings lc up to date with the store; lc.mu is held.
func (ix *H3Index) refresh(ctx context.Context, l *layers.Layer, lc *layerCells) error {
	lc.pendMu.Lock()
	pending, all := lc.pending, lc.all
	lc.pending, lc.all = nil, false
	lc.pendMu.Unlock()
	if !lc.built || all {
		res := ix.indexRes(l)
		feats := map[int64]cellFeature{}
		err := ix.store.Query(ctx, layers.Query{Layer: l.ID}, func(f layers.Feature) error {
			feats[f.ID] = cellFeature{cells: cellsOf(f.Geometry, res), props: f.Props}
			return nil
		})
		if err != nil {
			lc.built = false
			return fmt.Errorf("tiles: h3 index of %s: %w", l.ID, err)
		}
		lc.built, lc.res, lc.feats, lc.grids = true, res, feats, map[int]*Grid{}
		return nil
	}
	if len(pending) == 0 {
		return nil
	}
	for id := range pending {
		f, err := ix.store.Get(ctx, l.ID, id)
		switch {
		case err == nil:
			lc.feats[id] = cellFeature{cells: cellsOf(f.Geometry, lc.res), props: f.Props}
		case isNotFound(err):
			delete(lc.feats, id)
		default:
			// Put the work back for the next reader.
			lc.pendMu.Lock()
			if lc.pending == nil {
				lc.pending = map[int64]struct{}{}
			}
			for id := range pending {
				lc.pending[id] = struct{}{}
			}
			lc.pendMu.Unlock()
			return fmt.Errorf("tiles: h3 index of %s: %w", l.ID, err)
		}
	}
	lc.grids = map[int]*Grid{}
	return nil
}

// buildGrid aggregates features into cells at res; a feature counts once
// per cell however many of its fine cells fall in it.
func buildGrid(l *layers.Layer, res int, feats func(func(cellFeature) bool)) *Grid {
	sch := schemaOf(l)
	cells := map[geo.Cell]*Agg{}
	var parents []geo.Cell
	for f := range feats {
		parents = parents[:0]
		for _, c := range f.cells {
			if p := geo.Parent(c, res); p != 0 {
				parents = append(parents, p)
			}
		}
		slices.Sort(parents)
		for _, p := range slices.Compact(parents) {
			a := cells[p]
			if a == nil {
				a = &Agg{Cell: p}
				cells[p] = a
			}
			sch.add(a, f.props)
		}
	}
	return finishGrid(l.ID, res, cells)
}

func finishGrid(layer string, res int, cells map[geo.Cell]*Agg) *Grid {
	g := &Grid{Layer: layer, Res: res, Cells: make([]*Agg, 0, len(cells))}
	for _, a := range cells {
		a.Polygon = geo.CellPolygon(a.Cell)
		a.Bound = a.Polygon.Bound()
		g.Cells = append(g.Cells, a)
	}
	slices.SortFunc(g.Cells, func(a, b *Agg) int { return cmp.Compare(a.Cell, b.Cell) })
	return g
}

// schema is what an aggregate of a layer keeps.
type schema struct {
	risk   bool     // the layer has risk_level
	status []string // status codes, when the layer has a status enum
	nums   []string // integer and number fields
	bools  []string // boolean fields
}

func schemaOf(l *layers.Layer) schema {
	var s schema
	for _, f := range l.Fields {
		switch {
		case f.Name == "risk_level" && f.Type == layers.Enum:
			s.risk = true
		case f.Name == "status" && f.Type == layers.Enum:
			for _, v := range f.Values {
				s.status = append(s.status, v.Code)
			}
		case f.Type == layers.Int || f.Type == layers.Float:
			s.nums = append(s.nums, f.Name)
		case f.Type == layers.Bool:
			s.bools = append(s.bools, f.Name)
		}
	}
	return s
}

// riskRank ranks risk levels: red 4 … blue 1, anything else 0.
func riskRank(v any) int {
	s, _ := v.(string)
	for i, rl := range layers.RiskLevels {
		if rl.Code == s {
			return len(layers.RiskLevels) - i
		}
	}
	return 0
}

func riskCode(rank int) string {
	if rank < 1 || rank > len(layers.RiskLevels) {
		return ""
	}
	return layers.RiskLevels[len(layers.RiskLevels)-rank].Code
}

func (s schema) add(a *Agg, props map[string]any) {
	a.Count++
	if s.risk {
		a.Risk = max(a.Risk, riskRank(props["risk_level"]))
	}
	if len(s.status) > 0 {
		if st, ok := props["status"].(string); ok {
			if a.Status == nil {
				a.Status = map[string]int{}
			}
			a.Status[st]++
		}
	}
	for _, name := range s.nums {
		v, ok := number(props[name])
		if !ok {
			continue
		}
		if a.Nums == nil {
			a.Nums = map[string]*NumAgg{}
		}
		n := a.Nums[name]
		if n == nil {
			n = &NumAgg{Min: v, Max: v}
			a.Nums[name] = n
		}
		n.N++
		n.Sum += v
		n.Min = min(n.Min, v)
		n.Max = max(n.Max, v)
	}
	for _, name := range s.bools {
		if b, _ := props[name].(bool); b {
			if a.Trues == nil {
				a.Trues = map[string]int{}
			}
			a.Trues[name]++
		}
	}
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case float64:
		return n, !math.IsNaN(n)
	case int:
		return float64(n), true
	}
	return 0, false
}

// tileProps are the MVT properties of a cell of layer l: cell (the index
// as a hex string: JavaScript cannot hold the 64-bit feature id exactly),
// res, count, risk_max when the layer has a risk_level, and
// status_{code} for every status code when it has a status.
func tileProps(s schema, a *Agg, res int) map[string]any {
	p := map[string]any{"cell": a.Cell.String(), "res": int64(res), "count": int64(a.Count)}
	if s.risk && a.Risk > 0 {
		p["risk_max"] = riskCode(a.Risk)
	}
	for _, code := range s.status {
		p["status_"+code] = int64(a.Status[code])
	}
	return p
}

// Metrics lists the metrics of layer l for the H3 API: count; risk_max
// (4 red … 1 blue) when it has a risk_level; status_{code} per status;
// {field}_sum, _avg, _min and _max per numeric field; {field}_count (how
// many are true) per boolean field.
func Metrics(l *layers.Layer) []string {
	s := schemaOf(l)
	out := []string{"count"}
	if s.risk {
		out = append(out, "risk_max")
	}
	for _, c := range s.status {
		out = append(out, "status_"+c)
	}
	for _, n := range s.nums {
		out = append(out, n+"_sum", n+"_avg", n+"_min", n+"_max")
	}
	for _, b := range s.bools {
		out = append(out, b+"_count")
	}
	return out
}

// value returns the metric of a cell, false when the cell has no value
// for it (no feature with the field). The metric is one of Metrics.
func value(a *Agg, metric string) (float64, bool) {
	switch metric {
	case "count":
		return float64(a.Count), true
	case "risk_max":
		return float64(a.Risk), a.Risk > 0
	}
	if code, ok := strings.CutPrefix(metric, "status_"); ok {
		return float64(a.Status[code]), true
	}
	for _, suf := range []string{"_sum", "_avg", "_min", "_max"} {
		if name, ok := strings.CutSuffix(metric, suf); ok {
			n := a.Nums[name]
			if n == nil {
				return 0, false
			}
			switch suf {
			case "_sum":
				return n.Sum, true
			case "_avg":
				return n.Sum / float64(n.N), true
			case "_min":
				return n.Min, true
			}
			return n.Max, true
		}
	}
	if name, ok := strings.CutSuffix(metric, "_count"); ok {
		return float64(a.Trues[name]), true
	}
	return 0, false
}

// Limits of an H3 query.
const (
	// MaxCells bounds the cells an H3 query may cover (bbox area over
	// cell area) and the cells it returns.
	MaxCells = 50000
	// MaxBBoxKm2 bounds the area of an H3 query's bbox.
	MaxBBoxKm2 = 20000
)

// CellsQuery asks for the aggregate of a layer in a bbox.
type CellsQuery struct {
	Layer  string
	Res    int       // MinRes..MaxRes
	BBox   orb.Bound // zero: the whole layer
	Metric string    // one of Metrics; "" is count
}

// CellValue is one cell of an H3 query's answer.
type CellValue struct {
	*Agg
	Res   int
	Value float64
	Has   bool // false when no feature of the cell has the metric's field
}

// Cells answers an H3 query: the cells at q.Res whose centre lies in
// q.BBox (every cell of the layer when q.BBox is zero) and that hold at
// least one feature, in cell order. Invalid
// queries (resolution, bbox, metric, too many cells) are errors wrapping
// layers.ErrInvalid that say what is allowed. For lines and polygons at
// a resolution finer than FineRes the cells are computed from the store
// for the bbox at hand.
func (ix *H3Index) Cells(ctx context.Context, q CellsQuery) ([]CellValue, error) {
	l, err := ix.cat.Layer(q.Layer)
	if err != nil {
		return nil, err
	}
	if q.Res < MinRes || q.Res > MaxRes {
		return nil, fmt.Errorf("%w: res %d: want %d..%d", layers.ErrInvalid, q.Res, MinRes, MaxRes)
	}
	if q.Metric == "" {
		q.Metric = "count"
	}
	if ms := Metrics(l); !slices.Contains(ms, q.Metric) {
		return nil, fmt.Errorf("%w: metric %q for layer %s: want one of %s", layers.ErrInvalid, q.Metric, l.ID, strings.Join(ms, ", "))
	}
	filter := q.BBox != (orb.Bound{})
	if !filter {
		st, err := ix.store.Stats(ctx)
		if err != nil {
			return nil, err
		}
		if st[l.ID].Count == 0 {
			return nil, nil // an empty layer
		}
		// Every cell of the layer: its extent widened by a cell.
		q.BBox = geo.ExpandBound(st[l.ID].Extent, 2*geo.EdgeLengthM(q.Res))
	}
	if err := layers.ValidateBBox(q.BBox); err != nil {
		return nil, err
	}
	km2 := bboxAreaM2(q.BBox) / 1e6
	if km2 > MaxBBoxKm2 {
		return nil, fmt.Errorf("%w: bbox of %.0f km²: at most %d km²", layers.ErrInvalid, km2, MaxBBoxKm2)
	}
	if est := km2 * 1e6 / geo.CellAreaM2(q.Res); est > MaxCells {
		return nil, fmt.Errorf("%w: bbox of %.1f km² holds about %.0f cells at res %d, at most %d: use a smaller bbox or a coarser res",
			layers.ErrInvalid, km2, est, q.Res, MaxCells)
	}
	var cells []*Agg
	if q.Res <= ix.indexRes(l) {
		g, err := ix.Grid(ctx, l.ID, q.Res)
		if err != nil {
			return nil, err
		}
		cells = g.Cells
	} else {
		if cells, err = ix.cellsFromStore(ctx, l, q.Res, q.BBox); err != nil {
			return nil, err
		}
	}
	var out []CellValue
	for _, a := range cells {
		if filter && !q.BBox.Contains(geo.CellCenter(a.Cell)) {
			continue
		}
		if len(out) == MaxCells {
			return nil, fmt.Errorf("%w: more than %d cells at res %d: use a smaller bbox or a coarser res", layers.ErrInvalid, MaxCells, q.Res)
		}
		v, ok := value(a, q.Metric)
		out = append(out, CellValue{Agg: a, Res: q.Res, Value: v, Has: ok})
	}
	return out, nil
}

// cellsFromStore aggregates the lines and polygons of l in bbox at a
// resolution finer than the index keeps, clipping them to the bbox
// widened by a cell so that the work is bounded by the bbox.
func (ix *H3Index) cellsFromStore(ctx context.Context, l *layers.Layer, res int, bbox orb.Bound) ([]*Agg, error) {
	sch := schemaOf(l)
	wide := geo.ExpandBound(bbox, 2*geo.EdgeLengthM(res))
	cells := map[geo.Cell]*Agg{}
	err := ix.store.Query(ctx, layers.Query{Layer: l.ID, BBox: wide}, func(f layers.Feature) error {
		g := clip.Geometry(wide, f.Geometry)
		if g == nil {
			return nil
		}
		for _, c := range geo.Cells(g, res) {
			a := cells[c]
			if a == nil {
				a = &Agg{Cell: c}
				cells[c] = a
			}
			sch.add(a, f.Props)
		}
		return ctx.Err()
	})
	if err != nil {
		return nil, err
	}
	return finishGrid(l.ID, res, cells).Cells, nil
}

// bboxAreaM2 is the ground area of a WGS84 bbox, in square metres.
func bboxAreaM2(b orb.Bound) float64 {
	lonM, latM := geo.MetresPerDegree((b.Min[1] + b.Max[1]) / 2)
	return (b.Max[0] - b.Min[0]) * lonM * (b.Max[1] - b.Min[1]) * latM
}

// cellsOf is geo.Cells(g, res), faster for polygons too small to hold a
// whole cell (buildings, mostly). geo.Cells adds to the cells of a
// polygon's rings those whose centre it contains; a cell whose centre is
// inside but which the rings do not touch lies wholly inside the polygon,
// so when the polygon's bounds are narrower than any cell there is none,
// and the rings' cells are the answer, without h3's polygon fill.
func cellsOf(g orb.Geometry, res int) []geo.Cell {
	var rings orb.MultiLineString
	switch x := g.(type) {
	case orb.Polygon:
		if !narrow(x.Bound(), res) {
			return geo.Cells(g, res)
		}
		for _, r := range x {
			rings = append(rings, orb.LineString(r))
		}
	case orb.MultiPolygon:
		for _, p := range x {
			if !narrow(p.Bound(), res) {
				return geo.Cells(g, res)
			}
			for _, r := range p {
				rings = append(rings, orb.LineString(r))
			}
		}
	default:
		return geo.Cells(g, res)
	}
	return geo.Cells(rings, res)
}

// narrow reports whether b is too narrow to hold a whole cell at res: a
// hexagon is about √3 average edges across, and even the smallest cells
// are wider than half an average edge.
func narrow(b orb.Bound, res int) bool {
	lonM, latM := geo.MetresPerDegree(b.Center()[1])
	w := (b.Max[0] - b.Min[0]) * lonM
	h := (b.Max[1] - b.Min[1]) * latM
	return min(w, h) < geo.EdgeLengthM(res)/2
}

func isNotFound(err error) bool { return errors.Is(err, layers.ErrNotFound) }
