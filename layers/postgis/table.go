package postgis

import (
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/paulmach/orb/encoding/ewkb"
	"github.com/paulmach/orb/encoding/wkb"

	"riskmap/layers"
)

// table is a layer's table with its SQL prepared once from the catalog.
// Column names in SQL only ever come from here.
type table struct {
	layer      *layers.Layer
	name       string // quoted table name
	fields     []layers.Field
	cols       []column // the fields as View decodes them
	copyCols   []string // id, geom, fields…
	copyList   string   // copyCols quoted, for COPY … FROM STDIN
	selectList string   // id, ST_AsBinary(geom), fields…
	upsertSQL  string   // one row, ON CONFLICT replace
	mergeSQL   string   // %s = staging table: INSERT … SELECT … ON CONFLICT replace
}

func newTable(l *layers.Layer) *table {
	t := &table{layer: l, name: ident(l.ID), fields: l.Fields}
	cols := []string{"id", "geom"}
	sel := []string{"id", "ST_AsBinary(geom)"}
	vals := []string{"$1", "ST_GeomFromEWKB($2)"}
	set := []string{"geom = EXCLUDED.geom"}
	t.copyCols = []string{"id", "geom"}
	for i, f := range l.Fields {
		c := ident(f.Name)
		cols = append(cols, c)
		sel = append(sel, c)
		vals = append(vals, fmt.Sprintf("$%d", i+3))
		set = append(set, c+" = EXCLUDED."+c)
		t.copyCols = append(t.copyCols, f.Name)
		col := column{name: f.Name, typ: f.Type}
		if f.Type == layers.Enum {
			for _, v := range f.Values {
				col.codes = append(col.codes, v.Code)
				col.boxed = append(col.boxed, v.Code)
			}
		}
		t.cols = append(t.cols, col)
	}
	colList := strings.Join(cols, ", ")
	t.copyList = colList
	t.selectList = strings.Join(sel, ", ")
	conflict := " ON CONFLICT (id) DO UPDATE SET " + strings.Join(set, ", ")
	t.upsertSQL = "INSERT INTO " + t.name + " (" + colList + ") VALUES (" + strings.Join(vals, ", ") + ")" + conflict
	t.mergeSQL = "INSERT INTO " + t.name + " (" + colList + ") SELECT " + colList + " FROM %s" + conflict
	return t
}

// row returns the values of a normalised feature in copyCols order, the
// geometry as EWKB.
func (t *table) row(f layers.Feature, buf []any) ([]any, error) {
	g, err := ewkb.Marshal(f.Geometry, 4326)
	if err != nil {
		return nil, fmt.Errorf("feature %d: encode geometry: %w", f.ID, err)
	}
	buf = append(buf[:0], f.ID, g)
	for _, fd := range t.fields {
		v, ok := f.Props[fd.Name]
		if !ok || v == nil {
			buf = append(buf, nil)
			continue
		}
		if fd.Type == layers.Date {
			s, _ := v.(string)
			d, err := time.Parse(time.DateOnly, s)
			if err != nil {
				return nil, fmt.Errorf("feature %d field %s: %w", f.ID, fd.Name, err)
			}
			v = pgtype.Date{Time: d, Valid: true}
		}
		buf = append(buf, v)
	}
	return buf, nil
}

// scanner holds typed, nullable scan targets for one row of selectList.
type scanner struct {
	t      *table
	id     int64
	geom   []byte
	vals   []any
	extras []any // appended after the table's columns (e.g. a distance)
	dest   []any
}

func (t *table) scanner(extras ...any) *scanner {
	s := &scanner{t: t, extras: extras}
	s.dest = append(s.dest, &s.id, &s.geom)
	for _, f := range t.fields {
		var v any
		switch f.Type {
		case layers.Int:
			v = new(pgtype.Int8)
		case layers.Float:
			v = new(pgtype.Float8)
		case layers.Bool:
			v = new(pgtype.Bool)
		case layers.Date:
			v = new(pgtype.Date)
		default:
			v = new(pgtype.Text)
		}
		s.vals = append(s.vals, v)
		s.dest = append(s.dest, v)
	}
	s.dest = append(s.dest, extras...)
	return s
}

// feature converts the scanned row; NULL columns are omitted from Props.
func (s *scanner) feature() (layers.Feature, error) {
	g, err := wkb.Unmarshal(s.geom)
	if err != nil {
		return layers.Feature{}, fmt.Errorf("feature %d: decode geometry: %w", s.id, err)
	}
	f := layers.Feature{Layer: s.t.layer.ID, ID: s.id, Geometry: g, Props: make(map[string]any, len(s.vals))}
	for i, fd := range s.t.fields {
		switch v := s.vals[i].(type) {
		case *pgtype.Int8:
			if v.Valid {
				f.Props[fd.Name] = v.Int64
			}
		case *pgtype.Float8:
			if v.Valid {
				f.Props[fd.Name] = v.Float64
			}
		case *pgtype.Bool:
			if v.Valid {
				f.Props[fd.Name] = v.Bool
			}
		case *pgtype.Date:
			if v.Valid {
				f.Props[fd.Name] = v.Time.Format(time.DateOnly)
			}
		case *pgtype.Text:
			if v.Valid {
				f.Props[fd.Name] = v.String
			}
		}
	}
	return f, nil
}
