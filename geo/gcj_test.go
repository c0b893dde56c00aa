package geo

import (
	"errors"
	"math"
	"testing"

	"github.com/paulmach/orb"
)

// bananBound is the bounding box of Banan District used by the grid tests.
var bananBound = orb.Bound{Min: orb.Point{106.43, 29.12}, Max: orb.Point{107.01, 29.77}}

// bananGrid returns an n×n grid of points over bananBound.
func bananGrid(n int) []orb.Point {
	pts := make([]orb.Point, 0, n*n)
	for i := range n {
		for j := range n {
			pts = append(pts, orb.Point{
				bananBound.Min[0] + (bananBound.Max[0]-bananBound.Min[0])*float64(i)/float64(n-1),
				bananBound.Min[1] + (bananBound.Max[1]-bananBound.Min[1])*float64(j)/float64(n-1),
			})
		}
	}
	return pts
}

func near(a, b orb.Point, tol float64) bool {
	return math.Abs(a[0]-b[0]) <= tol && math.Abs(a[1]-b[1]) <= tol
}

// Published vectors: googollee/eviltransform go/transform_test.go (given
// there as lat, lng) and the README of wandergis/coordtransform (lng, lat).
func TestPublishedVectors(t *testing.T) {
	tests := []struct {
		name    string
		fn      func(orb.Point) orb.Point
		in, out orb.Point
	}{
		{"eviltransform Shanghai", WGS84ToGCJ02, orb.Point{121.5272106, 31.1774276}, orb.Point{121.531541859215, 31.17530398364597}},
		{"eviltransform Shenzhen", WGS84ToGCJ02, orb.Point{113.912316, 22.543847}, orb.Point{113.9171764808363, 22.540796131694766}},
		{"eviltransform Beijing", WGS84ToGCJ02, orb.Point{116.377817, 39.911954}, orb.Point{116.38404722455657, 39.91334545536069}},
		{"coordtransform wgs84togcj02", WGS84ToGCJ02, orb.Point{116.404, 39.915}, orb.Point{116.41024449916938, 39.91640428150164}},
		{"coordtransform gcj02tobd09", GCJ02ToBD09, orb.Point{116.404, 39.915}, orb.Point{116.41036949371029, 39.92133699351021}},
		// coordtransform's bd09togcj02 is the one-step inverse: ours
		// matches its formula, and our exact inverse differs by < 0.1 m.
		{"coordtransform bd09togcj02 (one step)", bdBackward, orb.Point{116.404, 39.915}, orb.Point{116.39762729119315, 39.90865673957631}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// eviltransform compares 5 decimals; we agree to 1e-9°.
			if got := tt.fn(tt.in); !near(got, tt.out, 1e-9) {
				t.Errorf("got %.12f, want %.12f", got, tt.out)
			}
		})
	}

	p := orb.Point{116.404, 39.915}
	if d := Distance(BD09ToGCJ02(p), orb.Point{116.39762729119315, 39.90865673957631}); d > 0.1 {
		t.Errorf("exact bd09→gcj02 is %.3f m from coordtransform's one-step value", d)
	}
	// coordtransform's gcj02towgs84 is the one-step approximation, so it
	// only agrees to ~2 m; our iterative inverse round-trips to < 1 mm.
	approx := orb.Point{116.39775550083061, 39.91359571849836}
	w := GCJ02ToWGS84(p)
	if d := Distance(w, approx); d > 2.5 {
		t.Errorf("exact gcj02→wgs84 is %.3f m from coordtransform's approximation", d)
	} else {
		t.Logf("exact gcj02→wgs84 %.12f is %.3f m from coordtransform's one-step %.12f", w, d, approx)
	}
	if d := Distance(WGS84ToGCJ02(w), p); d > 0.001 {
		t.Errorf("gcj02→wgs84→gcj02 off by %.6f m", d)
	}
}

// The Banan sample: WGS (lon 106.52, lat 29.38); the GCJ latitude comes
// out south of the WGS one there (the offset is roughly +370 m east and
// −320 m north), then BD-09 adds about 910 m north-east.
func TestBananSample(t *testing.T) {
	wgs := orb.Point{106.52, 29.38}
	gcj := WGS84ToGCJ02(wgs)
	if want := (orb.Point{106.523780, 29.377144}); !near(gcj, want, 5e-7) {
		t.Errorf("GCJ = %.7f, want %.6f", gcj, want)
	}
	if gcj[1] >= wgs[1] || gcj[0] <= wgs[0] {
		t.Errorf("GCJ %v should lie south-east of WGS %v", gcj, wgs)
	}
	bd := GCJ02ToBD09(gcj)
	if want := (orb.Point{106.530291, 29.383037}); !near(bd, want, 5e-7) {
		t.Errorf("BD = %.7f, want %.6f", bd, want)
	}
	if d := Distance(gcj, bd); d < 900 || d > 920 {
		t.Errorf("GCJ→BD shift %.1f m, want about 910 m", d)
	}
	if got := WGS84ToBD09(wgs); !near(got, bd, 1e-12) {
		t.Errorf("WGS84ToBD09 = %v, want %v", got, bd)
	}
	if got := BD09ToWGS84(bd); Distance(got, wgs) > 0.001 {
		t.Errorf("BD09ToWGS84 = %v, off by %.4f m", got, Distance(got, wgs))
	}
}

// TestBananGrid measures the offsets and round trips over a 41×41 grid on
// Banan's bounding box.
func TestBananGrid(t *testing.T) {
	minOff, maxOff := math.Inf(1), 0.0
	var maxRT, maxApprox, maxBD, maxBDOneStep, maxBDExact float64
	for _, w := range bananGrid(41) {
		g := WGS84ToGCJ02(w)
		off := Distance(w, g)
		minOff, maxOff = math.Min(minOff, off), math.Max(maxOff, off)
		maxRT = math.Max(maxRT, Distance(GCJ02ToWGS84(g), w))
		// the usual one-step inverse, for comparison
		dlon, dlat := gcjOffset(g[0], g[1])
		maxApprox = math.Max(maxApprox, Distance(orb.Point{g[0] - dlon, g[1] - dlat}, w))

		b := GCJ02ToBD09(g)
		maxBD = math.Max(maxBD, Distance(BD09ToGCJ02(b), g))
		maxBDOneStep = math.Max(maxBDOneStep, Distance(bdBackward(b), g))
		maxBDExact = math.Max(maxBDExact, Distance(GCJ02ToBD09(BD09ToGCJ02(b)), b))
	}
	t.Logf("WGS→GCJ offset %.1f–%.1f m; GCJ→WGS round trip %.2g m (one-step inverse %.2f m); "+
		"GCJ→BD→GCJ %.2g m (one-step inverse %.3f m); BD→GCJ→BD %.2g m",
		minOff, maxOff, maxRT, maxApprox, maxBD, maxBDOneStep, maxBDExact)
	if math.Abs(minOff-476) > 1 || math.Abs(maxOff-523) > 1 {
		t.Errorf("offset range %.1f–%.1f m, want 476–523 m", minOff, maxOff)
	}
	if maxRT > 0.001 {
		t.Errorf("GCJ→WGS round trip %.4f m, want < 1 mm", maxRT)
	}
	if maxApprox < 1 || maxApprox > 2.5 {
		t.Errorf("one-step inverse error %.2f m, want about 2 m", maxApprox)
	}
	if maxBD > 0.001 || maxBDExact > 0.001 {
		t.Errorf("BD round trips %.4f / %.4f m, want < 1 mm", maxBD, maxBDExact)
	}
	if maxBDOneStep > 0.2 {
		t.Errorf("one-step BD inverse %.3f m, want < 0.2 m", maxBDOneStep)
	}
}

func TestOutsideChina(t *testing.T) {
	fns := map[string]func(orb.Point) orb.Point{
		"WGS84ToGCJ02": WGS84ToGCJ02, "GCJ02ToWGS84": GCJ02ToWGS84,
		"GCJ02ToBD09": GCJ02ToBD09, "BD09ToGCJ02": BD09ToGCJ02,
		"WGS84ToBD09": WGS84ToBD09, "BD09ToWGS84": BD09ToWGS84,
	}
	for _, p := range []orb.Point{{2.3522, 48.8566}, {-74.006, 40.7128}, {139.69, 35.69}, {106.5, 56}, {71.9, 30}} {
		if InChina(p) {
			t.Errorf("InChina(%v) = true", p)
		}
		for name, fn := range fns {
			if got := fn(p); got != p {
				t.Errorf("%s(%v) = %v, want unchanged", name, p, got)
			}
		}
	}
	for _, p := range []orb.Point{{106.52, 29.38}, {116.4, 39.9}, {72.1, 40}, {121.5, 31.2}} {
		if !InChina(p) {
			t.Errorf("InChina(%v) = false", p)
		}
	}
}

func TestParseCRS(t *testing.T) {
	tests := []struct {
		in   string
		want CRS
	}{
		{"wgs84", WGS84}, {"WGS84", WGS84}, {"EPSG:4326", WGS84}, {"epsg:4326", WGS84}, {"CRS84", WGS84},
		{"http://www.opengis.net/def/crs/OGC/1.3/CRS84", WGS84},
		{"http://www.opengis.net/def/crs/EPSG/0/4326", WGS84},
		{"urn:ogc:def:crs:OGC:1.3:CRS84", WGS84},
		{"cgcs2000", CGCS2000}, {"EPSG:4490", CGCS2000},
		{"http://www.opengis.net/def/crs/EPSG/0/4490", CGCS2000},
		{"gcj02", GCJ02}, {"GCJ-02", GCJ02}, {" bd09 ", BD09}, {"BD09", BD09},
	}
	for _, tt := range tests {
		got, err := ParseCRS(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseCRS(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "EPSG:3857", "mars", "http://www.opengis.net/def/crs/EPSG/0/3857"} {
		if _, err := ParseCRS(bad); !errors.Is(err, ErrUnknownCRS) {
			t.Errorf("ParseCRS(%q) error = %v, want ErrUnknownCRS", bad, err)
		}
	}
	for _, c := range []CRS{WGS84, CGCS2000, GCJ02, BD09} {
		b, err := c.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back CRS
		if err := back.UnmarshalText(b); err != nil || back != c {
			t.Errorf("%v: text round trip gave %v, %v", c, back, err)
		}
	}
	if _, err := CRS(9).MarshalText(); !errors.Is(err, ErrUnknownCRS) {
		t.Errorf("CRS(9).MarshalText error = %v", err)
	}
	var zero CRS
	if zero != WGS84 {
		t.Error("the zero CRS should be WGS84")
	}
}

func TestGeometryConversion(t *testing.T) {
	poly := orb.Polygon{{{106.5, 29.3}, {106.6, 29.3}, {106.6, 29.4}, {106.5, 29.3}}}
	geoms := []orb.Geometry{
		orb.Point{106.52, 29.38},
		orb.MultiPoint{{106.52, 29.38}, {106.6, 29.5}},
		orb.LineString{{106.52, 29.38}, {106.6, 29.5}},
		orb.MultiLineString{{{106.52, 29.38}, {106.6, 29.5}}},
		poly,
		orb.MultiPolygon{poly, poly},
		orb.Collection{orb.Point{106.52, 29.38}, poly},
	}
	for _, g := range geoms {
		for _, c := range []CRS{WGS84, CGCS2000, GCJ02, BD09} {
			before := orb.Clone(g)
			there := FromWGS84(c, g)
			if !orb.Equal(g, before) {
				t.Fatalf("FromWGS84(%v, %s) changed its input", c, g.GeoJSONType())
			}
			if there.GeoJSONType() != g.GeoJSONType() {
				t.Errorf("FromWGS84(%v) turned a %s into a %s", c, g.GeoJSONType(), there.GeoJSONType())
			}
			moved := !orb.Equal(there, g)
			if moved != (c == GCJ02 || c == BD09) {
				t.Errorf("FromWGS84(%v, %s): moved = %v", c, g.GeoJSONType(), moved)
			}
			back := ToWGS84(c, there)
			if !orb.Equal(there, FromWGS84(c, g)) {
				t.Fatalf("ToWGS84(%v) changed its input", c)
			}
			var worst float64
			bv, gv := vertices(back), vertices(g)
			for i := range gv {
				worst = math.Max(worst, Distance(bv[i], gv[i]))
			}
			if worst > 0.001 {
				t.Errorf("%v round trip of a %s off by %.4f m", c, g.GeoJSONType(), worst)
			}
		}
	}
	if got := FromWGS84(GCJ02, orb.Point{106.52, 29.38}).(orb.Point); !near(got, orb.Point{106.523780, 29.377144}, 5e-7) {
		t.Errorf("FromWGS84(GCJ02, point) = %v", got)
	}
}

// vertices lists every point of g in order.
func vertices(g orb.Geometry) []orb.Point {
	var out []orb.Point
	mapPoints(orb.Clone(g), func(p orb.Point) orb.Point { out = append(out, p); return p })
	return out
}
