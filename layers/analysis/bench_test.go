package analysis_test

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"riskmap/fixtures"
	"riskmap/layers"
	"riskmap/layers/analysis"
	"riskmap/layers/memstore"
)

// benchEngine loads a profile (RISKMAP_BENCH_PROFILE, default demo) with
// the engine attached and refreshed.
func benchEngine(b *testing.B, as ...analysis.Analysis) (*analysis.Engine, *layers.Observed) {
	b.Helper()
	p := fixtures.Demo
	if os.Getenv("RISKMAP_BENCH_PROFILE") == "large" {
		p = fixtures.Large
	}
	ds, err := fixtures.Generate(p)
	if err != nil {
		b.Fatal(err)
	}
	ms := memstore.New()
	if err := ds.Load(context.Background(), ms, nil); err != nil {
		b.Fatal(err)
	}
	st := layers.Observe(ms)
	if len(as) == 0 {
		as = analysis.Default()
	}
	e, err := analysis.New(layers.NewCatalog(), analysis.DefaultRules(), as...)
	if err != nil {
		b.Fatal(err)
	}
	e.Attach(st, func(err error) { b.Error(err) })
	b.Cleanup(func() { e.Close() })
	if err := e.Refresh(context.Background()); err != nil {
		b.Fatal(err)
	}
	return e, st
}

// cpuTime returns the CPU time the process has used (user + system): on a
// machine shared with other jobs it says more than the wall clock.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU milliseconds per op since start (all cores).
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime(b)-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

// BenchmarkWaterCoverageDistrict is a full water-coverage run over the
// whole district at res 10.
func BenchmarkWaterCoverageDistrict(b *testing.B) {
	e, _ := benchEngine(b)
	ctx := context.Background()
	b.ResetTimer()
	cpu := cpuTime(b)
	for b.Loop() {
		if _, err := e.Run(ctx, "water-coverage", analysis.Params{}); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}

// BenchmarkWaterIncremental moves one hydrant back and forth: the write
// plus the incremental update of water-coverage's derived layers (the
// engine runs water-coverage alone: with every analysis attached, the
// risk index, which is not incremental, is recomputed on each write too).
func BenchmarkWaterIncremental(b *testing.B) {
	_, st := benchEngine(b, analysis.NewWater())
	ctx := context.Background()
	f, err := st.Get(ctx, layers.WaterSources, 2) // the isolated hydrant of a known case
	if err != nil {
		b.Fatal(err)
	}
	p := f.Geometry.(orb.Point)
	b.ResetTimer()
	cpu := cpuTime(b)
	i := 0
	for b.Loop() {
		i++
		f.Geometry = orb.Point{p[0] + float64(i%2)*0.0005, p[1]}
		if err := st.Upsert(ctx, layers.WaterSources, []layers.Feature{f}); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}

// BenchmarkStationReach is a full station-reach run.
func BenchmarkStationReach(b *testing.B) {
	e, _ := benchEngine(b)
	ctx := context.Background()
	b.ResetTimer()
	cpu := cpuTime(b)
	for b.Loop() {
		if _, err := e.Run(ctx, "station-reach", analysis.Params{}); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}
