package analysis

import (
	"context"
	"math"
	"slices"
	"strings"

	"riskmap/geo"
	"riskmap/layers"
)

// Derived layers of the life-lane analysis.
const (
	LaneIssues           = "lane_issues"
	BuildingsWithoutLane = "buildings_without_lane"
)

// Issue codes of a lane, most severe first.
const (
	IssueBlocked  = "blocked"
	IssueOccupied = "occupied"
	IssueNarrow   = "narrow"
	IssueLow      = "low"
	IssueUnmarked = "unmarked"
)

// laneEvidenceM is how far the nearest lane of a flagged building is
// looked for.
const laneEvidenceM = 500

// Lanes is the 生命通道 analysis: life lanes with problems and high-rise or
// crowded buildings with no usable fire lane beside them.
//
// A lane's issues, most severe first: blocked and occupied (status; 消防法
// 第二十八条), narrow (width_m below 4 m) and low (clear_height_m below
// 4 m; GB 50016-2014 §7.1.8-1), unmarked (marked false; the plan marks
// every fire lane, seed L1482). Width and height are engine rules, so they
// are checked on fire lanes and rescue corridors only, not on evacuation
// routes (疏散通道, for people on foot); an unknown width, height or
// marking is not an issue. Each lane with issues cites the most severe
// rule and lists every rule in `rules`.
//
// A high-rise or crowded building needs a usable fire lane (kind fire_lane,
// status clear, width and clear height at least 4 m where known) within
// 10 m of it (GB 50016-2014 §7.1.2, §7.1.8-4); a building without one is
// flagged with the nearest life lane of any kind and state (up to 500 m).
//
// The summary counts lanes by issue, the share of fire lanes that are
// marked, and the "6+N" list (on_6n_list) lanes open vs fixed (clear).
type Lanes struct{}

// NewLanes returns the analysis.
func NewLanes() *Lanes { return &Lanes{} }

// ID implements Analysis.
func (*Lanes) ID() string { return "lane-issues" }

// Title implements Analysis.
func (*Lanes) Title() layers.Title {
	return layers.Title{Zh: "生命通道", En: "Life lanes"}
}

// Description implements Analysis.
func (*Lanes) Description() layers.Title {
	return layers.Title{
		Zh: "被堵塞、占用、净宽或净高不足4米、未施划标识标线的生命通道；10米内无畅通消防车道的高层建筑和人员密集场所；“6+N”清单整治进度。",
		En: "Life lanes that are blocked, occupied, narrower or lower than 4 m, or unmarked; high-rise and crowded buildings with no clear fire lane within 10 m; progress of the \"6+N\" list.",
	}
}

// RuleIDs implements Analysis.
func (*Lanes) RuleIDs() []string {
	return []string{LaneObstruction, LaneMinWidth, LaneMinHeight, LaneMarking, LaneNearBuilding}
}

// Inputs implements Analysis.
func (*Lanes) Inputs() []string {
	return []string{layers.LifeLanes, layers.Buildings, layers.Towns}
}

// Layers implements Analysis.
func (*Lanes) Layers() []layers.Layer {
	return []layers.Layer{
		derived(LaneIssues, "生命通道问题", "Life-lane issues", layers.Line,
			field("issues", layers.String, "问题", "Issues"),
			field("rules", layers.String, "涉及规则", "Rules involved"),
			field("name", layers.String, "名称", "Name"),
			field("kind", layers.String, "类型", "Kind"),
			unitField("width_m", "净宽", "Clear width", "m"),
			unitField("clear_height_m", "净高", "Clear height", "m"),
			field("status", layers.String, "状态", "Status"),
			field("marked", layers.Bool, "标识标线", "Marked"),
			field("on_6n_list", layers.Bool, "6+N清单", "On the 6+N list"),
			field("compound", layers.String, "所属小区/单位", "Compound"),
			field("town", layers.String, "镇街", "Town"),
		),
		derived(BuildingsWithoutLane, "无畅通消防车道的建筑", "Buildings without a clear fire lane", layers.Polygon,
			field("name", layers.String, "名称", "Name"),
			field("use", layers.String, "用途", "Use"),
			field("floors", layers.Int, "层数", "Floors"),
			unitField("height_m", "高度", "Height", "m"),
			field("nearest_lane_id", layers.Int, "最近通道编号", "Nearest lane id"),
			unitField("nearest_lane_m", "最近通道距离", "Nearest lane", "m"),
			field("nearest_lane_kind", layers.String, "最近通道类型", "Nearest lane kind"),
			field("nearest_lane_status", layers.String, "最近通道状态", "Nearest lane status"),
			field("town", layers.String, "镇街", "Town"),
		),
	}
}

// laneIssues returns a lane's issue codes, most severe first, and the rule
// id behind each.
func laneIssues(r Rules, props map[string]any) (codes, rules []string) {
	add := func(code, rule string) {
		codes = append(codes, code)
		if !slices.Contains(rules, rule) {
			rules = append(rules, rule)
		}
	}
	switch propString(props, "status") {
	case "blocked":
		add(IssueBlocked, LaneObstruction)
	case "occupied":
		add(IssueOccupied, LaneObstruction)
	}
	if propString(props, "kind") != "evacuation" {
		if w, ok := propFloat(props, "width_m"); ok && w < r.V(LaneMinWidth) {
			add(IssueNarrow, LaneMinWidth)
		}
		if h, ok := propFloat(props, "clear_height_m"); ok && h < r.V(LaneMinHeight) {
			add(IssueLow, LaneMinHeight)
		}
	}
	if m, ok := propBool(props, "marked"); ok && !m {
		add(IssueUnmarked, LaneMarking)
	}
	return codes, rules
}

// usableFireLane reports whether a lane serves a building: a clear fire
// lane at least as wide and high as the rules ask, where known.
func usableFireLane(r Rules, props map[string]any) bool {
	if propString(props, "kind") != "fire_lane" || propString(props, "status") != "clear" {
		return false
	}
	if w, ok := propFloat(props, "width_m"); ok && w < r.V(LaneMinWidth) {
		return false
	}
	if h, ok := propFloat(props, "clear_height_m"); ok && h < r.V(LaneMinHeight) {
		return false
	}
	return true
}

// Run implements Analysis.
func (a *Lanes) Run(ctx context.Context, env *Env, p Params) (*Result, error) {
	lanes, err := queryAll(ctx, env.Store, layers.Query{Layer: layers.LifeLanes})
	if err != nil {
		return nil, err
	}
	out := &Result{Analysis: a.ID(), Layers: map[string][]layers.Feature{}}
	tl := newTally("lanes", "lanes_with_issues", IssueBlocked, IssueOccupied, IssueNarrow, IssueLow, IssueUnmarked,
		"fire_lanes", "fire_lanes_marked", "on_6n_list", "on_6n_open", "on_6n_fixed", "buildings_checked", "buildings_without_lane")
	ix := &boundIndex{}
	for i, l := range lanes {
		ix.add(i, l.Geometry.Bound(), 0)
		town := townOf(env, l.Props, midVertex(l.Geometry))
		if !inParams(p, town, l.Geometry.Bound()) {
			continue
		}
		tl.add(town, "lanes", 1)
		if propString(l.Props, "kind") == "fire_lane" {
			tl.add(town, "fire_lanes", 1)
			if m, _ := propBool(l.Props, "marked"); m {
				tl.add(town, "fire_lanes_marked", 1)
			}
		}
		if on, _ := propBool(l.Props, "on_6n_list"); on {
			tl.add(town, "on_6n_list", 1)
			if propString(l.Props, "status") == "clear" {
				tl.add(town, "on_6n_fixed", 1)
			} else {
				tl.add(town, "on_6n_open", 1)
			}
		}
		codes, rules := laneIssues(env.Rules, l.Props)
		if len(codes) == 0 {
			continue
		}
		tl.add(town, "lanes_with_issues", 1)
		for _, c := range codes {
			tl.add(town, c, 1)
		}
		props := map[string]any{"issues": strings.Join(codes, ","), "rules": strings.Join(rules, ",")}
		copyProps(props, l.Props, "name", "kind", "width_m", "clear_height_m", "status", "marked", "on_6n_list", "compound")
		setIf(props, "town", town)
		out.Layers[LaneIssues] = append(out.Layers[LaneIssues], layers.Feature{
			Layer: LaneIssues, ID: l.ID, Geometry: l.Geometry, Props: cite(props, env.Rules.Get(rules[0])),
		})
	}

	nearRule := env.Rules.Get(LaneNearBuilding)
	q := layers.Query{Layer: layers.Buildings, Filters: []layers.Filter{{Field: "use", Op: layers.OpIn, Values: []any{"high_rise", "crowded"}}}}
	err = env.Store.Query(ctx, q, func(b layers.Feature) error {
		town := townOf(env, b.Props, centroid(b.Geometry))
		if !inParams(p, town, b.Geometry.Bound()) {
			return nil
		}
		tl.add(town, "buildings_checked", 1)
		served := false
		best, bestD := -1, math.Inf(1)
		bb := b.Geometry.Bound()
		// a usable lane within the rule first: most buildings stop here
		ix.search(geo.ExpandBound(bb, nearRule.Value), func(i int) {
			if served || !usableFireLane(env.Rules, lanes[i].Props) {
				return
			}
			served = geo.GeometryDistance(b.Geometry, lanes[i].Geometry) <= nearRule.Value
		})
		if served {
			return nil
		}
		// the nearest lane of any kind: a lane within r is always found
		// by a search of the bound grown by r, so widen until one is
		seen := map[int]bool{}
		for _, r := range []float64{50, 150, laneEvidenceM} {
			ix.search(geo.ExpandBound(bb, r), func(i int) {
				if seen[i] {
					return
				}
				seen[i] = true
				d := geo.GeometryDistance(b.Geometry, lanes[i].Geometry)
				if d <= laneEvidenceM && (d < bestD || (d == bestD && lanes[i].ID < lanes[best].ID)) {
					best, bestD = i, d
				}
			})
			if bestD <= r {
				break
			}
		}
		props := map[string]any{}
		copyProps(props, b.Props, "name", "use", "floors", "height_m")
		setIf(props, "town", town)
		if best >= 0 {
			props["nearest_lane_id"] = lanes[best].ID
			props["nearest_lane_m"] = round1(bestD)
			setIf(props, "nearest_lane_kind", propString(lanes[best].Props, "kind"))
			setIf(props, "nearest_lane_status", propString(lanes[best].Props, "status"))
		}
		out.Layers[BuildingsWithoutLane] = append(out.Layers[BuildingsWithoutLane], layers.Feature{
			Layer: BuildingsWithoutLane, ID: b.ID, Geometry: b.Geometry, Props: cite(props, nearRule),
		})
		tl.add(town, "buildings_without_lane", 1)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sortByID(out.Layers[LaneIssues])
	out.Summary = tl.summary(env, p, func(m map[string]float64) {
		m["marked_pct"] = 100
		if m["fire_lanes"] > 0 {
			m["marked_pct"] = round1(100 * m["fire_lanes_marked"] / m["fire_lanes"])
		}
	})
	out.Summary.Targets = []Target{
		{
			Year: 2026, Metric: "marked_pct", Op: ">=", Value: 100,
			Title:  layers.Title{Zh: "所有消防车通道实现标识标线施划全覆盖", En: "Every fire lane marked (the plan gives no year; 2026 ends the campaign)"},
			Source: "seed L1482",
		},
		{
			Year: 2026, Metric: "on_6n_open", Op: "<=", Value: 0,
			Title:  layers.Title{Zh: "“6+N”严管治理清单整治销号，生命通道畅通", En: "Every \"6+N\" hotspot fixed, life lanes open"},
			Source: "seed L1482",
		},
	}
	return out, nil
}
