package layers_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/layers"
	"riskmap/layers/memstore"
)

func TestCatalog(t *testing.T) {
	cat := layers.NewCatalog()
	if n := len(cat.Base()); n != 13 {
		t.Fatalf("%d base layers, want 13", n)
	}
	for _, l := range cat.Layers() {
		if l.Title.Zh == "" || l.Title.En == "" || len(l.Geometry) == 0 {
			t.Errorf("layer %s lacks titles or geometry", l.ID)
		}
		for _, f := range l.Fields {
			if f.Title.Zh == "" || f.Title.En == "" {
				t.Errorf("%s.%s lacks titles", l.ID, f.Name)
			}
			if f.Type == layers.Enum && len(f.Values) == 0 {
				t.Errorf("%s.%s is an enum without values", l.ID, f.Name)
			}
		}
	}
	if _, err := cat.Layer("nope"); !errors.Is(err, layers.ErrUnknownLayer) {
		t.Errorf("unknown layer: %v", err)
	}
}

func TestCoerce(t *testing.T) {
	cat := layers.NewCatalog()
	ent, _ := cat.Layer(layers.Enterprises)
	risk, _ := ent.Field("risk_level")
	staff, _ := ent.Field("staff")
	major, _ := ent.Field("major_hazard")
	ws, _ := cat.Layer(layers.Hazards)
	deadline, _ := ws.Field("deadline")
	tests := []struct {
		f      layers.Field
		in     any
		want   any
		errHas string
	}{
		{risk, "red", "red", ""},
		{risk, "重大风险", "red", ""},
		{risk, "重大", "red", ""},
		{risk, "橙色", "orange", ""},
		{risk, "Low (blue)", "blue", ""},
		{risk, "purple", nil, "not one of red, orange, yellow, blue"},
		{staff, "12", int64(12), ""},
		{staff, 12.0, int64(12), ""},
		{staff, 12.5, nil, "whole number"},
		{major, "是", true, ""},
		{major, "no", false, ""},
		{major, "maybe", nil, "boolean"},
		{deadline, "2026/3/31", "2026-03-31", ""},
		{deadline, "31.3.2026", nil, "date"},
		{staff, "", nil, ""},
	}
	for _, tt := range tests {
		got, err := tt.f.Coerce(tt.in)
		if tt.errHas != "" {
			if err == nil || !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("%s(%v): err %v, want %q", tt.f.Name, tt.in, err, tt.errHas)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s(%v) = %v, %v; want %v", tt.f.Name, tt.in, got, err, tt.want)
		}
	}
}

func TestNormalize(t *testing.T) {
	cat := layers.NewCatalog()
	l, _ := cat.Layer(layers.WaterSources)
	ok := layers.Feature{ID: 3, Geometry: orb.Point{106.5, 29.4}, Props: map[string]any{"kind": "市政消火栓", "status": "在用", "flow_lps": "15"}}
	if err := l.Normalize(&ok); err != nil || ok.Props["kind"] != "hydrant" || ok.Props["flow_lps"] != 15.0 || ok.Layer != l.ID {
		t.Fatalf("%v %+v", err, ok)
	}
	tests := []struct {
		name   string
		f      layers.Feature
		errHas string
	}{
		{"no id", layers.Feature{Geometry: orb.Point{1, 2}, Props: map[string]any{"kind": "hydrant", "status": "faulty"}}, `field "id"`},
		{"line", layers.Feature{ID: 1, Geometry: orb.LineString{{1, 2}, {3, 4}}, Props: map[string]any{"kind": "hydrant", "status": "faulty"}}, "LineString is not allowed"},
		{"missing", layers.Feature{ID: 1, Geometry: orb.Point{1, 2}, Props: map[string]any{"kind": "hydrant"}}, `water_sources feature 1 field "status": required field is missing`},
		{"unknown", layers.Feature{ID: 1, Geometry: orb.Point{1, 2}, Props: map[string]any{"kind": "hydrant", "status": "faulty", "colour": "red"}}, "no such field"},
		{"range", layers.Feature{ID: 1, Geometry: orb.Point{200, 2}, Props: map[string]any{"kind": "hydrant", "status": "faulty"}}, "outside"},
	}
	for _, tt := range tests {
		err := l.Normalize(&tt.f)
		var ve *layers.ValidationError
		if !errors.As(err, &ve) || !errors.Is(err, layers.ErrInvalid) || !strings.Contains(err.Error(), tt.errHas) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.errHas)
		}
	}
}

func TestFilterMatch(t *testing.T) {
	props := map[string]any{"status": "faulty", "flow_lps": 12.0, "staff": int64(30), "key_area": true}
	tests := []struct {
		f    layers.Filter
		want bool
	}{
		{layers.Eq("status", "faulty"), true},
		{layers.Eq("status", "planned"), false},
		{layers.Filter{Field: "status", Op: layers.OpIn, Values: []any{"planned", "faulty"}}, true},
		{layers.Filter{Field: "flow_lps", Op: layers.OpGt, Values: []any{int64(10)}}, true},
		{layers.Filter{Field: "staff", Op: layers.OpLe, Values: []any{29.5}}, false},
		{layers.Filter{Field: "name", Op: layers.OpIsNull}, true},
		{layers.Filter{Field: "name", Op: layers.OpNe, Values: []any{"x"}}, false},
		{layers.Eq("key_area", true), true},
		{layers.Eq("status", int64(1)), false},
	}
	for _, tt := range tests {
		if got := tt.f.Match(props); got != tt.want {
			t.Errorf("%+v: %v, want %v", tt.f, got, tt.want)
		}
	}
}

// TestObserved checks that writes are reported with the bounds of the old
// and new geometries, and that a subscriber may write itself.
func TestObserved(t *testing.T) {
	ctx := context.Background()
	o := layers.Observe(memstore.New())
	var got []layers.Change
	o.Subscribe(func(ctx context.Context, c layers.Change) {
		got = append(got, c)
		if c.Layer == layers.WaterSources { // a derived write from inside a notification
			_ = o.Upsert(ctx, layers.Hazards, []layers.Feature{{ID: 1, Geometry: orb.Point{1, 1}, Props: map[string]any{"category": "fire", "status": "reported"}}})
		}
	})
	f := layers.Feature{ID: 1, Geometry: orb.Point{106.5, 29.4}, Props: map[string]any{"kind": "hydrant", "status": "faulty"}}
	if err := o.Upsert(ctx, layers.WaterSources, []layers.Feature{f}); err != nil {
		t.Fatal(err)
	}
	f.Geometry = orb.Point{106.6, 29.5}
	if err := o.Upsert(ctx, layers.WaterSources, []layers.Feature{f}); err != nil {
		t.Fatal(err)
	}
	if err := o.Delete(ctx, layers.WaterSources, []int64{1}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 6 {
		t.Fatalf("%d changes, want 6: %+v", len(got), got)
	}
	move := got[2]
	want := orb.Bound{Min: orb.Point{106.5, 29.4}, Max: orb.Point{106.6, 29.5}}
	if move.Layer != layers.WaterSources || move.Bound != want {
		t.Errorf("move reported %+v, want bound %v", move, want)
	}
	if del := got[4]; del.Bound != (orb.Bound{Min: orb.Point{106.6, 29.5}, Max: orb.Point{106.6, 29.5}}) {
		t.Errorf("delete reported %+v", del)
	}
}
