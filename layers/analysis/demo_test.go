package analysis_test

import (
	"context"
	"sync"
	"testing"

	"riskmap/fixtures"
	"riskmap/geo"
	"riskmap/layers"
	"riskmap/layers/analysis"
	"riskmap/layers/memstore"
)

var demo struct {
	once sync.Once
	st   *layers.Observed
	e    *analysis.Engine
	err  error
}

// demoEngine loads the demo dataset once per test binary and runs every
// default analysis over it.
func demoEngine(t *testing.T) (*analysis.Engine, *layers.Observed) {
	t.Helper()
	demo.once.Do(func() {
		ctx := context.Background()
		ds, err := fixtures.Generate(fixtures.Demo)
		if err != nil {
			demo.err = err
			return
		}
		st := layers.Observe(memstore.New())
		if demo.err = ds.Load(ctx, st, nil); demo.err != nil {
			return
		}
		e, err := analysis.New(layers.NewCatalog(), analysis.DefaultRules(), analysis.Default()...)
		if err != nil {
			demo.err = err
			return
		}
		e.Attach(st, nil)
		demo.st, demo.e, demo.err = st, e, e.Refresh(ctx)
	})
	if demo.err != nil {
		t.Fatal(demo.err)
	}
	return demo.e, demo.st
}

// has reports whether a derived layer holds a feature with the given id
// or whose prop equals id, and whose props also equal every entry of also
// (a subject id alone is ambiguous across subject layers and kinds).
func has(t *testing.T, st layers.Store, layer, prop string, id int64, also map[string]any) bool {
	t.Helper()
	found := false
	err := st.Query(context.Background(), layers.Query{Layer: layer}, func(f layers.Feature) error {
		if (prop == "" && f.ID != id) || (prop != "" && layers.Compare(f.Props[prop], id) != 0) {
			return nil
		}
		for k, v := range also {
			if layers.Compare(f.Props[k], v) != 0 {
				return nil
			}
		}
		found = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// TestDemoKnownCases checks every documented case of the demo dataset
// against the derived layers the engine keeps in the store.
func TestDemoKnownCases(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the whole demo dataset")
	}
	_, st := demoEngine(t)
	ctx := context.Background()
	cases := map[string]fixtures.Case{}
	for _, c := range fixtures.Cases() {
		cases[c.ID] = c
	}
	first := func(id string) int64 { return cases[id].FeatureIDs[0] }
	// what a subject id must come with in the layers that mix subjects
	subject := map[string]map[string]any{
		"flood-underground": {"subject_layer": layers.Buildings, "kind": "underground"},
		"flood-hazchem-30m": {"subject_layer": layers.Enterprises, "kind": "hazchem"},
		"flood-shallow":     {"subject_layer": layers.Enterprises},
		"yangtze-600m":      {"subject_layer": layers.Enterprises, "kind": analysis.ViolationYangtze},
		"yangtze-1500m":     {"subject_layer": layers.Enterprises},
		"quarry-300m":       {"subject_layer": layers.Buildings, "kind": analysis.ViolationQuarry},
		"tailings-headtop":  {"subject_layer": layers.Mines, "kind": analysis.ViolationTailings},
	}
	checks := []struct {
		caseID, layer, prop string
		want                bool
	}{
		{"water-149m", analysis.UncoveredBuildings, "", false},
		{"water-151m", analysis.UncoveredBuildings, "", true},
		{"pipeline-occupation", analysis.PipelineOccupations, "building_id", true},
		{"pipeline-6m", analysis.PipelineOccupations, "building_id", false},
		{"gas-high-4m", analysis.PipelineOccupations, "building_id", true},
		{"gas-low-1m", analysis.PipelineOccupations, "building_id", false},
		{"mine-near-pipeline", analysis.MinePipelineConflicts, "mine_id", true},
		{"lane-blocked", analysis.LaneIssues, "", true},
		{"lane-occupied", analysis.LaneIssues, "", true},
		{"lane-narrow", analysis.LaneIssues, "", true},
		{"lane-low", analysis.LaneIssues, "", true},
		{"lane-unmarked", analysis.LaneIssues, "", true},
		{"lane-ok", analysis.LaneIssues, "", false},
		{"highrise-no-lane", analysis.BuildingsWithoutLane, "", true},
		{"flood-underground", analysis.FloodExposure, "subject_id", true},
		{"flood-hazchem-30m", analysis.FloodExposure, "subject_id", true},
		{"flood-shallow", analysis.FloodExposure, "subject_id", false},
		{"yangtze-600m", analysis.DistanceViolations, "subject_id", true},
		{"yangtze-1500m", analysis.DistanceViolations, "subject_id", false},
		{"quarry-300m", analysis.DistanceViolations, "subject_id", true},
		{"tailings-headtop", analysis.DistanceViolations, "subject_id", true},
	}
	for _, c := range checks {
		if _, ok := cases[c.caseID]; !ok {
			t.Fatalf("no known case %q", c.caseID)
		}
		if got := has(t, st, c.layer, c.prop, first(c.caseID), subject[c.caseID]); got != c.want {
			t.Errorf("case %s (%s): found in %s = %v, want %v", c.caseID, cases[c.caseID].Expect, c.layer, got, c.want)
		}
	}
	// the building 400 m from the quarry is no violation of any kind
	if far := cases["quarry-300m"].FeatureIDs[2]; has(t, st, analysis.DistanceViolations, "subject_id", far, map[string]any{"subject_layer": layers.Buildings}) {
		t.Errorf("quarry-300m: building %d, 400 m from the quarry, is a violation", far)
	}
	for _, id := range cases["water-gap-yudong"].FeatureIDs {
		if !has(t, st, analysis.UncoveredBuildings, "", id, nil) {
			t.Errorf("water-gap-yudong: building %d is not uncovered", id)
		}
	}
	res := int(analysis.DefaultRules().V(analysis.StationReachRes))
	for _, cid := range []string{"village-unreachable", "village-no-road"} {
		b, err := st.Get(ctx, layers.Buildings, first(cid))
		if err != nil {
			t.Fatal(err)
		}
		cell := geo.CellOf(b.Geometry.Bound().Center(), res)
		if !has(t, st, analysis.ReachGaps, "", int64(cell), nil) {
			t.Errorf("case %s: cell %v of building %d is not in reach_gaps", cid, cell, b.ID)
		}
	}
}
