package tiles

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"strings"

	"github.com/paulmach/orb"

	"riskmap/layers"
)

// TileJSONDoc is a TileJSON 3.0.0 document.
type TileJSONDoc struct {
	TileJSON     string        `json:"tilejson"`
	Name         string        `json:"name"`
	Description  string        `json:"description,omitempty"`
	Version      string        `json:"version"`
	Attribution  string        `json:"attribution,omitempty"`
	Scheme       string        `json:"scheme"`
	Tiles        []string      `json:"tiles"`
	MinZoom      int           `json:"minzoom"`
	MaxZoom      int           `json:"maxzoom"`
	Bounds       [4]float64    `json:"bounds"`
	Center       [3]float64    `json:"center"`
	VectorLayers []VectorLayer `json:"vector_layers"`
}

// VectorLayer describes one MVT layer of a TileJSON document.
type VectorLayer struct {
	ID          string            `json:"id"`
	Description string            `json:"description,omitempty"`
	Fields      map[string]string `json:"fields"`
	MinZoom     int               `json:"minzoom"`
	MaxZoom     int               `json:"maxzoom"`
}

// worldBounds are the bounds of Web Mercator, used when no requested layer
// holds a feature.
var worldBounds = orb.Bound{Min: orb.Point{-180, -maxLat}, Max: orb.Point{180, maxLat}}

// TileJSON describes the tiles of layers ids served under baseURL (scheme
// and host, for example "https://map.example.org"): one vector layer per
// MVT layer the tiles can hold, with its fields (type, title, unit, enum
// codes) and zoom range; a point layer also lists its "h3:{id}" layer,
// which replaces it below its MinZoom and where a tile holds more points
// than the budget. Bounds are the union of the layers' extents from
// store.Stats.
func TileJSON(ctx context.Context, store layers.Store, cat *layers.Catalog, ids []string, baseURL string) (*TileJSONDoc, error) {
	doc := &TileJSONDoc{TileJSON: "3.0.0", Version: "1.0.0", Scheme: "xyz", MinZoom: MaxZoom, MaxZoom: 0}
	var names, bases []string
	seen := map[string]bool{}
	add := func(vl VectorLayer) {
		if seen[vl.ID] {
			return
		}
		seen[vl.ID] = true
		vl.MaxZoom = min(vl.MaxZoom, MaxZoom)
		doc.VectorLayers = append(doc.VectorLayers, vl)
		doc.MinZoom = min(doc.MinZoom, vl.MinZoom)
		doc.MaxZoom = max(doc.MaxZoom, vl.MaxZoom)
	}
	for _, id := range ids {
		base, isH3 := strings.CutPrefix(id, H3Prefix)
		l, err := cat.Layer(base)
		if err != nil {
			return nil, err
		}
		bases = append(bases, base)
		names = append(names, l.Title.Zh+" "+l.Title.En)
		if !isH3 {
			add(VectorLayer{ID: l.ID, Description: l.Title.Zh + " / " + l.Title.En, Fields: fieldDocs(l), MinZoom: l.MinZoom, MaxZoom: l.MaxZoom})
		}
		if isH3 || pointLayer(l) {
			desc := fmt.Sprintf("H3 cells of %s / %s H3 格网 (resolution by zoom: res 7 at z9, res 10 at z15)", l.Title.En, l.Title.Zh)
			if !isH3 {
				desc += fmt.Sprintf("; replaces %s below zoom %d and where a tile holds too many points", l.ID, l.MinZoom)
			}
			add(VectorLayer{ID: H3Prefix + l.ID, Description: desc, Fields: h3FieldDocs(l), MinZoom: 0, MaxZoom: l.MaxZoom})
		}
	}
	if len(doc.VectorLayers) == 0 {
		doc.MinZoom = 0
	}
	doc.Name = strings.Join(names, ", ")
	doc.Description = "riskmap vector tiles: " + strings.Join(ids, ",")

	st, err := store.Stats(ctx)
	if err != nil {
		return nil, err
	}
	var b orb.Bound
	for _, id := range bases {
		if e := st[id].Extent; st[id].Count > 0 {
			if b == (orb.Bound{}) {
				b = e
			} else {
				b = b.Union(e)
			}
		}
	}
	if b == (orb.Bound{}) {
		b = worldBounds
	}
	doc.Bounds = [4]float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]}
	c := b.Center()
	span := math.Max(b.Max[0]-b.Min[0], 1e-6)
	z := math.Floor(math.Log2(360/span)) + 1
	z = math.Max(float64(doc.MinZoom), math.Min(z, float64(doc.MaxZoom)))
	doc.Center = [3]float64{c[0], c[1], z}

	escaped := make([]string, len(ids))
	for i, id := range ids {
		escaped[i] = url.PathEscape(id)
	}
	doc.Tiles = []string{strings.TrimSuffix(baseURL, "/") + "/tiles/" + strings.Join(escaped, ",") + "/{z}/{x}/{y}.mvt"}
	return doc, nil
}

// fieldDocs describes the fields of l as TileJSON wants them: a string per
// field, here its MVT type, titles, unit and enum codes.
func fieldDocs(l *layers.Layer) map[string]string {
	out := map[string]string{}
	for _, f := range l.Fields {
		out[f.Name] = fieldDoc(f)
	}
	return out
}

func fieldDoc(f layers.Field) string {
	var b strings.Builder
	switch f.Type {
	case layers.Int, layers.Float:
		b.WriteString("Number")
	case layers.Bool:
		b.WriteString("Boolean")
	default:
		b.WriteString("String")
	}
	fmt.Fprintf(&b, ": %s / %s", f.Title.En, f.Title.Zh)
	if f.Unit != "" {
		fmt.Fprintf(&b, " (%s)", f.Unit)
	}
	switch f.Type {
	case layers.Int:
		b.WriteString("; integer")
	case layers.Date:
		b.WriteString("; date YYYY-MM-DD")
	case layers.Enum:
		codes := make([]string, len(f.Values))
		for i, v := range f.Values {
			codes[i] = v.Code
		}
		b.WriteString("; one of " + strings.Join(codes, ", "))
	}
	return b.String()
}

// h3FieldDocs describes the properties of the H3 layer of l.
func h3FieldDocs(l *layers.Layer) map[string]string {
	s := schemaOf(l)
	out := map[string]string{
		"cell":  "String: H3 cell index (hex); the feature id is the same index as a 64-bit integer",
		"res":   "Number: H3 resolution; integer",
		"count": "Number: features in the cell / 要素数; integer",
	}
	if s.risk {
		out["risk_max"] = "String: worst risk level in the cell / 最高风险等级; one of red, orange, yellow, blue"
	}
	for _, c := range s.status {
		out["status_"+c] = fmt.Sprintf("Number: features with status %s; integer", c)
	}
	return out
}
