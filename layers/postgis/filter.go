package postgis

import (
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/paulmach/orb"

	"riskmap/layers"
)

// where accumulates the conditions and arguments of a parameterised query.
// Values only ever travel as arguments; identifiers only come from the
// catalog.
type where struct {
	conds []string
	args  []any
}

func (w *where) arg(v any) string {
	w.args = append(w.args, v)
	return fmt.Sprintf("$%d", len(w.args))
}

func (w *where) add(cond string) { w.conds = append(w.conds, cond) }

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// bbox adds "the feature's bounds intersect b": the GiST index finds the
// candidates with && and the exact bounds decide, since index boxes are
// float4 rounded outwards (a feature 0.5 m outside b would pass &&).
func (w *where) bbox(b orb.Bound) {
	w.overlap(b)
	x0, y0, x1, y1 := w.arg(b.Min[0]), w.arg(b.Min[1]), w.arg(b.Max[0]), w.arg(b.Max[1])
	w.add(fmt.Sprintf("ST_XMin(geom) <= %[3]s AND ST_XMax(geom) >= %[1]s AND ST_YMin(geom) <= %[4]s AND ST_YMax(geom) >= %[2]s",
		x0, y0, x1, y1))
}

// overlap adds the index part of bbox alone: the rows whose index boxes
// (rounded outwards to float4) meet b, a superset of the answer that the
// caller narrows with the exact bounds of the geometries it decodes —
// cheaper than four ST_XMin… calls per row, each deserialising the
// geometry.
func (w *where) overlap(b orb.Bound) {
	w.add(fmt.Sprintf("geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)", w.arg(b.Min[0]), w.arg(b.Min[1]), w.arg(b.Max[0]), w.arg(b.Max[1])))
}

// filters adds the property filters with the semantics of layers.Filter
// Match: a NULL (missing) property matches only OpIsNull; values of a type
// that cannot be compared with the field never match; strings compare
// bytewise (COLLATE "C") as Go does; numbers compare across integer and
// float. A field the layer does not have is a property every feature
// lacks.
func (w *where) filters(l *layers.Layer, fs []layers.Filter) {
	for _, f := range fs {
		w.add(w.filter(l, f))
	}
}

func (w *where) filter(l *layers.Layer, f layers.Filter) string {
	fd, ok := l.Field(f.Field)
	if !ok {
		if f.Op == layers.OpIsNull {
			return "TRUE"
		}
		return "FALSE"
	}
	col := ident(fd.Name)
	switch f.Op {
	case layers.OpIsNull:
		return col + " IS NULL"
	case layers.OpIn:
		var ors []string
		for _, v := range f.Values {
			if c, ok := w.compare(fd, col, "=", v); ok {
				ors = append(ors, c)
			}
		}
		if len(ors) == 0 {
			return "FALSE"
		}
		return "(" + strings.Join(ors, " OR ") + ")"
	case layers.OpEq, layers.OpNe, layers.OpLt, layers.OpLe, layers.OpGt, layers.OpGe:
		if len(f.Values) != 1 {
			return "FALSE"
		}
		if c, ok := w.compare(fd, col, string(f.Op), f.Values[0]); ok {
			return c
		}
	}
	return "FALSE"
}

// compare returns "col op $n" for a value comparable with the field, or
// false.
func (w *where) compare(fd layers.Field, col, op string, v any) (string, bool) {
	ordered := op != "=" && op != "<>"
	switch fd.Type {
	case layers.String, layers.Enum:
		s, ok := v.(string)
		if !ok {
			return "", false
		}
		if ordered {
			col += ` COLLATE "C"`
		}
		return fmt.Sprintf("%s %s %s::text", col, op, w.arg(s)), true
	case layers.Bool:
		b, ok := v.(bool)
		if !ok {
			return "", false
		}
		return fmt.Sprintf("%s %s %s::boolean", col, op, w.arg(b)), true
	case layers.Date:
		s, ok := v.(string)
		if !ok {
			return "", false
		}
		if d, err := time.Parse(time.DateOnly, s); err == nil && d.Format(time.DateOnly) == s {
			return fmt.Sprintf("%s %s %s::date", col, op, w.arg(pgtype.Date{Time: d, Valid: true})), true
		}
		// not a canonical date: compare the text as Go compares strings
		return fmt.Sprintf(`to_char(%s, 'YYYY-MM-DD') COLLATE "C" %s %s::text`, col, op, w.arg(s)), true
	case layers.Int, layers.Float:
		switch n := v.(type) {
		case int64:
			if fd.Type == layers.Int {
				return fmt.Sprintf("%s %s %s::bigint", col, op, w.arg(n)), true
			}
			return fmt.Sprintf("%s %s %s::double precision", col, op, w.arg(float64(n))), true
		case int:
			if fd.Type == layers.Int {
				return fmt.Sprintf("%s %s %s::bigint", col, op, w.arg(int64(n))), true
			}
			return fmt.Sprintf("%s %s %s::double precision", col, op, w.arg(float64(n))), true
		case float64:
			return fmt.Sprintf("%s %s %s::double precision", col, op, w.arg(n)), true
		}
	}
	return "", false
}
