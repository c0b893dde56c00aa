package tiles

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/maptile"

	"riskmap/layers"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestGolden renders fixed tiles of the hand-made data and compares them,
// decoded to JSON (tile coordinates), with testdata/golden/*.json. Run
// `go test ./tiles -run TestGolden -update` after a deliberate change and
// review the diff.
func TestGolden(t *testing.T) {
	ctx := context.Background()
	r := New(smallStore(t), layers.NewCatalog())
	cases := []struct {
		name string
		tile maptile.Tile
		ids  []string
	}{
		{"z15-centre", tileAt(yudong, 15), []string{"buildings", "water_sources", "life_lanes"}},
		{"z16-building", tileAt(yudong, 16), []string{"buildings"}},
		{"z13-enterprises", tileAt(yudong, 13), []string{"enterprises", "towns"}},
		{"z9-h3", tileAt(yudong, 9), []string{"enterprises"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data, err := r.Render(ctx, c.tile, c.ids)
			if err != nil {
				t.Fatal(err)
			}
			got := goldenJSON(t, data)
			path := filepath.Join("testdata", "golden", c.name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the golden file %s (run with -update after checking):\n%s", c.name, path, got)
			}
		})
	}
}

// goldenJSON is a decoded tile as indented JSON: layers in tile order,
// each a FeatureCollection in tile coordinates.
func goldenJSON(t testing.TB, data []byte) []byte {
	t.Helper()
	type layer struct {
		Name     string                     `json:"name"`
		Version  uint32                     `json:"version"`
		Extent   uint32                     `json:"extent"`
		Features *geojson.FeatureCollection `json:"features"`
	}
	var out []layer
	for _, l := range decode(t, data) {
		fc := geojson.NewFeatureCollection()
		fc.Features = l.Features
		out = append(out, layer{l.Name, l.Version, l.Extent, fc})
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// TestGDALReadsGolden reads the golden tiles with GDAL.
func TestGDALReadsGolden(t *testing.T) {
	bin := ogrinfo(t)
	ctx := context.Background()
	r := New(smallStore(t), layers.NewCatalog())
	dir := t.TempDir()
	for _, c := range []struct {
		tile maptile.Tile
		ids  []string
	}{
		{tileAt(yudong, 15), []string{"buildings", "water_sources", "life_lanes"}},
		{tileAt(yudong, 13), []string{"enterprises", "towns"}},
		{tileAt(yudong, 9), []string{"enterprises", "towns"}},
	} {
		data, err := r.Render(ctx, c.tile, c.ids)
		if err != nil {
			t.Fatal(err)
		}
		gdalCheck(t, bin, dir, c.tile, data)
	}
}
