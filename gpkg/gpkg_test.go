package gpkg_test

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/gpkg"
)

func TestWriteRead(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "out.gpkg")
	w, err := gpkg.Create(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	tw, err := w.Table(ctx, "water_sources", "消防水源", "POINT", []gpkg.Column{{Name: "kind", Type: "TEXT"}, {Name: "flow_lps", Type: "REAL"}, {Name: "key_area", Type: "BOOLEAN"}})
	if err != nil {
		t.Fatal(err)
	}
	pts := []orb.Point{{106.52, 29.38}, {106.53, 29.39}}
	for i, p := range pts {
		if err := tw.Add(ctx, int64(i+1), p, map[string]any{"kind": "hydrant", "flow_lps": 15.5, "key_area": i == 0}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := gpkg.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tables, err := gpkg.FeatureTables(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) != 1 || tables[0].Name != "water_sources" || tables[0].PK != "fid" || tables[0].SRS != 4326 {
		t.Fatalf("tables = %+v", tables)
	}
	cur, err := gpkg.Rows(ctx, db, tables[0])
	if err != nil {
		t.Fatal(err)
	}
	defer cur.Close()
	var got []gpkg.Row
	for {
		r, err := cur.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if len(got) != 2 || got[1].FID != 2 || got[1].Geometry.(orb.Point) != pts[1] || got[0].Props["kind"] != "hydrant" || got[0].Props["flow_lps"] != 15.5 {
		t.Fatalf("rows = %+v", got)
	}

	// GDAL reads what we write, as a real client would
	ogr, err := exec.LookPath("ogrinfo")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("ogrinfo (gdal-bin) is required in CI")
		}
		t.Skip("ogrinfo not installed")
	}
	out, err := exec.Command(ogr, "-ro", "-al", "-so", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ogrinfo: %v\n%s", err, out)
	}
	for _, want := range []string{"Layer name: water_sources", "Feature Count: 2", "Geometry: Point"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("ogrinfo output lacks %q:\n%s", want, out)
		}
	}
}

func FuzzDecodeGeometry(f *testing.F) {
	b, _ := gpkg.EncodeGeometry(orb.Point{1, 2}, 4326)
	f.Add(b)
	b, _ = gpkg.EncodeGeometry(orb.Polygon{{{0, 0}, {1, 0}, {1, 1}, {0, 0}}}, 4326)
	f.Add(b)
	f.Add([]byte("GP\x00\x11\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, _ = gpkg.DecodeGeometry(b) // must not panic
	})
}
