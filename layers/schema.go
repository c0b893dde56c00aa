package layers

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"
)

// Title is a bilingual label: Chinese first, English beside it.
type Title struct {
	Zh string `json:"zh"`
	En string `json:"en"`
}

// FieldType is the type of a property.
type FieldType string

// Field types. Enums are strings restricted to codes; dates are YYYY-MM-DD.
const (
	String FieldType = "string"
	Int    FieldType = "integer"
	Float  FieldType = "number"
	Bool   FieldType = "boolean"
	Date   FieldType = "date"
	Enum   FieldType = "enum"
)

// EnumValue is one allowed value of an enum field: its stored English code
// and its titles; imports accept any of the three spellings.
type EnumValue struct {
	Code string `json:"code"`
	Zh   string `json:"zh"`
	En   string `json:"en"`
}

// Field is one typed property of a layer schema.
type Field struct {
	Name     string            `json:"name"`
	Type     FieldType         `json:"type"`
	Title    Title             `json:"title"`
	Unit     string            `json:"unit,omitempty"`
	Required bool              `json:"required,omitempty"`
	Values   []EnumValue       `json:"values,omitempty"`  // Enum only
	Aliases  map[string]string `json:"aliases,omitempty"` // Enum only: other spellings → code
}

// GeomType is a geometry family a layer accepts; Multi* variants of the
// family are accepted too.
type GeomType string

// Geometry families.
const (
	Point   GeomType = "Point"
	Line    GeomType = "LineString"
	Polygon GeomType = "Polygon"
)

// Family returns the family of an orb geometry, or "" for collections and
// bounds.
func Family(g orb.Geometry) GeomType {
	switch g.(type) {
	case orb.Point, orb.MultiPoint:
		return Point
	case orb.LineString, orb.MultiLineString:
		return Line
	case orb.Polygon, orb.MultiPolygon:
		return Polygon
	}
	return ""
}

// Coerce converts v to the field's type: numbers from JSON floats or
// strings, booleans from common spellings (是/否, yes/no, 1/0), enums from
// their code or Chinese or English title, dates from YYYY-MM-DD or
// YYYY/MM/DD. nil and "" become nil. The error says what was expected.
func (f Field) Coerce(v any) (any, error) {
	if s, ok := v.(string); ok {
		s = strings.TrimSpace(s)
		if s == "" {
			return nil, nil
		}
		v = s
	}
	if v == nil {
		return nil, nil
	}
	switch f.Type {
	case String:
		switch x := v.(type) {
		case string:
			return x, nil
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64), nil
		case int64:
			return strconv.FormatInt(x, 10), nil
		case int:
			return strconv.Itoa(x), nil
		case bool:
			return strconv.FormatBool(x), nil
		}
	case Int:
		switch x := v.(type) {
		case int64:
			return x, nil
		case int:
			return int64(x), nil
		case float64:
			if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
				return int64(x), nil
			}
			return nil, fmt.Errorf("%v is not a whole number", x)
		case string:
			n, err := strconv.ParseInt(x, 10, 64)
			if err != nil {
				fl, ferr := strconv.ParseFloat(x, 64)
				if ferr != nil || fl != math.Trunc(fl) {
					return nil, fmt.Errorf("%q is not a whole number", x)
				}
				n = int64(fl)
			}
			return n, nil
		}
	case Float:
		switch x := v.(type) {
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, fmt.Errorf("%v is not a finite number", x)
			}
			return x, nil
		case int64:
			return float64(x), nil
		case int:
			return float64(x), nil
		case string:
			n, err := strconv.ParseFloat(x, 64)
			if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
				return nil, fmt.Errorf("%q is not a number", x)
			}
			return n, nil
		}
	case Bool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case float64:
			if x == 0 || x == 1 {
				return x == 1, nil
			}
		case int64:
			if x == 0 || x == 1 {
				return x == 1, nil
			}
		case string:
			switch strings.ToLower(x) {
			case "true", "t", "yes", "y", "1", "是", "有":
				return true, nil
			case "false", "f", "no", "n", "0", "否", "无":
				return false, nil
			}
			return nil, fmt.Errorf("%q is not a boolean (true/false, 是/否)", x)
		}
	case Date:
		if x, ok := v.(string); ok {
			for _, layout := range []string{"2006-01-02", "2006/01/02", "2006/1/2", "2006-1-2", time.RFC3339} {
				if t, err := time.Parse(layout, x); err == nil {
					return t.Format("2006-01-02"), nil
				}
			}
			return nil, fmt.Errorf("%q is not a date (YYYY-MM-DD)", x)
		}
	case Enum:
		x, ok := v.(string)
		if !ok {
			break
		}
		for _, e := range f.Values {
			if x == e.Code || x == e.Zh || strings.EqualFold(x, e.En) {
				return e.Code, nil
			}
		}
		if code, ok := f.Aliases[x]; ok {
			return code, nil
		}
		codes := make([]string, len(f.Values))
		for i, e := range f.Values {
			codes[i] = e.Code
		}
		return nil, fmt.Errorf("%q is not one of %s", x, strings.Join(codes, ", "))
	}
	return nil, fmt.Errorf("%v (%T) is not a %s", v, v, f.Type)
}

// EnumTitle returns the titles of an enum code, or false.
func (f Field) EnumTitle(code string) (Title, bool) {
	for _, e := range f.Values {
		if e.Code == code {
			return Title{Zh: e.Zh, En: e.En}, true
		}
	}
	return Title{}, false
}

// Layer describes one layer: identity, titles, geometry, schema, display.
type Layer struct {
	ID        string     `json:"id"`
	Title     Title      `json:"title"`
	Geometry  []GeomType `json:"geometry"`
	Fields    []Field    `json:"fields"`
	MinZoom   int        `json:"minzoom"`
	MaxZoom   int        `json:"maxzoom"`
	Derived   bool       `json:"derived,omitempty"`   // produced by an analysis
	Sensitive bool       `json:"sensitive,omitempty"` // served only with a viewer token
}

// Field returns the named field, or false.
func (l *Layer) Field(name string) (Field, bool) {
	for _, f := range l.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// Normalize validates f against the layer schema and coerces its
// properties in place (see Field.Coerce). Unknown properties are an error,
// so a typo in a source column is not silently dropped; nil values are
// removed. The error is a *ValidationError naming layer, feature and field.
func (l *Layer) Normalize(f *Feature) error {
	bad := func(field, format string, a ...any) error {
		return &ValidationError{Layer: l.ID, ID: f.ID, Field: field, Reason: fmt.Sprintf(format, a...)}
	}
	if f.Layer != "" && f.Layer != l.ID {
		return bad("", "feature belongs to layer %q", f.Layer)
	}
	f.Layer = l.ID
	if f.ID <= 0 {
		return bad("id", "id must be a positive integer, got %d", f.ID)
	}
	if err := l.checkGeometry(f.Geometry); err != nil {
		return bad("geometry", "%v", err)
	}
	for name, v := range f.Props {
		fd, ok := l.Field(name)
		if !ok {
			return bad(name, "no such field in layer %s", l.ID)
		}
		c, err := fd.Coerce(v)
		if err != nil {
			return bad(name, "%v", err)
		}
		if c == nil {
			delete(f.Props, name)
			continue
		}
		f.Props[name] = c
	}
	for _, fd := range l.Fields {
		if fd.Required {
			if _, ok := f.Props[fd.Name]; !ok {
				return bad(fd.Name, "required field is missing")
			}
		}
	}
	return nil
}

func (l *Layer) checkGeometry(g orb.Geometry) error {
	if g == nil {
		return fmt.Errorf("missing geometry")
	}
	fam := Family(g)
	ok := false
	for _, t := range l.Geometry {
		ok = ok || t == fam
	}
	if !ok {
		return fmt.Errorf("%s is not allowed, want %v", g.GeoJSONType(), l.Geometry)
	}
	bad := false
	visit := func(p orb.Point) {
		if math.IsNaN(p[0]) || math.IsNaN(p[1]) || p[0] < -180 || p[0] > 180 || p[1] < -90 || p[1] > 90 {
			bad = true
		}
	}
	n := 0
	EachPoint(g, func(p orb.Point) { visit(p); n++ })
	if bad {
		return fmt.Errorf("coordinates outside lon -180..180, lat -90..90")
	}
	switch x := g.(type) {
	case orb.LineString:
		if len(x) < 2 {
			return fmt.Errorf("a line needs at least 2 points")
		}
	case orb.MultiLineString:
		for _, ls := range x {
			if len(ls) < 2 {
				return fmt.Errorf("a line needs at least 2 points")
			}
		}
	case orb.Polygon:
		return checkPolygon(x)
	case orb.MultiPolygon:
		for _, p := range x {
			if err := checkPolygon(p); err != nil {
				return err
			}
		}
	}
	if n == 0 {
		return fmt.Errorf("empty geometry")
	}
	return nil
}

func checkPolygon(p orb.Polygon) error {
	if len(p) == 0 {
		return fmt.Errorf("empty polygon")
	}
	for _, r := range p {
		if len(r) < 4 || !r.Closed() {
			return fmt.Errorf("a polygon ring needs at least 4 points and must be closed")
		}
	}
	return nil
}

// EachPoint calls fn for every vertex of g.
func EachPoint(g orb.Geometry, fn func(orb.Point)) {
	switch x := g.(type) {
	case orb.Point:
		fn(x)
	case orb.MultiPoint:
		for _, p := range x {
			fn(p)
		}
	case orb.LineString:
		for _, p := range x {
			fn(p)
		}
	case orb.MultiLineString:
		for _, l := range x {
			EachPoint(l, fn)
		}
	case orb.Ring:
		for _, p := range x {
			fn(p)
		}
	case orb.Polygon:
		for _, r := range x {
			EachPoint(r, fn)
		}
	case orb.MultiPolygon:
		for _, p := range x {
			EachPoint(p, fn)
		}
	}
}
