package analysis

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"riskmap/geo"
	"riskmap/layers"
	"riskmap/routing"
)

// Derived layers of the station-reach analysis.
const (
	ReachGaps    = "reach_gaps"
	StationAreas = "station_areas"
)

// cellSnapM: a built-up cell whose centre has no road within this distance
// has no road link (the off-road leg would dominate any drive time).
const cellSnapM = 1000

// Reasons a built-up cell is a reach gap.
const (
	reasonTooFar = "beyond_drive_time" // reachable, but later than the drive time
	reasonNoLink = "no_road_link"      // no road within cellSnapM, or none joined to a station
)

// StationReach is the fire-station reach analysis (消防站责任区可达性).
//
// 建标152-2017 第十三条 lays stations out so that a crew reaches the edge of
// its district within 5 min of the call: 1 min turnout plus 4 min driving
// (条文说明). The analysis drives the road graph (package routing) from
// every station of kind station (消防救援站) or full_time (专职消防队) at once
// and finds, for each built-up H3 cell (resolution station.h3_res, a cell
// holding at least one building's centre), the first station to arrive and
// its driving time to the cell centre, the off-road leg from the centre to
// the nearest road included at 15 km/h. Micro stations (微型消防站) do not
// count: they are volunteer first-response points of a single unit without
// an engine, not the stations 建标152 sizes. The turnout minute is not
// part of the budget on the road (it is spent at the station); results
// report the response time (turnout + drive) beside the drive time.
//
// A cell is a gap when no station arrives within station.drive_min (a
// cell 4 min 1 s away is a gap, 3 min 59 s is not); gaps beyond any road
// link (another road component than every station's, or no road within
// 1 km) have no best time. Each station's service area is the union of
// the built-up cells it reaches first (at any time), with its area
// compared with the 建标152-2017 第十四条 district limits by grade: 一级
// and 特勤 7 km², 二级 4 km², 小型 2 km² (stations without a grade, and
// full-time brigades, are not flagged).
type StationReach struct{}

// NewStationReach returns the analysis.
func NewStationReach() *StationReach { return &StationReach{} }

// ID implements Analysis.
func (*StationReach) ID() string { return "station-reach" }

// Title implements Analysis.
func (*StationReach) Title() layers.Title {
	return layers.Title{Zh: "消防站5分钟可达", En: "Fire-station reach"}
}

// Description implements Analysis.
func (*StationReach) Description() layers.Title {
	return layers.Title{
		Zh: "接警后1分钟出动、4分钟行车到场（建标152-2017 第十三条）：按道路网从各消防救援站、专职队同时出发（不含微型消防站），4分钟内无站到达的建成区网格为缺口；各站首先到达的建成区网格为其服务区，面积超过一级7、二级4、小型2平方公里（第十四条）的予以标示。",
		En: "1 min turnout plus 4 min driving (建标152-2017 §13): driving the road graph from every fire station and full-time brigade at once (micro stations excluded), built-up H3 cells no station reaches within 4 min are gaps; the built-up cells a station reaches first form its service area, flagged above the 7 / 4 / 2 km² limits of grade-1 / grade-2 / small stations (§14).",
	}
}

// RuleIDs implements Analysis.
func (*StationReach) RuleIDs() []string {
	return []string{StationTurnout, StationDrive, StationReachRes, StationAreaGrade1, StationAreaGrade2, StationAreaSmall}
}

// Inputs implements Analysis.
func (*StationReach) Inputs() []string {
	return []string{layers.Roads, layers.FireStations, layers.Buildings, layers.Towns}
}

// Layers implements Analysis.
func (*StationReach) Layers() []layers.Layer {
	return []layers.Layer{
		derived(ReachGaps, "消防站可达缺口", "Fire-station reach gaps", layers.Polygon,
			field("cell", layers.String, "H3网格", "H3 cell"),
			field("town", layers.String, "镇街", "Town"),
			field("buildings", layers.Int, "建筑数", "Buildings"),
			unitField("best_time_s", "最短行车时间", "Fastest drive", "s"),
			unitField("response_s", "响应时间（含出动）", "Response time incl. turnout", "s"),
			field("nearest_station_id", layers.Int, "最近消防站编号", "Nearest station id"),
			field("nearest_station", layers.String, "最近消防站", "Nearest station"),
			unitField("nearest_station_m", "至最近消防站直线距离", "Straight line to nearest station", "m"),
			field("reason", layers.String, "原因", "Reason"),
		),
		derived(StationAreas, "消防站服务区", "Fire-station service areas", layers.Polygon,
			field("station_id", layers.Int, "消防站编号", "Station id"),
			field("name", layers.String, "名称", "Name"),
			field("kind", layers.String, "类型", "Kind"),
			field("grade", layers.String, "等级", "Grade"),
			field("town", layers.String, "镇街", "Town"),
			field("cells", layers.Int, "网格数", "Cells"),
			unitField("area_km2", "服务区面积", "Service area", "km²"),
			unitField("reach_km2", "4分钟可达面积", "Area within the drive time", "km²"),
			unitField("limit_km2", "辖区面积上限", "District area limit", "km²"),
			field("over_limit", layers.Bool, "超过面积上限", "Above the limit"),
		),
	}
}

// station is a fire station of the reach model.
type station struct {
	id                      int64
	name, kind, grade, town string
	pt                      orb.Point
}

// reachModel is the road graph and the drive times from the stations that
// count; station-reach and the risk index share it.
type reachModel struct {
	g        *routing.Graph
	r        *routing.Reach
	stations []station // those that count, in id order
	micro    int       // micro stations left out
	driveS   float64
}

// countsForReach reports whether a station kind counts for the standard
// reach: 消防救援站 and 专职消防队 do, micro stations do not.
func countsForReach(kind string) bool { return kind == "station" || kind == "full_time" }

func loadReach(ctx context.Context, env *Env) (*reachModel, error) {
	roads, err := queryAll(ctx, env.Store, layers.Query{Layer: layers.Roads})
	if err != nil {
		return nil, fmt.Errorf("roads: %w", err)
	}
	m := &reachModel{g: routing.Build(roads), driveS: 60 * env.Rules.V(StationDrive)}
	err = env.Store.Query(ctx, layers.Query{Layer: layers.FireStations}, func(f layers.Feature) error {
		s := station{id: f.ID, pt: centroid(f.Geometry)}
		s.name, _ = f.Props["name"].(string)
		s.kind, _ = f.Props["kind"].(string)
		s.grade, _ = f.Props["grade"].(string)
		s.town, _ = f.Props["town"].(string)
		if s.town == "" {
			s.town = env.Towns.At(s.pt)
		}
		if !countsForReach(s.kind) {
			m.micro++
			return nil
		}
		m.stations = append(m.stations, s)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("fire stations: %w", err)
	}
	from := make([]orb.Point, len(m.stations))
	for i, s := range m.stations {
		from[i] = s.pt
	}
	m.r = m.g.Reach(from, 0) // the whole network: gaps report their best time
	return m, nil
}

// at returns the drive time to p from the first station to arrive, and
// that station's index; false when p has no road link to any station.
func (m *reachModel) at(p orb.Point) (float64, int, bool) {
	pos, ok := m.g.SnapWithin(p, cellSnapM)
	if !ok {
		return math.Inf(1), -1, false
	}
	return m.r.AtPosition(pos)
}

// reached reports whether p is within the drive time.
func (m *reachModel) reached(p orb.Point) bool {
	s, _, ok := m.at(p)
	return ok && s <= m.driveS
}

// nearestByLine returns the index of the station nearest to p in a
// straight line and the distance, or -1.
func (m *reachModel) nearestByLine(p orb.Point) (int, float64) {
	best, bestD := -1, math.Inf(1)
	for i, s := range m.stations {
		if d := geo.Distance(p, s.pt); d < bestD {
			best, bestD = i, d
		}
	}
	return best, bestD
}

// reachCell is one built-up cell of the analysis.
type reachCell struct {
	cell      geo.Cell
	town      string
	buildings int
	secs      float64
	src       int
	ok        bool
}

// builtUp returns the built-up cells at res (cells holding a building's
// centre) with their building counts, sorted.
func builtUp(ctx context.Context, env *Env, res int) ([]geo.Cell, map[geo.Cell]int, error) {
	counts := map[geo.Cell]int{}
	err := env.Store.Query(ctx, layers.Query{Layer: layers.Buildings}, func(f layers.Feature) error {
		counts[geo.CellOf(centroid(f.Geometry), res)]++
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("buildings: %w", err)
	}
	cells := make([]geo.Cell, 0, len(counts))
	for c := range counts {
		cells = append(cells, c)
	}
	slices.Sort(cells)
	return cells, counts, nil
}

// Run implements Analysis.
func (a *StationReach) Run(ctx context.Context, env *Env, p Params) (*Result, error) {
	m, err := loadReach(ctx, env)
	if err != nil {
		return nil, err
	}
	res := int(env.Rules.V(StationReachRes))
	cells, counts, err := builtUp(ctx, env, res)
	if err != nil {
		return nil, err
	}
	turnoutS := 60 * env.Rules.V(StationTurnout)
	driveRule := env.Rules.Get(StationDrive)
	out := &Result{Analysis: a.ID(), Layers: map[string][]layers.Feature{}}

	rc := make([]reachCell, len(cells))
	for i, c := range cells {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		center := geo.CellCenter(c)
		s, src, ok := m.at(center)
		rc[i] = reachCell{cell: c, town: env.Towns.At(center), buildings: counts[c], secs: s, src: src, ok: ok}
		x := rc[i]
		if x.ok && x.secs <= m.driveS {
			continue
		}
		if !inParams(p, x.town, orb.Bound{Min: center, Max: center}) {
			continue
		}
		props := map[string]any{"cell": c.String(), "buildings": int64(x.buildings)}
		if x.town != "" {
			props["town"] = x.town
		}
		near := x.src
		if x.ok {
			props["best_time_s"] = round1(x.secs)
			props["response_s"] = round1(x.secs + turnoutS)
			props["reason"] = reasonTooFar
		} else {
			props["reason"] = reasonNoLink
			near, _ = m.nearestByLine(center)
		}
		if near >= 0 {
			st := m.stations[near]
			props["nearest_station_id"] = st.id
			props["nearest_station"] = st.name
			props["nearest_station_m"] = round1(geo.Distance(center, st.pt))
		}
		out.Layers[ReachGaps] = append(out.Layers[ReachGaps],
			layers.Feature{Layer: ReachGaps, ID: int64(c), Geometry: geo.CellPolygon(c), Props: cite(props, driveRule)})
	}

	areas, over := a.areas(env, m, rc, p)
	out.Layers[StationAreas] = areas
	out.Summary = a.summary(env, m, rc, p, over)
	return out, nil
}

// areaLimit returns the 建标152 district limit rule for a station grade.
func areaLimit(r Rules, grade string) (Rule, bool) {
	switch grade {
	case "grade1", "special":
		return r.Get(StationAreaGrade1), true
	case "grade2":
		return r.Get(StationAreaGrade2), true
	case "small":
		return r.Get(StationAreaSmall), true
	}
	return Rule{}, false
}

// areas builds the service area of every station: the built-up cells it
// reaches first. It returns the features p selects and how many stations
// of the district are above their limit.
func (a *StationReach) areas(env *Env, m *reachModel, rc []reachCell, p Params) ([]layers.Feature, int) {
	per := make([][]reachCell, len(m.stations))
	for _, x := range rc {
		if x.ok {
			per[x.src] = append(per[x.src], x)
		}
	}
	var out []layers.Feature
	over := 0
	for i, st := range m.stations {
		if len(per[i]) == 0 {
			continue
		}
		cs := make([]geo.Cell, len(per[i]))
		areaM2, reachM2 := 0.0, 0.0
		for k, x := range per[i] {
			cs[k] = x.cell
			ar := geo.Area(geo.CellPolygon(x.cell))
			areaM2 += ar
			if x.secs <= m.driveS {
				reachM2 += ar
			}
		}
		props := map[string]any{
			"station_id": st.id, "name": st.name, "kind": st.kind, "cells": int64(len(cs)),
			"area_km2": math.Round(areaM2/1e4) / 100, "reach_km2": math.Round(reachM2/1e4) / 100,
		}
		if st.grade != "" {
			props["grade"] = st.grade
		}
		if st.town != "" {
			props["town"] = st.town
		}
		rule := env.Rules.Get(StationDrive)
		if lim, ok := areaLimit(env.Rules, st.grade); ok && st.kind == "station" {
			rule = lim
			props["limit_km2"] = lim.Value
			props["over_limit"] = areaM2/1e6 > lim.Value
			if areaM2/1e6 > lim.Value {
				over++
			}
		}
		g := cellsOutline(cs)
		if !inParams(p, st.town, g.Bound()) {
			continue
		}
		out = append(out, layers.Feature{Layer: StationAreas, ID: st.id, Geometry: g, Props: cite(props, rule)})
	}
	return out, over
}

func (a *StationReach) summary(env *Env, m *reachModel, rc []reachCell, p Params, over int) Summary {
	type acc struct{ cells, reached, noLink int }
	all := acc{}
	per := map[string]*acc{}
	for _, x := range rc {
		center := geo.CellCenter(x.cell)
		if !inParams(p, x.town, orb.Bound{Min: center, Max: center}) {
			continue
		}
		t := per[x.town]
		if t == nil {
			t = &acc{}
			per[x.town] = t
		}
		for _, c := range []*acc{&all, t} {
			c.cells++
			if x.ok && x.secs <= m.driveS {
				c.reached++
			}
			if !x.ok {
				c.noLink++
			}
		}
	}
	metrics := func(c acc) map[string]float64 {
		v := map[string]float64{
			"built_up_cells": float64(c.cells), "reached_cells": float64(c.reached),
			"gap_cells": float64(c.cells - c.reached), "unreachable_cells": float64(c.noLink), "reach_pct": 100,
		}
		if c.cells > 0 {
			v["reach_pct"] = round1(100 * float64(c.reached) / float64(c.cells))
		}
		return v
	}
	s := Summary{Metrics: metrics(all)}
	s.Metrics["stations"] = float64(len(m.stations))
	s.Metrics["micro_stations_excluded"] = float64(m.micro)
	s.Metrics["road_components"] = float64(len(m.g.Components()))
	s.Metrics["stations_over_limit"] = float64(over)
	names := env.Towns.Names()
	if p.Town != "" {
		names = []string{p.Town}
	}
	for _, n := range names {
		c := acc{}
		if per[n] != nil {
			c = *per[n]
		}
		s.Towns = append(s.Towns, TownSummary{Town: n, Values: metrics(c)})
	}
	return s
}

// cellsOutline dissolves H3 cells into polygons: edges shared by two cells
// cancel, the rest are chained into rings; counter-clockwise rings are
// outers, clockwise ones holes of the smallest outer holding them.
func cellsOutline(cells []geo.Cell) orb.MultiPolygon {
	type vk [2]int64
	key := func(p orb.Point) vk { return vk{int64(math.Round(p[0] * 1e9)), int64(math.Round(p[1] * 1e9))} }
	type edge struct{ a, b vk }
	at := map[vk]orb.Point{}
	edges := map[edge]bool{}
	for _, c := range cells {
		ring := geo.CellPolygon(c)[0]
		for i := 1; i < len(ring); i++ {
			a, b := key(ring[i-1]), key(ring[i])
			if a == b {
				continue
			}
			at[a], at[b] = ring[i-1], ring[i]
			if edges[edge{b, a}] {
				delete(edges, edge{b, a})
			} else {
				edges[edge{a, b}] = true
			}
		}
	}
	next := map[vk][]vk{}
	for e := range edges {
		next[e.a] = append(next[e.a], e.b)
	}
	starts := make([]vk, 0, len(next))
	for k, v := range next {
		starts = append(starts, k)
		slices.SortFunc(v, func(x, y vk) int { return cmp.Or(cmp.Compare(x[0], y[0]), cmp.Compare(x[1], y[1])) })
	}
	slices.SortFunc(starts, func(x, y vk) int { return cmp.Or(cmp.Compare(x[0], y[0]), cmp.Compare(x[1], y[1])) })
	var outers, holes []orb.Ring
	for _, s := range starts {
		for len(next[s]) > 0 {
			ring := orb.Ring{at[s]}
			cur := s
			for {
				nx := next[cur]
				if len(nx) == 0 {
					break // an unmatched edge: close the ring where it stops
				}
				n := nx[0]
				next[cur] = nx[1:]
				ring = append(ring, at[n])
				cur = n
				if cur == s {
					break
				}
			}
			if ring[len(ring)-1] != ring[0] {
				ring = append(ring, ring[0])
			}
			if len(ring) < 4 {
				continue
			}
			if ring.Orientation() == orb.CCW {
				outers = append(outers, ring)
			} else {
				holes = append(holes, ring)
			}
		}
	}
	mp := make(orb.MultiPolygon, len(outers))
	for i, r := range outers {
		mp[i] = orb.Polygon{r}
	}
	for _, h := range holes {
		best, bestA := -1, math.Inf(1)
		for i, r := range outers {
			if a := math.Abs(planar.Area(r)); a < bestA && r.Bound().Contains(h[0]) && planar.RingContains(r, h[1]) {
				best, bestA = i, a
			}
		}
		if best >= 0 {
			mp[best] = append(mp[best], h)
		}
	}
	return mp
}
