package analysis

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"riskmap/layers"
)

// Rule is one configurable number with its source: every result an analysis
// produces names the rule (value, unit, standard and clause) behind it.
type Rule struct {
	ID        string       `json:"id"`
	Title     layers.Title `json:"title"`
	Value     float64      `json:"value"`
	Unit      string       `json:"unit"`
	Standard  string       `json:"standard"`
	Clause    string       `json:"clause"`
	Certainty string       `json:"certainty"` // V seen in the text, V* secondary source, R recalled (see domain/RULES.md)
}

// Cite is the short citation shown in popups and CSV exports, e.g.
// "GB 50974-2014 §7.2.5".
func (r Rule) Cite() string {
	if r.Clause == "" {
		return r.Standard
	}
	return r.Standard + " " + r.Clause
}

// Rule ids. Values are the defaults of domain/RULES.md.
const (
	HydrantRadius       = "water.hydrant_radius_m"
	FirePoolRadius      = "water.fire_pool_radius_m"
	NaturalIntakeRadius = "water.natural_intake_radius_m"
	ForestPoolKeyRadius = "water.forest_pool_key_radius_m"
	ForestPoolRadius    = "water.forest_pool_radius_m"
	HydrantSpacing      = "water.hydrant_spacing_m"
	CoverageRes         = "water.coverage_h3_res"
	LongPipelineZone    = "pipeline.long_zone_m"
	GasLowZone          = "pipeline.gas_low_medium_zone_m"
	GasSubHighZone      = "pipeline.gas_sub_high_zone_m"
	GasHighZone         = "pipeline.gas_high_zone_m"
	MineNearPipeline    = "pipeline.mine_blasting_m"
	LaneMinWidth        = "lane.min_width_m"
	LaneMinHeight       = "lane.min_clear_height_m"
	LaneNearBuilding    = "lane.near_building_m"
	LaneObstruction     = "lane.obstruction"
	LaneMarking         = "lane.marking_pct"
	StationTurnout      = "station.turnout_min"
	StationDrive        = "station.drive_min"
	StationReachRes     = "station.h3_res"
	FloodDepth          = "flood.depth_cm"
	FloodNear           = "flood.near_m"
	YangtzeChemical     = "distance.yangtze_chemical_m"
	QuarryBuffer        = "distance.quarry_buffer_m"
	TailingsDownstream  = "distance.tailings_people_m"
	RiskIndexRes        = "risk.h3_res"
	StationAreaGrade1   = "station.area_grade1_km2"
	StationAreaGrade2   = "station.area_grade2_km2"
	StationAreaSmall    = "station.area_small_km2"
	RiskRed             = "risk.threshold_red"
	RiskOrange          = "risk.threshold_orange"
	RiskYellow          = "risk.threshold_yellow"
)

// Rules is a set of rules by id.
type Rules map[string]Rule

// DefaultRules returns the defaults with their sources.
func DefaultRules() Rules {
	list := []Rule{
		{HydrantRadius, layers.Title{Zh: "市政消火栓保护半径", En: "Municipal hydrant protection radius"}, 150, "m", "GB 50974-2014", "§7.2.5", "V*"},
		{FirePoolRadius, layers.Title{Zh: "消防水池保护半径", En: "Fire pool protection radius"}, 150, "m", "GB 50974-2014", "§6.1.5", "V*"},
		{NaturalIntakeRadius, layers.Title{Zh: "天然水源取水点保护半径", En: "Natural intake protection radius"}, 150, "m", "GB 50974-2014", "§6.1.5 (as a fire-pool intake)", "R"},
		{ForestPoolKeyRadius, layers.Title{Zh: "重点区域森林消防水池服务半径", En: "Forest pool water-fetching radius, key areas"}, 2000, "m", "巴南区治本攻坚三年行动 林业方案", "seed L1433 (取水半径 1–2 km; upper bound)", "V"},
		{ForestPoolRadius, layers.Title{Zh: "一般区域森林消防水池服务半径", En: "Forest pool water-fetching radius, other areas"}, 3000, "m", "巴南区治本攻坚三年行动 林业方案", "seed L1433 (取水半径 2–3 km; upper bound)", "V"},
		{HydrantSpacing, layers.Title{Zh: "市政消火栓间距", En: "Municipal hydrant spacing"}, 120, "m", "GB 50974-2014", "§7.2.5", "V*"},
		{CoverageRes, layers.Title{Zh: "水源覆盖网格分辨率", En: "Coverage grid H3 resolution"}, 10, "", "riskmap", "configuration", "V"},
		{LongPipelineZone, layers.Title{Zh: "长输油气管道中心线两侧保护距离", En: "Long-distance pipeline zone each side"}, 5, "m", "石油天然气管道保护法", "第三十条", "V"},
		{GasLowZone, layers.Title{Zh: "低压/中压燃气管道保护范围", En: "Low/medium-pressure gas protection range"}, 0.5, "m", "GB 55009-2021", "§5.1.6", "V"},
		{GasSubHighZone, layers.Title{Zh: "次高压燃气管道保护范围", En: "Sub-high-pressure gas protection range"}, 1.5, "m", "GB 55009-2021", "§5.1.6", "V"},
		{GasHighZone, layers.Title{Zh: "高压燃气管道保护范围", En: "High-pressure gas protection range"}, 5, "m", "GB 55009-2021", "§5.1.6", "V"},
		{MineNearPipeline, layers.Title{Zh: "长输管道两侧爆破/采矿许可距离", En: "Blasting and mining near long-distance pipelines"}, 200, "m", "石油天然气管道保护法", "第三十五条", "V"},
		{LaneMinWidth, layers.Title{Zh: "消防车道最小净宽", En: "Fire lane minimum clear width"}, 4, "m", "GB 50016-2014", "§7.1.8-1", "V*"},
		{LaneMinHeight, layers.Title{Zh: "消防车道最小净空高度", En: "Fire lane minimum clear height"}, 4, "m", "GB 50016-2014", "§7.1.8-1", "V*"},
		{LaneNearBuilding, layers.Title{Zh: "高层/人员密集建筑旁消防车道距离", En: "Fire lane within this distance of high-rise and crowded buildings"}, 10, "m", "GB 50016-2014", "§7.1.2, §7.1.8-4 (5–10 m)", "V*"},
		{LaneObstruction, layers.Title{Zh: "不得占用、堵塞消防车通道", En: "Fire lanes must not be occupied or blocked"}, 0, "", "中华人民共和国消防法", "第二十八条", "R"},
		{LaneMarking, layers.Title{Zh: "消防车通道标识标线施划覆盖率", En: "Fire lanes with markings"}, 100, "%", "巴南区治本攻坚三年行动 消防方案", "seed L1482 (标识标线施划全覆盖)", "V"},
		{StationTurnout, layers.Title{Zh: "出动时间", En: "Turnout time"}, 1, "min", "建标152-2017", "第十三条 条文说明", "V*"},
		{StationDrive, layers.Title{Zh: "行车到场时间", En: "Driving time"}, 4, "min", "建标152-2017", "第十三条 条文说明", "V*"},
		{StationReachRes, layers.Title{Zh: "消防站可达网格分辨率", En: "Station reach H3 resolution"}, 9, "", "riskmap", "configuration", "V"},
		{FloodDepth, layers.Title{Zh: "积水点深度阈值", En: "Flood spot depth threshold"}, 15, "cm", "GB 51222-2017", "§3.2.3", "R"},
		{FloodNear, layers.Title{Zh: "积水点影响距离", En: "Distance to a flood point"}, 50, "m", "riskmap", "configuration (GB 51222 leaves it open)", "V"},
		{YangtzeChemical, layers.Title{Zh: "长江岸线化工项目禁建距离", En: "Chemical projects from the Yangtze shoreline"}, 1000, "m", "长江保护法", "第二十六条", "V*"},
		{QuarryBuffer, layers.Title{Zh: "小型露天采石场周边生活设施距离", En: "Living facilities from a small open-pit quarry"}, 300, "m", "安监总局令第39号", "第十二条", "V"},
		{TailingsDownstream, layers.Title{Zh: "头顶库下游距离", En: "People downstream of a tailings pond"}, 1000, "m", "应急〔2020〕15号 / GB 39496-2020", "头顶库定义", "V"},
		{RiskIndexRes, layers.Title{Zh: "风险指数网格分辨率", En: "Risk index H3 resolution"}, 8, "", "riskmap", "configuration", "V"},
		{StationAreaGrade1, layers.Title{Zh: "一级站（特勤站）辖区面积上限", En: "Grade-1 (and special) station district limit"}, 7, "km²", "建标152-2017", "第十四条", "V"},
		{StationAreaGrade2, layers.Title{Zh: "二级站辖区面积上限", En: "Grade-2 station district limit"}, 4, "km²", "建标152-2017", "第十四条", "V"},
		{StationAreaSmall, layers.Title{Zh: "小型站辖区面积上限", En: "Small station district limit"}, 2, "km²", "建标152-2017", "第十四条", "V"},
		{RiskRed, layers.Title{Zh: "重大风险（红）分值下限", En: "Risk score for red (major)"}, 40, "", "riskmap risk index", "docs/ANALYSES.md (安委办〔2016〕11号 四色; thresholds configurable)", "V"},
		{RiskOrange, layers.Title{Zh: "较大风险（橙）分值下限", En: "Risk score for orange (high)"}, 20, "", "riskmap risk index", "docs/ANALYSES.md (安委办〔2016〕11号 四色; thresholds configurable)", "V"},
		{RiskYellow, layers.Title{Zh: "一般风险（黄）分值下限", En: "Risk score for yellow (moderate)"}, 8, "", "riskmap risk index", "docs/ANALYSES.md (安委办〔2016〕11号 四色; thresholds configurable)", "V"},
	}
	r := make(Rules, len(list))
	for _, x := range list {
		r[x.ID] = x
	}
	return r
}

// Get returns a rule; asking for an unknown id is a programming error.
func (r Rules) Get(id string) Rule {
	x, ok := r[id]
	if !ok {
		panic("analysis: unknown rule " + id)
	}
	return x
}

// V returns a rule's value.
func (r Rules) V(id string) float64 { return r.Get(id).Value }

// Sorted returns the rules ordered by id.
func (r Rules) Sorted() []Rule {
	out := slices.Collect(maps.Values(r))
	slices.SortFunc(out, func(a, b Rule) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Override returns a copy with values replaced from a JSON object mapping
// rule ids to numbers, e.g. {"water.hydrant_radius_m": 120}. An unknown id
// or a negative value is an error naming it; the source becomes
// "deployment override" so results never cite a standard for a number it
// does not hold.
func (r Rules) Override(src io.Reader) (Rules, error) {
	var m map[string]float64
	dec := json.NewDecoder(src)
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	out := maps.Clone(r)
	for id, v := range m {
		x, ok := out[id]
		if !ok {
			return nil, fmt.Errorf("rules: unknown rule %q", id)
		}
		if v < 0 {
			return nil, fmt.Errorf("rules: %s must not be negative, got %v", id, v)
		}
		if v != x.Value {
			x.Clause = fmt.Sprintf("%s (default %v %s; deployment override)", x.Clause, x.Value, x.Unit)
			x.Value = v
		}
		out[id] = x
	}
	return out, nil
}
