package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/fixtures"
	"riskmap/geo"
	"riskmap/layers"
	"riskmap/layers/memstore"
	"riskmap/web"
)

// TestDemo serves the generated Banan demo and checks the API against the
// dataset itself: counts, whole layers paged through, bbox and filter
// selections.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("generates the demo dataset")
	}
	ds, err := fixtures.Generate(fixtures.Demo)
	if err != nil {
		t.Fatal(err)
	}
	st := memstore.New()
	if err := ds.Load(context.Background(), st, nil); err != nil {
		t.Fatal(err)
	}
	cat := layers.NewCatalog()
	h := web.New(web.Deps{Store: st, Catalog: cat})

	var cols struct {
		Collections []struct {
			ID    string
			Count int `json:"feature_count"`
		}
	}
	rec := do(t, h, http.MethodGet, "/api/collections")
	if err := json.Unmarshal(rec.Body.Bytes(), &cols); err != nil || len(cols.Collections) != 13 {
		t.Fatalf("collections: %v %d", err, len(cols.Collections))
	}
	for _, c := range cols.Collections {
		if want := len(ds.Layer(c.ID)); c.Count != want || want == 0 {
			t.Errorf("%s: feature_count %d, dataset %d", c.ID, c.Count, want)
		}
	}

	// every feature of a layer exactly once, in id order, by next links
	all := pageAll(t, h, "/api/collections/enterprises/items?limit=1000")
	if want := ids2(ds.Layer(layers.Enterprises), func(layers.Feature) bool { return true }); !slices.Equal(all, want) {
		t.Errorf("paged enterprises: %d ids, dataset %d", len(all), len(want))
	}

	// a bbox in 鱼洞 and a filter, against a brute-force selection
	box := orb.Bound{Min: orb.Point{106.50, 29.36}, Max: orb.Point{106.54, 29.40}}
	got := pageAll(t, h, fmt.Sprintf("/api/collections/buildings/items?limit=2000&bbox=%g,%g,%g,%g",
		box.Min[0], box.Min[1], box.Max[0], box.Max[1]))
	want := ids2(ds.Layer(layers.Buildings), func(f layers.Feature) bool { return box.Intersects(f.Geometry.Bound()) })
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("buildings in %v: %d, brute force %d", box, len(got), len(want))
	}
	got = pageAll(t, h, "/api/collections/enterprises/items?limit=10000&risk_level=red,orange&major_hazard=true")
	want = ids2(ds.Layer(layers.Enterprises), func(f layers.Feature) bool {
		return (f.Props["risk_level"] == "red" || f.Props["risk_level"] == "orange") && f.Props["major_hazard"] == true
	})
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("red/orange major hazards: %d, brute force %d", len(got), len(want))
	}

	// a CQL2 filter, paged in id order and sorted, against geo distances
	center := orb.Point{106.53, 29.38}
	filter := url.QueryEscape(fmt.Sprintf("status = 'in_service' AND (flow_lps >= 15 OR kind <> 'hydrant') AND S_DWITHIN(geometry, POINT(%g %g), 1500)", center[0], center[1]))
	want = ids2(ds.Layer(layers.WaterSources), func(f layers.Feature) bool {
		flow, _ := f.Props["flow_lps"].(float64)
		return f.Props["status"] == "in_service" && (flow >= 15 || f.Props["kind"] != "hydrant") && geo.DistanceTo(center, f.Geometry) <= 1500
	})
	got = pageAll(t, h, "/api/collections/water_sources/items?limit=37&filter="+filter)
	if len(want) < 50 || !slices.Equal(got, want) {
		t.Errorf("filtered water sources: %d, brute force %d", len(got), len(want))
	}
	got = pageAll(t, h, "/api/collections/water_sources/items?limit=37&sortby=-flow_lps,kind&filter="+filter)
	if slices.Sort(got); !slices.Equal(got, want) {
		t.Errorf("filtered sorted water sources: %d, brute force %d", len(got), len(want))
	}
}

// pageAll follows next links from target and returns the ids in order,
// checking numberMatched on every page.
func pageAll(t *testing.T, h http.Handler, target string) []int64 {
	t.Helper()
	var out []int64
	matched := -1
	for pages := 0; target != ""; pages++ {
		if pages > 1000 {
			t.Fatal("too many pages")
		}
		p, rec := items(t, h, target)
		if rec.Code != 200 {
			t.Fatalf("%s: %d %s", target, rec.Code, rec.Body)
		}
		if matched >= 0 && p.NumberMatched != matched {
			t.Fatalf("numberMatched changed from %d to %d", matched, p.NumberMatched)
		}
		matched = p.NumberMatched
		out = append(out, ids(p)...)
		target = ""
		for _, l := range p.Links {
			if l.Rel == "next" {
				u, err := url.Parse(l.Href)
				if err != nil {
					t.Fatal(err)
				}
				target = u.RequestURI()
			}
		}
	}
	if len(out) != matched {
		t.Errorf("paged %d features, numberMatched %d", len(out), matched)
	}
	return out
}

func ids2(fs []layers.Feature, keep func(layers.Feature) bool) []int64 {
	var out []int64
	for _, f := range fs {
		if keep(f) {
			out = append(out, f.ID)
		}
	}
	slices.Sort(out)
	return out
}
