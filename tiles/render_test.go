package tiles

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/layers"
)

func TestRenderTownCentre(t *testing.T) {
	ctx := context.Background()
	st := smallStore(t)
	r := New(st, layers.NewCatalog())
	tl := tileAt(yudong, 15)
	data, err := r.Render(ctx, tl, []string{"water_sources", "buildings", "life_lanes", "buildings"})
	if err != nil {
		t.Fatal(err)
	}
	ls := checkMVT(t, data)
	if got, want := layerNames(ls), []string{"water_sources", "buildings", "life_lanes"}; !slices.Equal(got, want) {
		t.Fatalf("layers %v, want %v (the order given, repeats dropped)", got, want)
	}
	b := find(ls, "buildings")
	got := featureIDs(b)
	slices.Sort(got)
	if want := []int64{1, 2, 3}; !slices.Equal(got, want) {
		t.Errorf("building ids %v, want %v", got, want)
	}
	for _, f := range b.Features {
		switch f.ID.(float64) {
		case 1:
			p, ok := f.Geometry.(orb.Polygon)
			if !ok || len(p) != 2 {
				t.Errorf("building 1: %T with %d rings, want a polygon with a hole", f.Geometry, len(p))
			}
			if f.Properties["floors"] != 6.0 || f.Properties["height_m"] != 18.5 || f.Properties["use"] != "residential" || f.Properties["name"] != "一号楼" {
				t.Errorf("building 1 properties %v", f.Properties)
			}
		case 2:
			if _, ok := f.Geometry.(orb.Polygon); !ok {
				t.Errorf("building 2 (wound clockwise in WGS84): %T, want a polygon", f.Geometry)
			}
		case 3:
			if mp, ok := f.Geometry.(orb.MultiPolygon); !ok || len(mp) != 2 {
				t.Errorf("building 3: %T, want a multipolygon of 2", f.Geometry)
			}
		}
	}
	ws := find(ls, "water_sources")
	if got := featureIDs(ws); len(got) != 2 {
		t.Errorf("water sources %v, want 10 and 11 (12 is far away)", got)
	}
	for _, f := range ws.Features {
		if f.ID.(float64) == 10 && (f.Properties["key_area"] != true || f.Properties["flow_lps"] != 15.0) {
			t.Errorf("water source 10 properties %v", f.Properties)
		}
	}
	lane := find(ls, "life_lanes").Features[0]
	if lane.Properties["marked"] != false || lane.Properties["width_m"] != 3.5 {
		t.Errorf("lane properties %v", lane.Properties)
	}
	// The stored geometry is untouched (orb projects in place).
	f, err := st.Get(ctx, "buildings", 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Geometry.(orb.Polygon)[0][0]; got != yudong {
		t.Errorf("stored geometry changed: %v", got)
	}
}

func TestRenderIntTypes(t *testing.T) {
	// Integers are encoded as sint, numbers as double, strings and bools
	// as such: check the raw values through the vectortile structure.
	ctx := context.Background()
	r := New(smallStore(t), layers.NewCatalog())
	tl, err := r.RenderTile(ctx, tileAt(yudong, 15), []string{"buildings"})
	if err != nil {
		t.Fatal(err)
	}
	vt := rawTile(t, tl.Data)
	var sawInt, sawDouble bool
	for _, v := range vt.Layers[0].Values {
		sawInt = sawInt || v.SintValue != nil
		sawDouble = sawDouble || v.DoubleValue != nil
		if v.StringValue != nil && *v.StringValue == "null" {
			t.Error(`a "null" string value`)
		}
	}
	if !sawInt || !sawDouble {
		t.Errorf("values %v: want sint floors and double heights", vt.Layers[0].Values)
	}
}

func TestRenderZoomRanges(t *testing.T) {
	ctx := context.Background()
	r := New(smallStore(t), layers.NewCatalog())
	cases := []struct {
		z    int
		ids  []string
		want []string
	}{
		{15, []string{"enterprises", "buildings"}, []string{"enterprises", "buildings"}},
		{12, []string{"buildings"}, nil},                                           // below MinZoom 13: left out
		{9, []string{"enterprises"}, []string{"h3:enterprises"}},                   // points below MinZoom 10: cells
		{9, []string{"enterprises", "h3:enterprises"}, []string{"h3:enterprises"}}, // once
		{15, []string{"h3:water_sources"}, []string{"h3:water_sources"}},
		{9, []string{"towns", "enterprises"}, []string{"towns", "h3:enterprises"}},
	}
	for _, c := range cases {
		data, err := r.Render(ctx, tileAt(yudong, mz(c.z)), c.ids)
		if err != nil {
			t.Fatal(err)
		}
		if c.want == nil {
			if data != nil {
				t.Errorf("z%d %v: %d bytes, want an empty tile", c.z, c.ids, len(data))
			}
			continue
		}
		ls := checkMVT(t, data)
		if got := layerNames(ls); !slices.Equal(got, c.want) {
			t.Errorf("z%d %v: layers %v, want %v", c.z, c.ids, got, c.want)
		}
	}
}

func TestRenderH3Layer(t *testing.T) {
	ctx := context.Background()
	r := New(smallStore(t), layers.NewCatalog())
	data, err := r.Render(ctx, tileAt(yudong, 9), []string{"enterprises"})
	if err != nil {
		t.Fatal(err)
	}
	l := find(checkMVT(t, data), "h3:enterprises")
	total := 0.0
	worst := map[string]bool{}
	for _, f := range l.Features {
		total += f.Properties["count"].(float64)
		worst[f.Properties["risk_max"].(string)] = true
		if f.Properties["res"] != 7.0 || f.Properties["cell"] == "" {
			t.Errorf("cell properties %v", f.Properties)
		}
	}
	if total != 40 {
		t.Errorf("cells count %v enterprises, want 40", total)
	}
	if !worst["red"] {
		t.Errorf("risk_max values %v: want red among them", worst)
	}
	// Water sources have a status: counts per status code.
	data, err = r.Render(ctx, tileAt(yudong, 15), []string{"h3:water_sources"})
	if err != nil {
		t.Fatal(err)
	}
	var inService, faulty float64
	for _, f := range find(checkMVT(t, data), "h3:water_sources").Features {
		inService += f.Properties["status_in_service"].(float64)
		faulty += f.Properties["status_faulty"].(float64)
		if _, ok := f.Properties["risk_max"]; ok {
			t.Errorf("risk_max on a layer without risk_level: %v", f.Properties)
		}
	}
	if inService != 1 || faulty != 1 {
		t.Errorf("in service %v, faulty %v; want 1 and 1", inService, faulty)
	}
}

func TestRenderBudgets(t *testing.T) {
	ctx := context.Background()
	st := smallStore(t)
	// Over the feature budget, points become cells and polygons keep the
	// largest.
	r := New(st, layers.NewCatalog(), WithFeatureBudget(2))
	data, err := r.Render(ctx, tileAt(yudong, 13), []string{"enterprises"})
	if err != nil {
		t.Fatal(err)
	}
	if got := layerNames(checkMVT(t, data)); !slices.Equal(got, []string{"h3:enterprises"}) {
		t.Errorf("over budget: layers %v, want the cells", got)
	}
	data, err = r.Render(ctx, tileAt(yudong, 15), []string{"buildings"})
	if err != nil {
		t.Fatal(err)
	}
	if got := featureIDs(find(checkMVT(t, data), "buildings")); !slices.Equal(got, []int64{1, 2}) {
		t.Errorf("over budget: buildings %v, want the two largest, 1 then 2", got)
	}
	// The byte cap.
	big, err := New(st, layers.NewCatalog()).Render(ctx, tileAt(yudong, 15), []string{"towns", "buildings", "water_sources", "life_lanes"})
	if err != nil {
		t.Fatal(err)
	}
	small, err := New(st, layers.NewCatalog(), WithMaxBytes(len(big)-1)).Render(ctx, tileAt(yudong, 15), []string{"towns", "buildings", "water_sources", "life_lanes"})
	if err != nil {
		t.Fatal(err)
	}
	if len(small) >= len(big) || len(small) == 0 {
		t.Errorf("capped tile %d bytes, uncapped %d", len(small), len(big))
	}
	checkMVT(t, small)
}

func TestRenderErrors(t *testing.T) {
	ctx := context.Background()
	r := New(smallStore(t), layers.NewCatalog())
	if _, err := r.Render(ctx, tileAt(yudong, 15), []string{"nope"}); !errors.Is(err, layers.ErrUnknownLayer) {
		t.Errorf("unknown layer: %v", err)
	}
	if _, err := r.Render(ctx, tileAt(yudong, 15), []string{"h3:nope"}); !errors.Is(err, layers.ErrUnknownLayer) {
		t.Errorf("unknown h3 layer: %v", err)
	}
	bad := tileAt(yudong, 3)
	bad.X = 100
	if _, err := r.Render(ctx, bad, []string{"towns"}); !errors.Is(err, ErrInvalidTile) || !errors.Is(err, layers.ErrInvalid) {
		t.Errorf("invalid tile: %v", err)
	}
	// Empty: a tile far away.
	data, err := r.Render(ctx, tileAt(orb.Point{0, 0}, 15), []string{"towns", "buildings"})
	if err != nil || data != nil {
		t.Errorf("empty tile: %d bytes, %v", len(data), err)
	}
}
