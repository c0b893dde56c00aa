package memstore_test

import (
	"context"
	"fmt"

	"github.com/paulmach/orb"

	"riskmap/layers"
	"riskmap/layers/memstore"
)

func Example() {
	ctx := context.Background()
	s := memstore.New() // or memstore.Open(dir) to keep the data on disk
	defer s.Close()
	hydrant := func(id int64, lon, lat float64, status string) layers.Feature {
		return layers.Feature{ID: id, Geometry: orb.Point{lon, lat},
			Props: map[string]any{"kind": "hydrant", "status": status}}
	}
	err := s.Upsert(ctx, layers.WaterSources, []layers.Feature{
		hydrant(1, 106.5400, 29.4000, "in_service"),
		hydrant(2, 106.5410, 29.4000, "faulty"),
		hydrant(3, 106.5450, 29.4010, "in_service"),
	})
	if err != nil {
		panic(err)
	}
	near, err := s.Nearest(ctx, layers.NearestQuery{
		Layer:   layers.WaterSources,
		Point:   orb.Point{106.5412, 29.4001},
		K:       2,
		Filters: []layers.Filter{layers.Eq("status", "in_service")},
	})
	if err != nil {
		panic(err)
	}
	for _, n := range near {
		fmt.Printf("hydrant %d at %.0f m\n", n.Feature.ID, n.DistanceM)
	}
	// Output:
	// hydrant 1 at 117 m
	// hydrant 3 at 382 m
}
