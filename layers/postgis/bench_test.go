package postgis_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
	"github.com/paulmach/orb/maptile/tilecover"

	"riskmap/fixtures"
	"riskmap/layers"
	"riskmap/layers/postgis"
	"riskmap/layers/postgis/pgtest"
)

// BenchmarkQueryTiles reads the demo's buildings in the bounds of the z13–z15
// tiles around the 8 street (街道) centres, as a cold tile render does:
// the read path of the store (SQL, scan, WKB decoding, property maps).
func BenchmarkQueryTiles(b *testing.B) {
	ctx := context.Background()
	pg, err := postgis.Open(ctx, pgtest.Database(b), layers.NewCatalog())
	if err != nil {
		b.Fatal(err)
	}
	defer pg.Close()
	ds, err := fixtures.Generate(fixtures.Demo)
	if err != nil {
		b.Fatal(err)
	}
	only := &fixtures.Dataset{Layers: []fixtures.LayerData{{Layer: layers.Buildings, Features: ds.Layer(layers.Buildings)}}}
	if err := only.Load(ctx, pg, nil); err != nil {
		b.Fatal(err)
	}
	centres := []orb.Point{{106.505, 29.335}, {106.534, 29.389}, {106.56, 29.43}, {106.557, 29.466},
		{106.62, 29.455}, {106.63, 29.34}, {106.665, 29.29}, {106.58, 29.28}}
	for _, z := range []maptile.Zoom{13, 14, 15} {
		var boxes []orb.Bound
		for _, c := range centres {
			box := orb.Bound{Min: orb.Point{c[0] - 0.01, c[1] - 0.01}, Max: orb.Point{c[0] + 0.01, c[1] + 0.01}}
			for tl := range tilecover.Bound(box, z) {
				boxes = append(boxes, tl.Bound(64.0/4096))
			}
		}
		b.Run(fmt.Sprintf("z%d", z), func(b *testing.B) {
			b.ReportAllocs()
			i, n := 0, 0
			for b.Loop() {
				err := pg.Query(ctx, layers.Query{Layer: layers.Buildings, BBox: boxes[i%len(boxes)]}, func(layers.Feature) error { n++; return nil })
				if err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "queries/s")
			b.ReportMetric(float64(n)/float64(i), "features/query")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(max(n, 1))/1e3, "µs/feature")
		})
	}
}
