package tiles

import (
	"errors"
	"math"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/geojson"

	"riskmap/layers"
)

// FuzzParseBBox checks that the bbox parser of /api/h3 never panics,
// refuses with errors wrapping layers.ErrInvalid, and accepts only finite,
// ordered boxes on the globe.
func FuzzParseBBox(f *testing.F) {
	for _, s := range []string{"106.5,29.3,106.6,29.4", "106.6,29.3,106.5,29.4", " 1 , 2 , 3 , 4 ", "-180,-90,180,90",
		"1,2,3", "1,2,3,4,5", "NaN,0,1,1", "0,0,Inf,1", "1e309,0,1,1", "0x1p-2,0,1,1", ",,,", "181,0,182,1", "a,b,c,d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseBBox(s)
		if err != nil {
			if !errors.Is(err, layers.ErrInvalid) {
				t.Fatalf("%q: %v does not wrap ErrInvalid", s, err)
			}
			return
		}
		for _, v := range []float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("%q parsed to %v", s, b)
			}
		}
		if b.Min[0] > b.Max[0] || b.Min[1] > b.Max[1] || b.Min[0] < -180 || b.Max[0] > 180 || b.Min[1] < -90 || b.Max[1] > 90 {
			t.Fatalf("%q parsed to %v", s, b)
		}
	})
}

// FuzzDecode checks that the vector-tile decoder never panics on any
// bytes and that its errors wrap layers.ErrInvalid.
func FuzzDecode(f *testing.F) {
	fc := geojson.NewFeatureCollection()
	pt := geojson.NewFeature(orb.Point{100, 200})
	pt.Properties["name"] = "消火栓"
	pt.Properties["flow_lps"] = 15.0
	fc.Append(pt)
	fc.Append(geojson.NewFeature(orb.LineString{{0, 0}, {10, 10}, {20, 0}}))
	fc.Append(geojson.NewFeature(orb.Polygon{{{0, 0}, {100, 0}, {100, 100}, {0, 0}}}))
	tile, err := mvt.Marshal(mvt.Layers{&mvt.Layer{Name: "water_sources", Version: 2, Extent: 4096, Features: fc.Features}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tile)
	f.Add(tile[:len(tile)/2])
	f.Add([]byte{})
	f.Add([]byte{0x1a, 0x02, 0x78, 0x02})
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := Decode(b); err != nil && !errors.Is(err, layers.ErrInvalid) {
			t.Fatalf("%v does not wrap ErrInvalid", err)
		}
	})
}
