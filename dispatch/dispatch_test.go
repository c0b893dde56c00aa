package dispatch_test

import (
	"cmp"
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"riskmap/dispatch"
	"riskmap/fixtures"
	"riskmap/geo"
	"riskmap/layers"
	"riskmap/layers/memstore"
	"riskmap/routing"
)

var demo = sync.OnceValues(func() (*fixtures.Dataset, error) { return fixtures.Generate(fixtures.Demo) })

// TestBriefMatchesBruteForce checks briefings at demo incident points
// against scans of every feature (geo distances) and, for stations, a
// Dijkstra from each station (routing.Reach) instead of the A* routes the
// service drives.
func TestBriefMatchesBruteForce(t *testing.T) {
	if testing.Short() {
		t.Skip("generates the demo dataset")
	}
	ds, err := demo()
	if err != nil {
		t.Fatal(err)
	}
	st := memstore.New()
	ctx := context.Background()
	if err := ds.Load(ctx, st, nil); err != nil {
		t.Fatal(err)
	}
	svc := dispatch.New(st)
	g := routing.Build(ds.Layer(layers.Roads))

	var points []orb.Point
	for i, f := range ds.Layer(layers.Hazards) {
		if i%53 == 0 {
			points = append(points, f.Geometry.(orb.Point))
		}
	}
	for i, f := range ds.Layer(layers.Enterprises) {
		if i%401 == 0 {
			points = append(points, orb.Point{f.Geometry.(orb.Point)[0] + 0.001, f.Geometry.(orb.Point)[1]})
		}
	}
	for _, f := range ds.Layer(layers.Towns) {
		c, _ := planar.CentroidArea(f.Geometry)
		points = append(points, c)
	}
	k := 5
	for _, p := range points {
		b, err := svc.Brief(ctx, p, k, geo.WGS84)
		if err != nil {
			t.Fatalf("%v: %v", p, err)
		}
		// town
		var town *dispatch.Town
		for _, f := range ds.Layer(layers.Towns) {
			if geo.DistanceTo(p, f.Geometry) == 0 {
				town = &dispatch.Town{ID: f.ID, Name: f.Props["name"].(string)}
			}
		}
		if (town == nil) != (b.Town == nil) || town != nil && *town != *b.Town {
			t.Errorf("%v: town %v, brute force %v", p, b.Town, town)
		}
		// lists within 500 m
		within := func(layer string, keep func(layers.Feature) bool) []int64 {
			type c struct {
				id int64
				d  float64
			}
			var cs []c
			for _, f := range ds.Layer(layer) {
				if d := geo.DistanceTo(p, f.Geometry); d <= dispatch.NearbyM && keep(f) {
					cs = append(cs, c{f.ID, d})
				}
			}
			slices.SortFunc(cs, func(a, b c) int { return cmp.Or(cmp.Compare(a.d, b.d), cmp.Compare(a.id, b.id)) })
			var ids []int64
			for _, x := range cs {
				ids = append(ids, x.id)
			}
			return ids
		}
		check := func(name string, got []dispatch.Item, want []int64) {
			t.Helper()
			if ids := itemIDs(got); !slices.Equal(ids, want) {
				t.Errorf("%v %s: %v, brute force %v", p, name, ids, want)
			}
			for _, it := range got {
				f := find(ds, it.Layer, it.ID)
				if d := geo.DistanceTo(p, f.Geometry); !close(d, it.DistanceM) {
					t.Errorf("%v %s %d: distance %.1f, geo.DistanceTo %.1f", p, name, it.ID, it.DistanceM, d)
				}
			}
		}
		check("enterprises", b.Enterprises, within(layers.Enterprises, func(f layers.Feature) bool {
			return f.Props["risk_level"] == "red" || f.Props["risk_level"] == "orange"
		}))
		check("hazards", b.Hazards, within(layers.Hazards, func(f layers.Feature) bool {
			return f.Props["status"] != "accepted" && f.Props["status"] != "closed"
		}))
		check("flood spots", b.FloodSpots, within(layers.FloodSpots, func(layers.Feature) bool { return true }))
		var sources []dispatch.Item
		for _, it := range b.HazardSources {
			f := find(ds, it.Layer, it.ID)
			if it.Layer == layers.Enterprises && f.Props["major_hazard"] != true || it.Layer == layers.Mines && f.Props["kind"] != "tailings_pond" {
				t.Errorf("%v: hazard source %s %d is not one", p, it.Layer, it.ID)
			}
			if it.Layer == layers.Enterprises {
				sources = append(sources, it)
			}
		}
		check("hazard sources", sources, within(layers.Enterprises, func(f layers.Feature) bool { return f.Props["major_hazard"] == true }))

		// k nearest by straight line
		nearest := func(layer string, keep func(layers.Feature) bool) []float64 {
			var ds2 []float64
			for _, f := range ds.Layer(layer) {
				if keep(f) {
					ds2 = append(ds2, geo.DistanceTo(p, f.Geometry))
				}
			}
			slices.Sort(ds2)
			return ds2[:k]
		}
		near := func(name string, got []dispatch.Item, want []float64) {
			t.Helper()
			if len(got) != len(want) {
				t.Fatalf("%v %s: %d items, want %d", p, name, len(got), len(want))
			}
			for i := range got {
				if !close(got[i].DistanceM, want[i]) {
					t.Errorf("%v %s #%d: %.1f m, brute force %.1f m", p, name, i, got[i].DistanceM, want[i])
				}
			}
		}
		near("water", b.WaterSources, nearest(layers.WaterSources, func(f layers.Feature) bool { return f.Props["status"] == "in_service" }))
		near("life lanes", b.LifeLanes, nearest(layers.LifeLanes, func(layers.Feature) bool { return true }))
		for _, it := range b.WaterSources {
			if it.Status != "in_service" {
				t.Errorf("%v: water source %d is %s", p, it.ID, it.Status)
			}
			reach := g.Reach([]orb.Point{p}, 0)
			_, _, ok := reach.At(orb.Point{it.Lon, it.Lat})
			if ok != (it.RoadM.Value != nil) || ok && *it.RoadM.Value < it.DistanceM-0.5 {
				t.Errorf("%v: water source %d road_m %v, reachable %v, straight %.1f", p, it.ID, it.RoadM.Value, ok, it.DistanceM)
			}
		}

		// stations: every station routed to the incident by A* (the
		// service looks times up in a Dijkstra from each station)
		type eta struct {
			id   int64
			s, m float64
		}
		var etas []eta
		for _, f := range ds.Layer(layers.FireStations) {
			if m, s, _, ok := g.Route(f.Geometry.(orb.Point), p); ok {
				etas = append(etas, eta{f.ID, dispatch.TurnoutS + s, m})
			}
		}
		slices.SortFunc(etas, func(a, b eta) int { return cmp.Or(cmp.Compare(a.s, b.s), cmp.Compare(a.id, b.id)) })
		if len(b.FireStations) != min(k, len(ds.Layer(layers.FireStations))) {
			t.Fatalf("%v: %d stations", p, len(b.FireStations))
		}
		for i, it := range b.FireStations {
			if i >= len(etas) {
				if it.EtaS.Value != nil {
					t.Errorf("%v: station %d has an ETA, brute force reaches %d stations", p, it.ID, len(etas))
				}
				continue
			}
			if it.EtaS.Value == nil || math.Abs(*it.EtaS.Value-etas[i].s) > 0.51 || math.Abs(*it.RoadM.Value-etas[i].m) > 0.051 {
				t.Errorf("%v: station #%d is %d eta %v road %v, brute force %d %.1f s %.1f m", p, i, it.ID, it.EtaS.Value, it.RoadM.Value, etas[i].id, etas[i].s, etas[i].m)
			}
		}
	}
}

func TestOutside(t *testing.T) {
	ds, err := demo()
	if err != nil {
		t.Fatal(err)
	}
	st := memstore.New()
	if err := st.Upsert(context.Background(), layers.Towns, ds.Layer(layers.Towns)); err != nil {
		t.Fatal(err)
	}
	svc := dispatch.New(st)
	for _, p := range []orb.Point{{116.4, 39.9}, {106.2, 29.4}} {
		if _, err := svc.Brief(context.Background(), p, 5, geo.WGS84); !errors.Is(err, dispatch.ErrOutside) || !errors.Is(err, layers.ErrInvalid) {
			t.Errorf("%v: %v, want ErrOutside", p, err)
		}
	}
	if _, err := svc.Brief(context.Background(), orb.Point{106.54, 29.38}, 21, geo.WGS84); !errors.Is(err, layers.ErrInvalid) {
		t.Errorf("k=21: %v", err)
	}
}

func TestClosest(t *testing.T) {
	sq := orb.Polygon{{{0, 0}, {0.01, 0}, {0.01, 0.01}, {0, 0.01}, {0, 0}}}
	for _, c := range []struct {
		p, g orb.Geometry
		want orb.Point
	}{
		{orb.Point{0.005, 0.005}, sq, orb.Point{0.005, 0.005}},
		{orb.Point{0.005, -0.001}, sq, orb.Point{0.005, 0}},
		{orb.Point{0.02, 0.02}, sq, orb.Point{0.01, 0.01}},
		{orb.Point{0.5, 1}, orb.LineString{{0, 0}, {1, 0}}, orb.Point{0.5, 0}},
		{orb.Point{3, 3}, orb.Point{1, 2}, orb.Point{1, 2}},
	} {
		got := dispatch.Closest(c.p.(orb.Point), c.g)
		if math.Abs(got[0]-c.want[0]) > 1e-9 || math.Abs(got[1]-c.want[1]) > 1e-9 {
			t.Errorf("Closest(%v, %v) = %v, want %v", c.p, c.g, got, c.want)
		}
	}
}

func itemIDs(items []dispatch.Item) []int64 {
	var ids []int64
	for _, it := range items {
		ids = append(ids, it.ID)
	}
	return ids
}

func find(ds *fixtures.Dataset, layer string, id int64) layers.Feature {
	for _, f := range ds.Layer(layer) {
		if f.ID == id {
			return f
		}
	}
	return layers.Feature{}
}

// close compares two ground distances measured in different planes: to
// 0.5 m (rounding) or 0.03 % (the planes' error over kilometres).
func close(a, b float64) bool { return math.Abs(a-b) <= max(0.5, 3e-4*b) }
