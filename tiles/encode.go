package tiles

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/paulmach/orb"
)

// The MVT encoder: features are shaped into geometry commands as they are
// read (shaper), kept as small records pointing into shared slabs, sorted
// and cut to the budgets, and only then written as protobuf. The output
// is byte for byte what orb's mvt.Marshal writes for the same layers
// (TestEncoderMatchesOrb), without building geojson features, property
// maps and a protobuf object tree for every feature: that was half of a
// tile's cost.

// geomType is the MVT GeomType.
type geomType uint8

const (
	pointType   geomType = 1
	lineType    geomType = 2
	polygonType geomType = 3
)

// MVT geometry commands.
const (
	cmdMoveTo    = 1
	cmdLineTo    = 2
	cmdClosePath = 7
)

// cmdWriter appends the geometry commands of one feature as the varints
// of MVT's packed geometry field; the cursor carries over from one part to
// the next, as MVT requires. It notes where the first point's parameters
// are (see shaped).
type cmdWriter struct {
	buf      []byte
	start    int
	px, py   int32
	points   int   // points written
	fx, fy   int32 // the first point
	head, n0 int   // buf[start:head] is the first command's header; n0 follows the first point
}

func (w *cmdWriter) moveTo(ps []orb.Point) { w.command(cmdMoveTo, ps) }
func (w *cmdWriter) lineTo(ps []orb.Point) { w.command(cmdLineTo, ps) }
func (w *cmdWriter) closePath()            { w.buf = append(w.buf, 1<<3|cmdClosePath) }

func (w *cmdWriter) command(id uint32, ps []orb.Point) {
	w.buf = binary.AppendUvarint(w.buf, uint64(uint32(len(ps))<<3|id))
	for _, p := range ps {
		x, y := int32(p[0]), int32(p[1])
		if w.points == 0 {
			w.fx, w.fy, w.head = x, y, len(w.buf)
		}
		dx, dy := x-w.px, y-w.py
		w.px, w.py = x, y
		w.buf = binary.AppendUvarint(w.buf, uint64(zigzag(dx)))
		w.buf = binary.AppendUvarint(w.buf, uint64(zigzag(dy)))
		if w.points == 0 {
			w.n0 = len(w.buf)
		}
		w.points++
	}
}

// zigzag is MVT's parameter integer encoding.
func zigzag(v int32) uint32 { return uint32(v<<1 ^ v>>31) }

// kv is one property of a feature: a key and a scalar value (string,
// int64, float64 or bool).
type kv struct {
	k string
	v any
}

// feat is a shaped feature: its geometry commands and properties live in
// the slabs of its layerFeatures.
type feat struct {
	id     uint64
	w      float64 // weight: the heaviest are kept when cutting
	g0, g1 int32   // geometry commands, packed: geom[g0:g1]
	p0, p1 int32   // properties: props[p0:p1], sorted by key
	typ    geomType
}

// layerFeatures are the shaped features of one MVT layer, in the order
// read (id order for a stored layer) until cut() needs them by weight.
type layerFeatures struct {
	name   string
	feats  []feat
	sorted bool   // feats are heaviest first
	geom   []byte // the packed geometry commands of every feature
	props  []kv
}

// add records a feature whose commands are geom[g0:] and whose properties
// are props[p0:] (sorted here by key).
func (lf *layerFeatures) add(id uint64, w float64, typ geomType, g0, p0 int) {
	ps := lf.props[p0:]
	if !slices.IsSortedFunc(ps, byKey) {
		slices.SortFunc(ps, byKey)
	}
	lf.feats = append(lf.feats, feat{id: id, w: w, typ: typ, g0: int32(g0), g1: int32(len(lf.geom)), p0: int32(p0), p1: int32(len(lf.props))})
}

func byKey(a, b kv) int { return cmp.Compare(a.k, b.k) }

// cut keeps the n heaviest features (ties: the lower ids), heaviest
// first. Sorting only when a layer is cut keeps the common case cheap;
// either way the order is deterministic.
func (lf *layerFeatures) cut(n int) {
	if !lf.sorted {
		slices.SortFunc(lf.feats, func(a, b feat) int {
			if c := cmp.Compare(b.w, a.w); c != 0 {
				return c
			}
			return cmp.Compare(a.id, b.id)
		})
		lf.sorted = true
	}
	lf.feats = lf.feats[:min(n, len(lf.feats))]
}

// encoder writes MVT layers; its tables are reused from layer to layer.
// Values are deduplicated as orb does (by Go type and value), with one
// map per type: hashing an interface costs more than hashing a string or
// a number.
type encoder struct {
	keys  []string // a layer has few keys: a linear search beats a map
	vals  []any
	strs  map[string]uint32
	ints  map[int64]uint32
	nums  map[uint64]uint32 // float64 bits
	bools [2]int32          // index+1 of false and true, 0 when unused
	last  []lastValue       // by key: the value the key had last, neighbours often share it
	tags  []uint32
	feat  []byte // one feature or value message
	layer []byte // one layer message
}

func newEncoder() *encoder {
	return &encoder{strs: map[string]uint32{}, ints: map[int64]uint32{}, nums: map[uint64]uint32{}}
}

func (e *encoder) key(k string) uint32 {
	for i, x := range e.keys {
		if x == k {
			return uint32(i)
		}
	}
	e.keys = append(e.keys, k)
	e.last = append(e.last, lastValue{})
	return uint32(len(e.keys) - 1)
}

// lastValue is a key's last value and its index.
type lastValue struct {
	v  any
	i  uint32
	ok bool
}

// keyValue returns the index of v, the value of key k: the index the key's
// last value had when v equals it, saving a hash of v.
func (e *encoder) keyValue(k uint32, v any) uint32 {
	if l := &e.last[k]; l.ok && sameScalar(l.v, v) {
		return l.i
	}
	i := e.value(v)
	e.last[k] = lastValue{v, i, true}
	return i
}

// sameScalar reports whether a and b are the same scalar of the same
// type (float64 by bits, as value dedups them).
func sameScalar(a, b any) bool {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case int64:
		y, ok := b.(int64)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && math.Float64bits(x) == math.Float64bits(y)
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	}
	return false
}

// value returns the index of v in the layer's values, adding it if new.
func (e *encoder) value(v any) uint32 {
	next := uint32(len(e.vals))
	switch x := v.(type) {
	case string:
		if i, ok := e.strs[x]; ok {
			return i
		}
		e.strs[x] = next
	case int64:
		if i, ok := e.ints[x]; ok {
			return i
		}
		e.ints[x] = next
	case float64:
		if i, ok := e.nums[math.Float64bits(x)]; ok {
			return i
		}
		e.nums[math.Float64bits(x)] = next
	case bool:
		b := 0
		if x {
			b = 1
		}
		if e.bools[b] > 0 {
			return uint32(e.bools[b] - 1)
		}
		e.bools[b] = int32(next) + 1
	}
	e.vals = append(e.vals, v) // other types fail in appendValue
	return next
}

// appendLayer appends the Tile.layers field (3) holding lf to dst.
func (e *encoder) appendLayer(dst []byte, lf *layerFeatures) ([]byte, error) {
	clear(e.last)
	e.keys, e.vals, e.bools, e.last = e.keys[:0], e.vals[:0], [2]int32{}, e.last[:0]
	clear(e.strs)
	clear(e.ints)
	clear(e.nums)
	b := appendString(e.layer[:0], 1, lf.name)
	for _, f := range lf.feats {
		e.tags = e.tags[:0]
		for _, p := range lf.props[f.p0:f.p1] {
			k := e.key(p.k)
			e.tags = append(e.tags, k, e.keyValue(k, p.v))
		}
		m := binary.AppendUvarint(append(e.feat[:0], tag(1, wireVarint)), f.id)
		m = appendPacked(m, 2, e.tags)
		m = binary.AppendUvarint(append(m, tag(3, wireVarint)), uint64(f.typ))
		if f.g1 > f.g0 {
			m = appendBytes(m, 4, lf.geom[f.g0:f.g1])
		}
		e.feat = m
		b = appendBytes(b, 2, m)
	}
	for _, k := range e.keys {
		b = appendString(b, 3, k)
	}
	for _, v := range e.vals {
		var err error
		if e.feat, err = appendValue(e.feat[:0], v); err != nil {
			return nil, fmt.Errorf("layer %s: %w", lf.name, err)
		}
		b = appendBytes(b, 4, e.feat)
	}
	b = binary.AppendUvarint(append(b, tag(5, wireVarint)), Extent)
	b = binary.AppendUvarint(append(b, tag(15, wireVarint)), 2)
	e.layer = b
	return appendBytes(dst, 3, b), nil
}

// appendValue writes a Tile.Value message: string 1, double 3, sint 6,
// bool 7, as orb writes them.
func appendValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case string:
		return appendString(b, 1, x), nil
	case float64:
		return binary.LittleEndian.AppendUint64(append(b, tag(3, wireFixed64)), math.Float64bits(x)), nil
	case int64:
		return binary.AppendUvarint(append(b, tag(6, wireVarint)), uint64(x<<1^x>>63)), nil
	case bool:
		n := byte(0)
		if x {
			n = 1
		}
		return append(b, tag(7, wireVarint), n), nil
	}
	return nil, fmt.Errorf("tiles: cannot encode a property value of type %T", v)
}

// protobuf wire types
const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
)

// tag is the key byte of a field number below 16.
func tag(field, wire int) byte { return byte(field<<3 | wire) }

func appendString(b []byte, field int, s string) []byte {
	b = binary.AppendUvarint(append(b, tag(field, wireBytes)), uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b []byte, field int, m []byte) []byte {
	b = binary.AppendUvarint(append(b, tag(field, wireBytes)), uint64(len(m)))
	return append(b, m...)
}

// appendPacked writes a packed repeated uint32 field; nothing when empty.
func appendPacked(b []byte, field int, vs []uint32) []byte {
	if len(vs) == 0 {
		return b
	}
	n := 0
	for _, v := range vs {
		n += uvarintLen(uint64(v))
	}
	b = binary.AppendUvarint(append(b, tag(field, wireBytes)), uint64(n))
	for _, v := range vs {
		b = binary.AppendUvarint(b, uint64(v))
	}
	return b
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
