package analysis_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"riskmap/fixtures"
	"riskmap/internal/cputime"
	"riskmap/layers"
	"riskmap/layers/analysis"
	"riskmap/layers/memstore"
	"riskmap/layers/postgis"
	"riskmap/layers/postgis/pgtest"
)

// benchEngine loads a profile (RISKMAP_BENCH_PROFILE, default demo) into
// a memstore with the engine attached and refreshed.
func benchEngine(b *testing.B, as ...analysis.Analysis) (*analysis.Engine, *layers.Observed) {
	b.Helper()
	return benchEngineOn(b, func(*layers.Catalog) layers.Store { return memstore.New() }, as...)
}

// benchEngineOn does the same on the store open returns (given the
// catalog with the derived layers).
func benchEngineOn(b *testing.B, open func(*layers.Catalog) layers.Store, as ...analysis.Analysis) (*analysis.Engine, *layers.Observed) {
	b.Helper()
	p := fixtures.Demo
	if os.Getenv("RISKMAP_BENCH_PROFILE") == "large" {
		p = fixtures.Large
	}
	ds, err := fixtures.Generate(p)
	if err != nil {
		b.Fatal(err)
	}
	if len(as) == 0 {
		as = analysis.Default()
	}
	cat := layers.NewCatalog()
	e, err := analysis.New(cat, analysis.DefaultRules(), as...)
	if err != nil {
		b.Fatal(err)
	}
	raw := open(cat)
	if err := ds.Load(context.Background(), raw, nil); err != nil {
		b.Fatal(err)
	}
	st := layers.Observe(raw)
	e.Attach(st, func(err error) { b.Error(err) })
	b.Cleanup(func() { e.Close() })
	if err := e.Refresh(context.Background()); err != nil {
		b.Fatal(err)
	}
	return e, st
}

// reportCPU reports the CPU milliseconds per op since start (all cores).
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cputime.Used()-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

// BenchmarkWaterCoverageDistrict is a full water-coverage run over the
// whole district at res 10.
func BenchmarkWaterCoverageDistrict(b *testing.B) {
	e, _ := benchEngine(b)
	benchWaterRuns(b, e)
}

// benchWaterRuns times the engine's water-coverage over the district,
// reporting CPU time beside the wall clock.
func benchWaterRuns(b *testing.B, e *analysis.Engine) {
	ctx := context.Background()
	b.ResetTimer()
	cpu := cputime.Used()
	for b.Loop() {
		if _, err := e.Run(ctx, "water-coverage", analysis.Params{}); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}

// BenchmarkWaterCoverageDistrictCold is the same with a new analysis each
// time: every building centre is placed in its H3 cell afresh, as on the
// first run after start.
func BenchmarkWaterCoverageDistrictCold(b *testing.B) {
	e, st := benchEngine(b, analysis.NewWater())
	ctx := context.Background()
	towns, err := analysis.LoadTowns(ctx, st)
	if err != nil {
		b.Fatal(err)
	}
	env := &analysis.Env{Store: st, Rules: e.Rules(), Towns: towns}
	b.ResetTimer()
	cpu := cputime.Used()
	for b.Loop() {
		if _, err := analysis.NewWater().Run(ctx, env, analysis.Params{}); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}

// BenchmarkWaterCoverageDistrictPostGIS is the same run with the data in
// PostGIS (a database riskmap_analysis_bench_<pid>, dropped afterwards).
func BenchmarkWaterCoverageDistrictPostGIS(b *testing.B) {
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, pgtest.AdminURL())
	if err != nil {
		b.Skipf("no PostgreSQL: %v", err)
	}
	defer admin.Close(ctx)
	name := fmt.Sprintf("riskmap_analysis_bench_%d", os.Getpid())
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		b.Fatal(err)
	}
	defer func() { _, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") }()
	u, err := url.Parse(pgtest.AdminURL())
	if err != nil {
		b.Fatal(err)
	}
	u.Path = "/" + name
	var pg *postgis.Store
	e, _ := benchEngineOn(b, func(cat *layers.Catalog) layers.Store {
		if pg, err = postgis.Open(ctx, u.String(), cat); err != nil {
			b.Skipf("no PostGIS: %v", err)
		}
		return pg
	}, analysis.NewWater())
	defer pg.Close()
	defer e.Close()
	benchWaterRuns(b, e)
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
	cpu := cputime.Used()
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

// BenchmarkWriteAllAnalyses moves one hydrant back and forth with every
// analysis attached: the cost of the write as its writer sees it (water
// coverage updated, the others marked stale for the background, which
// recomputes them at most every 2 s while the writes go on).
func BenchmarkWriteAllAnalyses(b *testing.B) {
	_, st := benchEngine(b)
	ctx := context.Background()
	f, err := st.Get(ctx, layers.WaterSources, 2)
	if err != nil {
		b.Fatal(err)
	}
	p := f.Geometry.(orb.Point)
	b.ResetTimer()
	i := 0
	for b.Loop() {
		i++
		f.Geometry = orb.Point{p[0] + float64(i%2)*0.0005, p[1]}
		if err := st.Upsert(ctx, layers.WaterSources, []layers.Feature{f}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStationReach is a full station-reach run.
func BenchmarkStationReach(b *testing.B) {
	e, _ := benchEngine(b)
	ctx := context.Background()
	b.ResetTimer()
	cpu := cputime.Used()
	for b.Loop() {
		if _, err := e.Run(ctx, "station-reach", analysis.Params{}); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}
