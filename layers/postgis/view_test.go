package postgis

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"

	"riskmap/layers"
	"riskmap/layers/postgis/pgtest"
)

// TestWKBReaderMatchesOrb decodes random geometries of every kind, in
// both byte orders, with the slab reader and with orb's decoder, and
// requires the same geometry; one reader decodes them all in turn, as
// View does, and each result is compared before the next read reuses the
// slab.
func TestWKBReaderMatchesOrb(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pt := func() orb.Point { return orb.Point{rng.Float64()*360 - 180, rng.Float64()*180 - 90} }
	line := func(n int) orb.LineString {
		ls := make(orb.LineString, n)
		for i := range ls {
			ls[i] = pt()
		}
		return ls
	}
	ring := func(n int) orb.Ring { r := orb.Ring(line(n)); return append(r, r[0]) }
	poly := func() orb.Polygon {
		p := orb.Polygon{ring(3 + rng.IntN(300))}
		for range rng.IntN(3) {
			p = append(p, ring(3+rng.IntN(10)))
		}
		return p
	}
	var geoms []orb.Geometry
	for range 300 {
		switch rng.IntN(6) {
		case 0:
			geoms = append(geoms, pt())
		case 1:
			geoms = append(geoms, line(2+rng.IntN(50)))
		case 2:
			geoms = append(geoms, poly())
		case 3:
			mp := orb.MultiPoint{}
			for range 1 + rng.IntN(5) {
				mp = append(mp, pt())
			}
			geoms = append(geoms, mp)
		case 4:
			ml := orb.MultiLineString{}
			for range 1 + rng.IntN(5) {
				ml = append(ml, line(2+rng.IntN(20)))
			}
			geoms = append(geoms, ml)
		case 5:
			mp := orb.MultiPolygon{}
			for range 1 + rng.IntN(4) {
				mp = append(mp, poly())
			}
			geoms = append(geoms, mp)
		}
	}
	// edge cases: empty members, and what the reader leaves to orb
	geoms = append(geoms,
		orb.Polygon{}, orb.MultiPolygon{}, orb.MultiPolygon{orb.Polygon{}}, orb.MultiLineString{}, orb.MultiPoint{},
		orb.LineString{}, orb.Collection{orb.Point{1, 2}, orb.LineString{{1, 2}, {3, 4}}})
	var r wkbReader
	for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		for i, g := range geoms {
			b, err := wkb.Marshal(g, bo)
			if err != nil {
				t.Fatal(err)
			}
			want, err := wkb.Unmarshal(b)
			if err != nil {
				t.Fatalf("%d: orb: %v", i, err)
			}
			got, bound, err := r.read(b)
			if err != nil {
				t.Fatalf("%d (%s): %v", i, g.GeoJSONType(), err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%d (%s, %v): slab reader %v, orb %v", i, g.GeoJSONType(), bo, got, want)
			}
			if bound != want.Bound() {
				t.Fatalf("%d (%s, %v): bound %v, orb %v", i, g.GeoJSONType(), bo, bound, want.Bound())
			}
		}
	}
	// truncated or corrupt input is orb's to reject
	b, _ := wkb.Marshal(geoms[2], binary.LittleEndian)
	for _, bad := range [][]byte{b[:len(b)-3], append([]byte{7}, b[1:]...), {}} {
		_, errOrb := wkb.Unmarshal(bad)
		if _, _, err := r.read(bad); (err == nil) != (errOrb == nil) {
			t.Errorf("corrupt WKB: slab reader error %v, orb %v", err, errOrb)
		}
	}
}

// TestViewOrder writes features in descending id order, so that the heap
// holds them backwards, and checks that View lends them in id order with
// the contents Query returns, for a bbox query sorted in Go, for the same
// query when the result is too large to buffer (read again in the
// database's order), and with filters, a cursor and a limit.
func TestViewOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostGIS")
	}
	ctx := t.Context()
	s, err := Open(ctx, pgtest.Database(t), layers.NewCatalog())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	kinds := []string{"hydrant", "fire_pool", "natural_intake"}
	for id := int64(300); id >= 1; id-- {
		f := layers.Feature{Layer: layers.WaterSources, ID: id,
			Geometry: orb.Point{106.5 + float64(id%17)*1e-3, 29.4 + float64(id%13)*1e-3},
			Props:    map[string]any{"kind": kinds[id%3], "status": "in_service", "flow_lps": float64(id) / 4}}
		if id%5 == 0 {
			f.Props["name"] = fmt.Sprintf("消火栓 %d", id)
			f.Props["key_area"] = id%2 == 0
		}
		if err := s.Upsert(ctx, layers.WaterSources, []layers.Feature{f}); err != nil {
			t.Fatal(err)
		}
	}
	box := orb.Bound{Min: orb.Point{106.503, 29.402}, Max: orb.Point{106.512, 29.409}}
	queries := []layers.Query{
		{Layer: layers.WaterSources, BBox: box},
		{Layer: layers.WaterSources, BBox: box, Filters: []layers.Filter{layers.Eq("kind", "fire_pool")}, AfterID: 50},
		{Layer: layers.WaterSources, BBox: box, Limit: 7, AfterID: 20},
		{Layer: layers.WaterSources},
	}
	collect := func(read func(context.Context, layers.Query, func(layers.Feature) error) error, q layers.Query) []layers.Feature {
		var out []layers.Feature
		if err := read(ctx, q, func(f layers.Feature) error { out = append(out, f.Clone()); return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, buffer := range []int{maxBuffered, 100} {
		s.opts.viewBuffer = buffer
		for i, q := range queries {
			want, got := collect(s.Query, q), collect(s.View, q)
			if len(want) < 5 {
				t.Fatalf("query %d matches %d features: not a useful test", i, len(want))
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("buffer %d, query %d: View %v, Query %v", buffer, i, ids(got), ids(want))
			}
			if !slices.IsSortedFunc(got, func(a, b layers.Feature) int { return cmp.Compare(a.ID, b.ID) }) {
				t.Errorf("buffer %d, query %d: View not in id order: %v", buffer, i, ids(got))
			}
		}
	}
}

func ids(fs []layers.Feature) []int64 {
	out := make([]int64, len(fs))
	for i, f := range fs {
		out[i] = f.ID
	}
	return out
}

// FuzzWKBReader feeds arbitrary bytes to the slab reader and to orb's
// decoder: the reader never panics, fails exactly when orb fails, and
// otherwise returns what orb returns (compared as re-encoded WKB, so
// that NaN coordinates compare by their bits).
func FuzzWKBReader(f *testing.F) {
	for _, g := range []orb.Geometry{
		orb.Point{106.5, 29.5},
		orb.LineString{{1, 2}, {3, 4}},
		orb.Polygon{{{0, 0}, {1, 0}, {1, 1}, {0, 0}}, {{0.2, 0.2}, {0.4, 0.2}, {0.4, 0.4}, {0.2, 0.2}}},
		orb.MultiPoint{{1, 2}, {3, 4}},
		orb.MultiLineString{{{1, 2}, {3, 4}}, {{5, 6}, {7, 8}}},
		orb.MultiPolygon{{{{0, 0}, {1, 0}, {1, 1}, {0, 0}}}, {}},
		orb.Collection{orb.Point{1, 2}},
	} {
		for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
			b, err := wkb.Marshal(g, bo)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	var r wkbReader
	f.Fuzz(func(t *testing.T, b []byte) {
		got, _, err := r.read(b)
		want, errOrb := wkb.Unmarshal(b)
		if (err == nil) != (errOrb == nil) {
			t.Fatalf("slab reader error %v, orb %v", err, errOrb)
		}
		if err != nil {
			return
		}
		gb, err1 := wkb.Marshal(got, binary.LittleEndian)
		wb, err2 := wkb.Marshal(want, binary.LittleEndian)
		if err1 != nil || err2 != nil || !bytes.Equal(gb, wb) {
			t.Fatalf("slab reader %v, orb %v", got, want)
		}
	})
}
