package geo_test

import (
	"fmt"

	"github.com/paulmach/orb"

	"riskmap/geo"
)

func ExampleEachPath() {
	g := orb.Collection{
		orb.Point{1, 2},
		orb.LineString{{0, 0}, {1, 1}},
		orb.MultiPolygon{{{{0, 0}, {2, 0}, {2, 2}, {0, 0}}, {{0.5, 0.5}, {1, 0.5}, {1, 1}, {0.5, 0.5}}}},
	}
	geo.EachPath(g, func(path []orb.Point) { fmt.Println(len(path), path[0]) })
	// Output:
	// 1 [1 2]
	// 2 [0 0]
	// 4 [0 0]
	// 4 [0.5 0.5]
}
