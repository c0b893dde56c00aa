package importers

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/paulmach/orb"
)

// Record is one source row before validation: where it came from, its
// geometry in the source CRS and its raw properties.
type Record struct {
	File     string
	Pos      string // "line 12", "feature 7", "record 3"
	N        int    // 1-based record number, the id of last resort
	ID       any    // the source's own feature id (GeoJSON "id"), if any
	Geometry orb.Geometry
	Props    map[string]any
}

// Where names the record for error messages: "hydrants.csv line 12".
func (r Record) Where() string {
	if r.File == "" {
		return r.Pos
	}
	return r.File + " " + r.Pos
}

// Decoder yields records; Next returns io.EOF after the last one. A
// malformed record is an error that names its position; decoders do not
// recover from syntax errors in the stream itself.
type Decoder interface {
	Next() (Record, error)
}

// Format is a source file format.
type Format string

// Formats.
const (
	GeoJSON    Format = "geojson"
	GeoJSONSeq Format = "geojsonseq"
	CSV        Format = "csv"
	Shapefile  Format = "shapefile"
	GeoPackage Format = "gpkg"
)

// DetectFormat guesses the format from a file name.
func DetectFormat(name string) (Format, error) {
	switch ext := strings.ToLower(filepath.Ext(name)); ext {
	case ".geojson", ".json":
		return GeoJSON, nil
	case ".geojsonl", ".geojsons", ".ndjson", ".jsonl", ".geojsonseq":
		return GeoJSONSeq, nil
	case ".csv", ".txt":
		return CSV, nil
	case ".shp", ".zip":
		return Shapefile, nil
	case ".gpkg":
		return GeoPackage, nil
	default:
		return "", fmt.Errorf("%s: unknown format %q (want .geojson, .geojsonl, .csv, .shp, .zip or .gpkg)", name, ext)
	}
}

// RecordError is a problem with one record: where, which field, why. It
// unwraps to the cause (a *layers.ValidationError for schema problems).
type RecordError struct {
	Where string
	Field string
	Err   error
}

func (e *RecordError) Error() string {
	if e.Field == "" {
		return e.Where + ": " + e.Err.Error()
	}
	return fmt.Sprintf("%s: field %q: %v", e.Where, e.Field, e.Err)
}

func (e *RecordError) Unwrap() error { return e.Err }

// ErrSyntax marks a source that cannot be read further (broken JSON,
// truncated shapefile): it aborts an import even with SkipInvalid.
var ErrSyntax = errors.New("malformed source")

// countingReader counts bytes read, for progress.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
