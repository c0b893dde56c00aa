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
// whole.
type geojsonDecoder struct {
	file   string
	dec    *json.Decoder
	n      int
	state  int // 0 start, 1 in features array, 2 after the array, 3 done
	array  bool
	single []Record // a lone Feature or geometry, yielded once
	p      fastjson.Parser
}

// NewGeoJSON decodes a GeoJSON document from r; file names it in errors.
func NewGeoJSON(r io.Reader, file string) Decoder {
	dec := json.NewDecoder(bufio.NewReaderSize(r, 1<<16))
	dec.UseNumber()
	return &geojsonDecoder{file: file, dec: dec}
}

func (d *geojsonDecoder) syntax(err error) error {
	return fmt.Errorf("%s: byte %d: %w: %v", d.file, d.dec.InputOffset(), ErrSyntax, err)
}

func (d *geojsonDecoder) Next() (Record, error) {
	for {
		switch d.state {
		case 0:
			if err := d.start(); err != nil {
				return Record{}, err
			}
		case 1:
			if d.dec.More() {
				var raw json.RawMessage
				if err := d.dec.Decode(&raw); err != nil {
					return Record{}, d.syntax(err)
				}
				d.n++
				return parseFeature(&d.p, raw, d.file, fmt.Sprintf("feature %d", d.n), d.n)
			}
			if _, err := d.dec.Token(); err != nil { // ]
				return Record{}, d.syntax(err)
			}
			d.state = 2
			if d.array {
				d.state = 3
			}
		case 2: // remaining members of the collection object
			if err := d.skipMembers(); err != nil {
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
	tok, err := d.dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%s: %w: empty file", d.file, ErrSyntax)
		}
		return d.syntax(err)
	}
	switch tok {
	case json.Delim('['):
		d.array, d.state = true, 1
		return nil
	case json.Delim('{'):
	default:
		return fmt.Errorf("%s: %w: not a GeoJSON object or array", d.file, ErrSyntax)
	}
	members := map[string]json.RawMessage{}
	for d.dec.More() {
		key, err := d.dec.Token()
		if err != nil {
			return d.syntax(err)
		}
		k, _ := key.(string)
		if k == "features" {
			if t, err := d.dec.Token(); err != nil || t != json.Delim('[') {
				return fmt.Errorf("%s: %w: \"features\" is not an array", d.file, ErrSyntax)
			}
			if typ, ok := members["type"]; ok && string(typ) != `"FeatureCollection"` {
				return fmt.Errorf("%s: %w: type %s with a features member", d.file, ErrSyntax, typ)
			}
			d.state = 1
			return nil
		}
		var v json.RawMessage
		if err := d.dec.Decode(&v); err != nil {
			return d.syntax(err)
		}
		members[k] = v
	}
	if _, err := d.dec.Token(); err != nil { // }
		return d.syntax(err)
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

func (d *geojsonDecoder) skipMembers() error {
	for d.dec.More() {
		if _, err := d.dec.Token(); err != nil {
			return d.syntax(err)
		}
		var v json.RawMessage
		if err := d.dec.Decode(&v); err != nil {
			return d.syntax(err)
		}
	}
	if _, err := d.dec.Token(); err != nil {
		return d.syntax(err)
	}
	return nil
}

// parseFeature reads one GeoJSON Feature in one pass with p (reused from
// feature to feature). A feature with a bad geometry is a record error
// (skippable); its properties are scalars — nested objects and arrays are
// kept as their JSON text.
func parseFeature(p *fastjson.Parser, raw []byte, file, pos string, n int) (Record, error) {
	rec := Record{File: file, Pos: pos, N: n, Props: map[string]any{}}
	bad := func(field string, err error) (Record, error) {
		return rec, &RecordError{Where: rec.Where(), Field: field, Err: err}
	}
	v, err := p.ParseBytes(raw)
	if err != nil {
		return bad("", fmt.Errorf("not a feature: %w", err))
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
