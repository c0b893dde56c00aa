package postgis

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"

	"riskmap/layers"
)

var _ layers.Viewer = (*Store)(nil)

// binaryResults asks the server for every result column in its binary
// format: what View decodes itself.
var binaryResults = pgx.QueryResultFormats{pgx.BinaryFormatCode}

// View calls fn for each feature matching q, like Query, but lends it (see
// layers.Viewer): the rows are decoded straight from the wire into
// buffers reused from one feature to the next — one geometry slab and one
// property map per call — instead of a fresh geometry and map per row.
// Property values are new (or shared immutable) scalars and may be kept;
// the geometry and the map may not.
//
// A bbox query without a limit (a tile's read) asks for the rows in no
// particular order and sorts them by id here: in the database the sort
// took half the time of such a query, while the rows mostly arrive in id
// order anyway (the heap's order, in which the table was loaded). The
// rows are copied off the wire first, up to maxBuffered bytes; a larger
// result is read again in the database's order and streamed. fn runs
// after the connection went back to the pool.
func (s *Store) View(ctx context.Context, q layers.Query, fn func(layers.Feature) error) error {
	t, err := s.table(q.Layer)
	if err != nil {
		return err
	}
	sql, args, narrow := t.selectSQL(q)
	d := viewDecoder{t: t, props: make(map[string]any, len(t.fields))}
	if narrow {
		buf, _ := s.bufs.Get().(*rowBuf)
		if buf == nil {
			buf = &rowBuf{}
		}
		defer s.putBuf(buf)
		done, err := s.viewUnordered(ctx, q, strings.TrimSuffix(sql, orderByID), args, buf, &d, fn)
		if done || err != nil {
			return err
		}
	}
	rows, err := s.pool.Query(ctx, sql, append([]any{binaryResults}, args...)...)
	if err != nil {
		return wrap(ctx, "view "+q.Layer, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := d.emit(ctx, q, narrow, rows.RawValues(), fn); err != nil {
			return err
		}
	}
	return wrap(ctx, "view "+q.Layer, rows.Err())
}

// maxBuffered bounds the rows View copies to sort them itself (16 MB:
// some 100,000 buildings).
const maxBuffered = 16 << 20

// viewUnordered runs sql (no ORDER BY), copies the rows into buf, sorts
// them by id and calls fn on each. It returns false, and has called fn on
// nothing, when the result is larger than maxBuffered.
func (s *Store) viewUnordered(ctx context.Context, q layers.Query, sql string, args []any, buf *rowBuf, d *viewDecoder, fn func(layers.Feature) error) (bool, error) {
	rows, err := s.pool.Query(ctx, sql, append([]any{binaryResults}, args...)...)
	if err != nil {
		return true, wrap(ctx, "view "+q.Layer, err)
	}
	buf.reset(2 + len(d.t.fields))
	for rows.Next() {
		if err := buf.add(rows.RawValues()); err != nil {
			rows.Close()
			return true, fmt.Errorf("postgis: view %s: %w", q.Layer, err)
		}
		if len(buf.data) > s.opts.viewBuffer {
			rows.Close()
			return false, nil
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return true, wrap(ctx, "view "+q.Layer, err)
	}
	buf.sort()
	for i := range buf.rows {
		if err := d.emit(ctx, q, true, buf.row(i), fn); err != nil {
			return true, err
		}
	}
	return true, nil
}

// emit decodes one row and calls fn on it, unless narrow and the
// geometry's bounds miss the query's bbox.
func (d *viewDecoder) emit(ctx context.Context, q layers.Query, narrow bool, raw [][]byte, fn func(layers.Feature) error) error {
	f, bound, err := d.feature(raw)
	if err != nil {
		return fmt.Errorf("postgis: view %s: %w", q.Layer, err)
	}
	if narrow && !bound.Intersects(q.BBox) {
		return nil
	}
	if err := fn(f); err != nil {
		return err
	}
	// the rows may all be read already: a cancelled context must stop
	// the iteration even when no read is pending
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgis: view %s: %w", q.Layer, err)
	}
	return nil
}

func (s *Store) putBuf(b *rowBuf) {
	if cap(b.data) <= maxPooledBuf {
		b.raw = b.raw[:0]
		s.bufs.Put(b)
	}
}

// maxPooledBuf is the largest row buffer kept for the next View.
const maxPooledBuf = 4 << 20

// rowBuf holds binary rows copied off the wire: the bytes of every
// column of every row in one slab.
type rowBuf struct {
	ncols int
	data  []byte
	spans []span   // ncols per row
	rows  []bufRow // in arrival order, then sorted by id
	raw   [][]byte // one row's columns, handed to the decoder
}

// span is a column's bytes in data; n < 0 for NULL.
type span struct{ off, n int32 }

type bufRow struct {
	id int64
	at int // index of the row's first span
}

func (b *rowBuf) reset(ncols int) {
	b.ncols, b.data, b.spans, b.rows = ncols, b.data[:0], b.spans[:0], b.rows[:0]
}

func (b *rowBuf) add(raw [][]byte) error {
	if len(raw) != b.ncols || len(raw[0]) != 8 {
		return fmt.Errorf("unexpected row shape (%d columns)", len(raw))
	}
	b.rows = append(b.rows, bufRow{id: int64(binary.BigEndian.Uint64(raw[0])), at: len(b.spans)})
	for _, c := range raw {
		if c == nil {
			b.spans = append(b.spans, span{n: -1})
			continue
		}
		b.spans = append(b.spans, span{off: int32(len(b.data)), n: int32(len(c))})
		b.data = append(b.data, c...)
	}
	return nil
}

// sort orders the rows by id; they mostly arrive in order.
func (b *rowBuf) sort() {
	if !slices.IsSortedFunc(b.rows, byID) {
		slices.SortFunc(b.rows, byID)
	}
}

func byID(a, b bufRow) int { return cmp.Compare(a.id, b.id) }

// row returns the columns of the i-th row; valid until the next call.
func (b *rowBuf) row(i int) [][]byte {
	b.raw = b.raw[:0]
	for _, sp := range b.spans[b.rows[i].at : b.rows[i].at+b.ncols] {
		if sp.n < 0 {
			b.raw = append(b.raw, nil)
			continue
		}
		b.raw = append(b.raw, b.data[sp.off:sp.off+sp.n:sp.off+sp.n])
	}
	return b.raw
}

// viewDecoder turns binary rows of a table's selectList into lent
// features.
type viewDecoder struct {
	t     *table
	props map[string]any
	geom  wkbReader
	strs  map[string]any // short string values already boxed, this read
}

// maxBoxed bounds a read's cache of boxed strings: the values repeated
// row after row are few (towns, kinds); names are mostly unique.
const (
	maxBoxed    = 256
	maxBoxedLen = 32
)

// feature decodes a row; bound is the geometry's Bound().
func (d *viewDecoder) feature(raw [][]byte) (layers.Feature, orb.Bound, error) {
	cols := d.t.cols
	if len(raw) != 2+len(cols) || len(raw[0]) != 8 {
		return layers.Feature{}, orb.Bound{}, fmt.Errorf("unexpected row shape (%d columns)", len(raw))
	}
	id := int64(binary.BigEndian.Uint64(raw[0]))
	g, bound, err := d.geom.read(raw[1])
	if err != nil {
		return layers.Feature{}, bound, fmt.Errorf("feature %d: decode geometry: %w", id, err)
	}
	clear(d.props)
	for i := range cols {
		b := raw[2+i]
		if b == nil { // NULL
			continue
		}
		c := &cols[i]
		v, err := c.value(b, d)
		if err != nil {
			return layers.Feature{}, bound, fmt.Errorf("feature %d field %s: %w", id, c.name, err)
		}
		d.props[c.name] = v
	}
	return layers.Feature{Layer: d.t.layer.ID, ID: id, Geometry: g, Props: d.props}, bound, nil
}

// column is what View needs of a field to decode it.
type column struct {
	name  string
	typ   layers.FieldType
	codes []string // an enum's codes: decoded without allocating
	boxed []any    // the same, as interface values
}

// value decodes one non-NULL binary column as Query's scanner would:
// int64, float64, bool, a YYYY-MM-DD string for dates, else a string.
// Enum codes come boxed from the catalog and short strings from d's
// cache: an interface holding a string costs an allocation of its own.
func (c *column) value(b []byte, d *viewDecoder) (any, error) {
	switch c.typ {
	case layers.Int:
		if len(b) != 8 {
			return nil, errLength(len(b))
		}
		return int64(binary.BigEndian.Uint64(b)), nil
	case layers.Float:
		if len(b) != 8 {
			return nil, errLength(len(b))
		}
		return math.Float64frombits(binary.BigEndian.Uint64(b)), nil
	case layers.Bool:
		if len(b) != 1 {
			return nil, errLength(len(b))
		}
		return b[0] != 0, nil
	case layers.Date:
		if len(b) != 4 {
			return nil, errLength(len(b))
		}
		days := int32(binary.BigEndian.Uint32(b))
		if days == math.MaxInt32 || days == math.MinInt32 { // ±infinity: what pgtype.Date's Time holds
			return time.Time{}.Format(time.DateOnly), nil
		}
		return pgEpoch.AddDate(0, 0, int(days)).Format(time.DateOnly), nil
	}
	for k, code := range c.codes {
		if string(b) == code {
			return c.boxed[k], nil
		}
	}
	if len(b) > maxBoxedLen {
		return string(b), nil
	}
	if v, ok := d.strs[string(b)]; ok {
		return v, nil
	}
	var v any = string(b)
	if len(d.strs) < maxBoxed {
		if d.strs == nil {
			d.strs = make(map[string]any)
		}
		d.strs[v.(string)] = v
	}
	return v, nil
}

func errLength(n int) error { return fmt.Errorf("binary value of %d bytes", n) }

// wkbReader decodes 2D WKB into orb geometries whose coordinates live in
// slabs it reuses: a geometry it returns is valid until the next read.
// Anything but 2D points, lines, polygons and their multis (Z or M
// coordinates, collections) goes to orb's decoder.
type wkbReader struct {
	pts   []orb.Point
	rings []orb.Ring
	lines []orb.LineString
	polys []orb.Polygon

	b     []byte
	off   int
	bo    binary.ByteOrder
	err   error
	outer orb.Bound // bounds of the first ring read
}

const (
	wkbPoint = 1 + iota
	wkbLineString
	wkbPolygon
	wkbMultiPoint
	wkbMultiLineString
	wkbMultiPolygon
)

// read decodes b and returns the geometry with its Bound(), computed
// while decoding for a polygon (the bound of its exterior ring).
func (r *wkbReader) read(b []byte) (orb.Geometry, orb.Bound, error) {
	r.pts, r.rings, r.lines, r.polys = r.pts[:0], r.rings[:0], r.lines[:0], r.polys[:0]
	r.b, r.off, r.err, r.outer = b, 0, nil, orb.Bound{}
	g, ok := r.geometry(0)
	if !ok || r.err != nil || r.off != len(b) {
		g, err := wkb.Unmarshal(b)
		if err != nil {
			return nil, orb.Bound{}, err
		}
		return g, g.Bound(), nil
	}
	if p, ok := g.(orb.Polygon); ok && len(p) > 0 && len(p[0]) > 0 {
		return g, r.outer, nil
	}
	return g, g.Bound(), nil
}

// header reads a byte order and a type; ok is false for what this
// reader leaves to orb.
func (r *wkbReader) header() (uint32, bool) {
	if r.off+5 > len(r.b) {
		return 0, false
	}
	switch r.b[r.off] {
	case 0:
		r.bo = binary.BigEndian
	case 1:
		r.bo = binary.LittleEndian
	default:
		return 0, false
	}
	typ := r.bo.Uint32(r.b[r.off+1:])
	r.off += 5
	return typ, typ >= wkbPoint && typ <= wkbMultiPolygon
}

func (r *wkbReader) count() (int, bool) {
	if r.off+4 > len(r.b) {
		return 0, false
	}
	n := int(r.bo.Uint32(r.b[r.off:]))
	r.off += 4
	return n, n >= 0 && n <= (len(r.b)-r.off)/4 // every element takes 4 bytes or more
}

// points appends n points to the slab and returns them as their own
// slice (capacity capped: an append by a reader cannot reach the next
// geometry's points).
func (r *wkbReader) points(n int) ([]orb.Point, bool) {
	if n > (len(r.b)-r.off)/16 {
		return nil, false
	}
	if cap(r.pts)-len(r.pts) < n {
		// a new slab; the points already handed out keep the old one
		r.pts = make([]orb.Point, 0, max(2*cap(r.pts), n, 256))
	}
	start := len(r.pts)
	b := r.b[r.off : r.off+16*n]
	for i := range n {
		r.pts = append(r.pts, orb.Point{
			math.Float64frombits(r.bo.Uint64(b[16*i:])),
			math.Float64frombits(r.bo.Uint64(b[16*i+8:])),
		})
	}
	r.off += 16 * n
	return r.pts[start:len(r.pts):len(r.pts)], true
}

// geometry reads one geometry; depth 1 is a member of a multi.
func (r *wkbReader) geometry(depth int) (orb.Geometry, bool) {
	typ, ok := r.header()
	if !ok {
		return nil, false
	}
	switch typ {
	case wkbPoint:
		ps, ok := r.points(1)
		if !ok {
			return nil, false
		}
		return ps[0], true
	case wkbLineString:
		return r.lineString()
	case wkbPolygon:
		return r.polygon()
	}
	if depth > 0 {
		return nil, false
	}
	n, ok := r.count()
	if !ok {
		return nil, false
	}
	switch typ {
	case wkbMultiPoint:
		mp := make(orb.MultiPoint, 0, n) // rare in a tile: not pooled
		for range n {
			if t, ok := r.header(); !ok || t != wkbPoint {
				return nil, false
			}
			ps, ok := r.points(1)
			if !ok {
				return nil, false
			}
			mp = append(mp, ps[0])
		}
		return mp, true
	case wkbMultiLineString:
		start := len(r.lines)
		for range n {
			if t, ok := r.header(); !ok || t != wkbLineString {
				return nil, false
			}
			ls, ok := r.lineString()
			if !ok {
				return nil, false
			}
			r.lines = append(r.lines, ls)
		}
		return orb.MultiLineString(r.lines[start:len(r.lines):len(r.lines)]), true
	default: // wkbMultiPolygon
		polys := r.polys
		start := len(polys)
		for range n {
			if t, ok := r.header(); !ok || t != wkbPolygon {
				return nil, false
			}
			p, ok := r.polygon()
			if !ok {
				return nil, false
			}
			polys = append(polys, p)
		}
		r.polys = polys
		return orb.MultiPolygon(polys[start:len(polys):len(polys)]), true
	}
}

func (r *wkbReader) lineString() (orb.LineString, bool) {
	n, ok := r.count()
	if !ok {
		return nil, false
	}
	ps, ok := r.points(n)
	return orb.LineString(ps), ok
}

func (r *wkbReader) polygon() (orb.Polygon, bool) {
	n, ok := r.count()
	if !ok {
		return nil, false
	}
	start := len(r.rings)
	for k := range n {
		m, ok := r.count()
		if !ok {
			return nil, false
		}
		ps, ok := r.points(m)
		if !ok {
			return nil, false
		}
		if k == 0 && start == 0 && m > 0 {
			r.outer = bounds(ps)
		}
		r.rings = append(r.rings, orb.Ring(ps))
	}
	return orb.Polygon(r.rings[start:len(r.rings):len(r.rings)]), true
}

// bounds is orb.MultiPoint(ps).Bound() for a non-empty ps.
func bounds(ps []orb.Point) orb.Bound {
	b := orb.Bound{Min: ps[0], Max: ps[0]}
	for _, p := range ps[1:] {
		b.Min[0], b.Max[0] = min(b.Min[0], p[0]), max(b.Max[0], p[0])
		b.Min[1], b.Max[1] = min(b.Min[1], p[1]), max(b.Max[1], p[1])
	}
	return b
}
