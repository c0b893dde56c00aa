package importers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"riskmap/geo"
	"riskmap/layers"
)

// Options control an import.
type Options struct {
	CRS         *geo.CRS          // the source's CRS; nil: what the source declares (a Shapefile's .prj), else WGS84
	Map         map[string]string // source column → schema field, e.g. {"风险等级": "risk_level"}
	IDField     string            // the source column holding the feature id; default "id"
	SkipInvalid bool              // write the valid records and report the others to Rejects
	Rejects     io.Writer         // with SkipInvalid: a GeoJSON sequence of rejected records with their reasons
	Progress    func(Progress)    // called every BatchSize records and at the end
	BatchSize   int               // records per write; default 5000
}

// Progress is reported while an import runs.
type Progress struct {
	Records  int
	Rejected int
}

// Report says what an import did.
type Report struct {
	Layer    string        `json:"layer"`
	Read     int           `json:"read"`
	Written  int           `json:"written"`
	Rejected int           `json:"rejected"`
	Ignored  []string      `json:"ignored_columns,omitempty"` // source columns that map to no field
	Duration time.Duration `json:"duration_ns"`
}

// Import reads every record of dec, validates it against layer and writes
// the layer into st atomically: on the first bad record nothing is written
// and the error names the record, field and reason — unless SkipInvalid,
// when the valid records are written and every bad one goes to Rejects.
// Re-importing the same data is idempotent: features are upserted by id.
func Import(ctx context.Context, st layers.Store, layer *layers.Layer, dec Decoder, opt Options) (Report, error) {
	start := time.Now()
	if opt.IDField == "" {
		opt.IDField = "id"
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = 5000
	}
	if opt.CRS == nil {
		c := geo.WGS84
		if d, ok := dec.(interface{ CRS() (geo.CRS, bool) }); ok {
			if dc, known := d.CRS(); known {
				c = dc
			}
		}
		opt.CRS = &c
	}
	if layer.Derived {
		return Report{}, fmt.Errorf("%w: layer %s is derived by an analysis and cannot be imported", layers.ErrInvalid, layer.ID)
	}
	rep := Report{Layer: layer.ID}
	m := newMapper(layer, opt)
	w, err := layers.BeginBulk(ctx, st, layer.ID)
	if err != nil {
		return rep, err
	}
	fail := func(err error) (Report, error) {
		_ = w.Rollback(context.WithoutCancel(ctx))
		rep.Written = 0
		rep.Duration = time.Since(start)
		return rep, err
	}
	// the record number of every id so far: 2–3 bytes a record when the
	// ids ascend, the only memory an import holds that grows with the file
	var seen idSet
	// the features are normalised and their ids checked already
	write := w.Write
	if nw, ok := w.(layers.NormalizedWriter); ok {
		write = nw.WriteNormalized
	}
	batch := make([]layers.Feature, 0, opt.BatchSize)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := write(ctx, batch); err != nil {
			return err
		}
		rep.Written += len(batch)
		batch = batch[:0]
		if opt.Progress != nil {
			opt.Progress(Progress{Records: rep.Read, Rejected: rep.Rejected})
		}
		return nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		rec, err := dec.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		rep.Read++
		var f layers.Feature
		if err == nil {
			f, err = m.feature(rec)
		}
		if err == nil {
			if prev, dup := seen.add(f.ID, int32(rec.N)); dup {
				err = &RecordError{Where: rec.Where(), Field: opt.IDField, Err: fmt.Errorf("id %d repeats record %d", f.ID, prev)}
			}
		}
		if err != nil {
			if errors.Is(err, ErrSyntax) || !opt.SkipInvalid || errors.Is(err, context.Canceled) {
				return fail(err)
			}
			rep.Rejected++
			if opt.Rejects != nil {
				if werr := writeReject(opt.Rejects, rec, err); werr != nil {
					return fail(fmt.Errorf("writing the reject file: %w", werr))
				}
			}
			continue
		}
		batch = append(batch, f)
		if len(batch) >= opt.BatchSize {
			if err := flush(); err != nil {
				return fail(err)
			}
		}
	}
	if err := flush(); err != nil {
		return fail(err)
	}
	if err := w.Commit(ctx); err != nil {
		return fail(err)
	}
	rep.Ignored = m.ignoredColumns()
	rep.Duration = time.Since(start)
	return rep, nil
}

// mapper turns records into validated features of one layer.
type mapper struct {
	layer   *layers.Layer
	opt     Options
	names   map[string]string // source column → field, resolved once
	ignored map[string]bool
}

func newMapper(l *layers.Layer, opt Options) *mapper {
	return &mapper{layer: l, opt: opt, names: map[string]string{}, ignored: map[string]bool{}}
}

// field resolves a source column to a schema field: the explicit map, the
// field name, or its Chinese or English title.
func (m *mapper) field(col string) (string, bool) {
	if f, ok := m.names[col]; ok {
		return f, f != ""
	}
	name := ""
	if to, ok := m.opt.Map[col]; ok {
		name = to
	} else {
		c := strings.TrimSpace(col)
		for _, f := range m.layer.Fields {
			if c == f.Name || c == f.Title.Zh || strings.EqualFold(c, f.Title.En) {
				name = f.Name
				break
			}
		}
	}
	m.names[col] = name
	if name == "" {
		m.ignored[col] = true
	}
	return name, name != ""
}

func (m *mapper) ignoredColumns() []string {
	var out []string
	for c := range m.ignored {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

func (m *mapper) feature(rec Record) (layers.Feature, error) {
	bad := func(field string, err error) (layers.Feature, error) {
		return layers.Feature{}, &RecordError{Where: rec.Where(), Field: field, Err: err}
	}
	g, err := m.geometry(rec.Geometry)
	if err != nil {
		return bad("geometry", err)
	}
	f := layers.Feature{Layer: m.layer.ID, Geometry: g, Props: map[string]any{}}
	idv := rec.ID
	for col, v := range rec.Props {
		if col == m.opt.IDField {
			idv = v
			continue
		}
		name, ok := m.field(col)
		if !ok {
			continue
		}
		if _, dup := f.Props[name]; dup && v != nil {
			return bad(col, fmt.Errorf("maps to field %q, which another column already set", name))
		}
		f.Props[name] = v
	}
	if idv == nil {
		idv = int64(rec.N)
	}
	if f.ID, err = parseID(idv); err != nil {
		return bad(m.opt.IDField, err)
	}
	if err := m.layer.Normalize(&f); err != nil {
		var ve *layers.ValidationError
		if errors.As(err, &ve) {
			return bad(ve.Field, errors.New(ve.Reason))
		}
		return bad("", err)
	}
	return f, nil
}

// geometry checks the source coordinates and converts them to WGS84.
func (m *mapper) geometry(g orb.Geometry) (orb.Geometry, error) {
	if g == nil {
		return nil, errors.New("missing geometry")
	}
	if c, ok := g.(orb.Collection); ok {
		var err error
		if g, err = flatten(c); err != nil {
			return nil, err
		}
	}
	var bad error
	layers.EachPoint(g, func(p orb.Point) {
		if bad != nil {
			return
		}
		switch {
		case math.IsNaN(p[0]) || math.IsNaN(p[1]) || math.IsInf(p[0], 0) || math.IsInf(p[1], 0):
			bad = errors.New("coordinate is not a number")
		case chinaLon(p[1]) && chinaLat(p[0]):
			bad = fmt.Errorf("coordinates (%v, %v) look like (lat, lon): lon and lat are swapped", p[0], p[1])
		case !chinaLon(p[0]) || !chinaLat(p[1]):
			bad = fmt.Errorf("coordinates (%v, %v) are outside China: is this lon/lat in degrees (a projected CRS is not supported)?", p[0], p[1])
		}
	})
	if bad != nil {
		return nil, bad
	}
	return geo.ToWGS84(*m.opt.CRS, g), nil
}

func chinaLon(v float64) bool { return v >= 73 && v <= 136 }
func chinaLat(v float64) bool { return v >= 3 && v <= 54 }

// flatten turns a GeometryCollection of one family into a Multi* geometry.
func flatten(c orb.Collection) (orb.Geometry, error) {
	var mp orb.MultiPoint
	var ml orb.MultiLineString
	var mpl orb.MultiPolygon
	for _, g := range c {
		switch x := g.(type) {
		case orb.Point:
			mp = append(mp, x)
		case orb.MultiPoint:
			mp = append(mp, x...)
		case orb.LineString:
			ml = append(ml, x)
		case orb.MultiLineString:
			ml = append(ml, x...)
		case orb.Polygon:
			mpl = append(mpl, x)
		case orb.MultiPolygon:
			mpl = append(mpl, x...)
		default:
			return nil, fmt.Errorf("a GeometryCollection holding %s is not supported", g.GeoJSONType())
		}
	}
	switch {
	case len(mp) > 0 && len(ml) == 0 && len(mpl) == 0:
		return mp, nil
	case len(ml) > 0 && len(mp) == 0 && len(mpl) == 0:
		return ml, nil
	case len(mpl) > 0 && len(mp) == 0 && len(ml) == 0:
		return mpl, nil
	}
	return nil, errors.New("a GeometryCollection must hold geometries of one kind (points, lines or polygons)")
}

// parseID turns a source id into a positive int64: integers as they are,
// other text by a 63-bit FNV-1a hash (stable across imports, so re-imports
// upsert the same features; a collision within a layer is reported as a
// repeated id).
func parseID(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		if x > 0 {
			return x, nil
		}
	case float64:
		if x > 0 && x == math.Trunc(x) && x < 1<<53 {
			return int64(x), nil
		}
	case string:
		s := strings.TrimSpace(x)
		if s == "" {
			return 0, errors.New("empty id")
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			if n > 0 {
				return n, nil
			}
			return 0, fmt.Errorf("id %d must be positive", n)
		}
		h := fnv.New64a()
		h.Write([]byte(s))
		id := int64(h.Sum64() & math.MaxInt64)
		if id == 0 {
			id = 1
		}
		return id, nil
	default:
		return 0, fmt.Errorf("id %v (%T) is not a number or text", v, v)
	}
	return 0, fmt.Errorf("id %v must be a positive integer", v)
}

// writeReject writes a rejected record as one line of a GeoJSON sequence:
// the feature with its source properties, plus foreign members "where" and
// "reason". Fixed, the file imports again as GeoJSONSeq.
func writeReject(w io.Writer, rec Record, cause error) error {
	f := geojson.NewFeature(rec.Geometry)
	if rec.Geometry == nil {
		f.Geometry = nil
	}
	f.ID = rec.ID
	f.Properties = rec.Props
	f.ExtraMembers = geojson.Properties{"where": rec.Where(), "reason": cause.Error()}
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
