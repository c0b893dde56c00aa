package analysis

import (
	"context"

	"github.com/paulmach/orb"

	"riskmap/geo"
	"riskmap/layers"
)

// FloodExposure is the derived layer of the flood-exposure analysis.
const FloodExposure = "flood_exposure"

// Kinds of flood-exposed subjects.
const (
	ExposedUnderground = "underground"
	ExposedHazchem     = "hazchem"
	ExposedSubstation  = "substation"
)

// Flood is the flood-exposure analysis: underground spaces (buildings with
// use underground), hazardous-chemical enterprises (category hazchem) and
// substations (enterprises with category power) inside a flood polygon, or
// within flood.near_m (50 m) of a flood spot, point or polygon, deeper
// than flood.depth_cm (15 cm; GB 51222-2017 §3.2.3).
//
// Inside a polygon means sharing any point with it (distance 0), whatever
// its depth: a mapped waterlogging area is itself the hazard. A subject
// near several spots is reported once, for the nearest spot (the deepest
// among equally near ones); `spots` counts the spots it is exposed to. The
// rule cited is the depth rule, or the distance rule for a subject inside
// a polygon no deeper than the threshold.
//
// Feature ids are unique across the two subject layers: building id × 2
// for buildings, enterprise id × 2 + 1 for enterprises.
type Flood struct{}

// NewFlood returns the analysis.
func NewFlood() *Flood { return &Flood{} }

// ID implements Analysis.
func (*Flood) ID() string { return "flood-exposure" }

// Title implements Analysis.
func (*Flood) Title() layers.Title {
	return layers.Title{Zh: "内涝暴露", En: "Flood exposure"}
}

// Description implements Analysis.
func (*Flood) Description() layers.Title {
	return layers.Title{
		Zh: "位于易涝区内，或距积水深度超过15厘米的积水点50米以内的地下空间、危化品企业和变电站。",
		En: "Underground spaces, hazardous-chemical enterprises and substations inside a flood area, or within 50 m of a flood spot deeper than 15 cm.",
	}
}

// RuleIDs implements Analysis.
func (*Flood) RuleIDs() []string { return []string{FloodDepth, FloodNear} }

// Inputs implements Analysis.
func (*Flood) Inputs() []string {
	return []string{layers.FloodSpots, layers.Buildings, layers.Enterprises, layers.Towns}
}

// Layers implements Analysis.
func (*Flood) Layers() []layers.Layer {
	l := derived(FloodExposure, "内涝暴露", "Flood exposure", layers.Point,
		field("subject_layer", layers.String, "对象图层", "Subject layer"),
		field("subject_id", layers.Int, "对象编号", "Subject id"),
		field("kind", layers.String, "对象类型", "Kind"),
		field("name", layers.String, "名称", "Name"),
		field("flood_id", layers.Int, "积水点编号", "Flood spot id"),
		field("flood_name", layers.String, "积水点", "Flood spot"),
		unitField("depth_cm", "最大积水深度", "Max depth", "cm"),
		unitField("distance_m", "距积水点", "Distance to the flood spot", "m"),
		field("spots", layers.Int, "涉及积水点数", "Flood spots within reach"),
		field("town", layers.String, "镇街", "Town"),
	)
	// enterprises are points, underground spaces polygons
	l.Geometry = append(l.Geometry, layers.Polygon)
	return []layers.Layer{l}
}

// exposureKind is the kind of a subject, "" when it is not one.
func exposureKind(layer string, props map[string]any) string {
	switch layer {
	case layers.Buildings:
		if propString(props, "use") == "underground" {
			return ExposedUnderground
		}
	case layers.Enterprises:
		switch propString(props, "category") {
		case "hazchem":
			return ExposedHazchem
		case "power":
			return ExposedSubstation
		}
	}
	return ""
}

// floodSpot is a flood spot of a run.
type floodSpot struct {
	f       layers.Feature
	depth   float64
	deep    bool // deeper than the threshold
	polygon bool
}

// Run implements Analysis.
func (a *Flood) Run(ctx context.Context, env *Env, p Params) (*Result, error) {
	depthRule, nearRule := env.Rules.Get(FloodDepth), env.Rules.Get(FloodNear)
	var spots []floodSpot
	ix := &boundIndex{}
	tl := newTally("exposed", ExposedUnderground, ExposedHazchem, ExposedSubstation, "checked", "deep_spots")
	err := env.Store.Query(ctx, layers.Query{Layer: layers.FloodSpots}, func(f layers.Feature) error {
		d, _ := propFloat(f.Props, "max_depth_cm")
		s := floodSpot{f: f, depth: d, deep: d > depthRule.Value}
		switch f.Geometry.(type) {
		case orb.Polygon, orb.MultiPolygon:
			s.polygon = true
		}
		if s.deep {
			if town := townOf(env, f.Props, centroid(f.Geometry)); inParams(p, town, f.Geometry.Bound()) {
				tl.add(town, "deep_spots", 1)
			}
		} else if !s.polygon {
			return nil // can expose nothing
		}
		margin := 0.0
		if s.deep {
			margin = nearRule.Value
		}
		ix.add(len(spots), f.Geometry.Bound(), margin)
		spots = append(spots, s)
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := &Result{Analysis: a.ID(), Layers: map[string][]layers.Feature{}}

	subject := func(layer string, idBit int64) func(layers.Feature) error {
		return func(f layers.Feature) error {
			kind := exposureKind(layer, f.Props)
			if kind == "" {
				return nil
			}
			town := townOf(env, f.Props, centroid(f.Geometry))
			if !inParams(p, town, f.Geometry.Bound()) {
				return nil
			}
			tl.add(town, "checked", 1)
			best, bestD, n := -1, 0.0, 0
			ix.search(f.Geometry.Bound(), func(i int) {
				s := spots[i]
				d := geo.GeometryDistance(f.Geometry, s.f.Geometry)
				if !(s.polygon && d == 0) && !(s.deep && d <= nearRule.Value) {
					return
				}
				n++
				if best < 0 || d < bestD || (d == bestD && (s.depth > spots[best].depth ||
					(s.depth == spots[best].depth && s.f.ID < spots[best].f.ID))) {
					best, bestD = i, d
				}
			})
			if best < 0 {
				return nil
			}
			s := spots[best]
			props := map[string]any{
				"subject_layer": layer, "subject_id": f.ID, "kind": kind,
				"flood_id": s.f.ID, "depth_cm": s.depth, "distance_m": round1(bestD), "spots": int64(n),
			}
			setIf(props, "name", propString(f.Props, "name"))
			setIf(props, "flood_name", propString(s.f.Props, "name"))
			setIf(props, "town", town)
			rule := depthRule
			if !s.deep {
				rule = nearRule
			}
			out.Layers[FloodExposure] = append(out.Layers[FloodExposure], layers.Feature{
				Layer: FloodExposure, ID: f.ID*2 + idBit, Geometry: f.Geometry, Props: cite(props, rule),
			})
			tl.add(town, "exposed", 1)
			tl.add(town, kind, 1)
			return nil
		}
	}
	err = env.Store.Query(ctx, layers.Query{Layer: layers.Buildings, Filters: []layers.Filter{layers.Eq("use", "underground")}},
		subject(layers.Buildings, 0))
	if err != nil {
		return nil, err
	}
	err = env.Store.Query(ctx, layers.Query{Layer: layers.Enterprises, Filters: []layers.Filter{
		{Field: "category", Op: layers.OpIn, Values: []any{"hazchem", "power"}},
	}}, subject(layers.Enterprises, 1))
	if err != nil {
		return nil, err
	}
	sortByID(out.Layers[FloodExposure])
	out.Summary = tl.summary(env, p, nil)
	return out, nil
}
