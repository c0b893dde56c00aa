package analysis

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/paulmach/orb"
	"golang.org/x/sync/errgroup"

	"riskmap/geo"
	"riskmap/layers"
)

// Derived layers of the water-coverage analysis.
const (
	WaterGaps          = "water_gaps"
	UncoveredBuildings = "uncovered_buildings"
	SpacingGaps        = "hydrant_spacing"
)

const (
	evidenceM    = 1000 // nearest sources are reported up to this far
	roadSnapM    = 15   // a hydrant this close to a road stands along it
	usableStatus = "in_service"
)

// Water is the fire-water coverage analysis (消防水源覆盖): H3 cells of the
// built-up area and buildings with no usable water source within its
// protection radius (GB 50974-2014 §7.2.5, §6.1.5), coverage per town, and
// hydrants along a road spaced wider than the rule allows.
//
// The built-up area is the set of H3 cells (resolution water.coverage_h3_res)
// holding at least one building's centre. A cell is covered when its centre
// is within the radius of a usable source of a kind that counts: municipal
// hydrants, fire pools and natural intakes (forest pools serve forests, not
// built-up areas). A building is covered when any part of it is within
// the radius. Usable means status in_service unless a what-if says
// otherwise.
type Water struct {
	mu    sync.Mutex
	gen   uint64      // bumped by every incremental update
	state *waterState // the district as of the last full run or update
	memo  atomic.Pointer[runMemo]
}

// runMemo is what a run remembers for the next: where the buildings and
// sources stand in H3 (h3's latLngToCell costs 1.4 µs: ≈ 1 s of CPU for
// the district), and the built-up cells' centres and towns. Once
// published it is only read.
type runMemo struct {
	res   int
	blds  cellMemo // every building
	srcs  cellMemo // the usable sources placed for the spacing check
	cells cellInfo
}

// cellInfo holds built-up cells' centres and the towns they lie in.
type cellInfo struct {
	cells   []geo.Cell // ascending
	centers []orb.Point
	towns   []string
	of      *Towns // the towns the cells were placed in
}

// info returns the remembered centre and town of c; a cursor j (start
// at 0) walks cells in ascending order. The town holds for the towns
// ci.of.
func (ci *cellInfo) info(j *int, c geo.Cell) (center orb.Point, town string, ok bool) {
	for *j < len(ci.cells) && ci.cells[*j] < c {
		*j++
	}
	if *j < len(ci.cells) && ci.cells[*j] == c {
		return ci.centers[*j], ci.towns[*j], true
	}
	return orb.Point{}, "", false
}

// cellMemo remembers the H3 cell of features (buildings' centres,
// sources) as of the last run, in slices sorted by id (the store's
// order): walking it beside the features costs next to nothing. A
// feature that moved is placed afresh.
type cellMemo struct {
	ids   []int64 // ascending; for buildings shared with the state's bldTable, never written
	at    []orb.Point
	cells []geo.Cell
}

// cursor returns a reader of m for ids that come in ascending order from
// id first on; a nil memo places every centre afresh.
func (m *cellMemo) cursor(first int64) memoCursor {
	c := memoCursor{m: m}
	if m != nil {
		c.j, _ = slices.BinarySearch(m.ids, first)
	}
	return c
}

// memoCursor walks a memo beside a run of buildings in id order.
type memoCursor struct {
	m *cellMemo
	j int
}

// find returns the remembered cell of feature id at at, if it has not
// moved.
func (c *memoCursor) find(id int64, at orb.Point) (geo.Cell, bool) {
	if m := c.m; m != nil {
		for c.j < len(m.ids) && m.ids[c.j] < id {
			c.j++
		}
		if c.j < len(m.ids) && m.ids[c.j] == id && m.at[c.j] == at {
			return m.cells[c.j], true
		}
	}
	return 0, false
}

// cellOf returns the cell at res (the memo's) of the point at of feature
// id: the remembered one when the feature has not moved.
func (c *memoCursor) cellOf(id int64, at orb.Point, res int) geo.Cell {
	if cell, ok := c.find(id, at); ok {
		return cell
	}
	return geo.CellOf(at, res)
}

type cellState struct {
	center    orb.Point
	town      string
	buildings int
	covered   bool
	nearestM  float64 // +Inf when no usable source within evidenceM
	nearestID int64
	nearestK  string
}

type bldState struct {
	town    string
	covered bool
	gone    bool // deleted since the full run (in bldTable.sts only)
}

// bldTable holds every building's state: those of the last full run in
// slices sorted by id, as a run finds them in the store (no hashing of
// 680,000 ids), and those added by updates since in a map. A building
// of the run deleted since is marked gone.
type bldTable struct {
	ids   []int64 // ascending
	sts   []bldState
	extra map[int64]bldState
}

func (t *bldTable) get(id int64) (bldState, bool) {
	if i, ok := slices.BinarySearch(t.ids, id); ok && !t.sts[i].gone {
		return t.sts[i], true
	} else if ok {
		return bldState{}, false
	}
	b, ok := t.extra[id]
	return b, ok
}

func (t *bldTable) set(id int64, b bldState) {
	b.gone = false
	if i, ok := slices.BinarySearch(t.ids, id); ok {
		t.sts[i] = b
		return
	}
	if t.extra == nil {
		t.extra = map[int64]bldState{}
	}
	t.extra[id] = b
}

func (t *bldTable) drop(id int64) {
	if i, ok := slices.BinarySearch(t.ids, id); ok {
		t.sts[i].gone = true
		return
	}
	delete(t.extra, id)
}

// each calls fn for every building's state.
func (t *bldTable) each(fn func(bldState)) {
	for _, b := range t.sts {
		if !b.gone {
			fn(b)
		}
	}
	for _, b := range t.extra {
		fn(b)
	}
}

type waterState struct {
	res       int
	cells     map[geo.Cell]*cellState
	buildings bldTable
	uncovered map[int64]orb.Point // the uncovered buildings' centres
	spacing   map[int64]bool      // ids of spacing gaps in the district
	usable    map[int64]bool      // ids of the usable sources that count
	totals    map[string]*acc     // per town, kept by count* as cells and buildings change
}

// acc sums cells, gaps, buildings and uncovered buildings.
type acc struct{ cells, gaps, blds, unc int }

func newWaterState(res int) *waterState {
	return &waterState{res: res, cells: map[geo.Cell]*cellState{},
		uncovered: map[int64]orb.Point{}, spacing: map[int64]bool{}, usable: map[int64]bool{}, totals: map[string]*acc{}}
}

func (st *waterState) total(town string) *acc {
	a := st.totals[town]
	if a == nil {
		a = &acc{}
		st.totals[town] = a
	}
	return a
}

// countCell adds (sign 1) or removes (-1) a cell from the totals.
func (st *waterState) countCell(cs *cellState, sign int) {
	a := st.total(cs.town)
	a.cells += sign
	if !cs.covered {
		a.gaps += sign
	}
}

// setBuilding records the state of a building with centre at (replacing
// any), keeping the totals and the uncovered set.
func (st *waterState) setBuilding(id int64, at orb.Point, b bldState) {
	st.dropBuilding(id)
	st.buildings.set(id, b)
	a := st.total(b.town)
	a.blds++
	if !b.covered {
		a.unc++
		st.uncovered[id] = at
	}
}

// town returns the town of a building, "" for one not known.
func (st *waterState) town(id int64) string {
	b, _ := st.buildings.get(id)
	return b.town
}

// dropBuilding forgets a building and reports whether it was uncovered.
func (st *waterState) dropBuilding(id int64) (wasUncovered bool) {
	old, ok := st.buildings.get(id)
	if !ok {
		return false
	}
	st.buildings.drop(id)
	a := st.total(old.town)
	a.blds--
	if !old.covered {
		a.unc--
		delete(st.uncovered, id)
	}
	return !old.covered
}

// NewWater returns the analysis.
func NewWater() *Water { return &Water{} }

// ID implements Analysis.
func (*Water) ID() string { return "water-coverage" }

// Title implements Analysis.
func (*Water) Title() layers.Title {
	return layers.Title{Zh: "消防水源覆盖", En: "Fire-water coverage"}
}

// Description implements Analysis.
func (*Water) Description() layers.Title {
	return layers.Title{
		Zh: "建成区内保护半径内无可用消防水源的网格与建筑，各镇街覆盖率，以及道路上间距过大的市政消火栓",
		En: "Built-up H3 cells and buildings with no usable water source within its protection radius, coverage per town, and hydrants spaced too far apart along roads",
	}
}

// RuleIDs implements Analysis.
func (*Water) RuleIDs() []string {
	return []string{HydrantRadius, FirePoolRadius, NaturalIntakeRadius, HydrantSpacing, CoverageRes}
}

// Inputs implements Analysis.
func (*Water) Inputs() []string {
	return []string{layers.WaterSources, layers.Buildings, layers.Roads, layers.Towns}
}

// Layers implements Analysis.
func (*Water) Layers() []layers.Layer {
	near := []layers.Field{
		unitField("nearest_m", "最近可用水源距离", "Nearest usable source", "m"),
		field("nearest_id", layers.Int, "最近水源编号", "Nearest source id"),
		field("nearest_kind", layers.String, "最近水源类型", "Nearest source kind"),
	}
	return []layers.Layer{
		derived(WaterGaps, "消防水源覆盖缺口", "Fire-water coverage gaps", layers.Polygon,
			append([]layers.Field{
				field("cell", layers.String, "H3网格", "H3 cell"),
				field("town", layers.String, "镇街", "Town"),
				field("buildings", layers.Int, "建筑数", "Buildings"),
			}, near...)...),
		derived(UncoveredBuildings, "无水源覆盖建筑", "Buildings without fire-water cover", layers.Polygon,
			append([]layers.Field{
				field("name", layers.String, "名称", "Name"),
				field("use", layers.String, "用途", "Use"),
				field("town", layers.String, "镇街", "Town"),
			}, near...)...),
		derived(SpacingGaps, "消火栓间距超限", "Hydrants spaced too far apart", layers.Line,
			field("from_id", layers.Int, "起点消火栓", "From hydrant"),
			field("to_id", layers.Int, "终点消火栓", "To hydrant"),
			unitField("spacing_m", "沿路间距", "Spacing along the road", "m"),
			field("road", layers.String, "道路", "Road"),
			field("road_id", layers.Int, "道路编号", "Road id"),
			field("town", layers.String, "镇街", "Town"),
		),
	}
}

// sources is the usable water sources of a run, indexed.
type sources struct {
	ids    []int64
	kinds  []string
	radius []float64
	ix     *pointIndex
	maxR   float64
	cells  []geo.Cell // per source its cell once placed (0 before), when kept
}

func (w *Water) radii(r Rules) map[string]Rule {
	return map[string]Rule{
		"hydrant":        r.Get(HydrantRadius),
		"fire_pool":      r.Get(FirePoolRadius),
		"natural_intake": r.Get(NaturalIntakeRadius),
	}
}

// loadSources reads the usable sources of the kinds that count within b
// (everything when b is zero).
func (w *Water) loadSources(ctx context.Context, env *Env, p Params, b orb.Bound) (*sources, error) {
	radii := w.radii(env.Rules)
	usable := p.Usable
	if len(usable) == 0 {
		usable = []string{usableStatus}
	}
	s := &sources{}
	var pts []orb.Point
	for _, r := range radii {
		s.maxR = math.Max(s.maxR, r.Value)
	}
	err := layers.View(ctx, env.Store, layers.Query{Layer: layers.WaterSources, BBox: b}, func(f layers.Feature) error {
		kind, _ := f.Props["kind"].(string)
		status, _ := f.Props["status"].(string)
		r, ok := radii[kind]
		if !ok || !slices.Contains(usable, status) || slices.Contains(p.Exclude, f.ID) {
			return nil
		}
		pt, ok := f.Geometry.(orb.Point)
		if !ok {
			pt = centroid(f.Geometry)
		}
		pts = append(pts, pt)
		s.ids = append(s.ids, f.ID)
		s.kinds = append(s.kinds, kind)
		s.radius = append(s.radius, r.Value)
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.ix = newPointIndex(pts, math.Max(s.maxR, 50))
	return s, nil
}

// coversPoint reports whether a usable source covers p.
func (s *sources) coversPoint(p orb.Point) bool {
	near := newNearBy(p)
	return s.ix.nearAny(orb.Bound{Min: p, Max: p}, s.maxR, func(i int) bool {
		q, r := s.ix.pts[i], s.radius[i]
		switch lo, hi := near.bounds(q); {
		case lo > r:
			return false
		case hi <= r:
			return true
		}
		return geo.Distance(p, q) <= r
	})
}

// coversGeometry reports whether a usable source is within its radius of
// any part of g, whose bound is b.
func (s *sources) coversGeometry(g orb.Geometry, b orb.Bound) bool {
	if pt, ok := g.(orb.Point); ok {
		return s.coversPoint(pt)
	}
	c := b.Center()
	hd := geo.Distance(c, b.Max)
	near := newNearBy(c)
	return s.ix.nearAny(b, s.maxR, func(i int) bool {
		q, r := s.ix.pts[i], s.radius[i]
		// the bounds on geo.Distance(c, q) settle most sources without it
		switch lo, hi := near.bounds(q); {
		case lo-hd > r:
			return false
		case hi+hd <= r:
			return true
		}
		d0 := geo.Distance(c, q)
		switch {
		case d0-hd > r:
			return false
		case d0+hd <= r:
			return true
		}
		return geo.DistanceTo(q, g) <= r
	})
}

// nearBy bounds geo.Distance from a point p to points near it without
// its trigonometry: geo.Distance takes metres per degree at the two
// points' mid-latitude, nearBy at p's, which differ by a factor within
// 1 ± tan(lat)·Δlat/2 (Δlat in radians): under 1 ± 5e-4 for points less
// than 0.01° of latitude apart below 80°. The bounds allow twice that.
type nearBy struct {
	p      orb.Point
	kx, ky float64
	ok     bool
}

func newNearBy(p orb.Point) nearBy {
	kx, ky := geo.MetresPerDegree(p[1])
	return nearBy{p: p, kx: kx, ky: ky, ok: math.Abs(p[1]) < 80}
}

// nearByRel is the relative margin of nearBy's bounds.
const nearByRel = 1e-3

// bounds returns lo ≤ geo.Distance(p, q) ≤ hi; (0, +Inf) when q is too
// far in latitude for the estimate.
func (n nearBy) bounds(q orb.Point) (lo, hi float64) {
	dy := q[1] - n.p[1]
	if !n.ok || math.Abs(dy) >= 0.01 {
		return 0, math.Inf(1)
	}
	est := math.Hypot((q[0]-n.p[0])*n.kx, dy*n.ky)
	return est * (1 - nearByRel), est * (1 + nearByRel)
}

// nearest returns the nearest usable source to g (with bound b) within
// evidenceM: index and ground distance, or -1.
func (s *sources) nearest(g orb.Geometry, b orb.Bound) (int, float64) {
	if pt, ok := g.(orb.Point); ok {
		return s.ix.nearest(pt, evidenceM)
	}
	return s.ix.nearestTo(b, evidenceM, func(i int) float64 { return geo.DistanceTo(s.ix.pts[i], g) }, nil)
}

// bldBatch is a run of buildings from the store, evaluated by a worker.
// The store lends its buildings (layers.View), so a batch keeps its own
// copy of what a worker needs: the geometry, its coordinates carved out
// of the batch's slabs, and the properties that are read. The worker
// fills in what it finds, in the batch's (the store's) order.
type bldBatch struct {
	bs    []bld
	pts   []orb.Point
	rings []orb.Ring

	sts   []bldState
	at    []orb.Point // the buildings' centres
	cells []geo.Cell  // the cells holding them
	unc   []layers.Feature
	done  chan struct{}
}

// bld is a building as a batch keeps it.
type bld struct {
	id              int64
	geom            orb.Geometry
	town, name, use any
}

func newBldBatch() *bldBatch {
	return &bldBatch{bs: make([]bld, 0, runBatch), pts: make([]orb.Point, 0, 6*runBatch),
		rings: make([]orb.Ring, 0, runBatch), done: make(chan struct{})}
}

// reset empties a merged batch for reuse: nothing of it is kept (the
// uncovered buildings' features have their own geometry).
func (b *bldBatch) reset() {
	clear(b.bs) // drop the references to the store's property values
	clear(b.unc)
	b.bs, b.pts, b.rings, b.unc = b.bs[:0], b.pts[:0], b.rings[:0], b.unc[:0]
	b.done = make(chan struct{})
}

// add copies a lent building into the batch.
func (b *bldBatch) add(f layers.Feature) {
	c := bld{id: f.ID, town: f.Props["town"], name: f.Props["name"], use: f.Props["use"]}
	switch g := f.Geometry.(type) {
	case orb.Point:
		c.geom = g // a value: nothing shared
	case orb.Polygon:
		i := len(b.rings)
		for _, r := range g {
			j := len(b.pts)
			b.pts = append(b.pts, r...)
			b.rings = append(b.rings, b.pts[j:len(b.pts):len(b.pts)])
		}
		c.geom = orb.Polygon(b.rings[i:len(b.rings):len(b.rings)])
	default:
		c.geom = orb.Clone(g)
	}
	b.bs = append(b.bs, c)
}

// feature is the building as a feature with the properties kept.
func (c bld) feature() layers.Feature {
	props := make(map[string]any, 3)
	for _, v := range [...]struct {
		k string
		v any
	}{{"town", c.town}, {"name", c.name}, {"use", c.use}} {
		if v.v != nil {
			props[v.k] = v.v
		}
	}
	return layers.Feature{Layer: layers.Buildings, ID: c.id, Geometry: c.geom, Props: props}
}

// eval places and judges the batch's buildings.
func (b *bldBatch) eval(env *Env, p Params, src *sources, memo *cellMemo, res int, hydrantRule Rule) {
	std := hydrantRule.Cite()
	n := len(b.bs)
	b.sts, b.at, b.cells = slices.Grow(b.sts[:0], n)[:n], slices.Grow(b.at[:0], n)[:n], slices.Grow(b.cells[:0], n)[:n]
	var cur memoCursor
	if n > 0 {
		cur = memo.cursor(b.bs[0].id)
	}
	for i, f := range b.bs {
		bd := f.geom.Bound()
		ce := bd.Center()
		town, _ := f.town.(string)
		if town == "" {
			town = env.Towns.At(ce)
		}
		covered := src.coversGeometry(f.geom, bd)
		b.sts[i] = bldState{town: town, covered: covered}
		b.at[i] = ce
		b.cells[i] = cur.cellOf(f.id, ce, res)
		if !covered && inParams(p, town, bd) {
			b.unc = append(b.unc, uncoveredFeature(f.feature(), bd, town, src, hydrantRule, std))
		}
	}
	close(b.done)
}

const runBatch = 2048

// evalBuildings reads every building and evaluates them on all cores: the
// store's callback fills batches, workers place and judge their buildings,
// and one merger folds the batches, in store order, into st and out.
// n is about how many buildings there are.
func (w *Water) evalBuildings(ctx context.Context, env *Env, p Params, src *sources, st *waterState, n int, old *cellMemo, out *Result) (*cellMemo, error) {
	res := st.res
	hydrantRule := env.Rules.Get(HydrantRadius)
	n += n/64 + runBatch // room for a few written meanwhile
	tb := bldTable{ids: make([]int64, 0, n), sts: make([]bldState, 0, n)}
	memo := &cellMemo{at: make([]orb.Point, 0, n), cells: make([]geo.Cell, 0, n)}
	workers := max(1, runtime.GOMAXPROCS(0))
	work := make(chan *bldBatch, workers)
	order := make(chan *bldBatch, 4*workers)
	free := make(chan *bldBatch, 6*workers) // merged batches, for reuse
	var g errgroup.Group
	for range workers {
		g.Go(func() error {
			for b := range work {
				b.eval(env, p, src, old, res, hydrantRule)
			}
			return nil
		})
	}
	g.Go(func() error {
		var (
			lastCell geo.Cell
			cs       *cellState
			lastTown string
			a        *acc
		)
		for b := range order {
			<-b.done
			for i, c := range b.cells {
				if cs == nil || c != lastCell {
					if cs = st.cells[c]; cs == nil {
						cs = &cellState{}
						st.cells[c] = cs
					}
					lastCell = c
				}
				cs.buildings++
				s := b.sts[i]
				if a == nil || s.town != lastTown {
					a, lastTown = st.total(s.town), s.town
				}
				a.blds++
				if !s.covered {
					a.unc++
					st.uncovered[b.bs[i].id] = b.at[i]
				}
				tb.ids = append(tb.ids, b.bs[i].id)
			}
			tb.sts = append(tb.sts, b.sts...)
			memo.at = append(memo.at, b.at...)
			memo.cells = append(memo.cells, b.cells...)
			if len(b.unc) > 0 {
				out.Layers[UncoveredBuildings] = append(out.Layers[UncoveredBuildings], b.unc...)
			}
			b.reset()
			select {
			case free <- b:
			default:
			}
		}
		return nil
	})
	next := func() *bldBatch {
		select {
		case b := <-free:
			return b
		default:
			return newBldBatch()
		}
	}
	cur := next()
	send := func() {
		order <- cur
		work <- cur
		cur = next()
	}
	err := layers.View(ctx, env.Store, layers.Query{Layer: layers.Buildings}, func(f layers.Feature) error {
		cur.add(f)
		if len(cur.bs) == runBatch {
			send()
		}
		return nil
	})
	if len(cur.bs) > 0 {
		send()
	}
	close(work)
	close(order)
	_ = g.Wait() // the goroutines return no errors
	if err != nil {
		return nil, err
	}
	if !slices.IsSorted(tb.ids) { // not in id order after all: sort
		sortBuildings(&tb, memo)
	}
	memo.ids = tb.ids
	st.buildings = tb
	return memo, nil
}

// sortBuildings sorts a run's buildings, and the memo beside them, by id.
func sortBuildings(tb *bldTable, memo *cellMemo) {
	perm := make([]int, len(tb.ids))
	for i := range perm {
		perm[i] = i
	}
	slices.SortFunc(perm, func(a, b int) int { return cmp.Compare(tb.ids[a], tb.ids[b]) })
	ids, sts := make([]int64, len(perm)), make([]bldState, len(perm))
	at, cells := make([]orb.Point, len(perm)), make([]geo.Cell, len(perm))
	for i, k := range perm {
		ids[i], sts[i], at[i], cells[i] = tb.ids[k], tb.sts[k], memo.at[k], memo.cells[k]
	}
	tb.ids, tb.sts, memo.at, memo.cells = ids, sts, at, cells
}

// Run implements Analysis.
func (w *Water) Run(ctx context.Context, env *Env, p Params) (*Result, error) {
	w.mu.Lock()
	gen := w.gen
	w.mu.Unlock()

	res := int(env.Rules.V(CoverageRes))
	src, err := w.loadSources(ctx, env, p, orb.Bound{})
	if err != nil {
		return nil, err
	}
	n, err := env.Store.Count(ctx, layers.Query{Layer: layers.Buildings})
	if err != nil {
		return nil, err
	}
	st := newWaterState(res)
	hydrantRule := env.Rules.Get(HydrantRadius)
	hydrantCite := hydrantRule.Cite()
	out := &Result{Analysis: w.ID(), Layers: map[string][]layers.Feature{}}
	old := w.memo.Load()
	if old != nil && old.res != res {
		old = nil
	}
	var oldBlds, oldSrcs *cellMemo
	var oldCells *cellInfo
	sameTowns := false
	if old != nil {
		oldBlds, oldSrcs, oldCells = &old.blds, &old.srcs, &old.cells
		sameTowns = old.cells.of.Same(env.Towns)
	}
	blds, err := w.evalBuildings(ctx, env, p, src, st, n, oldBlds, out)
	if err != nil {
		return nil, err
	}

	// the cells on all cores, the hydrant spacing beside them
	cells := sortedCells(st.cells)
	css := make([]*cellState, len(cells))
	for i, c := range cells {
		css[i] = st.cells[c]
	}
	gaps := make([]layers.Feature, len(cells)) // ID 0 where no gap is reported
	var spacing []layers.Feature
	src.cells = make([]geo.Cell, len(src.ids))
	if len(src.ids) > 0 {
		cur := oldSrcs.cursor(src.ids[0])
		for i, id := range src.ids {
			src.cells[i], _ = cur.find(id, src.ix.pts[i])
		}
	}
	var g errgroup.Group
	g.Go(func() error {
		roads, err := queryAll(ctx, env.Store, layers.Query{Layer: layers.Roads})
		if err != nil {
			return err
		}
		spacing = w.spacing(env, src, st, roads)
		return nil
	})
	workers := max(1, runtime.GOMAXPROCS(0))
	for k := range workers {
		g.Go(func() error {
			j := 0
			for i := k; i < len(cells); i += workers {
				cs := css[i]
				if oldCells != nil {
					if center, town, ok := oldCells.info(&j, cells[i]); ok {
						cs.center = center
						if sameTowns {
							cs.town = town
						}
					}
				}
				w.evaluateCell(env, src, cells[i], cs)
				if !cs.covered && inParams(p, cs.town, orb.Bound{Min: cs.center, Max: cs.center}) {
					gaps[i] = gapFeature(cells[i], cs, hydrantRule, hydrantCite)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	info := cellInfo{cells: cells, centers: make([]orb.Point, len(cells)), towns: make([]string, len(cells)), of: env.Towns}
	for i, cs := range css {
		st.countCell(cs, 1)
		info.centers[i], info.towns[i] = cs.center, cs.town
		if gaps[i].ID != 0 {
			out.Layers[WaterGaps] = append(out.Layers[WaterGaps], gaps[i])
		}
	}
	memo := &runMemo{res: res, blds: *blds, cells: info}
	for i, c := range src.cells {
		if c != 0 {
			memo.srcs.ids = append(memo.srcs.ids, src.ids[i])
			memo.srcs.at = append(memo.srcs.at, src.ix.pts[i])
			memo.srcs.cells = append(memo.srcs.cells, c)
		}
	}
	w.memo.Store(memo)
	for _, f := range spacing {
		st.spacing[f.ID] = true
		town, _ := f.Props["town"].(string)
		if inParams(p, town, f.Geometry.Bound()) {
			out.Layers[SpacingGaps] = append(out.Layers[SpacingGaps], f)
		}
	}
	for _, id := range src.ids {
		st.usable[id] = true
	}
	out.Summary = st.summary(env.Towns, p, len(out.Layers[SpacingGaps]), len(src.ids))

	if !p.WhatIf() && p.Town == "" && p.BBox == (orb.Bound{}) {
		w.mu.Lock()
		if w.gen == gen { // no update raced this run
			w.state = st
		}
		w.mu.Unlock()
	}
	return out, nil
}

// evaluateCell fills a cell's town, cover and evidence.
func (w *Water) evaluateCell(env *Env, src *sources, c geo.Cell, cs *cellState) {
	if cs.center == (orb.Point{}) {
		cs.center = geo.CellCenter(c)
	}
	center := cs.center
	if cs.town == "" {
		cs.town = env.Towns.At(center)
	}
	cs.covered = src.coversPoint(center)
	cs.nearestM, cs.nearestID, cs.nearestK = math.Inf(1), 0, ""
	if i, d := src.nearest(center, orb.Bound{Min: center, Max: center}); i >= 0 {
		cs.nearestM, cs.nearestID, cs.nearestK = d, src.ids[i], src.kinds[i]
	}
}

// gapFeature describes a gap cell; std is r.Cite().
func gapFeature(c geo.Cell, cs *cellState, r Rule, std string) layers.Feature {
	props := make(map[string]any, 10)
	props["cell"], props["buildings"] = c.String(), int64(cs.buildings)
	if cs.town != "" {
		props["town"] = cs.town
	}
	if !math.IsInf(cs.nearestM, 1) {
		props["nearest_m"] = round1(cs.nearestM)
		props["nearest_id"] = cs.nearestID
		props["nearest_kind"] = cs.nearestK
	}
	return layers.Feature{Layer: WaterGaps, ID: int64(c), Geometry: geo.CellPolygon(c), Props: citeAs(props, r, std)}
}

// uncoveredFeature describes an uncovered building; it copies f's
// geometry, so f may be lent. std is r.Cite().
func uncoveredFeature(f layers.Feature, b orb.Bound, town string, src *sources, r Rule, std string) layers.Feature {
	props := make(map[string]any, 10)
	for _, k := range []string{"name", "use"} {
		if v, ok := f.Props[k]; ok {
			props[k] = v
		}
	}
	if town != "" {
		props["town"] = town
	}
	if i, d := src.nearest(f.Geometry, b); i >= 0 {
		props["nearest_m"] = round1(d)
		props["nearest_id"] = src.ids[i]
		props["nearest_kind"] = src.kinds[i]
	}
	return layers.Feature{Layer: UncoveredBuildings, ID: f.ID, Geometry: orb.Clone(f.Geometry), Props: citeAs(props, r, std)}
}

// spacing finds consecutive hydrants along each road farther apart than
// the rule, where both stand in the built-up area.
func (w *Water) spacing(env *Env, src *sources, st *waterState, roads []layers.Feature) []layers.Feature {
	rule := env.Rules.Get(HydrantSpacing)
	var out []layers.Feature
	built := make([]int8, len(src.ids)) // per source: 0 not yet placed, 1 in a built-up cell, -1 not
	inBuiltUp := func(i int) bool {
		if built[i] == 0 {
			built[i] = -1
			var c geo.Cell
			if src.cells != nil {
				c = src.cells[i]
			}
			if c == 0 {
				c = geo.CellOf(src.ix.pts[i], st.res)
			}
			if src.cells != nil {
				src.cells[i] = c
			}
			if _, ok := st.cells[c]; ok {
				built[i] = 1
			}
		}
		return built[i] > 0
	}
	for _, road := range roads {
		line, ok := road.Geometry.(orb.LineString)
		if !ok || len(line) < 2 {
			continue
		}
		pl := geo.NewPlane(line[0])
		m := pl.ProjectGeometry(line).(orb.LineString)
		type stop struct {
			along float64
			i     int
		}
		var stops []stop
		src.ix.near(line.Bound(), roadSnapM, func(i int) {
			if src.kinds[i] != "hydrant" {
				return
			}
			if !inBuiltUp(i) {
				return
			}
			along, d := locate(m, pl.Project(src.ix.pts[i]))
			if d <= roadSnapM {
				stops = append(stops, stop{along, i})
			}
		})
		sort.Slice(stops, func(a, b int) bool { return stops[a].along < stops[b].along })
		for k := 1; k < len(stops); k++ {
			a, z := stops[k-1], stops[k]
			gap := z.along - a.along
			if gap <= rule.Value {
				continue
			}
			ida, idz := src.ids[a.i], src.ids[z.i]
			lo, hi := min(ida, idz), max(ida, idz)
			seg := pl.UnprojectGeometry(subLine(m, a.along, z.along)).(orb.LineString)
			props := map[string]any{"from_id": ida, "to_id": idz, "spacing_m": round1(gap), "road_id": road.ID}
			if name, ok := road.Props["name"].(string); ok {
				props["road"] = name
			}
			if town := env.Towns.At(src.ix.pts[a.i]); town != "" {
				props["town"] = town
			}
			out = append(out, layers.Feature{Layer: SpacingGaps, ID: lo<<32 | hi, Geometry: seg, Props: cite(props, rule)})
		}
	}
	slices.SortFunc(out, func(a, b layers.Feature) int { return cmp.Compare(a.ID, b.ID) })
	return slices.CompactFunc(out, func(a, b layers.Feature) bool { return a.ID == b.ID })
}

// queryAll collects the features of a query.
func queryAll(ctx context.Context, st layers.Store, q layers.Query) ([]layers.Feature, error) {
	var out []layers.Feature
	err := st.Query(ctx, q, func(f layers.Feature) error {
		out = append(out, f)
		return nil
	})
	return out, err
}

// locate returns how far along planar line m the point nearest to p lies,
// and the distance from p to it.
func locate(m orb.LineString, p orb.Point) (along, dist float64) {
	dist = math.Inf(1)
	run := 0.0
	for i := 1; i < len(m); i++ {
		a, b := m[i-1], m[i]
		dx, dy := b[0]-a[0], b[1]-a[1]
		l2 := dx*dx + dy*dy
		t := 0.0
		if l2 > 0 {
			t = math.Max(0, math.Min(1, ((p[0]-a[0])*dx+(p[1]-a[1])*dy)/l2))
		}
		q := orb.Point{a[0] + t*dx, a[1] + t*dy}
		if d := math.Hypot(p[0]-q[0], p[1]-q[1]); d < dist {
			dist, along = d, run+t*math.Sqrt(l2)
		}
		run += math.Sqrt(l2)
	}
	return along, dist
}

// subLine returns the part of planar line m between two distances along it.
func subLine(m orb.LineString, from, to float64) orb.LineString {
	var out orb.LineString
	run := 0.0
	at := func(a, b orb.Point, t float64) orb.Point {
		return orb.Point{a[0] + t*(b[0]-a[0]), a[1] + t*(b[1]-a[1])}
	}
	for i := 1; i < len(m); i++ {
		a, b := m[i-1], m[i]
		l := math.Hypot(b[0]-a[0], b[1]-a[1])
		if l == 0 {
			continue
		}
		s, e := run, run+l
		if e >= from && s <= to {
			if len(out) == 0 {
				out = append(out, at(a, b, math.Max(0, (from-s)/l)))
			}
			out = append(out, at(a, b, math.Min(1, (to-s)/l)))
		}
		run = e
	}
	if len(out) < 2 {
		out = orb.LineString{m[0], m[len(m)-1]}
	}
	return out
}

func sortedCells(m map[geo.Cell]*cellState) []geo.Cell {
	out := make([]geo.Cell, 0, len(m))
	for c := range m {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// summary computes the metrics over the cells and buildings p selects, and
// per town: from the running totals for the district, else by a pass
// over the cells and buildings.
func (st *waterState) summary(towns *Towns, p Params, spacing, usable int) Summary {
	all := acc{}
	per := st.totals
	if p.Town != "" || p.BBox != (orb.Bound{}) {
		per = map[string]*acc{}
		get := func(t string) *acc {
			if per[t] == nil {
				per[t] = &acc{}
			}
			return per[t]
		}
		for _, cs := range st.cells {
			if !inParams(p, cs.town, orb.Bound{Min: cs.center, Max: cs.center}) {
				continue
			}
			a := get(cs.town)
			a.cells++
			if !cs.covered {
				a.gaps++
			}
		}
		st.buildings.each(func(b bldState) {
			if p.Town != "" && b.town != p.Town {
				return
			}
			a := get(b.town)
			a.blds++
			if !b.covered {
				a.unc++
			}
		})
	}
	for _, a := range per {
		all.cells += a.cells
		all.gaps += a.gaps
		all.blds += a.blds
		all.unc += a.unc
	}
	metrics := func(a acc) map[string]float64 {
		m := map[string]float64{
			"built_up_cells": float64(a.cells), "gap_cells": float64(a.gaps),
			"buildings": float64(a.blds), "uncovered_buildings": float64(a.unc),
			"coverage_pct": 100, "building_coverage_pct": 100,
		}
		if a.cells > 0 {
			m["coverage_pct"] = round1(100 * float64(a.cells-a.gaps) / float64(a.cells))
		}
		if a.blds > 0 {
			m["building_coverage_pct"] = round1(100 * float64(a.blds-a.unc) / float64(a.blds))
		}
		return m
	}
	s := Summary{Metrics: metrics(all), Targets: []Target{{
		Year: 2025, Metric: "coverage_pct", Op: ">=", Value: 100,
		Title:  layers.Title{Zh: "2025年城市建成区消防供水基本全覆盖", En: "2025: fire water covers every built-up area"},
		Source: "seed L1486",
	}}}
	s.Metrics["spacing_gaps"] = float64(spacing)
	s.Metrics["usable_sources"] = float64(usable)
	names := towns.Names()
	if p.Town != "" {
		names = []string{p.Town}
	}
	for _, n := range names {
		a := acc{}
		if per[n] != nil {
			a = *per[n]
		}
		s.Towns = append(s.Towns, TownSummary{Town: n, Values: metrics(a)})
	}
	return s
}

// Update implements Incremental: it recomputes only the cells, buildings
// and road stretches a change can reach.
func (w *Water) Update(ctx context.Context, env *Env, c layers.Change) (map[string][]layers.Feature, map[string][]int64, Summary, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := w.state
	res := int(env.Rules.V(CoverageRes))
	if st == nil || st.res != res {
		return nil, nil, Summary{}, fmt.Errorf("no state to update")
	}
	w.gen++
	if c.Layer == layers.Towns {
		return nil, nil, Summary{}, fmt.Errorf("towns changed")
	}
	hydrantRule := env.Rules.Get(HydrantRadius)
	hydrantCite := hydrantRule.Cite()
	up := map[string][]layers.Feature{}
	del := map[string][]int64{}

	// sources that can matter to anything recomputed below
	edge := 2 * geo.EdgeLengthM(res)
	cellZone := geo.ExpandBound(c.Bound, evidenceM+edge)
	src, err := w.loadSources(ctx, env, Params{}, geo.ExpandBound(cellZone, evidenceM+edge))
	if err != nil {
		return nil, nil, Summary{}, err
	}
	coverZone := geo.ExpandBound(c.Bound, src.maxR+1)

	// buildings: counts per cell (when buildings changed) and coverage
	if c.Layer == layers.Buildings || c.Layer == layers.WaterSources {
		bz := coverZone
		if c.Layer == layers.Buildings {
			bz = geo.ExpandBound(coverZone, edge)
		}
		counts := map[geo.Cell]int{}
		seen := map[int64]bool{}
		err := layers.View(ctx, env.Store, layers.Query{Layer: layers.Buildings, BBox: bz}, func(f layers.Feature) error {
			ce := centroid(f.Geometry)
			counts[geo.CellOf(ce, res)]++
			if !coverZone.Intersects(f.Geometry.Bound()) {
				return nil
			}
			seen[f.ID] = true
			town, _ := f.Props["town"].(string)
			if town == "" {
				town = env.Towns.At(ce)
			}
			covered := src.coversGeometry(f.Geometry, f.Geometry.Bound())
			was, existed := st.buildings.get(f.ID)
			st.setBuilding(f.ID, ce, bldState{town: town, covered: covered})
			if !covered {
				up[UncoveredBuildings] = append(up[UncoveredBuildings], uncoveredFeature(f, f.Geometry.Bound(), town, src, hydrantRule, hydrantCite))
			} else if existed && !was.covered {
				del[UncoveredBuildings] = append(del[UncoveredBuildings], f.ID)
			}
			return nil
		})
		if err != nil {
			return nil, nil, Summary{}, err
		}
		if c.Layer == layers.Buildings {
			for _, id := range c.IDs { // deleted buildings
				if !seen[id] {
					if st.dropBuilding(id) {
						del[UncoveredBuildings] = append(del[UncoveredBuildings], id)
					}
				}
			}
			for _, cell := range geo.CellsInBound(geo.ExpandBound(c.Bound, edge/2), res) {
				n := counts[cell]
				cs := st.cells[cell]
				switch {
				case n == 0 && cs != nil:
					st.countCell(cs, -1)
					delete(st.cells, cell)
					if !cs.covered {
						del[WaterGaps] = append(del[WaterGaps], int64(cell))
					}
				case n > 0 && cs == nil:
					// counted here as covered in no town, recounted below
					cs = &cellState{buildings: n, covered: true}
					st.cells[cell] = cs
					st.countCell(cs, 1)
				case n > 0:
					cs.buildings = n
				}
			}
		}
		// uncovered buildings farther out keep their cover but their
		// nearest-source evidence may have changed
		if c.Layer == layers.WaterSources {
			far := geo.ExpandBound(c.Bound, evidenceM+200) // buildings' own size
			for id, at := range st.uncovered {
				if seen[id] || !far.Contains(at) {
					continue
				}
				f, err := env.Store.Get(ctx, layers.Buildings, id)
				if err != nil || !far.Intersects(f.Geometry.Bound()) {
					continue
				}
				up[UncoveredBuildings] = append(up[UncoveredBuildings], uncoveredFeature(f, f.Geometry.Bound(), st.town(id), src, hydrantRule, hydrantCite))
			}
		}
	}

	// cells whose cover or evidence can have changed
	for _, cell := range geo.CellsInBound(cellZone, res) {
		cs := st.cells[cell]
		if cs == nil {
			continue
		}
		was := cs.covered
		st.countCell(cs, -1)
		w.evaluateCell(env, src, cell, cs)
		st.countCell(cs, 1)
		switch {
		case !cs.covered:
			up[WaterGaps] = append(up[WaterGaps], gapFeature(cell, cs, hydrantRule, hydrantCite))
		case !was:
			del[WaterGaps] = append(del[WaterGaps], int64(cell))
		}
	}

	// spacing along the roads near the change: every gap on those roads
	// is recomputed; gaps near the change that are no longer found go
	zone := geo.ExpandBound(c.Bound, 2*env.Rules.V(HydrantSpacing))
	old, err := queryAll(ctx, env.Store, layers.Query{Layer: SpacingGaps, BBox: zone})
	if err != nil {
		return nil, nil, Summary{}, err
	}
	roads, err := queryAll(ctx, env.Store, layers.Query{Layer: layers.Roads, BBox: geo.ExpandBound(zone, roadSnapM+5)})
	if err != nil {
		return nil, nil, Summary{}, err
	}
	var rb orb.Bound
	for i, r := range roads {
		if i == 0 {
			rb = r.Geometry.Bound()
		}
		rb = rb.Union(r.Geometry.Bound())
	}
	if len(roads) > 0 {
		roadSrc, err := w.loadSources(ctx, env, Params{}, geo.ExpandBound(rb, roadSnapM+5))
		if err != nil {
			return nil, nil, Summary{}, err
		}
		up[SpacingGaps] = w.spacing(env, roadSrc, st, roads)
	}
	fresh := map[int64]bool{}
	for _, f := range up[SpacingGaps] {
		fresh[f.ID] = true
		st.spacing[f.ID] = true
	}
	for _, f := range old {
		if !fresh[f.ID] {
			del[SpacingGaps] = append(del[SpacingGaps], f.ID)
			delete(st.spacing, f.ID)
		}
	}
	if c.Layer == layers.WaterSources {
		radii := w.radii(env.Rules)
		for _, id := range c.IDs {
			f, err := env.Store.Get(ctx, layers.WaterSources, id)
			switch {
			case errors.Is(err, layers.ErrNotFound):
				delete(st.usable, id)
			case err != nil:
				return nil, nil, Summary{}, err
			default:
				_, counts := radii[propString(f.Props, "kind")]
				if counts && propString(f.Props, "status") == usableStatus {
					st.usable[id] = true
				} else {
					delete(st.usable, id)
				}
			}
		}
	}
	return up, del, st.summary(env.Towns, Params{}, len(st.spacing), len(st.usable)), nil
}
