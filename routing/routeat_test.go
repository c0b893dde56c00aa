package routing_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/layers"
	"riskmap/routing"
)

// TestRouteAtMatchesRoute: on a lattice of streets with mixed speeds and
// one-way streets, the time and length Reach gives for a point equal those
// of the A* route.
func TestRouteAtMatchesRoute(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var roads []layers.Feature
	id := int64(0)
	classes := []string{"arterial", "secondary", "branch", "rural"}
	for i := range 12 {
		for j := range 12 {
			p := orb.Point{106.5 + float64(i)*0.002, 29.4 + float64(j)*0.002}
			for _, q := range []orb.Point{{p[0] + 0.002, p[1]}, {p[0], p[1] + 0.002}} {
				if i == 11 && q[0] > p[0] || j == 11 && q[1] > p[1] {
					continue
				}
				id++
				roads = append(roads, layers.Feature{ID: id, Geometry: orb.LineString{p, q},
					Props: map[string]any{"class": classes[r.IntN(4)], "oneway": r.IntN(5) == 0}})
			}
		}
	}
	g := routing.Build(roads)
	pt := func() orb.Point { return orb.Point{106.5 + r.Float64()*0.022, 29.4 + r.Float64()*0.022} }
	for range 200 {
		a, b := pt(), pt()
		m, s, _, ok := g.Route(a, b)
		pos, _ := g.Snap(b)
		s2, m2, src, ok2 := g.Reach([]orb.Point{a}, 0).RouteAt(pos)
		if ok != ok2 || ok && (math.Abs(s-s2) > 1e-6 || math.Abs(m-m2) > 1e-6 || src != 0) {
			t.Fatalf("%v → %v: Route %v %.3f s %.3f m, RouteAt %v %.3f s %.3f m", a, b, ok, s, m, ok2, s2, m2)
		}
	}
}
