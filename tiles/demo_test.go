package tiles

import (
	"context"
	"sync"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/clip"
	"github.com/paulmach/orb/maptile"
	"github.com/paulmach/orb/maptile/tilecover"

	"riskmap/fixtures"
	"riskmap/layers"
	"riskmap/layers/memstore"
)

var demo struct {
	once sync.Once
	ds   *fixtures.Dataset
	st   *memstore.Store
	err  error
}

// demoData generates the Banan demo dataset once per test binary.
func demoData(t testing.TB) *fixtures.Dataset {
	t.Helper()
	demoStore(t)
	return demo.ds
}

// demoStore is the demo dataset in a memstore, loaded once per test
// binary. Tests must not write to it.
func demoStore(t testing.TB) *memstore.Store {
	t.Helper()
	demo.once.Do(func() {
		demo.ds, demo.err = fixtures.Generate(fixtures.Demo)
		if demo.err != nil {
			return
		}
		demo.st = memstore.New()
		demo.err = demo.ds.Load(context.Background(), demo.st, nil)
	})
	if demo.err != nil {
		t.Fatalf("demo data: %v", demo.err)
	}
	return demo.st
}

// demoRenderer renders the demo store with its own H3 index, shared by
// the tests of one binary.
var demoR struct {
	once sync.Once
	r    *Renderer
}

func demoRenderer(t testing.TB) *Renderer {
	st := demoStore(t)
	demoR.once.Do(func() { demoR.r = New(st, layers.NewCatalog()) })
	return demoR.r
}

// yudongCentre is the centre of 鱼洞街道, the district seat, in the demo.
var yudongCentre = orb.Point{106.534, 29.389}

// TestDemoTownCentreIDs checks that a z15 tile of the town centre holds
// exactly the buildings, water sources and lanes the feature API returns
// for its bounds: every feature whose geometry reaches into the tile is in
// it, and nothing the buffered query does not return.
func TestDemoTownCentreIDs(t *testing.T) {
	ctx := context.Background()
	st := demoStore(t)
	r := demoRenderer(t)
	for _, p := range []orb.Point{yudongCentre, {yudongCentre[0] + 0.004, yudongCentre[1] - 0.003}} {
		tl := maptile.At(p, 15)
		names := []string{layers.Buildings, layers.WaterSources, layers.LifeLanes}
		data, err := r.Render(ctx, tl, names)
		if err != nil {
			t.Fatal(err)
		}
		ls := checkMVT(t, data)
		for _, id := range names {
			got := map[int64]bool{}
			if l := find(ls, id); l != nil {
				for _, x := range featureIDs(l) {
					got[x] = true
				}
			}
			// Everything in the tile is in the buffered query.
			buffered := map[int64]bool{}
			inner := 0
			err := st.Query(ctx, layers.Query{Layer: id, BBox: tl.Bound(float64(DefaultBuffer) / Extent)}, func(f layers.Feature) error {
				buffered[f.ID] = true
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			// Everything the feature API returns for the tile bound whose
			// geometry really reaches into it is in the tile.
			err = st.Query(ctx, layers.Query{Layer: id, BBox: tl.Bound()}, func(f layers.Feature) error {
				if clip.Geometry(shrink(tl.Bound(), 1e-7), f.Geometry) == nil {
					return nil // its bounds reach in, the geometry does not
				}
				inner++
				if !got[f.ID] {
					t.Errorf("tile %v %s: feature %d of the feature API is missing", tl, id, f.ID)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for x := range got {
				if !buffered[x] {
					t.Errorf("tile %v %s: feature %d is not in the buffered bounds", tl, id, x)
				}
			}
			if inner == 0 {
				t.Errorf("tile %v: no %s in the town centre", tl, id)
			}
			t.Logf("tile %v %s: %d in the tile, %d inside, %d within the buffer", tl, id, len(got), inner, len(buffered))
		}
	}
}

func shrink(b orb.Bound, d float64) orb.Bound {
	return orb.Bound{Min: orb.Point{b.Min[0] + d, b.Min[1] + d}, Max: orb.Point{b.Max[0] - d, b.Max[1] - d}}
}

// allIDs is every layer of the catalog, in catalog order.
func allIDs() []string {
	var out []string
	for _, l := range layers.NewCatalog().Layers() {
		out = append(out, l.ID)
	}
	return out
}

// TestDemoSizeCap renders every tile over the demo district, all layers
// at once, at a few zooms: each is a valid MVT of at most 500 KB.
func TestDemoSizeCap(t *testing.T) {
	ctx := context.Background()
	r := demoRenderer(t)
	zooms := []maptile.Zoom{8, 10, 12, 13}
	if testing.Short() {
		zooms = zooms[:3]
	}
	ext := demoExtent(t)
	for _, z := range zooms {
		n, biggest, total := 0, 0, 0
		for tl := range tilecover.Bound(ext, z) {
			data, err := r.Render(ctx, tl, allIDs())
			if err != nil {
				t.Fatal(err)
			}
			if len(data) > DefaultMaxBytes {
				t.Errorf("tile %v: %d bytes, over %d", tl, len(data), DefaultMaxBytes)
			}
			if data != nil {
				checkMVT(t, data)
			}
			n++
			total += len(data)
			biggest = max(biggest, len(data))
		}
		t.Logf("z%d: %d tiles, largest %d bytes, mean %d", z, n, biggest, total/max(n, 1))
	}
}

func demoExtent(t testing.TB) orb.Bound {
	st, err := demoStore(t).Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st[layers.Towns].Extent
}

// TestDemoGDAL reads a sample of demo tiles with GDAL: the town centre at
// z12–z16 and the whole district at z8–z10, every layer.
func TestDemoGDAL(t *testing.T) {
	bin := ogrinfo(t)
	ctx := context.Background()
	r := demoRenderer(t)
	dir := t.TempDir()
	var sample []maptile.Tile
	for z := maptile.Zoom(12); z <= 16; z++ {
		sample = append(sample, maptile.At(yudongCentre, z))
	}
	for z := maptile.Zoom(8); z <= 10; z++ {
		for tl := range tilecover.Bound(demoExtent(t), z) {
			sample = append(sample, tl)
		}
	}
	n := 0
	for _, tl := range sample {
		data, err := r.Render(ctx, tl, allIDs())
		if err != nil {
			t.Fatal(err)
		}
		if data == nil {
			continue
		}
		gdalCheck(t, bin, dir, tl, data)
		n++
	}
	t.Logf("%d tiles read by GDAL", n)
}
