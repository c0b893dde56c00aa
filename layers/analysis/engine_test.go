package analysis_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"riskmap/geo"
	"riskmap/layers"
	"riskmap/layers/analysis"
	"riskmap/layers/memstore"
)

// counted counts the full runs of an analysis.
type counted struct {
	analysis.Analysis
	runs atomic.Int32
}

func (c *counted) Run(ctx context.Context, env *analysis.Env, p analysis.Params) (*analysis.Result, error) {
	c.runs.Add(1)
	return c.Analysis.Run(ctx, env, p)
}

// riskWorld is a square town with hydrants, buildings, enterprises and a
// fire station, enough for every layer the risk index reads.
func riskWorld(r *rand.Rand) []layers.Feature {
	pl := geo.NewPlane(origin)
	rnd := func() float64 { return r.Float64()*2400 - 1200 }
	fs := []layers.Feature{{Layer: layers.Towns, ID: 1, Geometry: townSquare(pl, 1500),
		Props: map[string]any{"name": "鱼洞街道", "code": "500113002"}}}
	for i := range 40 {
		fs = append(fs, hydrant(int64(i+1), pl.Unproject(orb.Point{rnd(), rnd()}), "in_service"))
	}
	for i := range 300 {
		fs = append(fs, building(int64(i+1), square(pl, rnd(), rnd(), 8+r.Float64()*20)))
	}
	levels := []string{"red", "orange", "yellow", "blue"}
	for i := range 20 {
		fs = append(fs, layers.Feature{Layer: layers.Enterprises, ID: int64(i + 1), Geometry: pl.Unproject(orb.Point{rnd(), rnd()}),
			Props: map[string]any{"name": "企业", "category": "hazchem", "risk_level": levels[i%4]}})
	}
	return fs
}

func load(t *testing.T, st layers.Store, fs []layers.Feature) {
	t.Helper()
	for _, f := range fs {
		if err := st.Upsert(context.Background(), f.Layer, []layers.Feature{f}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBackgroundCoalesces writes a burst of hydrant changes: water coverage
// is updated before each write returns, the risk index is marked stale and
// recomputed once for the whole burst, and ends equal to a recomputation
// from scratch.
func TestBackgroundCoalesces(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(3, 5))
	world := riskWorld(r)
	risk := &counted{Analysis: analysis.NewRiskIndex()}
	e, err := analysis.New(layers.NewCatalog(), analysis.DefaultRules(), analysis.NewWater(), risk)
	if err != nil {
		t.Fatal(err)
	}
	e.Coalesce(time.Second, 20*time.Second) // a burst of tiny writes pauses far less
	st := layers.Observe(memstore.New())
	load(t, st, world)
	e.Attach(st, func(err error) { t.Errorf("engine: %v", err) })
	defer e.Close()
	if err := e.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	before, _ := e.Summary("risk-index")
	risk.runs.Store(0)

	pl := geo.NewPlane(origin)
	for range 30 {
		h := hydrant(int64(r.IntN(40)+1), pl.Unproject(orb.Point{r.Float64()*2400 - 1200, r.Float64()*2400 - 1200}), "in_service")
		if err := st.Upsert(ctx, layers.WaterSources, []layers.Feature{h}); err != nil {
			t.Fatal(err)
		}
	}
	if s, _ := e.Summary("water-coverage"); s.Stale {
		t.Error("water coverage is incremental but stale after the burst")
	}
	if s, _ := e.Summary("risk-index"); !s.Stale || !s.ComputedAt.Equal(before.ComputedAt) {
		t.Errorf("risk index right after the burst: stale %v, computed at %v (before %v)", s.Stale, s.ComputedAt, before.ComputedAt)
	}
	wait, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := e.Settle(wait); err != nil {
		t.Fatal(err)
	}
	if n := risk.runs.Load(); n != 1 {
		t.Errorf("the burst of 30 writes cost %d recomputations of the risk index, want 1", n)
	}
	after, _ := e.Summary("risk-index")
	if after.Stale || !after.ComputedAt.After(before.ComputedAt) {
		t.Errorf("risk index after settling: stale %v, computed at %v (before %v)", after.Stale, after.ComputedAt, before.ComputedAt)
	}

	// a fresh engine over the same base data computes from scratch
	var base []layers.Feature
	for _, l := range []string{layers.Towns, layers.WaterSources, layers.Buildings, layers.Enterprises} {
		base = append(base, features(t, st, l)...)
	}
	full, err := analysis.New(layers.NewCatalog(), analysis.DefaultRules(), analysis.NewWater(), analysis.NewRiskIndex())
	if err != nil {
		t.Fatal(err)
	}
	fresh := layers.Observe(memstore.New())
	load(t, fresh, base)
	full.Attach(fresh, nil)
	defer full.Close()
	if err := full.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{analysis.RiskCells, analysis.WaterGaps} {
		a, b := features(t, st, l), features(t, fresh, l)
		if len(a) != len(b) || len(a) == 0 {
			t.Errorf("%s: %d features after the burst, %d from scratch", l, len(a), len(b))
			continue
		}
		for i := range a {
			if a[i].ID != b[i].ID || !equalProps(a[i].Props, b[i].Props) {
				t.Errorf("%s: after the burst %d %v, from scratch %d %v", l, a[i].ID, a[i].Props, b[i].ID, b[i].Props)
				break
			}
		}
	}
	fs, _ := full.Summary("risk-index")
	if !equalMetrics(after.Metrics, fs.Metrics) {
		t.Errorf("risk summary after the burst %v, from scratch %v", after.Metrics, fs.Metrics)
	}

	// once closed, writes leave the index stale: nothing recomputes it
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	risk.runs.Store(0)
	if err := st.Delete(ctx, layers.WaterSources, []int64{1}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if s, _ := e.Summary("risk-index"); !s.Stale || risk.runs.Load() != 0 {
		t.Errorf("after Close: stale %v, %d runs", s.Stale, risk.runs.Load())
	}
	if err := e.Settle(wait); err == nil || !strings.Contains(err.Error(), "risk-index") {
		t.Errorf("Settle after Close = %v, want an error naming the stale risk-index", err)
	}
}

func equalMetrics(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
