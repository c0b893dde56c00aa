package dispatch_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/dispatch"
	"riskmap/geo"
	"riskmap/layers"
	"riskmap/layers/memstore"
	"riskmap/layers/postgis"
	"riskmap/layers/postgis/pgtest"
)

// TestBriefPostGIS: over PostGIS the briefings equal those over memstore
// (which TestBriefMatchesBruteForce checks), for the layers dispatch reads
// of the demo.
func TestBriefPostGIS(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the demo into PostGIS")
	}
	url := pgtest.Database(t)
	ds, err := demo()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pg, err := postgis.Open(ctx, url, layers.NewCatalog())
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	mem := memstore.New()
	for _, l := range []string{layers.Towns, layers.Roads, layers.WaterSources, layers.FireStations, layers.Enterprises,
		layers.Mines, layers.Hazards, layers.FloodSpots, layers.LifeLanes} {
		for _, st := range []layers.Store{pg, mem} {
			if err := st.Upsert(ctx, l, ds.Layer(l)); err != nil {
				t.Fatal(err)
			}
		}
	}
	a, b := dispatch.New(pg), dispatch.New(mem)
	for i, f := range ds.Layer(layers.Hazards) {
		if i%97 != 0 {
			continue
		}
		p := f.Geometry.(orb.Point)
		x, err := a.Brief(ctx, p, 5, geo.WGS84)
		if err != nil {
			t.Fatal(err)
		}
		y, err := b.Brief(ctx, p, 5, geo.WGS84)
		if err != nil {
			t.Fatal(err)
		}
		x.TookMS, y.TookMS = 0, 0
		jx, _ := json.Marshal(x)
		jy, _ := json.Marshal(y)
		if string(jx) != string(jy) {
			t.Errorf("%v: PostGIS and memstore differ:\n%s\n%s", p, jx, jy)
		}
	}
}
