package postgis_test

import (
	"context"
	"slices"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/layers"
	"riskmap/layers/postgis"
	"riskmap/layers/postgis/pgtest"
)

func points(from, to int64) []layers.Feature {
	var fs []layers.Feature
	for id := from; id <= to; id++ {
		fs = append(fs, layers.Feature{ID: id, Geometry: orb.Point{106.5 + float64(id%300)*1e-4, 29.4 + float64(id/300)*1e-4},
			Props: map[string]any{"kind": "hydrant", "status": "in_service"}})
	}
	return fs
}

// indexes lists the indexes of a table.
func indexes(t *testing.T, st *postgis.Store, table string) []string {
	t.Helper()
	rows, err := st.Pool().Query(t.Context(), "SELECT indexdef FROM pg_indexes WHERE tablename = $1 ORDER BY indexname", table)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBulkObservedIndexes loads an empty layer through an observed store:
// subscribers hear of it once, at commit, and the indexes the load dropped
// are back — after a rolled-back load as well as a committed one.
func TestBulkObservedIndexes(t *testing.T) {
	ctx := context.Background()
	pg, err := postgis.Open(ctx, pgtest.Database(t), layers.NewCatalog())
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	before := indexes(t, pg, layers.WaterSources)
	if len(before) < 2 {
		t.Fatalf("water_sources indexes = %v, want the primary key and more", before)
	}
	st := layers.Observe(pg)
	var changes []layers.Change
	st.Subscribe(func(_ context.Context, c layers.Change) { changes = append(changes, c) })
	load := func(commit bool) {
		w, err := layers.BeginBulk(ctx, st, layers.WaterSources)
		if err != nil {
			t.Fatal(err)
		}
		fs := points(1, 12000)
		for i := 0; i < len(fs); i += 5000 {
			if err := w.Write(ctx, fs[i:min(i+5000, len(fs))]); err != nil {
				t.Fatal(err)
			}
		}
		if commit {
			err = w.Commit(ctx)
		} else {
			err = w.Rollback(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
	}

	load(false)
	if got := indexes(t, pg, layers.WaterSources); !slices.Equal(got, before) {
		t.Errorf("indexes after a rolled-back load:\n%v\nwant\n%v", got, before)
	}
	if len(changes) != 0 {
		t.Errorf("a rolled-back load notified %v", changes)
	}
	load(true)
	if got := indexes(t, pg, layers.WaterSources); !slices.Equal(got, before) {
		t.Errorf("indexes after a load:\n%v\nwant\n%v", got, before)
	}
	if want := []layers.Change{{Layer: layers.WaterSources, All: true}}; !slices.EqualFunc(changes, want, func(a, b layers.Change) bool {
		return a.Layer == b.Layer && a.All == b.All
	}) {
		t.Errorf("changes = %+v, want one whole-layer change", changes)
	}
	if n, err := pg.Count(ctx, layers.Query{Layer: layers.WaterSources}); err != nil || n != 12000 {
		t.Errorf("count = %d, %v; want 12000", n, err)
	}
}
