// Package gpkg reads and writes OGC GeoPackage feature tables (SQLite
// files, through the pure-Go modernc.org/sqlite driver): the geometry blob
// codec, a streaming reader of one feature table and a writer of WGS84
// feature tables that GDAL and QGIS open.
package gpkg

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"
)

// ErrFormat marks a file or blob that is not a valid GeoPackage.
var ErrFormat = errors.New("gpkg: not a GeoPackage")

// DecodeGeometry decodes a GeoPackage geometry blob: the "GP" header with
// an optional envelope, then standard WKB. An empty geometry decodes to nil.
func DecodeGeometry(b []byte) (orb.Geometry, int32, error) {
	if len(b) < 8 || b[0] != 'G' || b[1] != 'P' {
		return nil, 0, fmt.Errorf("%w: geometry blob without the GP header", ErrFormat)
	}
	flags := b[3]
	var order binary.ByteOrder = binary.BigEndian
	if flags&1 == 1 {
		order = binary.LittleEndian
	}
	srs := int32(order.Uint32(b[4:]))
	envLen := map[byte]int{0: 0, 1: 32, 2: 48, 3: 48, 4: 64}[(flags>>1)&7]
	if (flags>>1)&7 > 4 {
		return nil, 0, fmt.Errorf("%w: bad envelope code %d", ErrFormat, (flags>>1)&7)
	}
	if len(b) < 8+envLen {
		return nil, 0, fmt.Errorf("%w: geometry blob too short", ErrFormat)
	}
	if flags&0x10 != 0 {
		return nil, srs, nil
	}
	g, err := wkb.Unmarshal(b[8+envLen:])
	if err != nil {
		return nil, srs, fmt.Errorf("%w: WKB: %v", ErrFormat, err)
	}
	return g, srs, nil
}

// EncodeGeometry encodes g as a little-endian GeoPackage blob with an XY
// envelope.
func EncodeGeometry(g orb.Geometry, srs int32) ([]byte, error) {
	var buf bytes.Buffer
	buf.Write([]byte{'G', 'P', 0, 1 | 1<<1})
	_ = binary.Write(&buf, binary.LittleEndian, srs)
	bnd := g.Bound()
	for _, v := range []float64{bnd.Min[0], bnd.Max[0], bnd.Min[1], bnd.Max[1]} {
		_ = binary.Write(&buf, binary.LittleEndian, v)
	}
	w := wkb.NewEncoder(&buf)
	w.SetByteOrder(binary.LittleEndian)
	if err := w.Encode(g); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Table describes a feature table of a GeoPackage.
type Table struct {
	Name       string
	GeomColumn string
	GeomType   string
	SRS        int32 // organization_coordsys_id of its EPSG srs (4326, 4490…)
	Org        string
	PK         string // the integer primary key column
}

// Open opens a GeoPackage read-only.
func Open(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return nil, err
	}
	var app int64
	if err := db.QueryRow("PRAGMA application_id").Scan(&app); err != nil {
		db.Close()
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	return db, nil
}

// FeatureTables lists the feature tables of an open GeoPackage.
func FeatureTables(ctx context.Context, db *sql.DB) ([]Table, error) {
	rows, err := db.QueryContext(ctx, `SELECT g.table_name, g.column_name, g.geometry_type_name,
		coalesce(s.organization_coordsys_id, g.srs_id), coalesce(s.organization, '')
		FROM gpkg_geometry_columns g JOIN gpkg_contents c ON c.table_name = g.table_name
		LEFT JOIN gpkg_spatial_ref_sys s ON s.srs_id = g.srs_id
		WHERE c.data_type = 'features' ORDER BY g.table_name`)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	defer rows.Close()
	var out []Table
	for rows.Next() {
		var t Table
		if err := rows.Scan(&t.Name, &t.GeomColumn, &t.GeomType, &t.SRS, &t.Org); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		pk, err := primaryKey(ctx, db, out[i].Name)
		if err != nil {
			return nil, err
		}
		out[i].PK = pk
	}
	return out, nil
}

func primaryKey(ctx context.Context, db *sql.DB, table string) (string, error) {
	rows, err := db.QueryContext(ctx, "SELECT name, pk FROM pragma_table_info(?)", table)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var pk int
		if err := rows.Scan(&name, &pk); err != nil {
			return "", err
		}
		if pk == 1 {
			return name, nil
		}
	}
	return "", rows.Err()
}

// Quote quotes an SQLite identifier.
func Quote(id string) string { return `"` + strings.ReplaceAll(id, `"`, `""`) + `"` }

// Row is one feature row: its primary key, geometry and other columns.
type Row struct {
	FID      int64
	Geometry orb.Geometry
	Props    map[string]any
}

// Cursor streams the rows of a feature table in primary-key order.
type Cursor struct {
	t    Table
	rows *sql.Rows
	cols []string
	vals []any
	ptrs []any
}

// Rows opens a cursor over a feature table.
func Rows(ctx context.Context, db *sql.DB, t Table) (*Cursor, error) {
	rows, err := db.QueryContext(ctx, "SELECT * FROM "+Quote(t.Name)+orderBy(t))
	if err != nil {
		return nil, err
	}
	cols, err := rows.Columns()
	if err != nil {
		rows.Close()
		return nil, err
	}
	c := &Cursor{t: t, rows: rows, cols: cols, vals: make([]any, len(cols)), ptrs: make([]any, len(cols))}
	for i := range c.vals {
		c.ptrs[i] = &c.vals[i]
	}
	return c, nil
}

// Next returns the next row, or io.EOF after the last. A row whose
// geometry blob is malformed is returned with the error, and the cursor
// goes on.
func (c *Cursor) Next() (Row, error) {
	if !c.rows.Next() {
		if err := c.rows.Err(); err != nil {
			return Row{}, err
		}
		return Row{}, io.EOF
	}
	if err := c.rows.Scan(c.ptrs...); err != nil {
		return Row{}, err
	}
	r := Row{Props: map[string]any{}}
	var rowErr error
	for i, col := range c.cols {
		switch {
		case col == c.t.PK:
			if n, ok := c.vals[i].(int64); ok {
				r.FID = n
			}
		case col == c.t.GeomColumn:
			if b, ok := c.vals[i].([]byte); ok {
				r.Geometry, _, rowErr = DecodeGeometry(b)
			}
		default:
			switch v := c.vals[i].(type) {
			case []byte:
				r.Props[col] = string(v)
			case nil:
			default:
				r.Props[col] = v
			}
		}
	}
	return r, rowErr
}

// Close releases the cursor.
func (c *Cursor) Close() error { return c.rows.Close() }

func orderBy(t Table) string {
	if t.PK == "" {
		return ""
	}
	return " ORDER BY " + Quote(t.PK)
}

// Column is a column of a table the Writer creates.
type Column struct {
	Name string
	Type string // INTEGER, REAL, TEXT, BOOLEAN, DATE
}

// Writer creates a GeoPackage and fills WGS84 feature tables.
type Writer struct {
	db *sql.DB
}

// Create creates a new GeoPackage at path (which must not exist).
func Create(ctx context.Context, path string) (*Writer, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=rwc")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	stmts := []string{
		"PRAGMA application_id = 1196444487", // 'GPKG'
		"PRAGMA user_version = 10400",
		`CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL PRIMARY KEY,
			organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT)`,
		`INSERT INTO gpkg_spatial_ref_sys VALUES
			('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'),
			('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system'),
			('WGS 84 geodetic', 4326, 'EPSG', 4326, 'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]', 'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid')`,
		`CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
			description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
			min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
			CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id))`,
		`CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
			srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
			CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
			CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
			CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id))`,
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			db.Close()
			return nil, fmt.Errorf("gpkg: create: %w", err)
		}
	}
	return &Writer{db: db}, nil
}

// Table starts a feature table; rows are added with the returned function
// inside one transaction, committed by Close of the TableWriter.
func (w *Writer) Table(ctx context.Context, name, title, geomType string, cols []Column) (*TableWriter, error) {
	var defs []string
	names := []string{"fid", "geom"}
	for _, c := range cols {
		defs = append(defs, Quote(c.Name)+" "+c.Type)
		names = append(names, Quote(c.Name))
	}
	ddl := fmt.Sprintf("CREATE TABLE %s (fid INTEGER PRIMARY KEY, geom %s%s)", Quote(name), geomType, prefixComma(defs))
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	for _, s := range []string{ddl,
		fmt.Sprintf("INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES (%s, 'features', %s, %s, 4326)",
			lit(name), lit(name), lit(title)),
		fmt.Sprintf("INSERT INTO gpkg_geometry_columns VALUES (%s, 'geom', %s, 4326, 0, 0)", lit(name), lit(geomType)),
	} {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			_ = tx.Rollback()
			return nil, fmt.Errorf("gpkg: table %s: %w", name, err)
		}
	}
	marks := strings.TrimSuffix(strings.Repeat("?,", len(names)), ",")
	stmt, err := tx.PrepareContext(ctx, fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", Quote(name), strings.Join(names, ","), marks))
	if err != nil {
		_ = tx.Rollback()
		return nil, err
	}
	return &TableWriter{tx: tx, stmt: stmt, name: name, cols: cols, bound: orb.Bound{Min: orb.Point{math.Inf(1), math.Inf(1)}, Max: orb.Point{math.Inf(-1), math.Inf(-1)}}}, nil
}

func prefixComma(defs []string) string {
	if len(defs) == 0 {
		return ""
	}
	return ", " + strings.Join(defs, ", ")
}

func lit(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// Close closes the GeoPackage.
func (w *Writer) Close() error { return w.db.Close() }

// TableWriter adds rows to one feature table.
type TableWriter struct {
	tx    *sql.Tx
	stmt  *sql.Stmt
	name  string
	cols  []Column
	bound orb.Bound
	n     int
}

// Add writes one row; props are matched to the columns by name.
func (t *TableWriter) Add(ctx context.Context, fid int64, g orb.Geometry, props map[string]any) error {
	blob, err := EncodeGeometry(g, 4326)
	if err != nil {
		return fmt.Errorf("gpkg: feature %d: %w", fid, err)
	}
	args := []any{fid, blob}
	for _, c := range t.cols {
		v := props[c.Name]
		if b, ok := v.(bool); ok {
			if b {
				v = 1
			} else {
				v = 0
			}
		}
		args = append(args, v)
	}
	if _, err := t.stmt.ExecContext(ctx, args...); err != nil {
		return fmt.Errorf("gpkg: feature %d: %w", fid, err)
	}
	t.bound = t.bound.Union(g.Bound())
	t.n++
	return nil
}

// Close records the table's extent and commits it.
func (t *TableWriter) Close(ctx context.Context) error {
	defer t.stmt.Close()
	if t.n > 0 {
		b := t.bound
		if _, err := t.tx.ExecContext(ctx, "UPDATE gpkg_contents SET min_x=?, min_y=?, max_x=?, max_y=? WHERE table_name=?",
			b.Min[0], b.Min[1], b.Max[0], b.Max[1], t.name); err != nil {
			_ = t.tx.Rollback()
			return err
		}
	}
	return t.tx.Commit()
}

// Abort discards the table.
func (t *TableWriter) Abort() error {
	t.stmt.Close()
	return t.tx.Rollback()
}
