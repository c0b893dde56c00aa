package postgis_test

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
	"github.com/paulmach/orb/maptile/tilecover"

	"riskmap/fixtures"
	"riskmap/internal/cputime"
	"riskmap/layers"
	"riskmap/layers/postgis"
	"riskmap/layers/postgis/pgtest"
	"riskmap/tiles"
)

// backendCPU is the CPU time of the PostgreSQL backend with process id
// pid, in nanoseconds, from /proc (0 when the server runs elsewhere).
func backendCPU(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // field 3 onwards
	ut, _ := strconv.ParseInt(f[11], 10, 64)                 // field 14
	st, _ := strconv.ParseInt(f[12], 10, 64)                 // field 15
	return (ut + st) * 1e7                                   // clock ticks of 10 ms
}

// BenchmarkQueryTiles reads the demo's buildings in the bounds of the z13–z15
// tiles around the 8 street (街道) centres, as a cold tile render does:
// the read path of the store (SQL, scan, WKB decoding, property maps),
// through Query (copies) and View (lent features, what the renderer
// uses). It reports the Go process's CPU per query and that of the
// database backend serving it (one connection).
func BenchmarkQueryTiles(b *testing.B) {
	ctx := context.Background()
	pg, err := postgis.Open(ctx, pgtest.Database(b), layers.NewCatalog(), postgis.WithMaxConns(1))
	if err != nil {
		b.Fatal(err)
	}
	defer pg.Close()
	ds, err := fixtures.Generate(fixtures.Demo)
	if err != nil {
		b.Fatal(err)
	}
	only := &fixtures.Dataset{Layers: []fixtures.LayerData{{Layer: layers.Buildings, Features: ds.Layer(layers.Buildings)}}}
	if err := only.Load(ctx, pg, nil); err != nil {
		b.Fatal(err)
	}
	var pid int
	if err := pg.Pool().QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		b.Fatal(err)
	}
	centres := []orb.Point{{106.505, 29.335}, {106.534, 29.389}, {106.56, 29.43}, {106.557, 29.466},
		{106.62, 29.455}, {106.63, 29.34}, {106.665, 29.29}, {106.58, 29.28}}
	reads := []struct {
		name string
		read func(context.Context, layers.Query, func(layers.Feature) error) error
	}{{"query", pg.Query}, {"view", pg.View}}
	for _, rd := range reads {
		for _, z := range []maptile.Zoom{13, 14, 15} {
			var boxes []orb.Bound
			for _, c := range centres {
				box := orb.Bound{Min: orb.Point{c[0] - 0.01, c[1] - 0.01}, Max: orb.Point{c[0] + 0.01, c[1] + 0.01}}
				for tl := range tilecover.Bound(box, z) {
					boxes = append(boxes, tl.Bound(64.0/4096))
				}
			}
			b.Run(fmt.Sprintf("%s/z%d", rd.name, z), func(b *testing.B) {
				b.ReportAllocs()
				i, n := 0, 0
				cpu, db := cputime.Used(), backendCPU(pid)
				for b.Loop() {
					err := rd.read(ctx, layers.Query{Layer: layers.Buildings, BBox: boxes[i%len(boxes)]}, func(layers.Feature) error { n++; return nil })
					if err != nil {
						b.Fatal(err)
					}
					i++
				}
				b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "queries/s")
				b.ReportMetric(float64(n)/float64(i), "features/query")
				b.ReportMetric(float64(cputime.Used()-cpu)/1e3/float64(i), "cpu-µs/query")
				b.ReportMetric(float64(backendCPU(pid)-db)/1e3/float64(i), "pg-cpu-µs/query")
			})
		}
	}
}

// BenchmarkRenderTiles renders cold building tiles from PostGIS with the
// tiles package's renderer, as the server does for a tile it has not
// cached: every z13–z15 tile of the buildings' extent that holds one,
// shuffled, through Query (copies, the renderer's read before View) and
// View. It uses the database RISKMAP_BENCH_DATABASE_URL when set (for
// example one loaded with `riskmap load-fixtures --profile large --db`),
// else the demo's buildings in a throwaway database. It reports the Go
// process's CPU per tile and that of the database backend (one
// connection).
func BenchmarkRenderTiles(b *testing.B) {
	ctx := context.Background()
	url := os.Getenv("RISKMAP_BENCH_DATABASE_URL")
	if url == "" {
		url = pgtest.Database(b)
	}
	cat := layers.NewCatalog()
	pg, err := postgis.Open(ctx, url, cat, postgis.WithMaxConns(1))
	if err != nil {
		b.Fatal(err)
	}
	defer pg.Close()
	stats, err := pg.Stats(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if stats[layers.Buildings].Count == 0 {
		ds, err := fixtures.Generate(fixtures.Demo)
		if err != nil {
			b.Fatal(err)
		}
		only := &fixtures.Dataset{Layers: []fixtures.LayerData{{Layer: layers.Buildings, Features: ds.Layer(layers.Buildings)}}}
		if err := only.Load(ctx, pg, nil); err != nil {
			b.Fatal(err)
		}
		if stats, err = pg.Stats(ctx); err != nil {
			b.Fatal(err)
		}
	}
	var ts []maptile.Tile
	for z := maptile.Zoom(13); z <= 15; z++ {
		for tl := range tilecover.Bound(stats[layers.Buildings].Extent, z) {
			if n, err := pg.Count(ctx, layers.Query{Layer: layers.Buildings, BBox: tl.Bound()}); err != nil {
				b.Fatal(err)
			} else if n > 0 {
				ts = append(ts, tl)
			}
		}
	}
	// tilecover returns a set: order it before the seeded shuffle
	slices.SortFunc(ts, func(a, b maptile.Tile) int {
		return cmp.Or(cmp.Compare(a.Z, b.Z), cmp.Compare(a.X, b.X), cmp.Compare(a.Y, b.Y))
	})
	rand.New(rand.NewPCG(1, 1)).Shuffle(len(ts), func(i, j int) { ts[i], ts[j] = ts[j], ts[i] })
	// before: the store's Query (copies, ORDER BY in SQL) and
	// PostgreSQL's default plan cache mode, as the renderer read PostGIS
	// until View; after: View with the store's settings
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	old, err := postgis.Open(ctx, url+sep+"plan_cache_mode=auto", cat, postgis.WithMaxConns(1), postgis.WithoutMigrate())
	if err != nil {
		b.Fatal(err)
	}
	defer old.Close()
	for _, v := range []struct {
		name string
		st   *postgis.Store
		read layers.Store
	}{{"copies", old, copies{old}}, {"view", pg, pg}} {
		b.Run(v.name, func(b *testing.B) {
			var pid int
			if err := v.st.Pool().QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
				b.Fatal(err)
			}
			r := tiles.New(v.read, cat)
			b.ReportAllocs()
			i, bytes := 0, 0
			cpu, db := cputime.Used(), backendCPU(pid)
			for b.Loop() {
				data, err := r.Render(ctx, ts[i%len(ts)], []string{layers.Buildings})
				if err != nil {
					b.Fatal(err)
				}
				bytes += len(data)
				i++
			}
			b.ReportMetric(float64(len(ts)), "tiles")
			b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "tiles/s")
			b.ReportMetric(float64(bytes)/float64(i), "B/tile")
			b.ReportMetric(float64(cputime.Used()-cpu)/1e3/float64(i), "cpu-µs/tile")
			b.ReportMetric(float64(backendCPU(pid)-db)/1e3/float64(i), "pg-cpu-µs/tile")
		})
	}
}

// copies hides the store's View: layers.View falls back to Query.
type copies struct{ layers.Store }
