package dispatch_test

import (
	"context"
	"os"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/dispatch"
	"riskmap/fixtures"
	"riskmap/geo"
	"riskmap/layers"
	"riskmap/layers/memstore"
)

// BenchmarkBrief: one briefing (k=5) at hazard positions in turn, over
// memstore holding the demo or (RISKMAP_BENCH_PROFILE=large) the large
// district.
func BenchmarkBrief(b *testing.B) {
	p := fixtures.Demo
	if os.Getenv("RISKMAP_BENCH_PROFILE") == "large" {
		p = fixtures.Large
	}
	ds, err := fixtures.Generate(p)
	if err != nil {
		b.Fatal(err)
	}
	st := memstore.New()
	ctx := context.Background()
	if err := ds.Load(ctx, st, nil); err != nil {
		b.Fatal(err)
	}
	svc := dispatch.New(st)
	var pts []orb.Point
	for _, f := range ds.Layer(layers.Hazards) {
		pts = append(pts, f.Geometry.(orb.Point))
	}
	if _, err := svc.Brief(ctx, pts[0], 5, geo.WGS84); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		if _, err := svc.Brief(ctx, pts[(i*7919)%len(pts)], 5, geo.WGS84); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
