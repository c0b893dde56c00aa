package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/geo"
	"riskmap/layers"
	"riskmap/layers/memstore"
	"riskmap/web"
)

// district is one square town with a straight road, a station at its west
// end, two hydrants (one faulty) and a red enterprise.
func district(t *testing.T) http.Handler { h, _ := districtStore(t); return h }

func districtStore(t *testing.T) (http.Handler, layers.Store) {
	t.Helper()
	ctx := context.Background()
	st := layers.Observe(memstore.New())
	put := func(layer string, fs ...layers.Feature) {
		for i := range fs {
			fs[i].Layer, fs[i].ID = layer, int64(i+1)
		}
		if err := st.Upsert(ctx, layer, fs); err != nil {
			t.Fatal(err)
		}
	}
	put(layers.Towns, layers.Feature{Geometry: orb.Polygon{{{106.50, 29.30}, {106.60, 29.30}, {106.60, 29.40}, {106.50, 29.40}, {106.50, 29.30}}},
		Props: map[string]any{"name": "鱼洞街道", "code": "1"}})
	put(layers.Roads, layers.Feature{Geometry: orb.LineString{{106.51, 29.35}, {106.59, 29.35}},
		Props: map[string]any{"class": "arterial", "speed_kmh": 36.0}})
	put(layers.FireStations, layers.Feature{Geometry: orb.Point{106.51, 29.35}, Props: map[string]any{"name": "鱼洞站", "kind": "station"}})
	put(layers.WaterSources,
		layers.Feature{Geometry: orb.Point{106.551, 29.35}, Props: map[string]any{"kind": "hydrant", "status": "faulty"}},
		layers.Feature{Geometry: orb.Point{106.56, 29.35}, Props: map[string]any{"kind": "hydrant", "status": "in_service"}})
	put(layers.Enterprises, layers.Feature{Geometry: orb.Point{106.55, 29.352}, Props: map[string]any{"name": "某化工", "category": "hazchem", "risk_level": "red"}})
	return web.New(web.Deps{Store: st, Catalog: layers.NewCatalog()}), st
}

// TestDispatchWhileRoadsChange: briefings run concurrently with writes to
// the roads (which rebuild the network); each answer is the station's ETA
// over one of the two road networks (run with -race).
func TestDispatchWhileRoadsChange(t *testing.T) {
	h, st := districtStore(t)
	slow := layers.Feature{Layer: layers.Roads, ID: 1, Geometry: orb.LineString{{106.51, 29.35}, {106.59, 29.35}},
		Props: map[string]any{"class": "arterial", "speed_kmh": 18.0}}
	fast := slow
	fast.Props = map[string]any{"class": "arterial", "speed_kmh": 36.0}
	kx, _ := geo.MetresPerDegree(29.35)
	etas := []float64{math.Round(60 + 0.04*kx/10), math.Round(60 + 0.04*kx/5)}
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 20 {
			f := fast
			if i%2 == 0 {
				f = slow
			}
			if err := st.Upsert(context.Background(), layers.Roads, []layers.Feature{f}); err != nil {
				t.Error(err)
			}
		}
	})
	for range 4 {
		wg.Go(func() {
			for range 10 {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/dispatch?lon=106.55&lat=29.35", nil))
				var b struct {
					FireStations []struct {
						EtaS float64 `json:"eta_s"`
					} `json:"fire_stations"`
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil || rec.Code != 200 || len(b.FireStations) != 1 ||
					math.Abs(b.FireStations[0].EtaS-etas[0]) > 1 && math.Abs(b.FireStations[0].EtaS-etas[1]) > 1 {
					t.Errorf("%d %s, want eta %v", rec.Code, rec.Body, etas)
				}
			}
		})
	}
	wg.Wait()
	rec := do(t, h, http.MethodGet, "/api/dispatch?lon=106.55&lat=29.35")
	if !strings.Contains(rec.Body.String(), fmt.Sprintf(`"eta_s":%v`, etas[0])) {
		t.Errorf("after the last write (fast road): %s, want eta %v", rec.Body, etas[0])
	}
}

func TestDispatch(t *testing.T) {
	h := district(t)
	rec := do(t, h, http.MethodGet, "/api/dispatch?lon=106.55&lat=29.35&k=3")
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	var b struct {
		Incident struct{ Lon, Lat float64 }
		Town     *struct {
			ID   int64
			Name string
		}
		WaterSources []map[string]any `json:"water_sources"`
		FireStations []map[string]any `json:"fire_stations"`
		Enterprises  []map[string]any
		Hazards      []map[string]any
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
		t.Fatal(err)
	}
	if b.Town == nil || b.Town.Name != "鱼洞街道" || b.Incident.Lon != 106.55 {
		t.Errorf("incident %+v town %+v", b.Incident, b.Town)
	}
	if len(b.WaterSources) != 1 || b.WaterSources[0]["id"] != 2.0 || b.WaterSources[0]["bearing_deg"] != 90.0 {
		t.Errorf("water sources %v", b.WaterSources)
	}
	// 0.04° of longitude at 29.35°N, driven at 10 m/s, after 60 s turnout
	kx, _ := geo.MetresPerDegree(29.35)
	wantEta := 60 + 0.04*kx/10
	if len(b.FireStations) != 1 || b.FireStations[0]["eta_s"].(float64)-wantEta > 1 || wantEta-b.FireStations[0]["eta_s"].(float64) > 1 {
		t.Errorf("stations %v, want eta %.0f", b.FireStations, wantEta)
	}
	if len(b.Enterprises) != 1 || b.Hazards == nil || len(b.Hazards) != 0 {
		t.Errorf("enterprises %v hazards %v", b.Enterprises, b.Hazards)
	}
	for _, c := range []struct{ q, want string }{
		{"lon=106.55", "lat is required"},
		{"lon=abc&lat=29.35", "lon must be a number"},
		{"lon=106.55&lat=95", "lat must be from -90 to 90"},
		{"lon=106.55&lat=29.35&k=0", "k must be an integer from 1 to 20"},
		{"lon=106.55&lat=29.35&crs=utm", "crs:"},
		{"lon=106.55&lat=29.35&z=1", `unknown parameter "z"`},
		{"lon=116.4&lat=39.9", "point outside Banan district"},
	} {
		rec := do(t, h, http.MethodGet, "/api/dispatch?"+c.q)
		var e struct{ Error string }
		_ = json.Unmarshal(rec.Body.Bytes(), &e)
		if rec.Code != 400 || !strings.Contains(e.Error, c.want) {
			t.Errorf("%s: %d %s, want 400 %q", c.q, rec.Code, rec.Body, c.want)
		}
	}
	// GCJ-02 in and out: the same place, answered in GCJ-02
	g := geo.WGS84ToGCJ02(orb.Point{106.55, 29.35})
	rec = do(t, h, http.MethodGet, "/api/dispatch?crs=gcj02&lon="+ftoa(g[0])+"&lat="+ftoa(g[1]))
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil || rec.Code != 200 {
		t.Fatal(rec.Code, err)
	}
	w := geo.WGS84ToGCJ02(orb.Point{106.56, 29.35})
	if d := geo.Distance(orb.Point{b.WaterSources[0]["lon"].(float64), b.WaterSources[0]["lat"].(float64)}, w); d > 0.1 {
		t.Errorf("gcj02 water source at %v, want %v", b.WaterSources[0], w)
	}
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
