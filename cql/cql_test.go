package cql_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/cql"
	"riskmap/geo"
	"riskmap/layers"
)

func water(t testing.TB) *layers.Layer {
	l, err := layers.NewCatalog().Layer(layers.WaterSources)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// hydrants: 1 in service 12 L/s at the origin of the test area, 2 faulty
// 8 L/s 1 km east, 3 planned without flow 2 km east.
var hydrants = []layers.Feature{
	{ID: 1, Geometry: orb.Point{106.50, 29.40}, Props: map[string]any{"name": "A-1 栓", "kind": "hydrant", "status": "in_service", "flow_lps": 12.0, "town": "鱼洞街道"}},
	{ID: 2, Geometry: orb.Point{106.51031, 29.40}, Props: map[string]any{"name": "B_2", "kind": "hydrant", "status": "faulty", "flow_lps": 8.0, "key_area": true}},
	{ID: 3, Geometry: orb.Point{106.52062, 29.40}, Props: map[string]any{"kind": "fire_pool", "status": "planned"}},
}

func TestMatch(t *testing.T) {
	l := water(t)
	for _, c := range []struct {
		filter string
		want   string
	}{
		{"status = 'in_service'", "1"},
		{"status <> 'in_service'", "2,3"},
		{"status = '在用'", "1"}, // enum by its Chinese title
		{"flow_lps > 10", "1"},
		{"flow_lps >= 8 AND flow_lps <= 12", "1,2"},
		{"flow_lps < 10 OR flow_lps IS NULL", "2,3"},
		{"NOT (flow_lps < 10)", "1,3"},
		{"flow_lps BETWEEN 8 AND 9", "2"},
		{"flow_lps NOT BETWEEN 8 AND 9", "1,3"},
		{"status IN ('faulty', 'planned')", "2,3"},
		{"status NOT IN ('faulty', 'planned')", "1"},
		{"name LIKE 'A%'", "1"},
		{"name LIKE '_\\_2'", ""},
		{"name LIKE 'B_2'", "2"},
		{"name NOT LIKE '%栓'", "2,3"},
		{"flow_lps IS NOT NULL", "1,2"},
		{"key_area = TRUE", "2"},
		{`"town" = '鱼洞街道'`, "1"},
		{"S_INTERSECTS(geometry, BBOX(106.505, 29.39, 106.53, 29.41))", "2,3"},
		{"S_INTERSECTS(geometry, POLYGON((106.505 29.39, 106.53 29.39, 106.53 29.41, 106.505 29.41, 106.505 29.39)))", "2,3"},
		{"S_INTERSECTS(POINT(106.5 29.4), geometry)", "1"},
		{"S_DWITHIN(geometry, POINT(106.5 29.4), 1010)", "1,2"},
		{"S_DWITHIN(geometry, POINT(106.5 29.4), 990, meters)", "1"},
		{"s_dwithin(geometry, LINESTRING(106.5 29.41, 106.53 29.41), 1200) and status='planned'", "3"},
		{"(status = 'faulty' OR status = 'planned') AND NOT kind = 'fire_pool'", "2"},
	} {
		e, err := cql.Parse(c.filter)
		if err != nil {
			t.Errorf("%s: %v", c.filter, err)
			continue
		}
		f, err := cql.Bind(e, l, geo.WGS84)
		if err != nil {
			t.Errorf("%s: %v", c.filter, err)
			continue
		}
		var got []string
		bbox, filters, empty := f.Pushdown()
		q := layers.Query{BBox: bbox, Filters: filters}
		for _, h := range hydrants {
			if f.Match(h) {
				got = append(got, fmt.Sprint(h.ID))
				if !q.Match(h) || empty {
					t.Errorf("%s: feature %d matches but the pushdown %v %v %v drops it", c.filter, h.ID, bbox, filters, empty)
				}
			}
		}
		if g := strings.Join(got, ","); g != c.want {
			t.Errorf("%s: %q, want %q", c.filter, g, c.want)
		}
	}
}

func TestErrors(t *testing.T) {
	l := water(t)
	for _, c := range []struct{ filter, want string }{
		{"", "expected a property"},
		{"colour = 'red'", `unknown property "colour"`},
		{"flow_lps = 'lots'", "property flow_lps"},
		{"status = 'broken'", "property status"},
		{"flow_lps LIKE '1%'", "LIKE needs a text property"},
		{"status = ", "expected a value"},
		{"status = 'x", "unterminated string"},
		{"(status = 'faulty'", `expected ")"`},
		{"status = 'faulty' extra", "unexpected"},
		{"status IN ()", "expected a value"},
		{"S_INTERSECTS(geometry, POINT(200 0))", "not a longitude"},
		{"S_INTERSECTS(geometry, POINT(1 2)", `expected ")"`},
		{"S_INTERSECTS(geometry, CIRCLE(1 2))", `found "CIRCLE"`},
		{"S_INTERSECTS(name, POINT(1 2))", `expected "geometry"`},
		{"S_DWITHIN(geometry, POINT(106 29), -5)", "distance in metres"},
		{"S_DWITHIN(geometry, POINT(106 29), 5, feet)", "meters"},
		{"S_INTERSECTS(geometry, BBOX(2, 0, 1, 1))", "minLon"},
		{strings.Repeat("(", 40) + "status = 'faulty'" + strings.Repeat(")", 40), "deeper than"},
		{strings.Repeat("x", cql.MaxLen+1), "at most 8192"},
		{"status ! 'a'", `unexpected "!"`},
		{"status = 'a' AND", "expected a property"},
		{"AND = 1", "keyword AND"},
	} {
		e, err := cql.Parse(c.filter)
		if err == nil {
			_, err = cql.Bind(e, l, geo.WGS84)
		}
		if err == nil || !errors.Is(err, layers.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%.60s: %v, want an invalid-input error containing %q", c.filter, err, c.want)
		}
	}
}

func TestPushdownDisjoint(t *testing.T) {
	e, err := cql.Parse("S_INTERSECTS(geometry, BBOX(0,0,1,1)) AND S_INTERSECTS(geometry, BBOX(2,2,3,3))")
	if err != nil {
		t.Fatal(err)
	}
	f, err := cql.Bind(e, water(t), geo.WGS84)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, empty := f.Pushdown(); !empty {
		t.Error("disjoint boxes: not empty")
	}
}

// FuzzParse: any text parses or fails with an invalid-input error; a parsed
// filter binds or fails likewise, and matching never panics.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"status = 'in_service' AND flow_lps >= 10",
		"NOT (a IN (1, 2.5e3, 'x''y')) OR b IS NOT NULL",
		"name LIKE '%栓_' AND x BETWEEN DATE('2025-01-01') AND TIMESTAMP('2025-12-31T00:00:00Z')",
		"S_INTERSECTS(geometry, MULTIPOLYGON(((106 29, 107 29, 107 30, 106 29))))",
		"S_DWITHIN(geometry, POINT(106.5 29.4), 500, meters)",
		"S_INTERSECTS(geometry, BBOX(106, 29, 107, 30))",
		`"flow_lps" != -1`,
	} {
		f.Add(s)
	}
	l := water(f)
	f.Fuzz(func(t *testing.T, s string) {
		e, err := cql.Parse(s)
		if err != nil {
			if !errors.Is(err, layers.ErrInvalid) {
				t.Fatalf("%q: %v is not ErrInvalid", s, err)
			}
			return
		}
		b, err := cql.Bind(e, l, geo.GCJ02)
		if err != nil {
			if !errors.Is(err, layers.ErrInvalid) {
				t.Fatalf("%q: bind: %v is not ErrInvalid", s, err)
			}
			return
		}
		b.Pushdown()
		for _, h := range hydrants {
			b.Match(h)
		}
	})
}

func Example() {
	l, _ := layers.NewCatalog().Layer(layers.WaterSources)
	e, _ := cql.Parse("status = 'in_service' AND S_DWITHIN(geometry, POINT(106.5 29.4), 500)")
	f, _ := cql.Bind(e, l, geo.WGS84)
	near := layers.Feature{Geometry: orb.Point{106.503, 29.401}, Props: map[string]any{"status": "in_service"}}
	far := layers.Feature{Geometry: orb.Point{106.51, 29.401}, Props: map[string]any{"status": "in_service"}}
	fmt.Println(f.Match(near), f.Match(far))
	// Output: true false
}

func TestDates(t *testing.T) {
	l, err := layers.NewCatalog().Layer(layers.Hazards)
	if err != nil {
		t.Fatal(err)
	}
	hz := []layers.Feature{
		{ID: 1, Props: map[string]any{"found_date": "2025-02-10", "status": "reported"}},
		{ID: 2, Props: map[string]any{"found_date": "2025-07-01", "status": "closed"}},
		{ID: 3, Props: map[string]any{"status": "reported"}},
	}
	for _, c := range []struct{ filter, want string }{
		{"found_date BETWEEN DATE('2025-01-01') AND DATE('2025-06-30')", "1"},
		{"found_date >= '2025/03/01'", "2"}, // coerced as imports are
		{"found_date < TIMESTAMP('2025-07-01T00:00:00Z')", "1"},
		{"found_date IS NULL OR status = '已销号'", "2,3"},
	} {
		e, err := cql.Parse(c.filter)
		if err != nil {
			t.Fatal(err)
		}
		f, err := cql.Bind(e, l, geo.WGS84)
		if err != nil {
			t.Fatalf("%s: %v", c.filter, err)
		}
		var got []string
		for _, h := range hz {
			if f.Match(h) {
				got = append(got, fmt.Sprint(h.ID))
			}
		}
		if g := strings.Join(got, ","); g != c.want {
			t.Errorf("%s: %q, want %q", c.filter, g, c.want)
		}
	}
}
