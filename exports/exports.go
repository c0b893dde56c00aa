// Package exports writes layers out for analysts: GeoJSON, CSV (with WKT
// and, for points, lon/lat columns) and GeoPackage, streaming from the
// store in id order.
package exports

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkt"
	"github.com/paulmach/orb/geojson"

	"riskmap/geo"
	"riskmap/gpkg"
	"riskmap/layers"
)

// GeoJSON writes the features q selects as a FeatureCollection, converting
// coordinates to crs (WGS84 leaves them as stored). It returns the count.
func GeoJSON(ctx context.Context, st layers.Store, q layers.Query, crs geo.CRS, w io.Writer) (int, error) {
	bw := bufio.NewWriterSize(w, 1<<16)
	if _, err := bw.WriteString(`{"type":"FeatureCollection","features":[`); err != nil {
		return 0, err
	}
	n := 0
	err := st.Query(ctx, q, func(f layers.Feature) error {
		if n > 0 {
			bw.WriteByte(',')
		}
		n++
		gf := geojson.NewFeature(geo.FromWGS84(crs, f.Geometry))
		gf.ID = f.ID
		gf.Properties = f.Props
		b, err := json.Marshal(gf)
		if err != nil {
			return fmt.Errorf("feature %d: %w", f.ID, err)
		}
		_, err = bw.Write(b)
		return err
	})
	if err != nil {
		return n, err
	}
	if _, err := bw.WriteString("]}\n"); err != nil {
		return n, err
	}
	return n, bw.Flush()
}

// CSV writes the features q selects: id, the schema fields in order, then
// lon and lat for point layers, then the geometry as WKT. Headers are the
// field names (English); a UTF-8 BOM is written first so that spreadsheet
// programs read the Chinese text right.
func CSV(ctx context.Context, st layers.Store, l *layers.Layer, q layers.Query, crs geo.CRS, w io.Writer) (int, error) {
	return CSVOf(l, crs, w, func(fn func(layers.Feature) error) error { return st.Query(ctx, q, fn) })
}

// CSVOf is CSV for the features each calls fn with, in the columns of l.
func CSVOf(l *layers.Layer, crs geo.CRS, w io.Writer, each func(fn func(layers.Feature) error) error) (int, error) {
	bw := bufio.NewWriterSize(w, 1<<16)
	bw.WriteString("\xef\xbb\xbf")
	cw := csv.NewWriter(bw)
	header := []string{"id"}
	for _, f := range l.Fields {
		header = append(header, f.Name)
	}
	points := len(l.Geometry) == 1 && l.Geometry[0] == layers.Point
	if points {
		header = append(header, "lon", "lat")
	}
	header = append(header, "wkt")
	if err := cw.Write(header); err != nil {
		return 0, err
	}
	n := 0
	err := each(func(f layers.Feature) error {
		g := geo.FromWGS84(crs, f.Geometry)
		row := []string{strconv.FormatInt(f.ID, 10)}
		for _, fd := range l.Fields {
			row = append(row, text(f.Props[fd.Name]))
		}
		if points {
			if p, ok := g.(orb.Point); ok {
				row = append(row, strconv.FormatFloat(p[0], 'f', -1, 64), strconv.FormatFloat(p[1], 'f', -1, 64))
			} else {
				row = append(row, "", "")
			}
		}
		row = append(row, wkt.MarshalString(g))
		n++
		return cw.Write(row)
	})
	if err != nil {
		return n, err
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return n, err
	}
	return n, bw.Flush()
}

func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int64:
		return strconv.FormatInt(x, 10)
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}

// GeoPackage writes each layer as a feature table of a new GeoPackage at
// path (WGS84, typed columns). progress, if set, hears of every 10,000
// features. It returns the features written per layer.
func GeoPackage(ctx context.Context, st layers.Store, ls []*layers.Layer, path string, progress func(layer string, n int)) (map[string]int, error) {
	w, err := gpkg.Create(ctx, path)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	counts := map[string]int{}
	for _, l := range ls {
		var cols []gpkg.Column
		for _, f := range l.Fields {
			cols = append(cols, gpkg.Column{Name: f.Name, Type: sqlType(f.Type)})
		}
		tw, err := w.Table(ctx, l.ID, l.Title.Zh+" "+l.Title.En, geomType(l), cols)
		if err != nil {
			return counts, err
		}
		n := 0
		err = st.Query(ctx, layers.Query{Layer: l.ID}, func(f layers.Feature) error {
			n++
			if progress != nil && n%10000 == 0 {
				progress(l.ID, n)
			}
			return tw.Add(ctx, f.ID, f.Geometry, f.Props)
		})
		if err != nil {
			_ = tw.Abort()
			return counts, fmt.Errorf("layer %s: %w", l.ID, err)
		}
		if err := tw.Close(ctx); err != nil {
			return counts, err
		}
		counts[l.ID] = n
		if progress != nil {
			progress(l.ID, n)
		}
	}
	return counts, w.Close()
}

func sqlType(t layers.FieldType) string {
	switch t {
	case layers.Int:
		return "INTEGER"
	case layers.Float:
		return "REAL"
	case layers.Bool:
		return "BOOLEAN"
	case layers.Date:
		return "DATE"
	}
	return "TEXT"
}

// geomType is the GeoPackage geometry type name of a layer's column. Every
// layer accepts the Multi* forms of its family beside the single ones, and
// only a GEOMETRY column may hold both, so that is what is declared.
func geomType(*layers.Layer) string { return "GEOMETRY" }
