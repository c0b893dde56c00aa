package routing_test

import (
	"fmt"

	"github.com/paulmach/orb"

	"riskmap/geo"
	"riskmap/layers"
	"riskmap/routing"
)

func ExampleGraph_Route() {
	pl := geo.NewPlane(orb.Point{106.55, 29.40})
	at := func(x, y float64) orb.Point { return pl.Unproject(orb.Point{x, y}) }
	g := routing.Build([]layers.Feature{
		// a 2 km arterial (50 km/h) and a 500 m branch road (30 km/h)
		{ID: 1, Geometry: orb.LineString{at(0, 0), at(2000, 0)}, Props: map[string]any{"class": "arterial"}},
		{ID: 2, Geometry: orb.LineString{at(2000, 0), at(2000, 500)}, Props: map[string]any{"class": "branch"}},
	})
	m, s, _, ok := g.Route(at(0, 0), at(2000, 500))
	fmt.Printf("%v: %.0f m in %.0f s\n", ok, m, s)
	// Output: true: 2500 m in 204 s
}
