package analysis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/paulmach/orb"

	"riskmap/geo"
	"riskmap/layers"
)

// RiskCells is the derived layer of the risk index.
const RiskCells = "risk_cells"

// Derived layers of other analyses the risk index reads when present.
const (
	riskOccupations = "pipeline_occupations" // pipeline-occupation
	riskViolations  = "distance_violations"  // distance rules
)

// Weights of the risk index (docs/ANALYSES.md explains them).
const (
	wRed, wOrange, wYellow, wBlue = 10, 5, 2, 1 // enterprise by risk_level
	wMajorSource                  = 8           // enterprise with a major hazard source (重大危险源)
	wOpenMajorHazard              = 6           // open major hazard (重大事故隐患 not yet accepted)
	wOpenHazard                   = 2           // other open hazard
	wTailings                     = 6           // tailings pond not closed
	wOperatingPit                 = 4           // operating quarry, limestone, sand-gravel or clay pit
	wPerBuilding                  = 0.05        // exposure per building
	wVulnerable                   = 2           // crowded place, school, hospital, elderly care
	exposureCap                   = 20          // exposure saturates
	capacityBoost                 = 0.5         // score × (1 + 0.5 × capacity gap); the gap is 0…2
)

// RiskIndex is the regional risk index (区域安全风险指数): a score per H3
// cell (resolution risk.h3_res) of the district holding an enterprise, a
// hazard, a mine or a building, mapped to the four colours of the
// dual-prevention mechanism (安委办〔2016〕11号).
//
//	hazard   H = Σ enterprises by risk_level (red 10, orange 5, yellow 2, blue 1)
//	           + 8 per enterprise with a major hazard source
//	           + 6 per open major hazard + 2 per other open hazard (open: reported, assigned or rectifying)
//	           + 6 per tailings pond not closed + 4 per operating quarry / limestone / sand-gravel / clay pit
//	exposure E = min(20, 0.05 × buildings + 2 × crowded, school, hospital and elderly-care buildings)
//	capacity gap C = W + R, each 0…1:
//	           W = share of the cell's built-up water-coverage cells (res water.coverage_h3_res) that are water gaps
//	           R = share of the cell's occupied station-reach cells (res station.h3_res, holding any of the
//	               features above) no fire station reaches within station.drive_min
//	score    S = (H + E) × (1 + 0.5 × C)
//	level    red S ≥ risk.threshold_red (40), orange ≥ risk.threshold_orange (20),
//	         yellow ≥ risk.threshold_yellow (8), else blue
//
// Statutory overrides: a cell holding a pipeline occupation (pipeline_
// occupations) or a distance-rule violation (distance_violations: chemical
// works by the Yangtze, buildings by a quarry, a head-top tailings pond) is
// red whatever its score, as domain/RULES.md A8 advises; the cell then
// cites the violated rule. Those two layers are read from the store when
// present (the engine refreshes water, pipeline, lanes, station-reach,
// flood and distance before the risk index), and are simply absent from
// the index otherwise. Water gaps are read from the store's water_gaps
// layer when it holds any (else, and for a what-if, computed); station
// reach is computed.
type RiskIndex struct{}

// NewRiskIndex returns the analysis.
func NewRiskIndex() *RiskIndex { return &RiskIndex{} }

// ID implements Analysis.
func (*RiskIndex) ID() string { return "risk-index" }

// Title implements Analysis.
func (*RiskIndex) Title() layers.Title {
	return layers.Title{Zh: "区域安全风险指数", En: "Regional risk index"}
}

// Description implements Analysis.
func (*RiskIndex) Description() layers.Title {
	return layers.Title{
		Zh: "按H3网格（默认8级）计算风险分值：危险性H = 企业风险等级（红10、橙5、黄2、蓝1）之和 + 重大危险源企业每家8 + 未销号重大事故隐患每项6、其他未销号隐患每项2 + 未关闭尾矿库每座6、生产中采石场/矿坑每座4；暴露度E = min(20, 0.05×建筑数 + 2×人员密集场所、学校、医院、养老机构数)；能力缺口C = 水源覆盖缺口占比 + 消防站4分钟不可达占比（各0–1）；分值S = (H + E)×(1 + 0.5C)。S ≥ 40 为红（重大风险）、≥ 20 橙、≥ 8 黄，其余为蓝（阈值可配置）。网格内有管道占压或距离规则违规（长江1公里化工、采石场周边建筑、头顶库）的直接定为红色。",
		En: "A score per H3 cell (res 8 by default): hazard H = Σ enterprises by risk level (red 10, orange 5, yellow 2, blue 1) + 8 per major hazard source + 6 per open major hazard and 2 per other open hazard + 6 per tailings pond not closed and 4 per operating quarry or pit; exposure E = min(20, 0.05 × buildings + 2 × crowded places, schools, hospitals and elderly care); capacity gap C = share of water-gap cells + share of cells no station reaches in 4 min (each 0–1); score S = (H + E) × (1 + 0.5 C). Red from 40, orange from 20, yellow from 8, else blue (configurable). A pipeline occupation or a distance-rule violation (chemicals within 1 km of the Yangtze, buildings by a quarry, head-top tailings ponds) makes a cell red whatever its score.",
	}
}

// RuleIDs implements Analysis.
func (*RiskIndex) RuleIDs() []string {
	return []string{RiskIndexRes, RiskRed, RiskOrange, RiskYellow, CoverageRes, StationReachRes, StationDrive}
}

// Inputs implements Analysis. The derived layers it reads come from
// analyses the engine runs before it.
func (*RiskIndex) Inputs() []string {
	return []string{layers.Enterprises, layers.Hazards, layers.Mines, layers.Buildings, layers.WaterSources,
		layers.FireStations, layers.Roads, layers.Pipelines, layers.Rivers, layers.Towns}
}

// Layers implements Analysis.
func (*RiskIndex) Layers() []layers.Layer {
	return []layers.Layer{
		derived(RiskCells, "区域安全风险网格", "Regional risk cells", layers.Polygon,
			field("cell", layers.String, "H3网格", "H3 cell"),
			field("town", layers.String, "镇街", "Town"),
			layers.Field{Name: "level", Type: layers.Enum, Title: layers.Title{Zh: "风险等级", En: "Risk level"}, Values: layers.RiskLevels},
			unitField("score", "风险分值", "Score", ""),
			unitField("hazard", "危险性", "Hazard", ""),
			unitField("exposure", "暴露度", "Exposure", ""),
			unitField("capacity_gap", "能力缺口", "Capacity gap", ""),
			unitField("water_gap_share", "水源缺口占比", "Water-gap share", ""),
			unitField("reach_gap_share", "消防站不可达占比", "Station-reach gap share", ""),
			field("enterprises", layers.Int, "企业数", "Enterprises"),
			field("red_enterprises", layers.Int, "重大风险企业", "Red enterprises"),
			field("orange_enterprises", layers.Int, "较大风险企业", "Orange enterprises"),
			field("major_hazard_sources", layers.Int, "重大危险源", "Major hazard sources"),
			field("open_hazards", layers.Int, "未销号隐患", "Open hazards"),
			field("open_major_hazards", layers.Int, "未销号重大隐患", "Open major hazards"),
			field("mines", layers.Int, "矿山/尾矿库", "Mines and ponds"),
			field("buildings", layers.Int, "建筑数", "Buildings"),
			field("vulnerable_buildings", layers.Int, "人员密集/学校/医院/养老", "Crowded, school, hospital, elderly care"),
			field("override", layers.String, "法定红色事由", "Statutory red override"),
		),
	}
}

// riskCell accumulates one cell.
type riskCell struct {
	town                                      string
	enterprises, red, orange, majorSources    int
	openHazards, openMajor, mines             int
	buildings, vulnerable                     int
	hazard                                    float64
	anchors                                   map[geo.Cell]bool // occupied station-reach cells
	builtUp, waterGaps                        int               // water-coverage cells
	overrides                                 []string
	overrideRule                              string
	score, exposure, capacity, wShare, rShare float64
	level                                     string
}

// riskLevelWeight is the hazard weight of an enterprise's risk_level.
func riskLevelWeight(level string) float64 {
	switch level {
	case "red":
		return wRed
	case "orange":
		return wOrange
	case "yellow":
		return wYellow
	case "blue":
		return wBlue
	}
	return 0
}

// mineWeight is the hazard weight of a mine or tailings pond.
func mineWeight(kind, status string) float64 {
	switch {
	case kind == "tailings_pond" && status != "closed":
		return wTailings
	case kind != "tailings_pond" && status == "operating":
		return wOperatingPit
	}
	return 0
}

func vulnerableUse(use string) bool {
	return use == "crowded" || use == "school" || use == "hospital" || use == "elderly_care"
}

// riskScore combines the components.
func riskScore(hazard, exposure, capacity float64) float64 {
	return (hazard + exposure) * (1 + capacityBoost*capacity)
}

// riskLevel maps a score to a colour and the threshold rule behind it.
func riskLevel(r Rules, score float64) (string, Rule) {
	switch {
	case score >= r.V(RiskRed):
		return "red", r.Get(RiskRed)
	case score >= r.V(RiskOrange):
		return "orange", r.Get(RiskOrange)
	case score >= r.V(RiskYellow):
		return "yellow", r.Get(RiskYellow)
	}
	return "blue", r.Get(RiskYellow)
}

func riskProp(props map[string]any, k string) string { s, _ := props[k].(string); return s }

// Run implements Analysis.
func (a *RiskIndex) Run(ctx context.Context, env *Env, p Params) (*Result, error) {
	res := int(env.Rules.V(RiskIndexRes))
	reachRes := int(env.Rules.V(StationReachRes))
	waterRes := int(env.Rules.V(CoverageRes))
	cells := map[geo.Cell]*riskCell{}
	get := func(pt orb.Point, props map[string]any) *riskCell {
		c := geo.CellOf(pt, res)
		rc := cells[c]
		if rc == nil {
			rc = &riskCell{anchors: map[geo.Cell]bool{}}
			cells[c] = rc
		}
		if rc.town == "" {
			rc.town = riskProp(props, "town")
		}
		if reachRes >= res {
			rc.anchors[geo.CellOf(pt, reachRes)] = true
		}
		return rc
	}

	err := env.Store.Query(ctx, layers.Query{Layer: layers.Enterprises}, func(f layers.Feature) error {
		rc := get(centroid(f.Geometry), f.Props)
		rc.enterprises++
		level := riskProp(f.Props, "risk_level")
		rc.hazard += riskLevelWeight(level)
		switch level {
		case "red":
			rc.red++
		case "orange":
			rc.orange++
		}
		if major, _ := f.Props["major_hazard"].(bool); major {
			rc.majorSources++
			rc.hazard += wMajorSource
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("enterprises: %w", err)
	}
	err = env.Store.Query(ctx, layers.Query{Layer: layers.Hazards}, func(f layers.Feature) error {
		rc := get(centroid(f.Geometry), f.Props)
		if !layers.HazardOpen(riskProp(f.Props, "status")) {
			return nil
		}
		rc.openHazards++
		if major, _ := f.Props["major"].(bool); major {
			rc.openMajor++
			rc.hazard += wOpenMajorHazard
		} else {
			rc.hazard += wOpenHazard
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("hazards: %w", err)
	}
	err = env.Store.Query(ctx, layers.Query{Layer: layers.Mines}, func(f layers.Feature) error {
		rc := get(centroid(f.Geometry), f.Props)
		rc.mines++
		rc.hazard += mineWeight(riskProp(f.Props, "kind"), riskProp(f.Props, "status"))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("mines: %w", err)
	}
	waterBuilt := map[geo.Cell]bool{}
	err = env.Store.Query(ctx, layers.Query{Layer: layers.Buildings}, func(f layers.Feature) error {
		ce := centroid(f.Geometry)
		rc := get(ce, f.Props)
		rc.buildings++
		if vulnerableUse(riskProp(f.Props, "use")) {
			rc.vulnerable++
		}
		if wc := geo.CellOf(ce, waterRes); !waterBuilt[wc] {
			waterBuilt[wc] = true
			rc.builtUp++
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("buildings: %w", err)
	}

	// capacity: water gaps and station reach
	gaps, err := a.waterGaps(ctx, env, p)
	if err != nil {
		return nil, err
	}
	for _, c := range gaps {
		if !waterBuilt[c] {
			continue // a gap of another resolution or a stale layer
		}
		if rc := cells[geo.Parent(c, res)]; rc != nil {
			rc.waterGaps++
		}
	}
	m, err := loadReach(ctx, env)
	if err != nil {
		return nil, err
	}

	// statutory overrides
	for _, layer := range []string{riskOccupations, riskViolations} {
		err := env.Store.Query(ctx, layers.Query{Layer: layer}, func(f layers.Feature) error {
			rc := cells[geo.CellOf(centroid(f.Geometry), res)]
			if rc == nil {
				rc = get(centroid(f.Geometry), f.Props)
			}
			what := "pipeline_occupation"
			if layer == riskViolations {
				what = "distance_violation"
				if k := riskProp(f.Props, "kind"); k != "" {
					what += ":" + k
				}
			}
			if !slices.Contains(rc.overrides, what) {
				rc.overrides = append(rc.overrides, what)
			}
			if id := riskProp(f.Props, "rule"); rc.overrideRule == "" && id != "" {
				rc.overrideRule = id
			}
			return nil
		})
		if err != nil && !errors.Is(err, layers.ErrUnknownLayer) {
			return nil, fmt.Errorf("%s: %w", layer, err)
		}
	}

	out := &Result{Analysis: a.ID(), Layers: map[string][]layers.Feature{}}
	keys := make([]geo.Cell, 0, len(cells))
	for c := range cells {
		keys = append(keys, c)
	}
	slices.Sort(keys)
	for i, c := range keys {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		rc := cells[c]
		center := geo.CellCenter(c)
		if t := env.Towns.At(center); t != "" {
			rc.town = t
		}
		if len(rc.anchors) == 0 { // a resolution finer than the reach grid
			rc.anchors[geo.CellOf(center, reachRes)] = true
		}
		unreached := 0
		for x := range rc.anchors {
			if !m.reached(geo.CellCenter(x)) {
				unreached++
			}
		}
		rc.rShare = float64(unreached) / float64(len(rc.anchors))
		if rc.builtUp > 0 {
			rc.wShare = float64(rc.waterGaps) / float64(rc.builtUp)
		}
		rc.exposure = math.Min(exposureCap, wPerBuilding*float64(rc.buildings)+wVulnerable*float64(rc.vulnerable))
		rc.capacity = rc.wShare + rc.rShare
		rc.score = riskScore(rc.hazard, rc.exposure, rc.capacity)
		level, rule := riskLevel(env.Rules, rc.score)
		if len(rc.overrides) > 0 {
			level = "red"
			if r, ok := env.Rules[rc.overrideRule]; ok {
				rule = r
			} else {
				rule = env.Rules.Get(RiskRed)
			}
		}
		rc.level = level
		if !inParams(p, rc.town, orb.Bound{Min: center, Max: center}) {
			continue
		}
		props := map[string]any{
			"cell": c.String(), "level": level, "score": round1(rc.score),
			"hazard": round1(rc.hazard), "exposure": round1(rc.exposure), "capacity_gap": round2(rc.capacity),
			"water_gap_share": round2(rc.wShare), "reach_gap_share": round2(rc.rShare),
			"enterprises": int64(rc.enterprises), "red_enterprises": int64(rc.red), "orange_enterprises": int64(rc.orange),
			"major_hazard_sources": int64(rc.majorSources), "open_hazards": int64(rc.openHazards),
			"open_major_hazards": int64(rc.openMajor), "mines": int64(rc.mines),
			"buildings": int64(rc.buildings), "vulnerable_buildings": int64(rc.vulnerable),
		}
		if rc.town != "" {
			props["town"] = rc.town
		}
		if len(rc.overrides) > 0 {
			props["override"] = strings.Join(rc.overrides, ",")
		}
		out.Layers[RiskCells] = append(out.Layers[RiskCells],
			layers.Feature{Layer: RiskCells, ID: int64(c), Geometry: geo.CellPolygon(c), Props: cite(props, rule)})
	}
	out.Summary = riskSummary(env, cells, p)
	return out, nil
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// waterGaps returns the water-coverage gap cells: from the stored layer
// when it holds any and the run is not a what-if, else computed.
func (a *RiskIndex) waterGaps(ctx context.Context, env *Env, p Params) ([]geo.Cell, error) {
	var out []geo.Cell
	if !p.WhatIf() {
		err := env.Store.Query(ctx, layers.Query{Layer: WaterGaps}, func(f layers.Feature) error {
			out = append(out, geo.Cell(f.ID))
			return nil
		})
		if err != nil && !errors.Is(err, layers.ErrUnknownLayer) {
			return nil, fmt.Errorf("%s: %w", WaterGaps, err)
		}
		if len(out) > 0 {
			return out, nil
		}
	}
	r, err := NewWater().Run(ctx, env, Params{Exclude: p.Exclude, Usable: p.Usable})
	if err != nil {
		return nil, fmt.Errorf("water coverage: %w", err)
	}
	for _, f := range r.Layers[WaterGaps] {
		out = append(out, geo.Cell(f.ID))
	}
	return out, nil
}

func riskSummary(env *Env, cells map[geo.Cell]*riskCell, p Params) Summary {
	type acc struct {
		n         int
		by        map[string]int
		overrides int
		max       float64
	}
	newAcc := func() *acc { return &acc{by: map[string]int{}} }
	all := newAcc()
	per := map[string]*acc{}
	for c, rc := range cells {
		center := geo.CellCenter(c)
		if !inParams(p, rc.town, orb.Bound{Min: center, Max: center}) {
			continue
		}
		t := per[rc.town]
		if t == nil {
			t = newAcc()
			per[rc.town] = t
		}
		for _, x := range []*acc{all, t} {
			x.n++
			x.by[rc.level]++
			if len(rc.overrides) > 0 {
				x.overrides++
			}
			x.max = math.Max(x.max, rc.score)
		}
	}
	metrics := func(x *acc) map[string]float64 {
		return map[string]float64{
			"cells": float64(x.n), "red_cells": float64(x.by["red"]), "orange_cells": float64(x.by["orange"]),
			"yellow_cells": float64(x.by["yellow"]), "blue_cells": float64(x.by["blue"]),
			"override_cells": float64(x.overrides), "max_score": round1(x.max),
		}
	}
	s := Summary{Metrics: metrics(all)}
	names := env.Towns.Names()
	if p.Town != "" {
		names = []string{p.Town}
	}
	for _, n := range names {
		x := per[n]
		if x == nil {
			x = newAcc()
		}
		s.Towns = append(s.Towns, TownSummary{Town: n, Values: metrics(x)})
	}
	return s
}
