package postgis

import (
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"riskmap/layers"
)

// indexedFields are the attribute columns that get a btree index when a
// layer has them: the ones the analyses and the web map filter by.
var indexedFields = []string{"status", "kind", "class", "category", "risk_level", "town"}

// sqlType returns the PostgreSQL column type of a field.
func sqlType(t layers.FieldType) string {
	switch t {
	case layers.Int:
		return "bigint"
	case layers.Float:
		return "double precision"
	case layers.Bool:
		return "boolean"
	case layers.Date:
		return "date"
	}
	return "text" // String, Enum
}

// udtName is the information_schema.columns.udt_name of a field's column.
func udtName(t layers.FieldType) string {
	switch t {
	case layers.Int:
		return "int8"
	case layers.Float:
		return "float8"
	case layers.Bool:
		return "bool"
	case layers.Date:
		return "date"
	}
	return "text"
}

// ident quotes an identifier.
func ident(s ...string) string { return pgx.Identifier(s).Sanitize() }

// literal quotes a string constant (standard_conforming_strings is on by
// default since PostgreSQL 9.1).
func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// geometryTypes returns the GeometryType() names a layer accepts.
func geometryTypes(l *layers.Layer) []string {
	var out []string
	for _, g := range l.Geometry {
		switch g {
		case layers.Point:
			out = append(out, "POINT", "MULTIPOINT")
		case layers.Line:
			out = append(out, "LINESTRING", "MULTILINESTRING")
		case layers.Polygon:
			out = append(out, "POLYGON", "MULTIPOLYGON")
		}
	}
	return out
}

func quoteList(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = literal(v)
	}
	return strings.Join(q, ", ")
}

// CreateTableSQL returns the DDL of a layer's table: CREATE TABLE with typed
// columns and checks, its indexes and its comments, as statements separated
// by semicolons. Migrations for new layers start from it; the tables of
// layers not covered by migrations are created with it at Open.
func CreateTableSQL(l *layers.Layer) string {
	t := ident(l.ID)
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE %s (\n", t)
	b.WriteString("    id bigint PRIMARY KEY CHECK (id > 0),\n")
	b.WriteString("    geom geometry(Geometry, 4326) NOT NULL")
	if gt := geometryTypes(l); len(gt) > 0 {
		fmt.Fprintf(&b, "\n        CONSTRAINT %s CHECK (GeometryType(geom) IN (%s))",
			ident(l.ID+"_geom_type"), quoteList(gt))
	}
	for _, f := range l.Fields {
		fmt.Fprintf(&b, ",\n    %s %s", ident(f.Name), sqlType(f.Type))
		if f.Required {
			b.WriteString(" NOT NULL")
		}
		if f.Type == layers.Enum && len(f.Values) > 0 {
			codes := make([]string, len(f.Values))
			for i, v := range f.Values {
				codes[i] = v.Code
			}
			fmt.Fprintf(&b, "\n        CONSTRAINT %s CHECK (%s IN (%s))",
				ident(l.ID+"_"+f.Name+"_code"), ident(f.Name), quoteList(codes))
		}
	}
	b.WriteString("\n);\n")
	fmt.Fprintf(&b, "CREATE INDEX %s ON %s USING gist (geom);\n", ident(l.ID+"_geom_gist"), t)
	for _, f := range l.Fields {
		if slices.Contains(indexedFields, f.Name) {
			fmt.Fprintf(&b, "CREATE INDEX %s ON %s (%s);\n", ident(l.ID+"_"+f.Name+"_idx"), t, ident(f.Name))
		}
	}
	fmt.Fprintf(&b, "COMMENT ON TABLE %s IS %s;\n", t, literal(tableComment(l)))
	fmt.Fprintf(&b, "COMMENT ON COLUMN %s.id IS %s;\n", t, literal("要素编号 / Feature id (positive, stable)"))
	fmt.Fprintf(&b, "COMMENT ON COLUMN %s.geom IS %s;\n", t,
		literal("几何 / Geometry: "+geometryWords(l)+", WGS84 lon/lat (EPSG:4326)"))
	for _, f := range l.Fields {
		fmt.Fprintf(&b, "COMMENT ON COLUMN %s.%s IS %s;\n", t, ident(f.Name), literal(columnComment(f)))
	}
	return b.String()
}

func geometryWords(l *layers.Layer) string {
	var fams []string
	for _, g := range l.Geometry {
		fams = append(fams, string(g)+" or Multi"+string(g))
	}
	if len(fams) == 0 {
		return "any"
	}
	return strings.Join(fams, "; ")
}

func tableComment(l *layers.Layer) string {
	kind := "base layer"
	if l.Derived {
		kind = "derived layer (computed by an analysis; do not edit)"
	}
	return fmt.Sprintf("%s / %s — riskmap %s %q; geometry %s in WGS84 lon/lat (EPSG:4326)",
		l.Title.Zh, l.Title.En, kind, l.ID, geometryWords(l))
}

func columnComment(f layers.Field) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s / %s", f.Title.Zh, f.Title.En)
	if f.Unit != "" {
		fmt.Fprintf(&b, " [%s]", f.Unit)
	}
	if f.Required {
		b.WriteString(" (required)")
	}
	if f.Type == layers.Date {
		b.WriteString(" (date)")
	}
	if f.Type == layers.Enum {
		parts := make([]string, len(f.Values))
		for i, v := range f.Values {
			parts[i] = fmt.Sprintf("%s = %s / %s", v.Code, v.Zh, v.En)
		}
		b.WriteString(". Codes: " + strings.Join(parts, "; "))
	}
	return b.String()
}
