package cql

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/paulmach/orb"

	"riskmap/geo"
	"riskmap/layers"
)

// Filter is a parsed filter bound to a layer: its literals coerced to the
// field types, LIKE patterns compiled.
type Filter struct {
	e     Expr
	likes map[string]*regexp.Regexp
}

// Bind checks e against the layer's fields and coerces its literals. A
// spatial literal is converted from crs to WGS84.
func Bind(e Expr, l *layers.Layer, crs geo.CRS) (*Filter, error) {
	f := &Filter{likes: map[string]*regexp.Regexp{}}
	var err error
	f.e, err = f.bind(e, l, crs)
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (f *Filter) bind(e Expr, l *layers.Layer, crs geo.CRS) (Expr, error) {
	field := func(prop string) (layers.Field, error) {
		fd, ok := l.Field(prop)
		if !ok {
			names := make([]string, len(l.Fields))
			for i, x := range l.Fields {
				names[i] = x.Name
			}
			return fd, fmt.Errorf("%w: filter: unknown property %q: not a field of %s (fields: %s; the geometry is %q in S_INTERSECTS and S_DWITHIN)",
				layers.ErrInvalid, prop, l.ID, strings.Join(names, ", "), GeometryProp)
		}
		return fd, nil
	}
	coerce := func(fd layers.Field, v any) (any, error) {
		c, err := fd.Coerce(v)
		if err != nil {
			return nil, fmt.Errorf("%w: filter: property %s: %v", layers.ErrInvalid, fd.Name, err)
		}
		if c == nil {
			return nil, fmt.Errorf("%w: filter: property %s: empty value (use IS NULL)", layers.ErrInvalid, fd.Name)
		}
		return c, nil
	}
	two := func(a, b Expr) (Expr, Expr, error) {
		x, err := f.bind(a, l, crs)
		if err != nil {
			return nil, nil, err
		}
		y, err := f.bind(b, l, crs)
		return x, y, err
	}
	switch x := e.(type) {
	case And:
		a, b, err := two(x.L, x.R)
		return And{a, b}, err
	case Or:
		a, b, err := two(x.L, x.R)
		return Or{a, b}, err
	case Not:
		a, err := f.bind(x.X, l, crs)
		return Not{a}, err
	case Compare:
		fd, err := field(x.Prop)
		if err != nil {
			return nil, err
		}
		x.Value, err = coerce(fd, x.Value)
		return x, err
	case In:
		fd, err := field(x.Prop)
		if err != nil {
			return nil, err
		}
		vals := make([]any, len(x.Values))
		for i, v := range x.Values {
			if vals[i], err = coerce(fd, v); err != nil {
				return nil, err
			}
		}
		return In{x.Prop, vals}, nil
	case Between:
		fd, err := field(x.Prop)
		if err != nil {
			return nil, err
		}
		if x.Lo, err = coerce(fd, x.Lo); err != nil {
			return nil, err
		}
		x.Hi, err = coerce(fd, x.Hi)
		return x, err
	case IsNull:
		_, err := field(x.Prop)
		return x, err
	case Like:
		fd, err := field(x.Prop)
		if err != nil {
			return nil, err
		}
		if fd.Type != layers.String && fd.Type != layers.Enum {
			return nil, fmt.Errorf("%w: filter: LIKE needs a text property; %s is %s", layers.ErrInvalid, fd.Name, fd.Type)
		}
		if _, ok := f.likes[x.Pattern]; !ok {
			f.likes[x.Pattern] = likeRegexp(x.Pattern)
		}
		return x, nil
	case Intersects:
		return Intersects{geo.ToWGS84(crs, x.Geom)}, nil
	case DWithin:
		return DWithin{geo.ToWGS84(crs, x.Geom), x.Metres}, nil
	}
	return nil, fmt.Errorf("%w: filter: empty expression", layers.ErrInvalid)
}

// likeRegexp compiles a LIKE pattern: % any run, _ any one character, the
// whole value matched.
func likeRegexp(pat string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`(?s)^`)
	for _, r := range pat {
		switch r {
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// Match reports whether the feature satisfies the filter. A comparison,
// IN, LIKE or BETWEEN on an absent property is false (NOT of it true).
func (f *Filter) Match(ft layers.Feature) bool { return f.match(f.e, ft) }

func (f *Filter) match(e Expr, ft layers.Feature) bool {
	switch x := e.(type) {
	case And:
		return f.match(x.L, ft) && f.match(x.R, ft)
	case Or:
		return f.match(x.L, ft) || f.match(x.R, ft)
	case Not:
		return !f.match(x.X, ft)
	case Compare:
		return layers.Filter{Field: x.Prop, Op: x.Op, Values: []any{x.Value}}.Match(ft.Props)
	case In:
		return layers.Filter{Field: x.Prop, Op: layers.OpIn, Values: x.Values}.Match(ft.Props)
	case IsNull:
		return layers.Filter{Field: x.Prop, Op: layers.OpIsNull}.Match(ft.Props)
	case Between:
		return layers.Filter{Field: x.Prop, Op: layers.OpGe, Values: []any{x.Lo}}.Match(ft.Props) &&
			layers.Filter{Field: x.Prop, Op: layers.OpLe, Values: []any{x.Hi}}.Match(ft.Props)
	case Like:
		s, ok := ft.Props[x.Prop].(string)
		return ok && f.likes[x.Pattern].MatchString(s)
	case Intersects:
		return ft.Geometry != nil && x.Geom.Bound().Intersects(ft.Geometry.Bound()) && geo.GeometryDistance(ft.Geometry, x.Geom) == 0
	case DWithin:
		return ft.Geometry != nil && geo.WithinDistance(ft.Geometry, x.Geom, x.Metres)
	}
	return false
}

// Pushdown returns what a store can select before Match: the bbox every
// match's bounds intersect (zero: none) and property filters every match
// passes, taken from the top-level AND terms. empty is true when no
// feature can match (two disjoint boxes).
func (f *Filter) Pushdown() (bbox orb.Bound, filters []layers.Filter, empty bool) {
	var terms []Expr
	var flatten func(Expr)
	flatten = func(e Expr) {
		if a, ok := e.(And); ok {
			flatten(a.L)
			flatten(a.R)
			return
		}
		terms = append(terms, e)
	}
	flatten(f.e)
	has := false
	clip := func(b orb.Bound) {
		if !has {
			bbox, has = b, true
			return
		}
		if !bbox.Intersects(b) {
			empty = true
			return
		}
		bbox = orb.Bound{Min: orb.Point{max(bbox.Min[0], b.Min[0]), max(bbox.Min[1], b.Min[1])},
			Max: orb.Point{min(bbox.Max[0], b.Max[0]), min(bbox.Max[1], b.Max[1])}}
	}
	for _, t := range terms {
		switch x := t.(type) {
		case Compare:
			filters = append(filters, layers.Filter{Field: x.Prop, Op: x.Op, Values: []any{x.Value}})
		case In:
			filters = append(filters, layers.Filter{Field: x.Prop, Op: layers.OpIn, Values: x.Values})
		case IsNull:
			filters = append(filters, layers.Filter{Field: x.Prop, Op: layers.OpIsNull})
		case Between:
			filters = append(filters, layers.Filter{Field: x.Prop, Op: layers.OpGe, Values: []any{x.Lo}},
				layers.Filter{Field: x.Prop, Op: layers.OpLe, Values: []any{x.Hi}})
		case Intersects:
			clip(x.Geom.Bound())
		case DWithin:
			clip(geo.ExpandBound(x.Geom.Bound(), x.Metres))
		}
	}
	if has && bbox == (orb.Bound{}) {
		// a zero bound means "no bbox" to a store: widen it by a hair
		bbox = geo.ExpandBound(bbox, 0.01)
	}
	return bbox, filters, empty
}
