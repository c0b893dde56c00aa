//go:build linux

package tiles

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/paulmach/orb/maptile"

	"riskmap/internal/cputime"
	"riskmap/layers"
)

// threadCPU is the CPU time of the calling thread, in nanoseconds
// (CLOCK_THREAD_CPUTIME_ID: getrusage counts in scheduler ticks).
func threadCPU() int64 {
	var ts syscall.Timespec
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 3 /* CLOCK_THREAD_CPUTIME_ID */, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return 0
	}
	return ts.Nano()
}

// BenchmarkSlowestMixed renders every tile of the load test's mixed list
// (large profile) once per layer and logs the costliest tiles by thread
// CPU time: what makes the p99. RISKMAP_BENCH_PROFILE=large only.
func BenchmarkSlowestMixed(b *testing.B) {
	if os.Getenv("RISKMAP_BENCH_PROFILE") != "large" {
		b.Skip("RISKMAP_BENCH_PROFILE=large only")
	}
	ctx := context.Background()
	st := largeStore(b)
	r := New(st, layers.NewCatalog())
	ts := builtUpTiles(b, r, 10, 15)
	ids := []string{layers.Buildings, layers.WaterSources, layers.Pipelines, layers.Enterprises}
	for _, id := range ids { // warm the H3 indexes
		if _, err := r.Render(ctx, maptile.New(0, 0, 8), []string{"h3:" + id}); err != nil {
			b.Fatal(err)
		}
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	type cost struct {
		t         maptile.Tile
		ns, entry int64
		size, gz  int
		layers    []string
	}
	var gzr gzipper
	for b.Loop() {
		var costs []cost
		byZoom := map[maptile.Zoom]int64{}
		for _, tl := range ts {
			c0 := threadCPU()
			t, err := r.RenderTile(ctx, tl, ids)
			if err != nil {
				b.Fatal(err)
			}
			c1 := threadCPU()
			e, err := newEntry("k", t, &gzr)
			if err != nil {
				b.Fatal(err)
			}
			c2 := threadCPU()
			c := cost{t: tl, ns: c1 - c0, entry: c2 - c1, size: len(t.Data), gz: len(e.Gzip), layers: t.Layers}
			costs = append(costs, c)
			byZoom[tl.Z] += c2 - c0
		}
		slices.SortFunc(costs, func(a, b cost) int { return cmp.Compare(b.ns+b.entry, a.ns+a.entry) })
		var sb strings.Builder
		var total int64
		for _, c := range costs {
			total += c.ns + c.entry
		}
		n := len(costs)
		fmt.Fprintf(&sb, "%d tiles, %.2f ms CPU per tile; render+entry percentiles: p50 %.2f p90 %.2f p99 %.2f max %.2f ms\n", n,
			float64(total)/1e6/float64(n), float64(costs[n/2].ns+costs[n/2].entry)/1e6, float64(costs[n/10].ns+costs[n/10].entry)/1e6,
			float64(costs[n/100].ns+costs[n/100].entry)/1e6, float64(costs[0].ns+costs[0].entry)/1e6)
		for _, c := range costs[:min(25, n)] {
			// per layer, for the costliest tiles
			var per []string
			for _, id := range ids {
				c0 := threadCPU()
				data, err := r.Render(ctx, c.t, []string{id})
				if err != nil {
					b.Fatal(err)
				}
				per = append(per, fmt.Sprintf("%s %.1f ms %d KB", id, float64(threadCPU()-c0)/1e6, len(data)>>10))
			}
			fmt.Fprintf(&sb, "  %d/%d/%d render %6.2f ms entry %5.2f ms %4d KB (gz %4d KB) %v | %s\n", c.t.Z, c.t.X, c.t.Y,
				float64(c.ns)/1e6, float64(c.entry)/1e6, c.size>>10, c.gz>>10, c.layers, strings.Join(per, ", "))
		}
		sb.WriteString("total by zoom:\n")
		for z := maptile.Zoom(10); z <= 15; z++ {
			fmt.Fprintf(&sb, "  z%d %8.1f ms\n", z, float64(byZoom[z])/1e6)
		}
		fmt.Print(sb.String())
	}
}

// BenchmarkHeavyTiles renders the costliest tiles of the load test's
// mixed list (large profile): the built-up z13 tiles of the four layers,
// each near the 500 KB cap. RISKMAP_BENCH_PROFILE=large only.
func BenchmarkHeavyTiles(b *testing.B) {
	if os.Getenv("RISKMAP_BENCH_PROFILE") != "large" {
		b.Skip("RISKMAP_BENCH_PROFILE=large only")
	}
	ctx := context.Background()
	r := New(largeStore(b), layers.NewCatalog())
	ids := []string{layers.Buildings, layers.WaterSources, layers.Pipelines, layers.Enterprises}
	var ts []maptile.Tile
	for _, tl := range builtUpTiles(b, r, 13, 13) {
		n, err := r.Store().Count(ctx, layers.Query{Layer: layers.Buildings, BBox: tl.Bound()})
		if err != nil {
			b.Fatal(err)
		}
		if n > 5000 {
			ts = append(ts, tl)
		}
	}
	b.Run("render", func(b *testing.B) {
		b.ReportAllocs()
		i, bytes := 0, 0
		cpu := cputime.Used()
		for b.Loop() {
			data, err := r.Render(ctx, ts[i%len(ts)], ids)
			if err != nil {
				b.Fatal(err)
			}
			bytes += len(data)
			i++
		}
		b.ReportMetric(float64(len(ts)), "tiles")
		b.ReportMetric(float64(bytes)/float64(i), "B/tile")
		b.ReportMetric(float64(cputime.Used()-cpu)/1e3/float64(i), "cpu-µs/tile")
	})
	b.Run("entry", func(b *testing.B) {
		var tls []*Tile
		for _, tl := range ts {
			t, err := r.RenderTile(ctx, tl, ids)
			if err != nil {
				b.Fatal(err)
			}
			tls = append(tls, t)
		}
		b.ReportAllocs()
		var gz gzipper
		i := 0
		cpu := cputime.Used()
		for b.Loop() {
			if _, err := newEntry("k", tls[i%len(tls)], &gz); err != nil {
				b.Fatal(err)
			}
			i++
		}
		b.ReportMetric(float64(cputime.Used()-cpu)/1e3/float64(i), "cpu-µs/tile")
	})
}
