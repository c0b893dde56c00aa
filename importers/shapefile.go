package importers

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
	"golang.org/x/text/encoding/simplifiedchinese"

	"riskmap/geo"
)

// maxShapeRecord bounds one shape record (64 MiB), so a corrupt length
// cannot make the reader allocate without limit.
const maxShapeRecord = 64 << 20

// ShapefileParts are the readers of one shapefile's component files. Shp
// and Dbf are required; Prj and Cpg are the text of the .prj and .cpg files
// ("" when absent).
type ShapefileParts struct {
	Name     string
	Shp, Dbf io.Reader
	Prj, Cpg string
}

type shpDecoder struct {
	name   string
	shp    *bufio.Reader
	dbf    *dbfReader
	crs    geo.CRS
	crsSet bool
	n      int
}

// NewShapefile decodes a shapefile from its parts. The .prj decides the CRS
// when it names WGS 84 or CGCS2000 (a projected CRS is an error); the .cpg
// decides the DBF encoding, else UTF-8 when the text is valid UTF-8, else
// GBK.
func NewShapefile(p ShapefileParts) (Decoder, error) {
	d := &shpDecoder{name: p.Name, shp: bufio.NewReaderSize(p.Shp, 1<<16)}
	if p.Prj != "" {
		c, err := prjCRS(p.Prj)
		if err != nil {
			return nil, fmt.Errorf("%s.prj: %w", p.Name, err)
		}
		d.crs, d.crsSet = c, true
	}
	var hdr [100]byte
	if _, err := io.ReadFull(d.shp, hdr[:]); err != nil {
		return nil, fmt.Errorf("%s.shp: %w: header: %v", p.Name, ErrSyntax, err)
	}
	if binary.BigEndian.Uint32(hdr[0:]) != 9994 || binary.LittleEndian.Uint32(hdr[28:]) != 1000 {
		return nil, fmt.Errorf("%s.shp: %w: not a shapefile (bad file code or version)", p.Name, ErrSyntax)
	}
	var err error
	if d.dbf, err = newDBF(p.Dbf, p.Cpg, p.Name+".dbf"); err != nil {
		return nil, err
	}
	return d, nil
}

// CRS reports the CRS the .prj declares.
func (d *shpDecoder) CRS() (geo.CRS, bool) { return d.crs, d.crsSet }

func (d *shpDecoder) Next() (Record, error) {
	var rh [8]byte
	if _, err := io.ReadFull(d.shp, rh[:]); err != nil {
		if errors.Is(err, io.EOF) {
			if d.dbf.remaining() > 0 {
				return Record{}, fmt.Errorf("%s: %w: the .dbf has %d more records than the .shp", d.name, ErrSyntax, d.dbf.remaining())
			}
			return Record{}, io.EOF
		}
		return Record{}, fmt.Errorf("%s.shp: %w: record %d header: %v", d.name, ErrSyntax, d.n+1, err)
	}
	d.n++
	rec := Record{File: d.name, Pos: fmt.Sprintf("record %d", d.n), N: d.n}
	size := int64(binary.BigEndian.Uint32(rh[4:])) * 2
	if size < 4 || size > maxShapeRecord {
		return rec, fmt.Errorf("%s.shp: %w: record %d has length %d", d.name, ErrSyntax, d.n, size)
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(d.shp, buf); err != nil {
		return rec, fmt.Errorf("%s.shp: %w: record %d truncated", d.name, ErrSyntax, d.n)
	}
	props, err := d.dbf.next()
	if err != nil {
		return rec, err
	}
	rec.Props = props
	g, err := parseShape(buf)
	if err != nil {
		return rec, &RecordError{Where: rec.Where(), Field: "geometry", Err: err}
	}
	rec.Geometry = g
	return rec, nil
}

// parseShape decodes one record's content; Z and M values are dropped.
func parseShape(b []byte) (orb.Geometry, error) {
	le := binary.LittleEndian
	typ := le.Uint32(b)
	b = b[4:]
	pt := func(b []byte) orb.Point {
		return orb.Point{math.Float64frombits(le.Uint64(b)), math.Float64frombits(le.Uint64(b[8:]))}
	}
	switch typ {
	case 0:
		return nil, nil
	case 1, 11, 21: // Point, PointZ, PointM
		if len(b) < 16 {
			return nil, errors.New("point record too short")
		}
		return pt(b), nil
	case 8, 18, 28: // MultiPoint
		if len(b) < 36 {
			return nil, errors.New("multipoint record too short")
		}
		n := int(le.Uint32(b[32:]))
		if n < 0 || 36+16*n > len(b) {
			return nil, fmt.Errorf("multipoint claims %d points", n)
		}
		mp := make(orb.MultiPoint, n)
		for i := range mp {
			mp[i] = pt(b[36+16*i:])
		}
		return mp, nil
	case 3, 13, 23, 5, 15, 25: // PolyLine, Polygon and their Z/M forms
		if len(b) < 40 {
			return nil, errors.New("record too short")
		}
		np, n := int(le.Uint32(b[32:])), int(le.Uint32(b[36:]))
		if np <= 0 || n <= 0 || np > n || 40+4*np+16*n > len(b) {
			return nil, fmt.Errorf("record claims %d parts and %d points", np, n)
		}
		starts := make([]int, np+1)
		for i := range np {
			starts[i] = int(le.Uint32(b[40+4*i:]))
		}
		starts[np] = n
		pts := b[40+4*np:]
		var parts []orb.LineString
		for i := range np {
			s, e := starts[i], starts[i+1]
			if s < 0 || s >= e || e > n {
				return nil, fmt.Errorf("part %d has bad bounds %d..%d", i, s, e)
			}
			ls := make(orb.LineString, e-s)
			for k := range ls {
				ls[k] = pt(pts[16*(s+k):])
			}
			parts = append(parts, ls)
		}
		if typ%10 == 3 {
			if len(parts) == 1 {
				return parts[0], nil
			}
			return orb.MultiLineString(parts), nil
		}
		return assemblePolygons(parts), nil
	}
	return nil, fmt.Errorf("shape type %d is not supported", typ)
}

// assemblePolygons groups shapefile rings into polygons: clockwise rings
// are outer rings, counter-clockwise ones holes of the outer ring that
// contains them. Output rings are counter-clockwise outside, clockwise
// inside (RFC 7946).
func assemblePolygons(parts []orb.LineString) orb.Geometry {
	var polys []orb.Polygon
	var holes []orb.Ring
	for _, p := range parts {
		r := orb.Ring(p)
		if !r.Closed() {
			r = append(r, r[0])
		}
		if planar.Area(r) <= 0 { // clockwise (or flat): outer
			r.Reverse()
			polys = append(polys, orb.Polygon{r})
		} else {
			holes = append(holes, r)
		}
	}
	if len(polys) == 0 { // all counter-clockwise: treat them as outer rings
		for _, h := range holes {
			polys = append(polys, orb.Polygon{h})
		}
		holes = nil
	}
	for _, h := range holes {
		h.Reverse()
		placed := false
		for i := len(polys) - 1; i >= 0 && !placed; i-- {
			if planar.RingContains(polys[i][0], h[0]) {
				polys[i] = append(polys[i], h)
				placed = true
			}
		}
		if !placed {
			polys[len(polys)-1] = append(polys[len(polys)-1], h)
		}
	}
	if len(polys) == 1 {
		return polys[0]
	}
	return orb.MultiPolygon(polys)
}

// prjCRS reads the datum of a .prj (ESRI WKT).
func prjCRS(prj string) (geo.CRS, error) {
	u := strings.ToUpper(prj)
	switch {
	case strings.HasPrefix(strings.TrimSpace(u), "PROJCS"):
		return 0, fmt.Errorf("projected CRS is not supported (reproject to geographic WGS 84 or CGCS2000): %.60s", prj)
	case strings.Contains(u, "2000") && (strings.Contains(u, "CGCS") || strings.Contains(u, "CHINA")):
		return geo.CGCS2000, nil
	case strings.Contains(u, "WGS_1984") || strings.Contains(u, "WGS 84") || strings.Contains(u, "WGS84"):
		return geo.WGS84, nil
	}
	return 0, fmt.Errorf("unknown datum in .prj (want WGS 84 or CGCS2000): %.60s", prj)
}

// dbfReader streams dBase III records.
type dbfReader struct {
	name   string
	r      *bufio.Reader
	fields []dbfField
	n, cnt int
	recLen int
	gbk    bool // decode text as GBK
	guess  bool // no .cpg: decide per value
}

type dbfField struct {
	name     string
	typ      byte
	len, dec int
}

func newDBF(r io.Reader, cpg, name string) (*dbfReader, error) {
	d := &dbfReader{name: name, r: bufio.NewReaderSize(r, 1<<16)}
	var h [32]byte
	if _, err := io.ReadFull(d.r, h[:]); err != nil {
		return nil, fmt.Errorf("%s: %w: header: %v", name, ErrSyntax, err)
	}
	le := binary.LittleEndian
	d.cnt = int(le.Uint32(h[4:]))
	hdrLen, recLen := int(le.Uint16(h[8:])), int(le.Uint16(h[10:]))
	if hdrLen < 33 || recLen < 1 {
		return nil, fmt.Errorf("%s: %w: header length %d, record length %d", name, ErrSyntax, hdrLen, recLen)
	}
	d.recLen = recLen
	switch c := strings.ToUpper(strings.TrimSpace(cpg)); {
	case c == "":
		d.guess = true
	case strings.Contains(c, "UTF"):
	case strings.Contains(c, "GBK") || strings.Contains(c, "936") || strings.Contains(c, "GB2312") || strings.Contains(c, "GB18030"):
		d.gbk = true
	}
	desc := make([]byte, hdrLen-32)
	if _, err := io.ReadFull(d.r, desc); err != nil {
		return nil, fmt.Errorf("%s: %w: field descriptors: %v", name, ErrSyntax, err)
	}
	width := 1
	for i := 0; i+32 <= len(desc) && desc[i] != 0x0d; i += 32 {
		fd := desc[i : i+32]
		fname := string(bytes.TrimRight(fd[:11], "\x00 "))
		f := dbfField{name: d.text(fd[:len(fname)]), typ: fd[11], len: int(fd[16]), dec: int(fd[17])}
		d.fields = append(d.fields, f)
		width += f.len
	}
	if width != recLen {
		return nil, fmt.Errorf("%s: %w: fields add up to %d bytes, records are %d", name, ErrSyntax, width, recLen)
	}
	return d, nil
}

func (d *dbfReader) remaining() int { return d.cnt - d.n }

func (d *dbfReader) text(b []byte) string {
	if d.gbk || (d.guess && !utf8.Valid(b)) {
		if s, err := simplifiedchinese.GB18030.NewDecoder().Bytes(b); err == nil {
			return string(s)
		}
	}
	return string(b)
}

func (d *dbfReader) next() (map[string]any, error) {
	if d.n >= d.cnt {
		return nil, fmt.Errorf("%s: %w: the .shp has more records than the .dbf (%d)", d.name, ErrSyntax, d.cnt)
	}
	d.n++
	buf := make([]byte, d.recLen)
	if _, err := io.ReadFull(d.r, buf); err != nil {
		return nil, fmt.Errorf("%s: %w: record %d truncated", d.name, ErrSyntax, d.n)
	}
	props := map[string]any{}
	off := 1
	for _, f := range d.fields {
		raw := bytes.TrimSpace(bytes.TrimRight(buf[off:off+f.len], "\x00"))
		off += f.len
		if len(raw) == 0 {
			continue
		}
		switch f.typ {
		case 'N', 'F':
			if v, err := strconv.ParseFloat(string(raw), 64); err == nil {
				if f.dec == 0 && v == math.Trunc(v) && math.Abs(v) < 1<<53 {
					props[f.name] = int64(v)
				} else {
					props[f.name] = v
				}
				continue
			}
			props[f.name] = string(raw)
		case 'L':
			switch raw[0] {
			case 'T', 't', 'Y', 'y':
				props[f.name] = true
			case 'F', 'f', 'N', 'n':
				props[f.name] = false
			}
		case 'D':
			if len(raw) == 8 {
				props[f.name] = string(raw[:4]) + "-" + string(raw[4:6]) + "-" + string(raw[6:])
			}
		default:
			props[f.name] = d.text(raw)
		}
	}
	return props, nil
}

// OpenShapefile opens a .shp with its .dbf/.prj/.cpg beside it, or a .zip
// holding them. The returned closer closes every file.
func OpenShapefile(path string) (Decoder, io.Closer, error) {
	if strings.EqualFold(filepath.Ext(path), ".zip") {
		return openShapeZip(path)
	}
	base := strings.TrimSuffix(path, filepath.Ext(path))
	name := filepath.Base(base)
	shp, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	dbf, err := openSibling(base, ".dbf")
	if err != nil {
		shp.Close()
		return nil, nil, fmt.Errorf("%s: the .dbf beside the .shp: %w", name, err)
	}
	prj, _ := readSibling(base, ".prj")
	cpg, _ := readSibling(base, ".cpg")
	dec, err := NewShapefile(ShapefileParts{Name: name, Shp: shp, Dbf: dbf, Prj: prj, Cpg: cpg})
	closer := multiCloser{shp, dbf}
	if err != nil {
		closer.Close()
		return nil, nil, err
	}
	return dec, closer, nil
}

func openSibling(base, ext string) (*os.File, error) {
	for _, e := range []string{ext, strings.ToUpper(ext)} {
		if f, err := os.Open(base + e); err == nil {
			return f, nil
		}
	}
	return nil, fmt.Errorf("%s%s: %w", filepath.Base(base), ext, os.ErrNotExist)
}

func readSibling(base, ext string) (string, error) {
	f, err := openSibling(base, ext)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 1<<16))
	return string(b), err
}

func openShapeZip(path string) (Decoder, io.Closer, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	byExt := map[string]*zip.File{}
	for _, f := range zr.File {
		ext := strings.ToLower(filepath.Ext(f.Name))
		if _, dup := byExt[ext]; !dup && !strings.HasPrefix(filepath.Base(f.Name), ".") {
			byExt[ext] = f
		}
	}
	if byExt[".shp"] == nil || byExt[".dbf"] == nil {
		zr.Close()
		return nil, nil, fmt.Errorf("%s: %w: the zip holds no .shp with its .dbf", filepath.Base(path), ErrSyntax)
	}
	text := func(ext string) string {
		f := byExt[ext]
		if f == nil {
			return ""
		}
		rc, err := f.Open()
		if err != nil {
			return ""
		}
		defer rc.Close()
		b, _ := io.ReadAll(io.LimitReader(rc, 1<<16))
		return string(b)
	}
	shp, err := byExt[".shp"].Open()
	if err != nil {
		zr.Close()
		return nil, nil, err
	}
	dbf, err := byExt[".dbf"].Open()
	if err != nil {
		shp.Close()
		zr.Close()
		return nil, nil, err
	}
	name := strings.TrimSuffix(filepath.Base(byExt[".shp"].Name), filepath.Ext(byExt[".shp"].Name))
	dec, err := NewShapefile(ShapefileParts{Name: name, Shp: shp, Dbf: dbf, Prj: text(".prj"), Cpg: text(".cpg")})
	closer := multiCloser{shp, dbf, zr}
	if err != nil {
		closer.Close()
		return nil, nil, err
	}
	return dec, closer, nil
}

type multiCloser []io.Closer

func (m multiCloser) Close() error {
	var errs []error
	for _, c := range m {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}
