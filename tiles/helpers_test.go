package tiles

import (
	"context"
	"testing"

	"github.com/gogo/protobuf/proto"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/encoding/mvt/vectortile"
	"github.com/paulmach/orb/maptile"

	"riskmap/layers"
	"riskmap/layers/memstore"
)

// yudong is a point in 鱼洞, the district seat: the centre of tile
// 15/26077/13585, which lies well inside its z13 parent.
var yudong = orb.Point{106.4959716796875, 29.36781427223258}

// square returns a closed counter-clockwise square ring of side d degrees
// with its lower-left corner at p.
func square(p orb.Point, d float64) orb.Ring {
	return orb.Ring{p, {p[0] + d, p[1]}, {p[0] + d, p[1] + d}, {p[0], p[1] + d}, p}
}

// smallStore holds a few hand-made features around yudong: buildings (one
// with a hole, one wound clockwise), water sources, a lane crossing the
// z15 tile edge, enterprises and a town.
func smallStore(t testing.TB) *memstore.Store {
	t.Helper()
	ctx := context.Background()
	st := memstore.New()
	p := yudong
	hole := square(orb.Point{p[0] + 0.0002, p[1] + 0.0002}, 0.0002)
	hole.Reverse()
	cw := square(orb.Point{p[0] - 0.001, p[1]}, 0.0003)
	cw.Reverse()
	put := func(layer string, fs ...layers.Feature) {
		t.Helper()
		if err := st.Upsert(ctx, layer, fs); err != nil {
			t.Fatal(err)
		}
	}
	put(layers.Buildings,
		layers.Feature{ID: 1, Geometry: orb.Polygon{square(p, 0.0006), hole},
			Props: map[string]any{"use": "residential", "floors": int64(6), "height_m": 18.5, "name": "一号楼"}},
		layers.Feature{ID: 2, Geometry: orb.Polygon{cw}, Props: map[string]any{"use": "school", "floors": int64(3)}},
		layers.Feature{ID: 3, Geometry: orb.MultiPolygon{{square(orb.Point{p[0] + 0.001, p[1] - 0.001}, 0.0002)}, {square(orb.Point{p[0] + 0.0015, p[1] - 0.001}, 0.0002)}},
			Props: map[string]any{"use": "warehouse"}},
	)
	put(layers.WaterSources,
		layers.Feature{ID: 10, Geometry: orb.Point{p[0] + 0.0003, p[1] - 0.0004}, Props: map[string]any{"kind": "hydrant", "status": "in_service", "flow_lps": 15.0, "key_area": true}},
		layers.Feature{ID: 11, Geometry: orb.Point{p[0] - 0.0005, p[1] + 0.0007}, Props: map[string]any{"kind": "hydrant", "status": "faulty"}},
		layers.Feature{ID: 12, Geometry: orb.Point{p[0] + 0.2, p[1] + 0.2}, Props: map[string]any{"kind": "fire_pool", "status": "in_service"}},
	)
	put(layers.LifeLanes,
		layers.Feature{ID: 20, Geometry: orb.LineString{{p[0] - 0.02, p[1] + 0.0001}, {p[0], p[1] + 0.0001}, {p[0] + 0.0001, p[1] + 0.0012}},
			Props: map[string]any{"kind": "fire_lane", "status": "occupied", "width_m": 3.5, "marked": false}},
	)
	var ents []layers.Feature
	for i := range 40 {
		lvl := []string{"blue", "yellow", "orange", "red"}[i%4]
		ents = append(ents, layers.Feature{ID: int64(100 + i), Geometry: orb.Point{p[0] + float64(i%8-4)*0.004, p[1] + float64(i/8-2)*0.004},
			Props: map[string]any{"name": "企业", "category": "industry", "risk_level": lvl, "staff": int64(10 * i)}})
	}
	put(layers.Enterprises, ents...)
	put(layers.Towns, layers.Feature{ID: 1, Geometry: orb.Polygon{square(orb.Point{p[0] - 0.1, p[1] - 0.1}, 0.2)},
		Props: map[string]any{"name": "鱼洞街道", "code": "500113001", "kind": "street"}})
	return st
}

// decode decodes a rendered tile with the project's decoder.
func decode(t testing.TB, data []byte) mvt.Layers {
	t.Helper()
	ls, err := Decode(data)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return ls
}

func layerNames(ls mvt.Layers) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Name)
	}
	return out
}

func featureIDs(l *mvt.Layer) []int64 {
	var out []int64
	for _, f := range l.Features {
		out = append(out, int64(f.ID.(float64)))
	}
	return out
}

func find(ls mvt.Layers, name string) *mvt.Layer {
	for _, l := range ls {
		if l.Name == name {
			return l
		}
	}
	return nil
}

// checkMVT checks what MVT 2.1 asks of every tile we make: version 2,
// extent 4096, unique layer names, no empty layer, integer coordinates
// within the buffer, valid geometries (lines of 2+ distinct points, rings
// of 4+ points with exterior rings positive and holes negative in tile
// coordinates), ids present, no nil or "null" properties.
func checkMVT(t testing.TB, data []byte) mvt.Layers {
	t.Helper()
	ls := decode(t, data)
	lim := float64(Extent + DefaultBuffer + 1)
	okPt := func(p orb.Point) bool {
		return p[0] == float64(int64(p[0])) && p[1] == float64(int64(p[1])) &&
			p[0] >= -DefaultBuffer-1 && p[0] <= lim && p[1] >= -DefaultBuffer-1 && p[1] <= lim
	}
	for _, l := range ls {
		if l.Version != 2 || l.Extent != Extent {
			t.Errorf("layer %s: version %d extent %d", l.Name, l.Version, l.Extent)
		}
		if len(l.Features) == 0 {
			t.Errorf("layer %s is empty", l.Name)
		}
		for _, f := range l.Features {
			if f.ID == nil {
				t.Errorf("layer %s: feature without id", l.Name)
			}
			for k, v := range f.Properties {
				if v == nil || v == "null" {
					t.Errorf("layer %s feature %v: property %s = %v", l.Name, f.ID, k, v)
				}
			}
			for _, p := range flatten(f.Geometry) {
				if !okPt(p) {
					t.Errorf("layer %s feature %v: point %v off the grid or outside the buffer", l.Name, f.ID, p)
					break
				}
			}
			checkGeometry(t, l.Name, f.ID, f.Geometry)
		}
	}
	return ls
}

func checkGeometry(t testing.TB, layer string, id any, g orb.Geometry) {
	t.Helper()
	// orb's decoder already splits polygons by winding: every decoded
	// polygon's first ring was positive, the others negative.
	switch g := g.(type) {
	case orb.LineString:
		checkLine(t, layer, id, g)
	case orb.MultiLineString:
		for _, l := range g {
			checkLine(t, layer, id, l)
		}
	case orb.Polygon:
		checkPolygon(t, layer, id, g)
	case orb.MultiPolygon:
		for _, p := range g {
			checkPolygon(t, layer, id, p)
		}
	}
}

func checkLine(t testing.TB, layer string, id any, l orb.LineString) {
	if len(l) < 2 {
		t.Errorf("layer %s feature %v: line of %d points", layer, id, len(l))
	}
	for i := 1; i < len(l); i++ {
		if l[i] == l[i-1] {
			t.Errorf("layer %s feature %v: repeated point %v", layer, id, l[i])
		}
	}
}

func checkPolygon(t testing.TB, layer string, id any, p orb.Polygon) {
	for i, r := range p {
		a := ringArea(r)
		if len(r) < 4 || (i == 0) != (a > 0) || a == 0 {
			t.Errorf("layer %s feature %v: ring %d of %d points, area %v", layer, id, i, len(r), a)
		}
	}
}

// tileAt is the tile at zoom z holding p.
func tileAt(p orb.Point, z maptile.Zoom) maptile.Tile { return maptile.At(p, z) }

func mz(z int) maptile.Zoom { return maptile.Zoom(z) }

// rawTile parses a tile into the protobuf structure, to see value types.
func rawTile(t testing.TB, data []byte) *vectortile.Tile {
	t.Helper()
	vt := &vectortile.Tile{}
	if err := proto.Unmarshal(data, vt); err != nil {
		t.Fatal(err)
	}
	return vt
}
