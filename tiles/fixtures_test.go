package tiles

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
)

// moduleRoot walks up from the package directory to the directory holding
// go.mod.
func moduleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// sharedDir returns ../shared (relative to the module root) joined with
// elem, skipping the test when it is absent outside CI.
func sharedDir(t testing.TB, elem ...string) string {
	t.Helper()
	dir := filepath.Join(append([]string{moduleRoot(t), "..", "shared"}, elem...)...)
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI: %v", dir, err)
		}
		t.Skipf("%s is absent: %v", dir, err)
	}
	return dir
}

// fixtureOutcome is how the project's decoder (Decode, over orb's
// mvt.Unmarshal) handles an mvt-fixtures tile that is not plainly valid,
// or a valid one it deviates on.
type fixtureOutcome struct {
	decodes bool   // Decode returns layers rather than an error
	note    string // why, when it deviates from the fixture's validity
}

// fixtureDeviations lists every fixture whose outcome differs from "valid
// fixtures decode and match tile.json, invalid ones fail".
var fixtureDeviations = map[string]fixtureOutcome{
	// Valid fixtures orb rejects.
	"016": {false, "orb rejects geometry type UNKNOWN (the spec lets decoders use or throw on it)"},
	"039": {false, "every default encoded, including geometry type UNKNOWN: orb rejects UNKNOWN as in 016"},
	"057": {false, "a MoveTo count far beyond the data: orb refuses it (\"data cut short\") instead of reading the one point there"},
	// Invalid ("fatal") fixtures orb reads anyway.
	"013": {true, "a key encoded as uint32 is skipped as an unknown field: the feature decodes without properties"},
	"024": {true, "a missing layer version decodes as the proto2 default 1"},
	"026": {true, "a value with an extra unknown field is read as empty and the feature has no properties"},
	"040": {true, "tags pointing at no key are dropped silently"},
	"041": {true, "float tags read as varints point at no key and are dropped silently"},
	"042": {true, "tags pointing at no value are dropped silently"},
	"044": {true, "a geometry beginning with ClosePath is read as the MoveTo that follows"},
	"047": {true, "a ClosePath count other than 1 is not checked"},
	"048": {true, "a ClosePath count other than 1 is not checked"},
	// Invalid ("recoverable") fixtures, handled as the spec allows.
	"030": {true, "recoverable: of two geometry fields the last one is used"},
	"046": {true, "recoverable: a line with a repeated point is kept as is"},
}

type fixtureInfo struct {
	Description string `json:"description"`
	Validity    struct {
		V2    bool   `json:"v2"`
		Error string `json:"error"`
	} `json:"validity"`
}

type fixtureTile struct {
	Layers []struct {
		Name     string `json:"name"`
		Features []struct {
			ID       *uint64   `json:"id"`
			Tags     []float64 `json:"tags"`
			Type     int       `json:"type"`
			Geometry []uint32  `json:"geometry"`
		} `json:"features"`
		Keys   []any            `json:"keys"`
		Values []map[string]any `json:"values"`
	} `json:"layers"`
}

// TestMVTFixtures decodes every tile of mapbox/mvt-fixtures with Decode:
// valid tiles must decode and match tile.json (layer names, feature ids
// and counts, geometry types and coordinates, properties); invalid ones
// must fail, except the documented deviations above.
func TestMVTFixtures(t *testing.T) {
	dir := sharedDir(t, "data", "mvt-fixtures", "fixtures")
	dirs, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no fixtures in %s: %v", dir, err)
	}
	used := map[string]bool{}
	for _, d := range dirs {
		name := filepath.Base(d)
		t.Run(name, func(t *testing.T) {
			var info fixtureInfo
			readJSON(t, filepath.Join(d, "info.json"), &info)
			data, err := os.ReadFile(filepath.Join(d, "tile.mvt"))
			if err != nil {
				t.Fatal(err)
			}
			ls, err := Decode(data)
			want := fixtureOutcome{decodes: info.Validity.V2}
			if dev, ok := fixtureDeviations[name]; ok {
				used[name] = true
				want = dev
				if dev.decodes == info.Validity.V2 {
					t.Errorf("deviation listed but the outcome agrees with the fixture (%v): remove it", info.Validity.V2)
				}
			}
			if got := err == nil; got != want.decodes {
				t.Fatalf("%s (%s): decoded=%v, want %v (err %v) %s", name, info.Description, got, want.decodes, err, want.note)
			}
			if err != nil || !info.Validity.V2 {
				return
			}
			var ft fixtureTile
			readJSON(t, filepath.Join(d, "tile.json"), &ft)
			compareFixture(t, ft, ls)
		})
	}
	for name := range fixtureDeviations {
		if !used[name] {
			t.Errorf("deviation for fixture %s that is not in %s", name, dir)
		}
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func compareFixture(t *testing.T, ft fixtureTile, ls mvt.Layers) {
	t.Helper()
	if len(ls) != len(ft.Layers) {
		t.Fatalf("%d layers, want %d", len(ls), len(ft.Layers))
	}
	for i, wl := range ft.Layers {
		gl := ls[i]
		if gl.Name != wl.Name {
			t.Errorf("layer %d named %q, want %q", i, gl.Name, wl.Name)
		}
		if len(gl.Features) != len(wl.Features) {
			t.Errorf("layer %q: %d features, want %d", wl.Name, len(gl.Features), len(wl.Features))
			continue
		}
		for j, wf := range wl.Features {
			gf := gl.Features[j]
			where := fmt.Sprintf("layer %q feature %d", wl.Name, j)
			switch {
			case wf.ID == nil && gf.ID != nil:
				t.Errorf("%s: id %v, want none", where, gf.ID)
			case wf.ID != nil && fmt.Sprint(gf.ID) != fmt.Sprint(*wf.ID):
				t.Errorf("%s: id %v, want %d", where, gf.ID, *wf.ID)
			}
			if got, want := family(gf.Geometry), wf.Type; got != want {
				t.Errorf("%s: geometry %s (type %d), want type %d", where, gf.Geometry.GeoJSONType(), got, want)
			}
			if got, want := flatten(gf.Geometry), commands(wf.Geometry); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: coordinates %v, want %v", where, got, want)
			}
			want := map[string]any{}
			for k := 0; k+1 < len(wf.Tags); k += 2 {
				key, _ := wl.Keys[int(wf.Tags[k])].(string)
				want[key] = fixtureValue(wl.Values[int(wf.Tags[k+1])])
			}
			if got := map[string]any(gf.Properties); !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
				t.Errorf("%s: properties %#v, want %#v", where, got, want)
			}
		}
	}
}

// family is the MVT geometry type of an orb geometry.
func family(g orb.Geometry) int {
	switch g.(type) {
	case orb.Point, orb.MultiPoint:
		return 1
	case orb.LineString, orb.MultiLineString:
		return 2
	case orb.Polygon, orb.MultiPolygon:
		return 3
	}
	return 0
}

// flatten lists every vertex of g in order, rings closed.
func flatten(g orb.Geometry) []orb.Point {
	var out []orb.Point
	switch g := g.(type) {
	case orb.Point:
		out = append(out, g)
	case orb.MultiPoint:
		out = append(out, g...)
	case orb.LineString:
		out = append(out, g...)
	case orb.MultiLineString:
		for _, l := range g {
			out = append(out, l...)
		}
	case orb.Polygon:
		for _, r := range g {
			out = append(out, r...)
		}
	case orb.MultiPolygon:
		for _, p := range g {
			out = append(out, flatten(p)...)
		}
	}
	return out
}

// commands decodes an MVT geometry command stream independently of orb:
// every MoveTo/LineTo vertex in order, ClosePath repeating the vertex that
// began the ring.
func commands(cmds []uint32) []orb.Point {
	var out []orb.Point
	var x, y float64
	start := 0
	for i := 0; i < len(cmds); {
		id, count := cmds[i]&7, int(cmds[i]>>3)
		i++
		switch id {
		case 1, 2:
			for k := 0; k < count && i+1 < len(cmds); k++ {
				x += float64(int32(cmds[i]>>1) ^ -int32(cmds[i]&1))
				y += float64(int32(cmds[i+1]>>1) ^ -int32(cmds[i+1]&1))
				i += 2
				if id == 1 {
					start = len(out)
				}
				out = append(out, orb.Point{x, y})
			}
		case 7:
			out = append(out, out[start])
		}
	}
	return out
}

// fixtureValue is a tile.json value as orb decodes it: numbers as float64.
func fixtureValue(v map[string]any) any {
	for k, x := range v {
		switch k {
		case "float_value":
			return float64(float32(x.(float64)))
		case "string_value": // 076 writes the string "613" as a JSON number
			return fmt.Sprint(x)
		case "bool_value":
			return x
		default: // double, int, uint, sint
			return x.(float64)
		}
	}
	return nil
}
