package importers

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkt"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"
)

// Column names recognised for coordinates, lower-cased.
var (
	lonNames = []string{"lon", "lng", "long", "longitude", "x", "经度"}
	latNames = []string{"lat", "latitude", "y", "纬度"}
	wktNames = []string{"wkt", "geometry", "geom", "the_geom", "shape", "几何", "坐标"}
)

type csvDecoder struct {
	file           string
	r              *csv.Reader
	header         []string
	lon, lat, geom int // column indexes, -1 when absent
	n              int
}

// NewCSV decodes a CSV file with a header row and either lon/lat columns or
// a WKT column. The encoding is UTF-8 (a BOM is dropped) unless the start
// of the file is not valid UTF-8, in which case it is read as GBK
// (GB18030). file names it in errors.
func NewCSV(r io.Reader, file string) (Decoder, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	head, err := br.Peek(1 << 16)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var src io.Reader = br
	if !validUTF8Prefix(head) {
		src = transform.NewReader(br, simplifiedchinese.GB18030.NewDecoder())
	} else if bytes.HasPrefix(head, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(src)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: line 1: %w: no header row: %v", file, ErrSyntax, err)
	}
	d := &csvDecoder{file: file, r: cr, lon: -1, lat: -1, geom: -1}
	for i, h := range header {
		h = strings.TrimSpace(h)
		header[i] = h
		switch l := strings.ToLower(h); {
		case contains(lonNames, l) && d.lon < 0:
			d.lon = i
		case contains(latNames, l) && d.lat < 0:
			d.lat = i
		case contains(wktNames, l) && d.geom < 0:
			d.geom = i
		}
	}
	d.header = header
	if d.geom < 0 && (d.lon < 0 || d.lat < 0) {
		return nil, fmt.Errorf("%s: line 1: %w: no coordinate columns: want lon and lat (or 经度, 纬度) or a WKT column, have %s",
			file, ErrSyntax, strings.Join(header, ", "))
	}
	return d, nil
}

// validUTF8Prefix reports whether b is UTF-8, allowing a rune cut off at
// the end of the peeked window.
func validUTF8Prefix(b []byte) bool {
	for i := 0; i < 3 && len(b) > 0; i++ {
		if utf8.Valid(b) {
			return true
		}
		b = b[:len(b)-1]
	}
	return utf8.Valid(b)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (d *csvDecoder) Next() (Record, error) {
	row, err := d.r.Read()
	if errors.Is(err, io.EOF) {
		return Record{}, io.EOF
	}
	line := 0
	if err == nil && len(row) > 0 {
		line, _ = d.r.FieldPos(0)
	}
	d.n++
	rec := Record{File: d.file, Pos: fmt.Sprintf("line %d", line), N: d.n, Props: map[string]any{}}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return rec, fmt.Errorf("%s: line %d: %w: %v", d.file, pe.Line, ErrSyntax, pe.Err)
		}
		return rec, fmt.Errorf("%s: %w", rec.Where(), err)
	}
	if len(row) > len(d.header) {
		return rec, &RecordError{Where: rec.Where(), Err: fmt.Errorf("%d values for %d columns", len(row), len(d.header))}
	}
	for i, v := range row {
		if i == d.lon || i == d.lat || i == d.geom {
			continue
		}
		if v = strings.TrimSpace(v); v != "" {
			rec.Props[d.header[i]] = v
		}
	}
	if d.geom >= 0 && d.geom < len(row) && strings.TrimSpace(row[d.geom]) != "" {
		g, err := wkt.Unmarshal(strings.TrimSpace(row[d.geom]))
		if err != nil {
			return rec, &RecordError{Where: rec.Where(), Field: d.header[d.geom], Err: fmt.Errorf("bad WKT: %w", err)}
		}
		rec.Geometry = g
		return rec, nil
	}
	if d.lon < 0 || d.lat < 0 {
		return rec, &RecordError{Where: rec.Where(), Field: "geometry", Err: errors.New("missing geometry")}
	}
	var p orb.Point
	for k, i := range []int{d.lon, d.lat} {
		if i >= len(row) || strings.TrimSpace(row[i]) == "" {
			return rec, &RecordError{Where: rec.Where(), Field: d.header[i], Err: errors.New("missing coordinate")}
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(row[i]), 64)
		if err != nil {
			return rec, &RecordError{Where: rec.Where(), Field: d.header[i], Err: fmt.Errorf("%q is not a number", row[i])}
		}
		p[k] = v
	}
	rec.Geometry = p
	return rec, nil
}
