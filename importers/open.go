package importers

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"riskmap/geo"
	"riskmap/gpkg"
)

// Source is an opened input file: its decoder, its size and how many bytes
// have been read so far (for progress), and a Close.
type Source struct {
	Decoder
	Size int64
	read func() int64
	io.Closer
}

// Read returns how many bytes of the file have been consumed.
func (s *Source) Read() int64 {
	if s.read == nil {
		return 0
	}
	return s.read()
}

// Open opens a file for import, choosing the decoder by its extension.
// table picks the feature table of a GeoPackage holding several ("" for
// the only one).
func Open(ctx context.Context, path, table string) (*Source, error) {
	format, err := DetectFormat(path)
	if err != nil {
		return nil, err
	}
	name := filepath.Base(path)
	switch format {
	case Shapefile:
		dec, closer, err := OpenShapefile(path)
		if err != nil {
			return nil, err
		}
		return &Source{Decoder: dec, Closer: closer}, nil
	case GeoPackage:
		return openGeoPackage(ctx, path, table)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	cr := &countingReader{r: f}
	src := &Source{Size: st.Size(), read: func() int64 { return cr.n }, Closer: f}
	switch format {
	case GeoJSON:
		src.Decoder = NewGeoJSON(cr, name)
	case GeoJSONSeq:
		src.Decoder = NewGeoJSONSeq(cr, name)
	case CSV:
		if src.Decoder, err = NewCSV(cr, name); err != nil {
			f.Close()
			return nil, err
		}
	}
	return src, nil
}

type gpkgDecoder struct {
	name string
	cur  *gpkg.Cursor
	crs  geo.CRS
	n    int
}

func openGeoPackage(ctx context.Context, path, table string) (*Source, error) {
	name := filepath.Base(path)
	db, err := gpkg.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	fail := func(err error) (*Source, error) {
		db.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	tables, err := gpkg.FeatureTables(ctx, db)
	if err != nil {
		return fail(err)
	}
	var t *gpkg.Table
	var names []string
	for i := range tables {
		names = append(names, tables[i].Name)
		if tables[i].Name == table || (table == "" && len(tables) == 1) {
			t = &tables[i]
		}
	}
	if t == nil {
		return fail(fmt.Errorf("%w: no feature table %q (have %s)", ErrSyntax, table, strings.Join(names, ", ")))
	}
	var crs geo.CRS
	switch {
	case t.SRS == 4326 || t.SRS == 0:
		crs = geo.WGS84
	case t.SRS == 4490:
		crs = geo.CGCS2000
	default:
		return fail(fmt.Errorf("table %s: SRS %s:%d is not supported (want EPSG:4326 or EPSG:4490)", t.Name, t.Org, t.SRS))
	}
	cur, err := gpkg.Rows(ctx, db, *t)
	if err != nil {
		return fail(err)
	}
	return &Source{Decoder: &gpkgDecoder{name: name + " table " + t.Name, cur: cur, crs: crs},
		Closer: closeBoth{cur, db}}, nil
}

type closeBoth struct {
	cur *gpkg.Cursor
	db  *sql.DB
}

func (c closeBoth) Close() error {
	c.cur.Close()
	return c.db.Close()
}

// CRS reports the table's SRS.
func (d *gpkgDecoder) CRS() (geo.CRS, bool) { return d.crs, true }

func (d *gpkgDecoder) Next() (Record, error) {
	r, err := d.cur.Next()
	if err == io.EOF {
		return Record{}, io.EOF
	}
	d.n++
	rec := Record{File: d.name, Pos: fmt.Sprintf("row %d", d.n), N: d.n, Props: r.Props, Geometry: r.Geometry}
	if r.FID != 0 {
		rec.ID = r.FID
	}
	if err != nil {
		if r.Props == nil { // the cursor itself failed
			return rec, fmt.Errorf("%s: %w", rec.Where(), err)
		}
		return rec, &RecordError{Where: rec.Where(), Field: "geometry", Err: err}
	}
	return rec, nil
}
