package importers

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/valyala/fastjson"
)

// geojsonDecoder streams the features of a GeoJSON FeatureCollection (or a
// bare array of features, or a single Feature) without reading the file
// whole: a scanner cuts each feature's bytes out of the stream by bracket
// matching, and fastjson parses them in one pass.
type geojsonDecoder struct {
	file   string
	sc     jsonScanner
	n      int
	state  int // 0 start, 1 in features array, 2 after the array, 3 done
	array  bool
	first  bool     // no element or member read yet at this level
	single []Record // a lone Feature or geometry, yielded once
	p      fastjson.Parser
}

// NewGeoJSON decodes a GeoJSON document from r; file names it in errors.
func NewGeoJSON(r io.Reader, file string) Decoder {
	return &geojsonDecoder{file: file, sc: jsonScanner{r: r, buf: make([]byte, 1<<16)}}
}

func (d *geojsonDecoder) syntax(err error) error {
	return fmt.Errorf("%s: byte %d: %w: %v", d.file, d.sc.offset(), ErrSyntax, err)
}

func (d *geojsonDecoder) Next() (Record, error) {
	for {
		switch d.state {
		case 0:
			if err := d.start(); err != nil {
				return Record{}, err
			}
		case 1:
			c, ok := d.sc.peek()
			if !ok {
				return Record{}, d.syntax(d.sc.eof())
			}
			if c == ']' {
				d.sc.pos++
				d.state = 2
				if d.array {
					d.state = 3
				}
				continue
			}
			if !d.first {
				if c != ',' {
					return Record{}, d.syntax(fmt.Errorf("want , or ] after a feature, found %q", c))
				}
				d.sc.pos++
				if _, ok := d.sc.peek(); !ok {
					return Record{}, d.syntax(d.sc.eof())
				}
			}
			d.first = false
			at := d.sc.offset()
			raw, err := d.sc.value()
			if err != nil {
				return Record{}, d.syntax(err)
			}
			v, err := d.p.ParseBytes(raw)
			if err != nil {
				return Record{}, fmt.Errorf("%s: byte %d: %w: %v", d.file, at, ErrSyntax, err)
			}
			d.n++
			return featureRecord(v, d.file, "feature "+strconv.Itoa(d.n), d.n)
		case 2: // remaining members of the collection object
			d.first = false // after the features member
			if err := d.members(nil); err != nil {
				return Record{}, err
			}
			d.state = 3
		default:
			if len(d.single) > 0 {
				r := d.single[0]
				d.single = d.single[1:]
				return r, nil
			}
			return Record{}, io.EOF
		}
	}
}

// start reads up to the first feature.
func (d *geojsonDecoder) start() error {
	c, ok := d.sc.peek()
	if !ok {
		if err := d.sc.eof(); err != io.ErrUnexpectedEOF {
			return d.syntax(err)
		}
		return fmt.Errorf("%s: %w: empty file", d.file, ErrSyntax)
	}
	d.first = true
	switch c {
	case '[':
		d.sc.pos++
		d.array, d.state = true, 1
		return nil
	case '{':
		d.sc.pos++
	default:
		return fmt.Errorf("%s: %w: not a GeoJSON object or array", d.file, ErrSyntax)
	}
	members := map[string]json.RawMessage{}
	if err := d.members(members); err != nil || d.state == 1 {
		return err
	}
	d.state = 3
	whole, err := json.Marshal(members)
	if err != nil {
		return err
	}
	var typ string
	_ = json.Unmarshal(members["type"], &typ)
	switch typ {
	case "FeatureCollection":
		return nil // no features member: empty
	case "Feature":
		r, err := parseFeature(&d.p, whole, d.file, "feature 1", 1)
		if err != nil {
			return err
		}
		d.single = []Record{r}
	case "":
		return fmt.Errorf("%s: %w: no \"type\" member", d.file, ErrSyntax)
	default: // a bare geometry
		g, err := geojson.UnmarshalGeometry(whole)
		if err != nil {
			return fmt.Errorf("%s: %w: %v", d.file, ErrSyntax, err)
		}
		d.single = []Record{{File: d.file, Pos: "geometry", N: 1, Geometry: g.Geometry(), Props: map[string]any{}}}
	}
	return nil
}

// members reads the members of the top-level object up to its closing
// brace, keeping them in keep (when not nil), or up to the features array
// when keep is not nil: then it sets state 1 and returns.
func (d *geojsonDecoder) members(keep map[string]json.RawMessage) error {
	for {
		c, ok := d.sc.peek()
		if !ok {
			return d.syntax(d.sc.eof())
		}
		if c == '}' {
			d.sc.pos++
			return nil
		}
		if !d.first {
			if c != ',' {
				return d.syntax(fmt.Errorf("want , or } after a member, found %q", c))
			}
			d.sc.pos++
			if c, ok = d.sc.peek(); !ok {
				return d.syntax(d.sc.eof())
			}
		}
		d.first = false
		if c != '"' {
			return d.syntax(fmt.Errorf("want a member name, found %q", c))
		}
		raw, err := d.sc.value()
		if err != nil {
			return d.syntax(err)
		}
		var k string
		if err := json.Unmarshal(raw, &k); err != nil {
			return d.syntax(err)
		}
		if c, ok = d.sc.peek(); !ok || c != ':' {
			return d.syntax(fmt.Errorf("want : after member name %q", k))
		}
		d.sc.pos++
		if _, ok := d.sc.peek(); !ok {
			return d.syntax(d.sc.eof())
		}
		if k == "features" && keep != nil {
			if c, _ := d.sc.peek(); c != '[' {
				return fmt.Errorf("%s: %w: \"features\" is not an array", d.file, ErrSyntax)
			}
			if typ, ok := keep["type"]; ok && string(typ) != `"FeatureCollection"` {
				return fmt.Errorf("%s: %w: type %s with a features member", d.file, ErrSyntax, typ)
			}
			d.sc.pos++
			d.state, d.first = 1, true
			return nil
		}
		at := d.sc.offset()
		raw, err = d.sc.value()
		if err != nil {
			return d.syntax(err)
		}
		if !json.Valid(raw) {
			return fmt.Errorf("%s: byte %d: %w: member %q is not valid JSON", d.file, at, ErrSyntax, k)
		}
		if keep != nil {
			keep[k] = bytes.Clone(raw)
		}
	}
}

// jsonScanner cuts JSON values out of a stream without decoding them:
// value returns the bytes of the next one by matching brackets and
// quotes (the caller parses, and so validates, them).
type jsonScanner struct {
	r    io.Reader
	buf  []byte
	pos  int   // next unread byte
	end  int   // end of the data in buf
	base int64 // stream offset of buf[0]
	err  error // the reader's error, io.EOF at the end
}

func (s *jsonScanner) offset() int64 { return s.base + int64(s.pos) }

// eof is the error for input that ended early (or the reader's error).
func (s *jsonScanner) eof() error {
	if s.err == nil || s.err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return s.err
}

// fill moves buf[keep:end] to the front (keep ≤ pos), grows buf when it
// is full and reads more; it reports whether any byte came.
func (s *jsonScanner) fill(keep int) bool {
	if keep > 0 {
		s.end = copy(s.buf, s.buf[keep:s.end])
		s.pos -= keep
		s.base += int64(keep)
	}
	if s.end == len(s.buf) {
		s.buf = append(s.buf, make([]byte, len(s.buf))...)
	}
	for s.err == nil {
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		s.err = err
		if n > 0 {
			return true
		}
	}
	return false
}

// peek skips white space and returns the next byte without consuming it;
// false at the end of the input.
func (s *jsonScanner) peek() (byte, bool) {
	for {
		for s.pos < s.end {
			switch c := s.buf[s.pos]; c {
			case ' ', '\t', '\n', '\r':
				s.pos++
			default:
				return c, true
			}
		}
		if !s.fill(s.pos) {
			return 0, false
		}
	}
}

// value consumes the value at pos (white space skipped) and returns its
// bytes, valid until the next call.
func (s *jsonScanner) value() ([]byte, error) {
	start, i := s.pos, s.pos
	depth := 0
	inStr, esc := false, false
	scalar := false
	if i < s.end {
		switch s.buf[i] {
		case '{', '[', '"':
		case '}', ']', ',', ':':
			return nil, fmt.Errorf("unexpected %q", s.buf[i])
		default:
			scalar = true
		}
	}
	for {
		if i == s.end {
			shift := start
			more := s.fill(start) // moves the value to the front
			i -= shift
			start = 0
			if !more {
				if scalar && i > start {
					break
				}
				return nil, s.eof()
			}
			continue
		}
		c := s.buf[i]
		if scalar {
			if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == ':' || c == ']' || c == '}' {
				break
			}
			i++
			continue
		}
		if inStr {
			if esc { // the byte after a backslash
				esc = false
				i++
				continue
			}
			// the common case: plain text up to the next quote or backslash
			j := bytes.IndexAny(s.buf[i:s.end], `"\`)
			if j < 0 {
				i = s.end
				continue
			}
			i += j
			if s.buf[i] == '\\' {
				esc = true
				i++
				continue
			}
			inStr = false
			i++
			if depth == 0 {
				break
			}
			continue
		}
		i++
		switch c {
		case '"':
			inStr = true
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		}
		if depth == 0 && (c == '}' || c == ']') {
			break
		}
	}
	s.pos = i
	return s.buf[start:i], nil
}

// parseFeature reads one GeoJSON Feature in one pass with p (reused from
// feature to feature). A feature with a bad geometry is a record error
// (skippable); its properties are scalars — nested objects and arrays are
// kept as their JSON text.
func parseFeature(p *fastjson.Parser, raw []byte, file, pos string, n int) (Record, error) {
	v, err := p.ParseBytes(raw)
	if err != nil {
		rec := Record{File: file, Pos: pos, N: n, Props: map[string]any{}}
		return rec, &RecordError{Where: rec.Where(), Err: fmt.Errorf("not a feature: %w", err)}
	}
	return featureRecord(v, file, pos, n)
}

// featureRecord converts a parsed GeoJSON Feature.
func featureRecord(v *fastjson.Value, file, pos string, n int) (Record, error) {
	rec := Record{File: file, Pos: pos, N: n, Props: map[string]any{}}
	bad := func(field string, err error) (Record, error) {
		return rec, &RecordError{Where: rec.Where(), Field: field, Err: err}
	}
	if v.Type() != fastjson.TypeObject {
		return bad("", fmt.Errorf("not a feature: a JSON %s", v.Type()))
	}
	if typ := v.Get("type"); typ == nil || string(typ.GetStringBytes()) != "Feature" {
		got := "missing"
		if typ != nil {
			got = typ.String()
		}
		return bad("", fmt.Errorf("type is %s, want \"Feature\"", got))
	}
	if id := v.Get("id"); id != nil {
		rec.ID = scalar(id)
	}
	if g := v.Get("geometry"); g != nil && g.Type() != fastjson.TypeNull {
		geom, err := geometry(g, 0)
		if err != nil {
			return bad("geometry", err)
		}
		rec.Geometry = geom
	}
	switch props := v.Get("properties"); {
	case props == nil || props.Type() == fastjson.TypeNull:
	case props.Type() == fastjson.TypeObject:
		props.GetObject().Visit(func(k []byte, v *fastjson.Value) { rec.Props[string(k)] = scalar(v) })
	default:
		return bad("", fmt.Errorf("not a feature: properties is a JSON %s, not an object", props.Type()))
	}
	return rec, nil
}

// scalar turns a JSON value into a Go scalar: numbers as int64 when whole,
// else float64; null as nil; objects and arrays as their JSON text.
func scalar(v *fastjson.Value) any {
	switch v.Type() {
	case fastjson.TypeNull:
		return nil
	case fastjson.TypeTrue:
		return true
	case fastjson.TypeFalse:
		return false
	case fastjson.TypeString:
		return string(v.GetStringBytes())
	case fastjson.TypeNumber:
		s := v.String()
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f
		}
		return s
	}
	return v.String()
}

// maxCollectionDepth bounds GeometryCollections nested in each other.
const maxCollectionDepth = 8

// geometry converts a GeoJSON geometry object; positions take their first
// two numbers (a third, the height, is dropped).
func geometry(v *fastjson.Value, depth int) (orb.Geometry, error) {
	if v.Type() != fastjson.TypeObject {
		return nil, fmt.Errorf("geometry is a JSON %s, not an object", v.Type())
	}
	typ := string(v.GetStringBytes("type"))
	if typ == "GeometryCollection" {
		if depth >= maxCollectionDepth {
			return nil, errors.New("GeometryCollections nested too deep")
		}
		gs, err := array(v.Get("geometries"), "geometries")
		if err != nil {
			return nil, err
		}
		c := make(orb.Collection, 0, len(gs))
		for _, g := range gs {
			x, err := geometry(g, depth+1)
			if err != nil {
				return nil, err
			}
			c = append(c, x)
		}
		return c, nil
	}
	c := v.Get("coordinates")
	switch typ {
	case "Point":
		return position(c)
	case "MultiPoint":
		ps, err := positions(c)
		return orb.MultiPoint(ps), err
	case "LineString":
		ps, err := positions(c)
		return orb.LineString(ps), err
	case "MultiLineString":
		ls, err := lists(c, positions)
		ml := make(orb.MultiLineString, len(ls))
		for i, l := range ls {
			ml[i] = orb.LineString(l)
		}
		return ml, err
	case "Polygon":
		return polygon(c)
	case "MultiPolygon":
		ps, err := lists(c, polygon)
		return orb.MultiPolygon(ps), err
	case "":
		return nil, errors.New(`geometry has no "type"`)
	}
	return nil, fmt.Errorf("unknown geometry type %q", typ)
}

func array(v *fastjson.Value, what string) ([]*fastjson.Value, error) {
	if v == nil {
		return nil, fmt.Errorf("%s missing", what)
	}
	a, err := v.Array()
	if err != nil {
		return nil, fmt.Errorf("%s: not an array", what)
	}
	return a, nil
}

func position(v *fastjson.Value) (orb.Point, error) {
	a, err := array(v, "coordinates")
	if err != nil {
		return orb.Point{}, err
	}
	if len(a) < 2 {
		return orb.Point{}, fmt.Errorf("a position has %d numbers, want 2 (lon, lat)", len(a))
	}
	var p orb.Point
	for i := range p {
		if p[i], err = a[i].Float64(); err != nil {
			return orb.Point{}, fmt.Errorf("coordinate %s is not a number", a[i])
		}
	}
	return p, nil
}

func positions(v *fastjson.Value) ([]orb.Point, error) { return lists(v, position) }

func polygon(v *fastjson.Value) (orb.Polygon, error) {
	rs, err := lists(v, positions)
	p := make(orb.Polygon, len(rs))
	for i, r := range rs {
		p[i] = orb.Ring(r)
	}
	return p, err
}

// lists converts an array of coordinate arrays with item.
func lists[T any](v *fastjson.Value, item func(*fastjson.Value) (T, error)) ([]T, error) {
	a, err := array(v, "coordinates")
	if err != nil {
		return nil, err
	}
	out := make([]T, len(a))
	for i, x := range a {
		if out[i], err = item(x); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// seqDecoder reads GeoJSON text sequences (RFC 8142, RS-separated) and
// newline-delimited GeoJSON: one Feature per line.
type seqDecoder struct {
	file string
	sc   *bufio.Scanner
	line int
	n    int
	p    fastjson.Parser
}

// NewGeoJSONSeq decodes one feature per line (an RS prefix is allowed).
func NewGeoJSONSeq(r io.Reader, file string) Decoder {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<16), 64<<20)
	return &seqDecoder{file: file, sc: sc}
}

func (d *seqDecoder) Next() (Record, error) {
	for d.sc.Scan() {
		d.line++
		b := bytes.TrimSpace(bytes.TrimLeft(d.sc.Bytes(), "\x1e"))
		if len(b) == 0 {
			continue
		}
		d.n++
		return parseFeature(&d.p, b, d.file, fmt.Sprintf("line %d", d.line), d.n)
	}
	if err := d.sc.Err(); err != nil {
		return Record{}, fmt.Errorf("%s: line %d: %w: %v", d.file, d.line+1, ErrSyntax, err)
	}
	return Record{}, io.EOF
}
