package analysis_test

import (
	"context"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"

	"riskmap/fixtures"
	"riskmap/geo"
	"riskmap/layers"
	"riskmap/layers/analysis"
	"riskmap/layers/memstore"
	"riskmap/layers/postgis"
	"riskmap/layers/postgis/pgtest"
)

// straddlers adds to the demo buildings of 6–20 m across at random
// offsets up to 15 m from every pipeline, many of them inside a zone: the
// demo holds only its two known occupations.
func straddlers(t *testing.T, ds *fixtures.Dataset) {
	t.Helper()
	r := rand.New(rand.NewPCG(4, 2))
	var extra []layers.Feature
	id := int64(50_000_000)
	for _, p := range ds.Layer(layers.Pipelines) {
		var pts []orb.Point
		switch g := p.Geometry.(type) {
		case orb.LineString:
			pts = g
		case orb.MultiLineString:
			pts = g[0]
		}
		for range 8 {
			k := r.IntN(len(pts) - 1)
			a, b := pts[k], pts[k+1]
			tt := r.Float64()
			at := orb.Point{a[0] + tt*(b[0]-a[0]), a[1] + tt*(b[1]-a[1])}
			pl := geo.NewPlane(at)
			d := pl.Project(b)
			n := math.Hypot(d[0], d[1])
			off := r.Float64()*30 - 15
			c := orb.Point{-d[1] / n * off, d[0] / n * off}
			s := 6 + r.Float64()*14
			rot := r.Float64() * math.Pi
			var ring orb.Ring
			for _, q := range [][2]float64{{-1, -1}, {1, -1}, {1, 1}, {-1, 1}, {-1, -1}} {
				x, y := q[0]*s/2, q[1]*s/2
				ring = append(ring, pl.Unproject(orb.Point{c[0] + x*math.Cos(rot) - y*math.Sin(rot), c[1] + x*math.Sin(rot) + y*math.Cos(rot)}))
			}
			id++
			extra = append(extra, layers.Feature{Layer: layers.Buildings, ID: id, Geometry: orb.Polygon{ring}, Props: map[string]any{"use": "residential"}})
		}
	}
	for i := range ds.Layers {
		if ds.Layers[i].Layer == layers.Buildings {
			ds.Layers[i].Features = append(slices.Clip(ds.Layers[i].Features), extra...)
		}
	}
}

// pgDemo loads the demo dataset (with straddlers) into a fresh PostGIS
// database, runs every default analysis over it with the derived layers
// written back to PostGIS, and returns the store, its pool for checking
// SQL, the rules and the dataset.
func pgDemo(t *testing.T) (*layers.Observed, *pgxpool.Pool, analysis.Rules, *fixtures.Dataset) {
	t.Helper()
	ctx := context.Background()
	dsn := pgtest.Database(t)
	cat := layers.NewCatalog()
	rules := analysis.DefaultRules()
	e, err := analysis.New(cat, rules, analysis.Default()...)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := postgis.Open(ctx, dsn, cat)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Close() })
	ds, err := fixtures.Generate(fixtures.Demo)
	if err != nil {
		t.Fatal(err)
	}
	straddlers(t, ds)
	if err := ds.Load(ctx, pg, nil); err != nil {
		t.Fatal(err)
	}
	st := layers.Observe(pg)
	e.Attach(st, func(err error) { t.Errorf("engine: %v", err) })
	t.Cleanup(func() { e.Close() })
	if err := e.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	// geography indexes, so that ST_DWithin on geography below is not a
	// cross product (test database only; the store indexes geometry)
	for _, tbl := range []string{"water_sources", "buildings"} {
		if _, err := pg.Pool().Exec(ctx, "CREATE INDEX ON "+tbl+" USING gist ((geom::geography)); ANALYZE "+tbl); err != nil {
			t.Fatal(err)
		}
	}
	return st, pg.Pool(), rules, ds
}

// sqlIDs runs a query returning one bigint column.
func sqlIDs(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) []int64 {
	t.Helper()
	rows, err := pool.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func featureIDs(fs []layers.Feature) []int64 {
	out := make([]int64, len(fs))
	for i, f := range fs {
		out[i] = f.ID
	}
	slices.Sort(out)
	return out
}

// sameIDs reports the differences between two sorted id sets.
func sameIDs(t *testing.T, what string, got, want []int64) {
	t.Helper()
	var missing, extra []int64
	for _, id := range want {
		if _, ok := slices.BinarySearch(got, id); !ok {
			missing = append(missing, id)
		}
	}
	for _, id := range got {
		if _, ok := slices.BinarySearch(want, id); !ok {
			extra = append(extra, id)
		}
	}
	if len(missing)+len(extra) > 0 {
		t.Errorf("%s: %d found, PostGIS %d; missing %v, extra %v", what, len(got), len(want), head(missing), head(extra))
	}
}

func head(ids []int64) []int64 { return ids[:min(len(ids), 10)] }

// TestPostGISCrossCheck runs the analyses on a PostGIS store holding the
// demo dataset and checks them against PostGIS's own functions on
// geography (ST_DWithin, ST_Distance) and a metric buffer: the water
// gaps, uncovered buildings, pipeline occupations with their overlap
// areas, and mines by long-distance lines. It also checks that the derived
// layers equal those computed on the embedded store.
func TestPostGISCrossCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the demo dataset into PostGIS")
	}
	ctx := context.Background()
	st, pool, rules, ds := pgDemo(t)
	radius := map[string]float64{
		"hydrant":        rules.V(analysis.HydrantRadius),
		"fire_pool":      rules.V(analysis.FirePoolRadius),
		"natural_intake": rules.V(analysis.NaturalIntakeRadius),
	}
	var kinds []string
	var radii []float64
	for k, r := range radius {
		kinds, radii = append(kinds, k), append(radii, r)
	}
	const usable = `WITH r(kind, m) AS (SELECT * FROM unnest($1::text[], $2::float8[])),
src AS (SELECT w.geom::geography AS g, r.m FROM water_sources w JOIN r ON r.kind = w.kind WHERE w.status = 'in_service')`

	t.Run("water-coverage", func(t *testing.T) {
		// uncovered buildings: no usable source within its radius of any part
		want := sqlIDs(t, pool, usable+`
SELECT b.id FROM buildings b WHERE NOT EXISTS (
  SELECT 1 FROM src WHERE ST_DWithin(b.geom::geography, src.g, src.m))`, kinds, radii)
		got := featureIDs(features(t, st, analysis.UncoveredBuildings))
		sameIDs(t, "uncovered buildings", got, want)
		if len(want) < 50 {
			t.Errorf("only %d uncovered buildings: not a useful comparison", len(want))
		}

		// gap cells: built-up cells (holding a building's bound centre)
		// whose centre has no usable source within its radius
		res := int(rules.V(analysis.CoverageRes))
		cells := map[geo.Cell]bool{}
		for _, b := range features(t, st, layers.Buildings) {
			cells[geo.CellOf(b.Geometry.Bound().Center(), res)] = true
		}
		var ids []int64
		var lon, lat []float64
		for c := range cells {
			p := geo.CellCenter(c)
			ids, lon, lat = append(ids, int64(c)), append(lon, p[0]), append(lat, p[1])
		}
		wantGaps := sqlIDs(t, pool, usable+`,
c(id, lon, lat) AS (SELECT * FROM unnest($3::bigint[], $4::float8[], $5::float8[]))
SELECT c.id FROM c WHERE NOT EXISTS (
  SELECT 1 FROM src WHERE ST_DWithin(ST_SetSRID(ST_MakePoint(c.lon, c.lat), 4326)::geography, src.g, src.m))`,
			kinds, radii, ids, lon, lat)
		gaps := features(t, st, analysis.WaterGaps)
		sameIDs(t, "gap cells", featureIDs(gaps), wantGaps)
		if len(wantGaps) < 20 {
			t.Errorf("only %d gap cells: not a useful comparison", len(wantGaps))
		}
		t.Logf("%d built-up cells, %d gaps; %d uncovered buildings", len(cells), len(wantGaps), len(want))

		// the evidence: nearest usable source of a sample of gaps
		for _, f := range gaps[:min(len(gaps), 40)] {
			nid, ok := f.Props["nearest_id"].(int64)
			if !ok {
				continue
			}
			p := geo.CellCenter(geo.Cell(f.ID))
			var d float64
			if err := pool.QueryRow(ctx, `SELECT ST_Distance(ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography, geom::geography)
FROM water_sources WHERE id = $3`, p[0], p[1], nid).Scan(&d); err != nil {
				t.Fatal(err)
			}
			if got := f.Props["nearest_m"].(float64); math.Abs(got-d) > 0.1+0.002*d {
				t.Errorf("gap %d: nearest_m %v, PostGIS %v to source %d", f.ID, got, d, nid)
			}
		}
	})

	t.Run("pipeline-occupation", func(t *testing.T) {
		// PostGIS takes an edge of a geography as a great-circle arc, the
		// analyses (and PostGIS geometry) as straight in lon/lat: over a
		// 20 km east–west edge they part by 4 m at its middle, so the lines
		// are cut into ≈ 20 m pieces first (the two then differ by µm).
		// Likewise before projecting to UTM 48N for the buffer.
		const zone = `WITH z AS (SELECT id, ST_Segmentize(geom, 0.0002) AS geom, CASE
    WHEN class IN ('oil_long', 'gas_long') THEN $1::float8
    WHEN pressure = 'high' THEN $2
    WHEN pressure = 'sub_high' THEN $3
    ELSE $4 END AS m
  FROM pipelines WHERE class IN ('oil_long', 'gas_long', 'gas_urban'))`
		zargs := []any{rules.V(analysis.LongPipelineZone), rules.V(analysis.GasHighZone),
			rules.V(analysis.GasSubHighZone), rules.V(analysis.GasLowZone)}
		rows, err := pool.Query(ctx, zone+`
SELECT b.id << 20 | z.id, ST_Distance(b.geom::geography, z.geom::geography),
  ST_Area(ST_Intersection(ST_Transform(b.geom, 32648), ST_Buffer(ST_Transform(z.geom, 32648), z.m, 'quad_segs=64')))
FROM z JOIN buildings b ON ST_DWithin(b.geom, z.geom, 0.001) -- index prefilter: 0.001° ≥ 97 m here
  AND ST_DWithin(b.geom::geography, z.geom::geography, z.m)`, zargs...)
		if err != nil {
			t.Fatal(err)
		}
		type occ struct{ d, area float64 }
		want := map[int64]occ{}
		for rows.Next() {
			var id int64
			var o occ
			if err := rows.Scan(&id, &o.d, &o.area); err != nil {
				t.Fatal(err)
			}
			want[id] = o
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		got := features(t, st, analysis.PipelineOccupations)
		sameIDs(t, "occupations", featureIDs(got), slices.Sorted(maps.Keys(want)))
		if len(want) < 50 {
			t.Errorf("only %d occupations: not a useful comparison", len(want))
		}
		for _, f := range got {
			w, ok := want[f.ID]
			if !ok {
				continue
			}
			if d := f.Props["distance_m"].(float64); math.Abs(d-w.d) > 0.06+0.002*w.d {
				t.Errorf("occupation %d: distance %v m, PostGIS %v", f.ID, d, w.d)
			}
			// UTM 48N scale at 106.5° E is 0.9999 (area −0.03 %); the
			// buffer's caps are 256-gons
			if a := f.Props["overlap_m2"].(float64); math.Abs(a-w.area) > 0.1+0.005*w.area {
				t.Errorf("occupation %d: overlap %v m², PostGIS %v", f.ID, a, w.area)
			}
		}
		t.Logf("%d occupations", len(want))

		mines := sqlIDs(t, pool, `SELECT m.id << 20 | p.id FROM mines m JOIN pipelines p
  ON p.class IN ('oil_long', 'gas_long') AND ST_DWithin(m.geom, p.geom, 0.01) AND ST_DWithin(ST_Segmentize(m.geom, 0.0002)::geography, ST_Segmentize(p.geom, 0.0002)::geography, $1)
WHERE m.status IS DISTINCT FROM 'closed' AND m.kind <> 'tailings_pond'`, rules.V(analysis.MineNearPipeline))
		sameIDs(t, "mine conflicts", featureIDs(features(t, st, analysis.MinePipelineConflicts)), mines)
		if len(mines) == 0 {
			t.Error("no mine conflict: not a useful comparison")
		}
	})

	t.Run("same-as-embedded", func(t *testing.T) {
		mem := layers.Observe(memstore.New())
		if err := ds.Load(ctx, mem, nil); err != nil {
			t.Fatal(err)
		}
		e, _ := analysis.New(layers.NewCatalog(), analysis.DefaultRules(), analysis.Default()...)
		e.Attach(mem, nil)
		defer e.Close()
		if err := e.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		for _, a := range e.Analyses() {
			for _, l := range a.Layers() {
				a, b := features(t, mem, l.ID), features(t, st, l.ID)
				if len(a) != len(b) {
					t.Errorf("%s: embedded %d features, PostGIS %d", l.ID, len(a), len(b))
					continue
				}
				for i := range a {
					if a[i].ID != b[i].ID || !equalProps(nonEmpty(a[i].Props), nonEmpty(b[i].Props)) || !orb.Equal(a[i].Geometry, b[i].Geometry) {
						t.Errorf("%s: feature %d differs:\n embedded %d %v\n PostGIS  %d %v", l.ID, i, a[i].ID, a[i].Props, b[i].ID, b[i].Props)
						break
					}
				}
			}
		}
	})
}

// nonEmpty drops empty strings: PostGIS stores them as NULL (absent), the
// embedded store keeps them.
func nonEmpty(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if v != "" {
			out[k] = v
		}
	}
	return out
}
