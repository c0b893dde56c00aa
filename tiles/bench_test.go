package tiles

import (
	"cmp"
	"context"
	"fmt"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
	"github.com/paulmach/orb/maptile/tilecover"

	"riskmap/fixtures"
	"riskmap/internal/cputime"
	"riskmap/layers"
	"riskmap/layers/memstore"
)

// townTiles returns the tiles at zoom z around the centres of the demo's
// 8 streets (街道) that hold buildings.
func townTiles(b *testing.B, z maptile.Zoom) []maptile.Tile {
	b.Helper()
	ctx := context.Background()
	st := demoStore(b)
	var out []maptile.Tile
	centres := []orb.Point{{106.505, 29.335}, {106.534, 29.389}, {106.56, 29.43}, {106.557, 29.466},
		{106.62, 29.455}, {106.63, 29.34}, {106.665, 29.29}, {106.58, 29.28}}
	for _, c := range centres {
		box := orb.Bound{Min: orb.Point{c[0] - 0.01, c[1] - 0.01}, Max: orb.Point{c[0] + 0.01, c[1] + 0.01}}
		for tl := range tilecover.Bound(box, z) {
			n, err := st.Count(ctx, layers.Query{Layer: layers.Buildings, BBox: tl.Bound()})
			if err != nil {
				b.Fatal(err)
			}
			if n > 0 {
				out = append(out, tl)
			}
		}
	}
	return out
}

// BenchmarkRenderBuildings renders buildings tiles of the demo town
// centres without a cache: store query, projection, clipping,
// simplification, encoding.
func BenchmarkRenderBuildings(b *testing.B) {
	ctx := context.Background()
	r := demoRenderer(b)
	for _, z := range []maptile.Zoom{13, 14, 15} {
		b.Run(fmt.Sprintf("z%d", z), func(b *testing.B) {
			ts := townTiles(b, z)
			b.ReportAllocs()
			i, bytes := 0, 0
			cpu := cputime.Used()
			for b.Loop() {
				data, err := r.Render(ctx, ts[i%len(ts)], []string{layers.Buildings})
				if err != nil {
					b.Fatal(err)
				}
				bytes += len(data)
				i++
			}
			b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "tiles/s")
			b.ReportMetric(float64(bytes)/float64(i), "B/tile")
			b.ReportMetric(float64(cputime.Used()-cpu)/1e3/float64(i), "cpu-µs/tile")
		})
	}
}

// BenchmarkRenderH3 renders the enterprise cells of the district at z9
// (res 7) from a warm index.
func BenchmarkRenderH3(b *testing.B) {
	ctx := context.Background()
	r := demoRenderer(b)
	var ts []maptile.Tile
	for tl := range tilecover.Bound(demoExtent(b), 9) {
		ts = append(ts, tl)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := r.Render(ctx, ts[i%len(ts)], []string{"h3:enterprises", "h3:water_sources"}); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "tiles/s")
}

// BenchmarkServeCached serves a cached z15 town-centre tile of three
// layers through the HTTP handler, gzipped.
func BenchmarkServeCached(b *testing.B) {
	h := NewHandler(demoRenderer(b), NewCache(64<<20))
	tl := maptile.At(yudongCentre, 15)
	ids := "buildings,water_sources,life_lanes"
	req := httptest.NewRequest(http.MethodGet, tilePath(ids, tl), nil)
	req.Header.Set("Accept-Encoding", "gzip")
	z, x, y := fmt.Sprint(tl.Z), fmt.Sprint(tl.X), fmt.Sprint(tl.Y)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		w := httptest.NewRecorder()
		if err := h.Tile(w, req, ids, z, x, y); err != nil || w.Code != 200 {
			b.Fatal(err, w.Code)
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "tiles/s")
}

// BenchmarkH3IndexBuild reads a layer from the store into a fresh H3
// index and aggregates it at res 8: the cost of the first H3 tile of a
// layer, or of the first after a whole-layer change.
func BenchmarkH3IndexBuild(b *testing.B) {
	ctx := context.Background()
	st := demoStore(b)
	for _, id := range []string{layers.WaterSources, layers.Buildings} {
		b.Run(id, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := NewH3Index(st, layers.NewCatalog()).Grid(ctx, id, 8); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkNewEntry is what a cache miss pays after rendering: the ETag
// (SHA-256) and the gzipped copy of a z15 and a z13 town-centre tile of
// buildings.
func BenchmarkNewEntry(b *testing.B) {
	r := demoRenderer(b)
	for _, z := range []maptile.Zoom{15, 13} {
		t, err := r.RenderTile(context.Background(), maptile.At(yudongCentre, z), []string{layers.Buildings})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("z%d", z), func(b *testing.B) {
			b.ReportAllocs()
			var e *Entry
			var gz gzipper
			cpu := cputime.Used()
			for b.Loop() {
				if e, err = newEntry("k", t, &gz); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(t.Data)), "B")
			b.ReportMetric(float64(len(e.Gzip)), "B-gzip")
			b.ReportMetric(float64(cputime.Used()-cpu)/1e3/float64(b.N), "cpu-µs/op")
		})
	}
}

// BenchmarkRenderDistrict renders, in a shuffled order, every tile of the
// district that holds a building: z13–z15 of buildings, and z10–z15 of
// the four layers of the mixed load test (scripts/tilebench.sh asks for
// about the same tiles over HTTP). RISKMAP_BENCH_PROFILE=large renders the
// large profile, as the load test does (generating it takes a while;
// RISKMAP_BENCH_DATA=dir opens a copy of the load test's data directory
// instead, as its server does). The renderer keeps features' forms in the
// store's memos as the server's does (the first pass over the tiles fills
// them); buildings_z13-15_no_memo renders with a renderer that keeps none,
// as every render from PostGIS does.
func BenchmarkRenderDistrict(b *testing.B) {
	ctx := context.Background()
	st := demoStore(b)
	if os.Getenv("RISKMAP_BENCH_PROFILE") == "large" {
		st = largeStore(b)
	}
	r := New(st, layers.NewCatalog())
	// a renderer keeping no forms: what a store without memos (PostGIS)
	// gets, and the first render of a tile
	bare := New(st, layers.NewCatalog(), WithMemoBytes(0), WithH3Index(r.Index()))
	stats, err := st.Stats(ctx)
	if err != nil {
		b.Fatal(err)
	}
	built := func(lo, hi maptile.Zoom) []maptile.Tile {
		var ts []maptile.Tile
		for z := lo; z <= hi; z++ {
			for tl := range tilecover.Bound(stats[layers.Buildings].Extent, z) {
				if n, err := st.Count(ctx, layers.Query{Layer: layers.Buildings, BBox: tl.Bound()}); err != nil {
					b.Fatal(err)
				} else if n > 0 {
					ts = append(ts, tl)
				}
			}
		}
		rand.New(rand.NewSource(1)).Shuffle(len(ts), func(i, j int) { ts[i], ts[j] = ts[j], ts[i] })
		return ts
	}
	for _, c := range []struct {
		name   string
		lo, hi maptile.Zoom
		ids    []string
		r      *Renderer
	}{
		{"buildings_z13-15", 13, 15, []string{layers.Buildings}, r},
		{"mixed_z10-15", 10, 15, []string{layers.Buildings, layers.WaterSources, layers.Pipelines, layers.Enterprises}, r},
		{"buildings_z13-15_no_memo", 13, 15, []string{layers.Buildings}, bare},
	} {
		b.Run(c.name, func(b *testing.B) {
			ts := built(c.lo, c.hi)
			if _, err := r.Render(ctx, maptile.New(0, 0, 8), []string{"h3:" + layers.WaterSources}); err != nil {
				b.Fatal(err) // builds the H3 index outside the timing
			}
			b.ReportAllocs()
			i, bytes, biggest := 0, 0, 0
			cpu := cputime.Used()
			for b.Loop() {
				data, err := c.r.Render(ctx, ts[i%len(ts)], c.ids)
				if err != nil {
					b.Fatal(err)
				}
				bytes += len(data)
				biggest = max(biggest, len(data))
				i++
			}
			b.ReportMetric(float64(len(ts)), "tiles")
			b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "tiles/s")
			b.ReportMetric(float64(bytes)/float64(i), "B/tile")
			b.ReportMetric(float64(biggest), "B-max")
			b.ReportMetric(float64(c.r.memo.used.Load())/(1<<20), "MiB-kept")
			b.ReportMetric(float64(cputime.Used()-cpu)/1e3/float64(i), "cpu-µs/tile")
		})
	}
}

var large struct {
	once sync.Once
	st   *memstore.Store
	err  error
}

// largeStore is the large profile in a memstore, loaded once per test
// binary: generated (a minute or two), or opened from the data directory
// RISKMAP_BENCH_DATA names.
func largeStore(t testing.TB) *memstore.Store {
	t.Helper()
	large.once.Do(func() {
		if dir := os.Getenv("RISKMAP_BENCH_DATA"); dir != "" {
			// a data directory of riskmap serve --profile large, as the
			// load test's server reads it (copy it: the store locks it)
			large.st, large.err = memstore.Open(dir)
			return
		}
		ds, err := fixtures.Generate(fixtures.Large)
		if err != nil {
			large.err = err
			return
		}
		large.st = memstore.New()
		large.err = ds.Load(context.Background(), large.st, nil)
	})
	if large.err != nil {
		t.Fatalf("large data: %v", large.err)
	}
	return large.st
}

// builtUpTiles are the tiles scripts/tilebench.sh asks for: every tile at
// zooms lo..hi covering an H3 res-8 cell with at least 20 buildings,
// shuffled.
func builtUpTiles(t testing.TB, r *Renderer, lo, hi maptile.Zoom) []maptile.Tile {
	t.Helper()
	cells, err := r.Index().Cells(context.Background(), CellsQuery{Layer: layers.Buildings, Res: 8})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[maptile.Tile]bool{}
	var ts []maptile.Tile
	for _, c := range cells {
		if c.Count < 20 {
			continue
		}
		for z := lo; z <= hi; z++ {
			for tl := range tilecover.Bound(c.Bound, z) {
				if !seen[tl] {
					seen[tl] = true
					ts = append(ts, tl)
				}
			}
		}
	}
	slices.SortFunc(ts, func(a, b maptile.Tile) int {
		return cmp.Or(cmp.Compare(a.Z, b.Z), cmp.Compare(a.X, b.X), cmp.Compare(a.Y, b.Y))
	})
	rand.New(rand.NewSource(1)).Shuffle(len(ts), func(i, j int) { ts[i], ts[j] = ts[j], ts[i] })
	return ts
}
