package exports_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/exports"
	"riskmap/geo"
	"riskmap/importers"
	"riskmap/layers"
	"riskmap/layers/memstore"
)

// TestRoundTrip exports a layer in each format and imports the output
// again: every feature comes back with its id, geometry and properties.
func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	cat := layers.NewCatalog()
	l, _ := cat.Layer(layers.Enterprises)
	want := []layers.Feature{
		{Layer: l.ID, ID: 3, Geometry: orb.Point{106.52, 29.38}, Props: map[string]any{"name": "甲化工, \"A\"", "category": "hazchem", "risk_level": "red", "major_hazard": true, "staff": int64(120)}},
		{Layer: l.ID, ID: 9, Geometry: orb.Point{106.61, 29.41}, Props: map[string]any{"name": "乙粮库", "category": "grain", "risk_level": "blue"}},
	}
	st := memstore.New()
	if err := st.Upsert(ctx, l.ID, want); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var gj, csv bytes.Buffer
	if n, err := exports.GeoJSON(ctx, st, layers.Query{Layer: l.ID}, geo.WGS84, &gj); err != nil || n != 2 {
		t.Fatalf("geojson: %d %v", n, err)
	}
	if n, err := exports.CSV(ctx, st, l, layers.Query{Layer: l.ID}, geo.WGS84, &csv); err != nil || n != 2 {
		t.Fatalf("csv: %d %v", n, err)
	}
	if !strings.HasPrefix(csv.String(), "\xef\xbb\xbfid,name,category,risk_level") {
		t.Errorf("csv header: %q", csv.String()[:60])
	}
	gpkgPath := filepath.Join(dir, "out.gpkg")
	if counts, err := exports.GeoPackage(ctx, st, []*layers.Layer{l}, gpkgPath, nil); err != nil || counts[l.ID] != 2 {
		t.Fatalf("gpkg: %v %v", counts, err)
	}
	csvDec, err := importers.NewCSV(bytes.NewReader(csv.Bytes()), "out.csv")
	if err != nil {
		t.Fatal(err)
	}
	gp, err := importers.Open(ctx, gpkgPath, "")
	if err != nil {
		t.Fatal(err)
	}
	defer gp.Close()
	for name, dec := range map[string]importers.Decoder{
		"geojson": importers.NewGeoJSON(bytes.NewReader(gj.Bytes()), "out.geojson"),
		"csv":     csvDec,
		"gpkg":    gp,
	} {
		back := memstore.New()
		if _, err := importers.Import(ctx, back, l, dec, importers.Options{}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, w := range want {
			got, err := back.Get(ctx, l.ID, w.ID)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if got.Geometry != w.Geometry || len(got.Props) != len(w.Props) {
				t.Errorf("%s: got %+v, want %+v", name, got, w)
			}
			for k, v := range w.Props {
				if layers.Compare(got.Props[k], v) != 0 {
					t.Errorf("%s: feature %d %s = %v, want %v", name, w.ID, k, got.Props[k], v)
				}
			}
		}
	}
	// GCJ-02 output moves points by the offset
	gj.Reset()
	if _, err := exports.GeoJSON(ctx, st, layers.Query{Layer: l.ID}, geo.GCJ02, &gj); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(gj.String(), "106.523") {
		t.Errorf("gcj02 export not converted: %s", gj.String())
	}
}
