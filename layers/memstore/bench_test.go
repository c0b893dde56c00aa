package memstore

import (
	"context"
	"math"
	"math/rand"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/geo"
	"riskmap/internal/cputime"
	"riskmap/layers"
)

// Banan, roughly, and a synthetic settlement pattern: 22 towns of
// different sizes with features spread normally around them, plus a thin
// scatter over the countryside.
const (
	bananMinLon, bananMaxLon = 106.43, 107.0
	bananMinLat, bananMaxLat = 29.13, 29.77
)

type settlement struct {
	r       *rand.Rand
	centres []orb.Point
	sigma   []float64 // degrees
	weight  []float64 // cumulative
}

func newSettlement(seed int64) *settlement {
	s := &settlement{r: rand.New(rand.NewSource(seed))}
	total := 0.0
	for i := range 22 {
		s.centres = append(s.centres, orb.Point{
			bananMinLon + 0.05 + s.r.Float64()*(bananMaxLon-bananMinLon-0.1),
			bananMinLat + 0.05 + s.r.Float64()*(bananMaxLat-bananMinLat-0.1)})
		// the district seat and a few streets are large, towns small; the
		// spreads keep 600,000 buildings of ~20 m at most ~800 per km²
		// (a third of the ground built over) in the densest cores.
		size, sigma := 1.0, 0.02
		if i < 4 {
			size, sigma = 4, 0.035
		}
		s.sigma = append(s.sigma, sigma+0.005*s.r.Float64())
		total += size
		s.weight = append(s.weight, total)
	}
	for i := range s.weight {
		s.weight[i] /= total
	}
	return s
}

func (s *settlement) point() orb.Point {
	if s.r.Intn(10) == 0 {
		return orb.Point{bananMinLon + s.r.Float64()*(bananMaxLon-bananMinLon), bananMinLat + s.r.Float64()*(bananMaxLat-bananMinLat)}
	}
	u := s.r.Float64()
	i := 0
	for i < len(s.weight)-1 && s.weight[i] < u {
		i++
	}
	c, sg := s.centres[i], s.sigma[i]
	return orb.Point{
		math.Min(bananMaxLon, math.Max(bananMinLon, c[0]+s.r.NormFloat64()*sg)),
		math.Min(bananMaxLat, math.Max(bananMinLat, c[1]+s.r.NormFloat64()*sg)),
	}
}

func benchHydrants(n int) []layers.Feature {
	s := newSettlement(1)
	fs := make([]layers.Feature, n)
	statuses := []string{"in_service", "in_service", "in_service", "faulty", "planned"}
	for i := range fs {
		fs[i] = layers.Feature{Layer: layers.WaterSources, ID: int64(i + 1), Geometry: s.point(),
			Props: map[string]any{"kind": "hydrant", "status": statuses[s.r.Intn(len(statuses))], "flow_lps": 15.0}}
	}
	return fs
}

func benchBuildings(n int) []layers.Feature {
	s := newSettlement(2)
	fs := make([]layers.Feature, n)
	uses := []string{"residential", "residential", "residential", "high_rise", "commercial", "industrial", "school"}
	for i := range fs {
		p := s.point()
		side := 12 + s.r.Float64()*16
		kx, ky := geo.MetresPerDegree(p[1])
		dx, dy := side/2/kx, side/2/ky
		fs[i] = layers.Feature{Layer: layers.Buildings, ID: int64(i + 1),
			Geometry: orb.Polygon{{{p[0] - dx, p[1] - dy}, {p[0] + dx, p[1] - dy}, {p[0] + dx, p[1] + dy}, {p[0] - dx, p[1] + dy}, {p[0] - dx, p[1] - dy}}},
			Props:    map[string]any{"use": uses[s.r.Intn(len(uses))], "floors": int64(1 + s.r.Intn(30)), "height_m": 3.0 * float64(1+s.r.Intn(30))}}
	}
	return fs
}

func load(b *testing.B, fs []layers.Feature) *Store {
	b.Helper()
	s := New()
	for i := 0; i < len(fs); i += 10000 {
		if err := s.Upsert(context.Background(), fs[0].Layer, fs[i:min(i+10000, len(fs))]); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// BenchmarkNearest: K=5 nearest of 80,000 clustered hydrants to points
// drawn from the same settlement pattern (target ≤ 5 µs/op), copied
// (Nearest) and lent (NearestView, "_view").
func BenchmarkNearest(b *testing.B) {
	s := load(b, benchHydrants(80_000))
	probes := newSettlement(3)
	pts := make([]orb.Point, 4096)
	for i := range pts {
		pts[i] = probes.point()
	}
	ctx := context.Background()
	for _, c := range []struct {
		name string
		q    layers.NearestQuery
	}{
		{"K5", layers.NearestQuery{Layer: layers.WaterSources, K: 5}},
		{"K5_in_service", layers.NearestQuery{Layer: layers.WaterSources, K: 5, Filters: []layers.Filter{layers.Eq("status", "in_service")}}},
		{"K5_within_200m", layers.NearestQuery{Layer: layers.WaterSources, K: 5, MaxDistanceM: 200}},
	} {
		for _, lent := range []bool{false, true} {
			name := c.name
			if lent { // NearestView: the neighbours lent, not copied
				name += "_view"
			}
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				i, n := 0, 0
				cpu := cputime.Used()
				for b.Loop() {
					q := c.q
					q.Point = pts[i%len(pts)]
					i++
					var err error
					if lent {
						err = s.NearestView(ctx, q, func(layers.Neighbor) error { n++; return nil })
					} else {
						_, err = s.Nearest(ctx, q)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(cputime.Used()-cpu)/float64(i), "cpu-ns/op")
			})
		}
	}
}

// BenchmarkQueryBBox: features in a 1 km² box out of 600,000 clustered
// ~20 m buildings, the box centred where buildings are (target ≤ 200
// µs/op), read as copies (Query), lent (View) and counted. "features/op"
// is the mean number returned.
func BenchmarkQueryBBox(b *testing.B) {
	benchQueryBBoxWith(b, load(b, benchBuildings(600_000)))
}

func benchQueryBBoxWith(b *testing.B, s *Store) {
	probes := newSettlement(2) // where the buildings are
	boxes := make([]orb.Bound, 4096)
	for i := range boxes {
		boxes[i] = geo.ExpandBound(probes.point().Bound(), 500)
	}
	ctx := context.Background()
	run := func(b *testing.B, filters []layers.Filter, op string) {
		b.ReportAllocs()
		i, n := 0, 0
		cpu := cputime.Used()
		for b.Loop() {
			q := layers.Query{Layer: layers.Buildings, BBox: boxes[i%len(boxes)], Filters: filters}
			i++
			var err error
			switch op {
			case "count":
				var c int
				c, err = s.Count(ctx, q)
				n += c
			case "query": // copies, the Store contract
				err = s.Query(ctx, q, func(layers.Feature) error { n++; return nil })
			case "view": // lent, read-only (layers.Viewer)
				err = s.View(ctx, q, func(layers.Feature) error { n++; return nil })
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n)/float64(i), "features/op")
		b.ReportMetric(float64(cputime.Used()-cpu)/float64(i), "cpu-ns/op")
	}
	highRise := []layers.Filter{layers.Eq("use", "high_rise")}
	b.Run("query", func(b *testing.B) { run(b, nil, "query") })
	b.Run("view", func(b *testing.B) { run(b, nil, "view") })
	b.Run("query_filtered", func(b *testing.B) { run(b, highRise, "query") })
	b.Run("view_filtered", func(b *testing.B) { run(b, highRise, "view") })
	b.Run("count", func(b *testing.B) { run(b, nil, "count") })
	b.Run("page100", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			q := layers.Query{Layer: layers.Buildings, AfterID: int64(i*997) % 599_000, Limit: 100}
			i++
			if err := s.Query(ctx, q, func(layers.Feature) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkUpsert: batches of 1,000 new buildings, in memory and persisted
// (one fsynced log record per batch, compaction included).
func BenchmarkUpsert(b *testing.B) {
	const batchSize = 1000
	fs := benchBuildings(200 * batchSize)
	run := func(b *testing.B, s *Store) {
		b.ReportAllocs()
		ctx := context.Background()
		i, next := 0, int64(1)
		for b.Loop() {
			batch := fs[(i%200)*batchSize : (i%200+1)*batchSize]
			i++
			for j := range batch {
				batch[j].ID = next // always new features
				next++
			}
			if err := s.Upsert(ctx, layers.Buildings, batch); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(i*batchSize)/b.Elapsed().Seconds(), "features/s")
	}
	b.Run("memory", func(b *testing.B) { run(b, New()) })
	b.Run("fsync", func(b *testing.B) {
		s, err := Open(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		run(b, s)
	})
}
