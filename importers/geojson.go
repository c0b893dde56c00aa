package importers

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/paulmach/orb/geojson"
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
				return parseFeature(raw, d.file, fmt.Sprintf("feature %d", d.n), d.n)
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
		r, err := parseFeature(whole, d.file, "feature 1", 1)
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

// parseFeature reads one GeoJSON Feature. A feature with a bad geometry is
// a record error (skippable); its properties are scalars — nested objects
// and arrays are kept as their JSON text.
func parseFeature(raw []byte, file, pos string, n int) (Record, error) {
	rec := Record{File: file, Pos: pos, N: n, Props: map[string]any{}}
	var f struct {
		Type       string                     `json:"type"`
		ID         json.RawMessage            `json:"id"`
		Geometry   json.RawMessage            `json:"geometry"`
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return rec, &RecordError{Where: rec.Where(), Err: fmt.Errorf("not a feature: %w", err)}
	}
	if f.Type != "Feature" {
		return rec, &RecordError{Where: rec.Where(), Err: fmt.Errorf("type is %q, want \"Feature\"", f.Type)}
	}
	if len(f.ID) > 0 && string(f.ID) != "null" {
		rec.ID = scalar(f.ID)
	}
	if len(f.Geometry) > 0 && string(f.Geometry) != "null" {
		g, err := geojson.UnmarshalGeometry(f.Geometry)
		if err != nil {
			return rec, &RecordError{Where: rec.Where(), Field: "geometry", Err: err}
		}
		rec.Geometry = g.Geometry()
	}
	for k, v := range f.Properties {
		rec.Props[k] = scalar(v)
	}
	return rec, nil
}

// scalar turns a JSON value into a Go scalar: numbers as int64 when whole,
// else float64; null as nil; objects and arrays as their JSON text.
func scalar(v json.RawMessage) any {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return nil
	}
	switch v[0] {
	case 'n':
		return nil
	case 't':
		return true
	case 'f':
		return false
	case '"':
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s
		}
	case '{', '[':
		return string(v)
	}
	if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
		return i
	}
	if f, err := strconv.ParseFloat(string(v), 64); err == nil {
		return f
	}
	return string(v)
}

// seqDecoder reads GeoJSON text sequences (RFC 8142, RS-separated) and
// newline-delimited GeoJSON: one Feature per line.
type seqDecoder struct {
	file string
	sc   *bufio.Scanner
	line int
	n    int
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
		return parseFeature(b, d.file, fmt.Sprintf("line %d", d.line), d.n)
	}
	if err := d.sc.Err(); err != nil {
		return Record{}, fmt.Errorf("%s: line %d: %w: %v", d.file, d.line+1, ErrSyntax, err)
	}
	return Record{}, io.EOF
}
