// Package dispatch answers the briefing of an incident point: the nearest
// in-service water sources with their road distance, the fire stations
// that arrive first with their ETA on the road graph, the dangerous sites,
// open hazards and flood spots within 500 m, the nearest life lanes and
// the town.
//
// Straight-line distances are ground metres (package geo) to the nearest
// point of a feature; road distances and times come from package routing.
// The road graph is built from the roads layer on first use and again
// after Invalidate (call it when roads change).
package dispatch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/paulmach/orb"
	orbgeo "github.com/paulmach/orb/geo"
	"github.com/paulmach/orb/planar"

	"riskmap/geo"
	"riskmap/layers"
	"riskmap/routing"
)

const (
	// TurnoutS is the time from the call to the engine leaving the station
	// (1 min, the turnout of the 5-minute rule of 建标152-2017 §13).
	TurnoutS = 60
	// NearbyM is the radius of the dangerous sites, hazards and flood spots
	// listed around the incident.
	NearbyM = 500
	// MaxK bounds k.
	MaxK = 20
	// BorderM is how far outside every town polygon an incident may lie and
	// still count as in the district (a river bank, a digitising gap); it
	// then has no town.
	BorderM = 200
	// maxNearby bounds each list of features within NearbyM.
	maxNearby = 200
	// maxStations bounds the stations considered.
	maxStations = 1000
)

// ErrOutside is wrapped, with layers.ErrInvalid, by the error for a point
// outside the district.
var ErrOutside = errors.New("point outside Banan district")

// Item is one feature of a briefing.
type Item struct {
	ID         int64          `json:"id"`
	Layer      string         `json:"layer"`
	Kind       string         `json:"kind,omitempty"`
	Name       string         `json:"name,omitempty"`
	DistanceM  float64        `json:"distance_m"`
	BearingDeg float64        `json:"bearing_deg"`
	RoadM      Opt            `json:"road_m,omitzero"`
	EtaS       Opt            `json:"eta_s,omitzero"`
	Status     string         `json:"status,omitempty"`
	Lon        float64        `json:"lon"`
	Lat        float64        `json:"lat"`
	Properties map[string]any `json:"properties"`

	at  orb.Point // the nearest point in WGS84
	eta float64   // unrounded ETA of a station
}

// Opt is a number that is computed for some items only: left out of the
// JSON where not computed, null where computed but unknown (unreachable).
type Opt struct {
	Computed bool
	Value    *float64
}

func known(v float64) Opt { return Opt{Computed: true, Value: &v} }

var unknown = Opt{Computed: true}

// IsZero reports that the value was not computed (omitzero).
func (o Opt) IsZero() bool { return !o.Computed }

// MarshalJSON writes the number or null.
func (o Opt) MarshalJSON() ([]byte, error) {
	if o.Value == nil {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, *o.Value, 'f', -1, 64), nil
}

// Town is the town (镇街) of the incident.
type Town struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Point is a position in the response CRS, with the input as given.
type Point struct {
	Lon   float64 `json:"lon"`
	Lat   float64 `json:"lat"`
	Input *Input  `json:"input,omitempty"`
}

// Input is the incident point as the caller gave it.
type Input struct {
	Lon float64 `json:"lon"`
	Lat float64 `json:"lat"`
	CRS string  `json:"crs"`
}

// Briefing is the answer for one incident.
type Briefing struct {
	Incident      Point   `json:"incident"`
	Town          *Town   `json:"town"`
	WaterSources  []Item  `json:"water_sources"`
	FireStations  []Item  `json:"fire_stations"`
	Enterprises   []Item  `json:"enterprises"`
	HazardSources []Item  `json:"hazard_sources"`
	Hazards       []Item  `json:"hazards"`
	FloodSpots    []Item  `json:"flood_spots"`
	LifeLanes     []Item  `json:"life_lanes"`
	TookMS        float64 `json:"took_ms"`
}

// Service computes briefings from a store. It is safe for concurrent use.
type Service struct {
	st layers.Store

	mu  sync.Mutex
	net *network // nil until built or after a change
}

// network is the road graph with every station's travel times over it.
type network struct {
	g        *routing.Graph
	stations []layers.Feature
	reach    []*routing.Reach // from each station, no cutoff
}

// New returns a service over st.
func New(st layers.Store) *Service { return &Service{st: st} }

// Changed tells the service that a layer was written: a change to the
// roads or the fire stations drops the network; the next briefing
// rebuilds it.
func (s *Service) Changed(layer string) {
	if layer != layers.Roads && layer != layers.FireStations {
		return
	}
	s.mu.Lock()
	s.net = nil
	s.mu.Unlock()
}

// network returns the road graph and the stations' travel times, building
// them from the store when needed (a Dijkstra from each station over the
// whole graph, so that a briefing looks the times up). Briefings wait for
// one build rather than each building their own.
func (s *Service) network(ctx context.Context) (*network, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.net != nil {
		return s.net, nil
	}
	all := func(layer string) ([]layers.Feature, error) {
		var fs []layers.Feature
		err := s.st.Query(ctx, layers.Query{Layer: layer}, func(f layers.Feature) error {
			fs = append(fs, f)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("dispatch: reading %s: %w", layer, err)
		}
		return fs, nil
	}
	roads, err := all(layers.Roads)
	if err != nil {
		return nil, err
	}
	n := &network{g: routing.Build(roads)}
	if n.stations, err = all(layers.FireStations); err != nil {
		return nil, err
	}
	if len(n.stations) > maxStations {
		return nil, fmt.Errorf("dispatch: %d fire stations; at most %d are timed", len(n.stations), maxStations)
	}
	for _, st := range n.stations {
		var from []orb.Point
		if st.Geometry != nil {
			from = []orb.Point{st.Geometry.Bound().Center()} // stations are points
		}
		n.reach = append(n.reach, n.g.Reach(from, 0))
	}
	s.net = n
	return n, nil
}

// Brief computes the briefing for an incident at p (WGS84) with k nearest
// water sources, stations and life lanes. Item coordinates are given in
// out; the caller fills Incident.
func (s *Service) Brief(ctx context.Context, p orb.Point, k int, out geo.CRS) (*Briefing, error) {
	start := time.Now()
	if k < 1 || k > MaxK {
		return nil, fmt.Errorf("%w: k must be from 1 to %d, got %d", layers.ErrInvalid, MaxK, k)
	}
	b := &Briefing{}
	town, err := s.town(ctx, p)
	if err != nil {
		return nil, err
	}
	b.Town = town
	n, err := s.network(ctx)
	if err != nil {
		return nil, err
	}
	if b.WaterSources, err = s.water(ctx, n, p, k); err != nil {
		return nil, err
	}
	b.FireStations = n.arrivals(p, k)
	isOpen := func(f layers.Feature) bool { return f.Props["status"] != "accepted" && f.Props["status"] != "closed" }
	redOrange := func(f layers.Feature) bool {
		return f.Props["risk_level"] == "red" || f.Props["risk_level"] == "orange"
	}
	major := func(f layers.Feature) bool { return f.Props["major_hazard"] == true }
	tailings := func(f layers.Feature) bool { return f.Props["kind"] == "tailings_pond" }
	ents, err := s.nearby(ctx, layers.Enterprises, p, func(f layers.Feature) bool { return redOrange(f) || major(f) })
	if err != nil {
		return nil, err
	}
	for _, it := range ents {
		f := layers.Feature{Props: it.Properties}
		if redOrange(f) {
			b.Enterprises = append(b.Enterprises, it)
		}
		if major(f) {
			b.HazardSources = append(b.HazardSources, it)
		}
	}
	mines, err := s.nearby(ctx, layers.Mines, p, tailings)
	if err != nil {
		return nil, err
	}
	b.HazardSources = append(b.HazardSources, mines...)
	sortByDistance(b.HazardSources)
	if b.Hazards, err = s.nearby(ctx, layers.Hazards, p, isOpen); err != nil {
		return nil, err
	}
	if b.FloodSpots, err = s.nearby(ctx, layers.FloodSpots, p, nil); err != nil {
		return nil, err
	}
	if b.LifeLanes, err = s.nearest(ctx, layers.NearestQuery{Layer: layers.LifeLanes, Point: p, K: k}); err != nil {
		return nil, err
	}
	for _, l := range []*[]Item{&b.WaterSources, &b.FireStations, &b.Enterprises, &b.HazardSources, &b.Hazards, &b.FloodSpots, &b.LifeLanes} {
		if *l == nil {
			*l = []Item{} // [] in JSON, not null
		}
		l := *l
		for i := range l {
			q := geo.FromWGS84(out, l[i].at).(orb.Point)
			l[i].Lon, l[i].Lat = round7(q[0]), round7(q[1])
		}
	}
	b.TookMS = math.Round(float64(time.Since(start).Microseconds())/100) / 10
	return b, nil
}

func round7(v float64) float64 { return math.Round(v*1e7) / 1e7 }

// town returns the town polygon holding p, nil when p is within BorderM of
// one but in none, or ErrOutside.
func (s *Service) town(ctx context.Context, p orb.Point) (*Town, error) {
	var t *Town
	found := false
	err := layers.NearestView(ctx, s.st, layers.NearestQuery{Layer: layers.Towns, Point: p, K: 1, MaxDistanceM: BorderM}, func(n layers.Neighbor) error {
		found = true
		if n.DistanceM == 0 {
			name, _ := n.Feature.Props["name"].(string) // a string: kept, not the lent map
			t = &Town{ID: n.Feature.ID, Name: name}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dispatch: town: %w", err)
	}
	if !found {
		return nil, fmt.Errorf("%w: lon, lat %.6f, %.6f: %w (more than %d m from every town)", layers.ErrInvalid, p[0], p[1], ErrOutside, BorderM)
	}
	return t, nil
}

// water returns the k nearest in-service water sources with the length of
// the fastest road route from the incident to each.
func (s *Service) water(ctx context.Context, n *network, p orb.Point, k int) ([]Item, error) {
	items, err := s.nearest(ctx, layers.NearestQuery{Layer: layers.WaterSources, Point: p, K: k,
		Filters: []layers.Filter{layers.Eq("status", "in_service")}})
	if err != nil {
		return nil, err
	}
	for i := range items {
		items[i].RoadM = unknown
		if m, _, _, ok := n.g.Route(p, items[i].at); ok {
			items[i].RoadM = known(math.Round(m*10) / 10)
		}
	}
	return items, nil
}

// arrivals returns the k stations that arrive first at p: turnout plus
// the driving time looked up in each station's travel times (ties by id),
// with the length of that fastest route. Unreachable stations come last,
// nearest first.
func (n *network) arrivals(p orb.Point, k int) []Item {
	pos, snapped := n.g.Snap(p)
	var reached, unreached []Item
	for i, f := range n.stations {
		it := item(layers.FireStations, p, f)
		it.RoadM, it.EtaS = unknown, unknown
		if snapped {
			if secs, m, _, ok := n.reach[i].RouteAt(pos); ok {
				it.eta = TurnoutS + secs
				it.RoadM, it.EtaS = known(math.Round(m*10)/10), known(math.Round(it.eta))
				reached = append(reached, it)
				continue
			}
		}
		unreached = append(unreached, it)
	}
	slices.SortFunc(reached, func(a, b Item) int { return cmp.Or(cmp.Compare(a.eta, b.eta), cmp.Compare(a.ID, b.ID)) })
	sortByDistance(unreached)
	out := append(reached, unreached...)
	return out[:min(k, len(out))]
}

// nearby returns the features of a layer within NearbyM that pass keep
// (nil keeps all), nearest first.
func (s *Service) nearby(ctx context.Context, layer string, p orb.Point, keep func(layers.Feature) bool) ([]Item, error) {
	var items []Item
	q := layers.Query{Layer: layer, BBox: geo.ExpandBound(p.Bound(), NearbyM)}
	err := layers.View(ctx, s.st, q, func(f layers.Feature) error {
		if keep != nil && !keep(f) {
			return nil
		}
		if it := item(layer, p, f); it.DistanceM <= NearbyM {
			items = append(items, it)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dispatch: %s: %w", layer, err)
	}
	sortByDistance(items)
	return items[:min(len(items), maxNearby)], nil
}

func (s *Service) nearest(ctx context.Context, q layers.NearestQuery) ([]Item, error) {
	items := make([]Item, 0, q.K)
	err := layers.NearestView(ctx, s.st, q, func(n layers.Neighbor) error {
		items = append(items, item(q.Layer, q.Point, n.Feature))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dispatch: %s: %w", q.Layer, err)
	}
	sortByDistance(items)
	return items, nil
}

func sortByDistance(items []Item) {
	slices.SortStableFunc(items, func(a, b Item) int {
		return cmp.Or(cmp.Compare(a.DistanceM, b.DistanceM), cmp.Compare(a.ID, b.ID))
	})
}

// item describes f as seen from p. It keeps a copy of f's properties and
// nothing of its geometry, so f may be lent (layers.View).
func item(layer string, p orb.Point, f layers.Feature) Item {
	at := Closest(p, f.Geometry)
	it := Item{ID: f.ID, Layer: layer, Properties: maps.Clone(f.Props), at: at,
		DistanceM: math.Round(geo.Distance(p, at)*10) / 10}
	if it.Properties == nil {
		it.Properties = map[string]any{}
	}
	if at != p {
		it.BearingDeg = math.Round(math.Mod(orbgeo.Bearing(p, at)+360, 360)*10) / 10
	}
	str := func(k string) string { s, _ := f.Props[k].(string); return s }
	it.Kind = cmp.Or(str("kind"), str("category"))
	it.Name = cmp.Or(str("name"), str("title"))
	it.Status = str("status")
	return it
}

// Closest returns the point of g nearest to p on the ground: p itself
// inside a polygon, else the nearest point on its boundary or lines.
func Closest(p orb.Point, g orb.Geometry) orb.Point {
	if pt, ok := g.(orb.Point); ok {
		return pt
	}
	switch x := g.(type) {
	case orb.Polygon:
		if planar.PolygonContains(x, p) {
			return p
		}
	case orb.MultiPolygon:
		if planar.MultiPolygonContains(x, p) {
			return p
		}
	}
	pl := geo.NewPlane(p)
	best, bestD := p, math.Inf(1)
	var prev orb.Point
	first := true
	visit := func(a orb.Point, start bool) {
		q := pl.Project(a)
		if start || first {
			prev, first = q, false
			if d := math.Hypot(q[0], q[1]); d < bestD {
				best, bestD = q, d
			}
			return
		}
		c := closestOnSegment(prev, q)
		if d := math.Hypot(c[0], c[1]); d < bestD {
			best, bestD = c, d
		}
		prev = q
	}
	geo.EachPath(g, func(path []orb.Point) {
		for i, a := range path {
			visit(a, i == 0)
		}
	})
	if math.IsInf(bestD, 1) {
		return p
	}
	return pl.Unproject(best)
}

// closestOnSegment returns the point of segment ab nearest the origin.
func closestOnSegment(a, b orb.Point) orb.Point {
	d := orb.Point{b[0] - a[0], b[1] - a[1]}
	l2 := d[0]*d[0] + d[1]*d[1]
	if l2 == 0 {
		return a
	}
	t := max(0, min(1, -(a[0]*d[0]+a[1]*d[1])/l2))
	return orb.Point{a[0] + t*d[0], a[1] + t*d[1]}
}
