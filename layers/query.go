package layers

import (
	"fmt"
	"slices"

	"github.com/paulmach/orb"
)

// Op is a comparison operator of a property filter.
type Op string

// The filter operators every store supports.
const (
	OpEq     Op = "="
	OpNe     Op = "<>"
	OpLt     Op = "<"
	OpLe     Op = "<="
	OpGt     Op = ">"
	OpGe     Op = ">="
	OpIn     Op = "in"      // Values holds the candidates
	OpIsNull Op = "is null" // no Values
)

// Filter compares one property with a value. Values are already coerced to
// the field's type (see Field.Coerce); OpIn takes several.
type Filter struct {
	Field  string
	Op     Op
	Values []any
}

// Eq is a shorthand for the most common filter.
func Eq(field string, v any) Filter { return Filter{Field: field, Op: OpEq, Values: []any{v}} }

// Match reports whether props satisfy the filter. Stores that filter in Go
// use it; PostGIS translates the same semantics to SQL. A missing property
// matches only OpIsNull (and OpNe, as in SQL it would be NULL: no match).
func (f Filter) Match(props map[string]any) bool {
	v, ok := props[f.Field]
	return f.MatchValue(v, ok)
}

// MatchValue is Match for a property the caller has looked up: its value
// and whether it is present. Stores that keep properties in another shape
// than a map use it.
func (f Filter) MatchValue(v any, ok bool) bool {
	if !ok || v == nil {
		return f.Op == OpIsNull
	}
	switch f.Op {
	case OpIsNull:
		return false
	case OpIn:
		return slices.ContainsFunc(f.Values, func(w any) bool { return Compare(v, w) == 0 })
	}
	if len(f.Values) != 1 {
		return false
	}
	c := Compare(v, f.Values[0])
	switch f.Op {
	case OpEq:
		return c == 0
	case OpNe:
		return c != 0 && c != incomparable
	case OpLt:
		return c == -1
	case OpLe:
		return c == -1 || c == 0
	case OpGt:
		return c == 1
	case OpGe:
		return c == 1 || c == 0
	}
	return false
}

const incomparable = 2

// Compare orders two property values: -1, 0 or 1, or 2 when they cannot be
// compared (different kinds). Numbers compare across int64 and float64.
func Compare(a, b any) int {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		if !ok {
			return incomparable
		}
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	case bool:
		y, ok := b.(bool)
		if !ok {
			return incomparable
		}
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	}
	x, ok1 := number(a)
	y, ok2 := number(b)
	if !ok1 || !ok2 {
		return incomparable
	}
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case float64:
		return n, true
	case int:
		return float64(n), true
	}
	return 0, false
}

// Query selects features of one layer. Results are ordered by ID ascending,
// which makes paging stable: AfterID is a keyset cursor.
type Query struct {
	Layer   string
	BBox    orb.Bound // zero value: no spatial filter; else features whose bounds intersect it
	Filters []Filter  // all must match
	AfterID int64     // only features with ID > AfterID (0 = from the start; ids are ≥ 1)
	Limit   int       // 0 = no limit
}

// HasBBox reports whether the query has a spatial filter.
func (q Query) HasBBox() bool { return q.BBox != orb.Bound{} }

// Match reports whether f passes the query's bbox and filters (not the cursor
// or limit). Stores that filter in Go use it.
func (q Query) Match(f Feature) bool {
	if q.HasBBox() && (f.Geometry == nil || !q.BBox.Intersects(f.Geometry.Bound())) {
		return false
	}
	for _, flt := range q.Filters {
		if !flt.Match(f.Props) {
			return false
		}
	}
	return true
}

// NearestQuery asks for the K features of a layer closest to Point, measured
// on the ground in metres to the geometry (0 inside a polygon).
type NearestQuery struct {
	Layer        string
	Point        orb.Point
	K            int
	Filters      []Filter
	MaxDistanceM float64 // 0 = unbounded
}

// LayerStats summarises a layer held by a store.
type LayerStats struct {
	Count  int
	Extent orb.Bound // zero when empty
}

// ValidateBBox checks a WGS84 bbox: ordered, finite, within lon/lat range.
func ValidateBBox(b orb.Bound) error {
	if b.Min[0] < -180 || b.Max[0] > 180 || b.Min[1] < -90 || b.Max[1] > 90 ||
		b.Min[0] > b.Max[0] || b.Min[1] > b.Max[1] {
		return fmt.Errorf("%w: bbox %v,%v,%v,%v must be minLon,minLat,maxLon,maxLat in WGS84",
			ErrInvalid, b.Min[0], b.Min[1], b.Max[0], b.Max[1])
	}
	return nil
}
