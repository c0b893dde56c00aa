package geo

import (
	"errors"
	"testing"
)

// FuzzParseCRS checks that the CRS parser never panics and that a CRS it
// accepts prints a name it accepts again as the same CRS.
func FuzzParseCRS(f *testing.F) {
	for _, s := range []string{"wgs84", "GCJ-02", "bd09ll", "EPSG:4490", "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
		"urn:ogc:def:crs:EPSG::4326", " cgcs2000 ", "", "epsg:3857", "ｗｇｓ８４"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCRS(s)
		if err != nil {
			return
		}
		back, err := ParseCRS(c.String())
		if err != nil || back != c {
			t.Fatalf("%q → %v → %q → %v, %v", s, c, c.String(), back, err)
		}
	})
}

// FuzzParseCell checks that the H3 cell parser never panics, refuses with
// ErrInvalidCell and accepts only valid cells.
func FuzzParseCell(f *testing.F) {
	for _, s := range []string{"8a309a6a1d4ffff", "0x8a309a6a1d4ffff", "8A309A6A1D4FFFF", "0", "ffffffffffffffff", "8a309a6a1d4fff", "zz", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCell(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidCell) {
				t.Fatalf("%q: %v does not wrap ErrInvalidCell", s, err)
			}
			return
		}
		if !c.IsValid() {
			t.Fatalf("%q parsed to an invalid cell %v", s, c)
		}
	})
}
