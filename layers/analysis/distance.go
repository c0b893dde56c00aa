package analysis

import (
	"context"
	"math"
	"slices"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"riskmap/geo"
	"riskmap/layers"
)

// DistanceViolations is the derived layer of the distance-rules analysis.
const DistanceViolations = "distance_violations"

// Kinds of distance violations and the code each adds to a feature id.
const (
	ViolationYangtze  = "yangtze_chemical" // id = enterprise id × 4 + 0
	ViolationQuarry   = "quarry_building"  // id = building id × 4 + 1
	ViolationTailings = "head_top_pond"    // id = pond id × 4 + 2
)

// quarryKinds are the mine kinds the quarry rule applies to: small open
// pits for stone, which in Banan are worked as quarries whatever the rock.
var quarryKinds = []any{"quarry", "limestone", "sand_gravel"}

// Distance is the distance-rules analysis:
//
//   - yangtze_chemical: hazardous-chemical enterprises (category hazchem)
//     within 1 km of the Yangtze main-stem shoreline (长江保护法 第二十六条).
//     The shoreline is the boundary of the rivers-layer polygons with
//     main_stem true (or the line itself for a line); an enterprise on the
//     water is at distance 0. One feature per enterprise, id × 4.
//   - quarry_building: buildings within 300 m of a quarry that is not closed
//     (安监总局令第39号 第十二条: no living facilities within 300 m of the
//     mining boundary). Quarries are mines of kind quarry, and limestone and
//     sand_gravel pits, which are open pits worked the same way; clay pits
//     are not. Factories and warehouses are not living facilities and are
//     not counted. One feature per building, naming the nearest quarry and
//     counting the quarries in reach, id × 4 + 1.
//   - head_top_pond: tailings ponds that are not closed with buildings
//     within 1 km (头顶库: people or facilities within 1 km downstream).
//     Which way is downstream needs a DEM the district data does not hold,
//     so the whole 1 km radius counts: an upper bound on the true set. One
//     feature per pond, with the count and the nearest building, id × 4 + 2.
type Distance struct{}

// NewDistance returns the analysis.
func NewDistance() *Distance { return &Distance{} }

// ID implements Analysis.
func (*Distance) ID() string { return "distance-rules" }

// Title implements Analysis.
func (*Distance) Title() layers.Title {
	return layers.Title{Zh: "安全距离", En: "Distance rules"}
}

// Description implements Analysis.
func (*Distance) Description() layers.Title {
	return layers.Title{
		Zh: "长江干流岸线1公里内的危化品企业；未关闭采石场（含石灰石、砂石露天矿）300米内的非生产建筑；1公里内有建筑的尾矿库（头顶库）。缺少高程数据无法判断下游方向，按1公里半径全向计算（上限）。",
		En: "Hazardous-chemical enterprises within 1 km of the Yangtze main-stem shoreline; buildings other than factories and warehouses within 300 m of a quarry that is not closed (limestone and sand-and-gravel pits included); tailings ponds with buildings within 1 km (head-top ponds). Without a DEM the downstream direction is unknown, so the full 1 km radius counts (an upper bound).",
	}
}

// RuleIDs implements Analysis.
func (*Distance) RuleIDs() []string {
	return []string{YangtzeChemical, QuarryBuffer, TailingsDownstream}
}

// Inputs implements Analysis.
func (*Distance) Inputs() []string {
	return []string{layers.Rivers, layers.Enterprises, layers.Mines, layers.Buildings, layers.Towns}
}

// Layers implements Analysis.
func (*Distance) Layers() []layers.Layer {
	l := derived(DistanceViolations, "安全距离不足", "Distance-rule violations", layers.Point,
		field("kind", layers.String, "类型", "Kind"),
		field("subject_layer", layers.String, "对象图层", "Subject layer"),
		field("subject_id", layers.Int, "对象编号", "Subject id"),
		field("name", layers.String, "名称", "Name"),
		field("use", layers.String, "用途", "Use"),
		unitField("distance_m", "距离", "Distance", "m"),
		field("river_id", layers.Int, "河流编号", "River id"),
		field("quarry_id", layers.Int, "最近采石场编号", "Nearest quarry id"),
		field("quarry_name", layers.String, "最近采石场", "Nearest quarry"),
		field("quarries", layers.Int, "范围内采石场数", "Quarries in reach"),
		field("buildings", layers.Int, "范围内建筑数", "Buildings in reach"),
		field("nearest_building_id", layers.Int, "最近建筑编号", "Nearest building id"),
		field("town", layers.String, "镇街", "Town"),
	)
	// enterprises are points, buildings and ponds polygons
	l.Geometry = append(l.Geometry, layers.Polygon)
	return []layers.Layer{l}
}

// Run implements Analysis.
func (a *Distance) Run(ctx context.Context, env *Env, p Params) (*Result, error) {
	out := &Result{Analysis: a.ID(), Layers: map[string][]layers.Feature{}}
	tl := newTally("violations", ViolationYangtze, ViolationQuarry, ViolationTailings,
		"hazchem_enterprises", "quarries", "tailings_ponds")
	add := func(town string, f layers.Feature) {
		out.Layers[DistanceViolations] = append(out.Layers[DistanceViolations], f)
		tl.add(town, "violations", 1)
		tl.add(town, propString(f.Props, "kind"), 1)
	}
	if err := a.yangtze(ctx, env, p, tl, add); err != nil {
		return nil, err
	}
	if err := a.quarries(ctx, env, p, tl, add); err != nil {
		return nil, err
	}
	if err := a.tailings(ctx, env, p, tl, add); err != nil {
		return nil, err
	}
	sortByID(out.Layers[DistanceViolations])
	out.Summary = tl.summary(env, p, nil)
	return out, nil
}

// shoreline is the Yangtze main stem: polygons (the water, distance 0)
// and the segments of their boundaries or of its lines, indexed.
type shoreline struct {
	ids   []int64 // river id per segment
	segs  [][2]orb.Point
	ix    boundIndex
	polys []orb.Geometry
	pids  []int64
}

func loadShoreline(ctx context.Context, st layers.Store) (*shoreline, error) {
	sh := &shoreline{}
	err := st.Query(ctx, layers.Query{Layer: layers.Rivers, Filters: []layers.Filter{layers.Eq("main_stem", true)}}, func(f layers.Feature) error {
		switch f.Geometry.(type) {
		case orb.Polygon, orb.MultiPolygon:
			sh.polys = append(sh.polys, f.Geometry)
			sh.pids = append(sh.pids, f.ID)
		}
		sl := newSegLine(f.Geometry)
		if sl == nil {
			return nil
		}
		for i, s := range sl.segs {
			sh.ix.add(len(sh.segs), sl.bnds[i], 0)
			sh.segs = append(sh.segs, s)
			sh.ids = append(sh.ids, f.ID)
		}
		return nil
	})
	return sh, err
}

// distance returns the ground distance from g to the main stem and the
// river's id, when within r metres; else +Inf.
func (sh *shoreline) distance(g orb.Geometry, r float64) (float64, int64) {
	if pt, ok := g.(orb.Point); ok {
		for i, pg := range sh.polys {
			if !pg.Bound().Contains(pt) {
				continue
			}
			switch x := pg.(type) {
			case orb.Polygon:
				if planar.PolygonContains(x, pt) {
					return 0, sh.pids[i]
				}
			case orb.MultiPolygon:
				if planar.MultiPolygonContains(x, pt) {
					return 0, sh.pids[i]
				}
			}
		}
	}
	best, id := math.Inf(1), int64(0)
	sh.ix.search(geo.ExpandBound(g.Bound(), r), func(i int) {
		s := sh.segs[i]
		d := geo.GeometryDistance(g, orb.LineString{s[0], s[1]})
		if d < best || (d == best && sh.ids[i] < id) {
			best, id = d, sh.ids[i]
		}
	})
	if best > r {
		return math.Inf(1), 0
	}
	return best, id
}

func (a *Distance) yangtze(ctx context.Context, env *Env, p Params, tl *tally, add func(string, layers.Feature)) error {
	rule := env.Rules.Get(YangtzeChemical)
	sh, err := loadShoreline(ctx, env.Store)
	if err != nil {
		return err
	}
	q := layers.Query{Layer: layers.Enterprises, Filters: []layers.Filter{layers.Eq("category", "hazchem")}}
	return env.Store.Query(ctx, q, func(f layers.Feature) error {
		town := townOf(env, f.Props, centroid(f.Geometry))
		if !inParams(p, town, f.Geometry.Bound()) {
			return nil
		}
		tl.add(town, "hazchem_enterprises", 1)
		d, river := sh.distance(f.Geometry, rule.Value)
		if d > rule.Value {
			return nil
		}
		props := map[string]any{"kind": ViolationYangtze, "subject_layer": layers.Enterprises, "subject_id": f.ID,
			"distance_m": round1(d), "river_id": river}
		setIf(props, "name", propString(f.Props, "name"))
		setIf(props, "town", town)
		add(town, layers.Feature{Layer: DistanceViolations, ID: f.ID * 4, Geometry: f.Geometry, Props: cite(props, rule)})
		return nil
	})
}

// livingUse reports whether a building can hold living facilities: not a
// factory or warehouse.
func livingUse(props map[string]any) bool {
	u := propString(props, "use")
	return u != "industrial" && u != "warehouse"
}

func (a *Distance) quarries(ctx context.Context, env *Env, p Params, tl *tally, add func(string, layers.Feature)) error {
	rule := env.Rules.Get(QuarryBuffer)
	qs, err := queryAll(ctx, env.Store, layers.Query{Layer: layers.Mines, Filters: []layers.Filter{
		{Field: "kind", Op: layers.OpIn, Values: quarryKinds},
	}})
	if err != nil {
		return err
	}
	type hit struct {
		b     layers.Feature
		q     int // nearest quarry
		d     float64
		count int
	}
	hits := map[int64]*hit{}
	for qi, q := range qs {
		if propString(q.Props, "status") == "closed" {
			continue
		}
		if town := townOf(env, q.Props, centroid(q.Geometry)); inParams(p, town, q.Geometry.Bound()) {
			tl.add(town, "quarries", 1)
		}
		err := env.Store.Query(ctx, layers.Query{Layer: layers.Buildings, BBox: geo.ExpandBound(q.Geometry.Bound(), rule.Value)}, func(b layers.Feature) error {
			if !livingUse(b.Props) {
				return nil
			}
			d := geo.GeometryDistance(b.Geometry, q.Geometry)
			if d > rule.Value {
				return nil
			}
			h := hits[b.ID]
			if h == nil {
				hits[b.ID] = &hit{b: b, q: qi, d: d, count: 1}
				return nil
			}
			h.count++
			if d < h.d { // quarries come in id order: ties keep the lower id
				h.q, h.d = qi, d
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	ids := make([]int64, 0, len(hits))
	for id := range hits {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		h := hits[id]
		town := townOf(env, h.b.Props, centroid(h.b.Geometry))
		if !inParams(p, town, h.b.Geometry.Bound()) {
			continue
		}
		q := qs[h.q]
		props := map[string]any{"kind": ViolationQuarry, "subject_layer": layers.Buildings, "subject_id": id,
			"distance_m": round1(h.d), "quarry_id": q.ID, "quarries": int64(h.count)}
		setIf(props, "name", propString(h.b.Props, "name"))
		setIf(props, "use", propString(h.b.Props, "use"))
		setIf(props, "quarry_name", propString(q.Props, "name"))
		setIf(props, "town", town)
		add(town, layers.Feature{Layer: DistanceViolations, ID: id*4 + 1, Geometry: h.b.Geometry, Props: cite(props, rule)})
	}
	return nil
}

func (a *Distance) tailings(ctx context.Context, env *Env, p Params, tl *tally, add func(string, layers.Feature)) error {
	rule := env.Rules.Get(TailingsDownstream)
	ponds, err := queryAll(ctx, env.Store, layers.Query{Layer: layers.Mines, Filters: []layers.Filter{layers.Eq("kind", "tailings_pond")}})
	if err != nil {
		return err
	}
	for _, pond := range ponds {
		if propString(pond.Props, "status") == "closed" {
			continue
		}
		town := townOf(env, pond.Props, centroid(pond.Geometry))
		if !inParams(p, town, pond.Geometry.Bound()) {
			continue
		}
		tl.add(town, "tailings_ponds", 1)
		n, nearest, nearestD := 0, int64(0), math.Inf(1)
		err := env.Store.Query(ctx, layers.Query{Layer: layers.Buildings, BBox: geo.ExpandBound(pond.Geometry.Bound(), rule.Value)}, func(b layers.Feature) error {
			d := geo.GeometryDistance(b.Geometry, pond.Geometry)
			if d > rule.Value {
				return nil
			}
			n++
			if d < nearestD {
				nearest, nearestD = b.ID, d
			}
			return nil
		})
		if err != nil {
			return err
		}
		if n == 0 {
			continue
		}
		props := map[string]any{"kind": ViolationTailings, "subject_layer": layers.Mines, "subject_id": pond.ID,
			"buildings": int64(n), "nearest_building_id": nearest, "distance_m": round1(nearestD)}
		setIf(props, "name", propString(pond.Props, "name"))
		setIf(props, "town", town)
		add(town, layers.Feature{Layer: DistanceViolations, ID: pond.ID*4 + 2, Geometry: pond.Geometry, Props: cite(props, rule)})
	}
	return nil
}
