package importers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/geo"
	"riskmap/importers"
	"riskmap/layers"
	"riskmap/layers/memstore"
)

func layer(t *testing.T, id string) *layers.Layer {
	t.Helper()
	l, err := layers.NewCatalog().Layer(id)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func count(t *testing.T, st layers.Store, l string) int {
	t.Helper()
	n, err := st.Count(context.Background(), layers.Query{Layer: l})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// hydrantsCSV writes n hydrant rows; row bad (1-based, 0 for none) has a
// status that is not in the enum.
func hydrantsCSV(n, bad int) string {
	var b strings.Builder
	b.WriteString("编号,类型,状态,lon,lat,flow_lps\n")
	for i := 1; i <= n; i++ {
		status := "在用"
		if i == bad {
			status = "broken"
		}
		fmt.Fprintf(&b, "%d,市政消火栓,%s,%.6f,%.6f,15\n", i, status, 106.4+float64(i%1000)*0.0005, 29.2+float64(i/1000)*0.0005)
	}
	return b.String()
}

func TestImportAllOrNothing(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	l := layer(t, layers.WaterSources)
	opt := importers.Options{IDField: "编号"}
	// a good first import
	d, err := importers.NewCSV(strings.NewReader(hydrantsCSV(1000, 0)), "hydrants.csv")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := importers.Import(ctx, st, l, d, opt)
	if err != nil || rep.Written != 1000 {
		t.Fatalf("report %+v, err %v", rep, err)
	}
	// one bad row among 100,000: rejected with the line and reason, layer unchanged
	d, _ = importers.NewCSV(strings.NewReader(hydrantsCSV(100000, 73512)), "hydrants.csv")
	_, err = importers.Import(ctx, st, l, d, opt)
	var re *importers.RecordError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "hydrants.csv line 73513") || re.Field != "status" ||
		!strings.Contains(err.Error(), `"broken" is not one of in_service`) {
		t.Fatalf("error = %v", err)
	}
	if n := count(t, st, layers.WaterSources); n != 1000 {
		t.Fatalf("layer has %d features after a rejected import, want the 1000 from before", n)
	}
	// with SkipInvalid the 99,999 land and the reject file holds the one
	var rejects bytes.Buffer
	d, _ = importers.NewCSV(strings.NewReader(hydrantsCSV(100000, 73512)), "hydrants.csv")
	rep, err = importers.Import(ctx, st, l, d, importers.Options{IDField: "编号", SkipInvalid: true, Rejects: &rejects})
	if err != nil || rep.Written != 99999 || rep.Rejected != 1 {
		t.Fatalf("report %+v, err %v", rep, err)
	}
	if n := count(t, st, layers.WaterSources); n != 99999 {
		t.Fatalf("layer has %d features, want 99999", n)
	}
	lines := strings.Split(strings.TrimSpace(rejects.String()), "\n")
	var rej struct {
		Where, Reason string
		Properties    map[string]any
	}
	if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &rej) != nil || rej.Where != "hydrants.csv line 73513" ||
		!strings.Contains(rej.Reason, "status") || rej.Properties["编号"] != "73512" {
		t.Fatalf("rejects = %s", rejects.String())
	}
	// the same file again is idempotent
	d, _ = importers.NewCSV(strings.NewReader(hydrantsCSV(100000, 73512)), "hydrants.csv")
	if _, err := importers.Import(ctx, st, l, d, importers.Options{IDField: "编号", SkipInvalid: true}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, st, layers.WaterSources); n != 99999 {
		t.Fatalf("re-import changed the count to %d", n)
	}
	f, err := st.Get(ctx, layers.WaterSources, 5)
	if err != nil || f.Props["kind"] != "hydrant" || f.Props["status"] != "in_service" || f.Props["flow_lps"] != 15.0 {
		t.Fatalf("feature 5 = %+v, %v", f, err)
	}
}

func TestImportChecks(t *testing.T) {
	ctx := context.Background()
	l := layer(t, layers.Enterprises)
	tests := []struct {
		name, csv, errHas string
	}{
		{"swapped", "name,category,risk_level,lon,lat\nA,hazchem,red,29.38,106.52\n", "swapped"},
		{"outside China", "name,category,risk_level,lon,lat\nA,hazchem,red,2.35,48.85\n", "outside China"},
		{"missing required", "name,category,lon,lat\nA,hazchem,106.52,29.38\n", `field "risk_level": required field is missing`},
		{"bad id", "id,name,category,risk_level,lon,lat\n-4,A,hazchem,red,106.52,29.38\n", "id"},
		{"repeated id", "id,name,category,risk_level,lon,lat\n4,A,hazchem,red,106.52,29.38\n4,B,gas,blue,106.52,29.38\n", "line 3: field \"id\": id 4 repeats record 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := importers.NewCSV(strings.NewReader(tt.csv), "e.csv")
			if err != nil {
				t.Fatal(err)
			}
			st := memstore.New()
			_, err = importers.Import(ctx, st, l, d, importers.Options{})
			if err == nil || !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("error %v, want %q", err, tt.errHas)
			}
			if count(t, st, layers.Enterprises) != 0 {
				t.Fatal("a failed import wrote features")
			}
		})
	}
	// Chinese labels, a mapped column and string ids
	d, _ := importers.NewCSV(strings.NewReader("企业编码,企业名称,行业,风险等级,重大危险源,lon,lat\nQY-001,甲化工,危险化学品,重大,是,106.52,29.38\n"), "e.csv")
	st := memstore.New()
	rep, err := importers.Import(ctx, st, l, d, importers.Options{IDField: "企业编码", Map: map[string]string{"企业名称": "name", "行业": "category"}})
	if err != nil || rep.Written != 1 {
		t.Fatalf("%+v %v", rep, err)
	}
	var got layers.Feature
	_ = st.Query(ctx, layers.Query{Layer: layers.Enterprises}, func(f layers.Feature) error { got = f; return nil })
	if got.Props["risk_level"] != "red" || got.Props["category"] != "hazchem" || got.Props["major_hazard"] != true || got.ID <= 0 {
		t.Fatalf("feature = %+v", got)
	}
}

// TestImportBananBoundary imports the real district outline, published in
// GCJ-02, converting it to WGS84: the area stays 1,825 km² ± 1 % and every
// vertex moves by the GCJ-02 offset of 476–523 m.
func TestImportBananBoundary(t *testing.T) {
	path := sharedPath(t, "data/boundaries/banan-500113-gcj02.geojson")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	src, err := importers.Open(ctx, path, "")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	st := memstore.New()
	gcj := geo.GCJ02
	rep, err := importers.Import(ctx, st, layer(t, layers.Towns), src, importers.Options{
		CRS: &gcj, Map: map[string]string{"adcode": "code"}})
	if err != nil || rep.Written != 1 {
		t.Fatalf("%+v %v", rep, err)
	}
	var got layers.Feature
	_ = st.Query(ctx, layers.Query{Layer: layers.Towns}, func(f layers.Feature) error { got = f; return nil })
	area := geo.Area(got.Geometry) / 1e6
	if math.Abs(area-1825)/1825 > 0.01 {
		t.Errorf("area = %.1f km², want 1825 ± 1 %%", area)
	}
	// compare vertex by vertex with the input
	in := importers.NewGeoJSON(bytes.NewReader(raw), "in")
	rec, err := in.Next()
	if err != nil {
		t.Fatal(err)
	}
	var before, after []orb.Point
	collect(rec.Geometry, &before)
	collect(got.Geometry, &after)
	if len(before) != len(after) || len(before) < 300 {
		t.Fatalf("%d vertices in, %d out", len(before), len(after))
	}
	lo, hi := math.Inf(1), 0.0
	for i := range before {
		d := geo.Distance(before[i], after[i])
		lo, hi = math.Min(lo, d), math.Max(hi, d)
	}
	if lo < 476 || hi > 523 {
		t.Errorf("vertices moved %.1f–%.1f m, want within 476–523 m", lo, hi)
	}
	t.Logf("area %.1f km², %d vertices moved %.1f–%.1f m", area, len(before), lo, hi)
}

func collect(g orb.Geometry, out *[]orb.Point) {
	switch x := g.(type) {
	case orb.Polygon:
		for _, r := range x {
			*out = append(*out, r...)
		}
	case orb.MultiPolygon:
		for _, p := range x {
			collect(p, out)
		}
	}
}

// sharedPath finds ../shared beside the module root. Without it the test
// is skipped locally and fails in CI.
func sharedPath(t *testing.T, rel string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Dir(file)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = parent
	}
	p := filepath.Join(dir, "..", "shared", rel)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI: %v", p, err)
		}
		t.Skipf("%s not found", p)
	}
	return p
}
