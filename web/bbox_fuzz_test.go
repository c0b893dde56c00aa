package web

import (
	"errors"
	"math"
	"testing"

	"riskmap/layers"
)

// FuzzParseBBox checks that the items bbox parser never panics, refuses
// with errors wrapping layers.ErrInvalid (a 400), and accepts only finite,
// ordered boxes on the globe within the area bound.
func FuzzParseBBox(f *testing.F) {
	for _, s := range []string{"106.50,29.35,106.56,29.41", "106.56,29.35,106.50,29.41", "-180,-90,180,90", " 1 ,2, 3,4",
		"1,2,3", "1,2,3,4,5", "NaN,0,1,1", "0,0,+Inf,1", "1e400,0,1,1", "0,0,0,0", "a,b,c,d", ",,,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := parseBBox(s)
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
		if (b.Max[0]-b.Min[0])*(b.Max[1]-b.Min[1]) > maxBBoxDeg2 {
			t.Fatalf("%q parsed to %v, over the area bound", s, b)
		}
	})
}
