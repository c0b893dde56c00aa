package tiles

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"riskmap/layers"
)

func TestParse(t *testing.T) {
	cases := []struct {
		z, x, y string
		ok      bool
	}{
		{"0", "0", "0", true},
		{"15", "26077", "13585", true},
		{"22", "4194303", "4194303", true},
		{"22", "4194304", "0", false},
		{"23", "0", "0", false},
		{"1", "2", "0", false},
		{"1", "0", "2", false},
		{"-1", "0", "0", false},
		{"1", "-0", "0", false},
		{"01", "0", "0", false},
		{"+1", "0", "0", false},
		{"1 ", "0", "0", false},
		{"", "0", "0", false},
		{"1", "", "0", false},
		{"1.0", "0", "0", false},
		{"99999999999999999999", "0", "0", false},
		{"٣", "0", "0", false},
	}
	for _, c := range cases {
		tl, err := Parse(c.z, c.x, c.y)
		if (err == nil) != c.ok {
			t.Errorf("Parse(%q, %q, %q): %v, want ok=%v", c.z, c.x, c.y, err, c.ok)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidTile) || !errors.Is(err, layers.ErrInvalid) {
				t.Errorf("Parse(%q, %q, %q): %v does not wrap ErrInvalidTile and ErrInvalid", c.z, c.x, c.y, err)
			}
			continue
		}
		if got := fmt.Sprintf("%d/%d/%d", tl.Z, tl.X, tl.Y); got != c.z+"/"+c.x+"/"+c.y {
			t.Errorf("Parse(%q, %q, %q) = %s", c.z, c.x, c.y, got)
		}
	}
}

func TestParseIDs(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"buildings", []string{"buildings"}},
		{"buildings,water_sources,buildings", []string{"buildings", "water_sources"}},
		{"h3:enterprises,enterprises", []string{"h3:enterprises", "enterprises"}},
		{"", nil},
		{"a,,b", nil},
		{"Buildings", nil},
		{"a b", nil},
		{"h3:", nil},
		{"h3:h3:x", nil},
		{"../x", nil},
	}
	for _, c := range cases {
		got, err := ParseIDs(c.in)
		if c.want == nil {
			if !errors.Is(err, layers.ErrInvalid) {
				t.Errorf("ParseIDs(%q) = %v, %v; want an invalid error", c.in, got, err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("ParseIDs(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func ExampleParsePath() {
	ids, t, err := ParsePath("buildings,h3:enterprises/15/26077/13585.mvt")
	fmt.Println(ids, t.Z, t.X, t.Y, err)
	_, _, err = ParsePath("buildings/15/26077/99999.mvt")
	fmt.Println(err)
	// Output:
	// [buildings h3:enterprises] 15 26077 13585 <nil>
	// invalid input: invalid tile: y "99999" at zoom 15: out of range 0..32767
}

// FuzzParsePath checks that the tile path parser never panics, accepts
// only canonical paths (what it parses prints back to the same path) and
// returns only errors wrapping layers.ErrInvalid.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{
		"buildings/15/26077/13585.mvt", "a,b/0/0/0.mvt", "h3:x/22/4194303/0.mvt",
		"x/23/0/0.mvt", "x/1/2/0.mvt", "/1/1/1.mvt", "x/1/1/1", "x/01/1/1.mvt", "x/1/1/1/1.mvt", "ü/1/0/0.mvt",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		ids, tl, err := ParsePath(p)
		if err != nil {
			if !errors.Is(err, layers.ErrInvalid) {
				t.Fatalf("%q: %v does not wrap ErrInvalid", p, err)
			}
			return
		}
		if !tl.Valid() || tl.Z > MaxZoom || len(ids) == 0 || len(ids) > MaxIDs {
			t.Fatalf("%q parsed to %v %v", p, ids, tl)
		}
		for _, id := range ids {
			if !validID(id) {
				t.Fatalf("%q: id %q", p, id)
			}
		}
		back := fmt.Sprintf("%d/%d/%d.mvt", tl.Z, tl.X, tl.Y)
		if len(p) < len(back) || p[len(p)-len(back):] != back {
			t.Fatalf("%q parsed to tile %s", p, back)
		}
	})
}
