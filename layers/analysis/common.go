package analysis

import (
	"math"

	"github.com/paulmach/orb"

	"riskmap/layers"
)

// ruleFields are carried by every derived feature: the rule that produced
// it, so a popup or a CSV row can say why.
func ruleFields() []layers.Field {
	return []layers.Field{
		{Name: "rule", Type: layers.String, Title: layers.Title{Zh: "规则", En: "Rule"}},
		{Name: "rule_value", Type: layers.Float, Title: layers.Title{Zh: "规则限值", En: "Rule value"}},
		{Name: "rule_unit", Type: layers.String, Title: layers.Title{Zh: "单位", En: "Unit"}},
		{Name: "standard", Type: layers.String, Title: layers.Title{Zh: "依据", En: "Standard and clause"}},
	}
}

// cite adds a rule's fields to props and returns props.
func cite(props map[string]any, r Rule) map[string]any { return citeAs(props, r, r.Cite()) }

// citeAs is cite with r.Cite() worked out beforehand, for callers that
// cite one rule many times.
func citeAs(props map[string]any, r Rule, std string) map[string]any {
	props["rule"] = r.ID
	props["rule_value"] = r.Value
	props["rule_unit"] = r.Unit
	props["standard"] = std
	return props
}

func field(name string, t layers.FieldType, zh, en string) layers.Field {
	return layers.Field{Name: name, Type: t, Title: layers.Title{Zh: zh, En: en}}
}

func unitField(name, zh, en, unit string) layers.Field {
	return layers.Field{Name: name, Type: layers.Float, Title: layers.Title{Zh: zh, En: en}, Unit: unit}
}

// derived builds a derived layer's description with the rule fields last.
func derived(id, zh, en string, g layers.GeomType, fields ...layers.Field) layers.Layer {
	return layers.Layer{
		ID: id, Title: layers.Title{Zh: zh, En: en}, Geometry: []layers.GeomType{g},
		Fields: append(fields, ruleFields()...), MinZoom: 10, MaxZoom: 22, Derived: true,
	}
}

// centroid is a representative point of a geometry: the centroid of its
// bound, moved to the nearest vertex when that falls outside a polygon is
// not needed at building scale.
func centroid(g orb.Geometry) orb.Point { return g.Bound().Center() }

// inParams reports whether a feature in town t with bound b is inside what
// p asks for.
func inParams(p Params, town string, b orb.Bound) bool {
	if p.Town != "" && town != p.Town {
		return false
	}
	if p.BBox != (orb.Bound{}) && !p.BBox.Intersects(b) {
		return false
	}
	return true
}

// round1 rounds to one decimal: distances in metres and percentages are
// reported to a decimetre or a tenth of a percent.
func round1(v float64) float64 { return math.Round(v*10) / 10 }
