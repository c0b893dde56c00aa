package memstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"

	"riskmap/layers"
)

// On disk every change is one framed record:
//
//	uint32 LE  payload length
//	uint32 LE  CRC-32 (Castagnoli) of the payload
//	payload
//
// and a payload is an op byte followed by its body:
//
//	opUpsert: uvarint n, then n features
//	          (varint id, uvarint len + WKB geometry, props)
//	opDelete: uvarint n, then n varint ids
//	opEnd:    uvarint feature count (closes a snapshot)
//
// props are uvarint n, then n times: uvarint len + key, a type tag and the
// value (string: uvarint len + bytes; int64: varint; float64: 8 bytes LE
// IEEE bits; bool: the tag alone). The tags keep int64 and float64 apart,
// which JSON would not.
const (
	opUpsert byte = 1
	opDelete byte = 2
	opEnd    byte = 3

	tagNil    byte = 0
	tagString byte = 1
	tagInt    byte = 2
	tagFloat  byte = 3
	tagFalse  byte = 4
	tagTrue   byte = 5

	frameHeader = 8
	// maxRecord bounds a record's length so that a corrupt length field
	// cannot make the reader allocate gigabytes.
	maxRecord = 1 << 30
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errBadRecord marks a payload that does not decode.
var errBadRecord = errors.New("bad record")

// appendFrame appends a framed record holding payload to dst.
func appendFrame(dst, payload []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(payload)))
	dst = binary.LittleEndian.AppendUint32(dst, crc32.Checksum(payload, castagnoli))
	return append(dst, payload...)
}

// nextFrame splits the record at the start of b. ok is false when b holds
// no complete record with a valid checksum (a torn or corrupt tail). No
// record is empty, so a run of zeros (a file extended but never written)
// is a tail too.
func nextFrame(b []byte) (payload, rest []byte, ok bool) {
	if len(b) < frameHeader {
		return nil, b, false
	}
	n := binary.LittleEndian.Uint32(b)
	sum := binary.LittleEndian.Uint32(b[4:])
	if n == 0 || n > maxRecord || uint64(len(b)-frameHeader) < uint64(n) {
		return nil, b, false
	}
	payload = b[frameHeader : frameHeader+int(n)]
	if crc32.Checksum(payload, castagnoli) != sum {
		return nil, b, false
	}
	return payload, b[frameHeader+int(n):], true
}

// encodeUpsert returns the payload of an upsert of fs.
func encodeUpsert(dst []byte, fs []layers.Feature) ([]byte, error) {
	dst = append(dst, opUpsert)
	dst = binary.AppendUvarint(dst, uint64(len(fs)))
	for _, f := range fs {
		var err error
		if dst, err = appendFeature(dst, f); err != nil {
			return nil, err
		}
	}
	return dst, nil
}

func appendFeature(dst []byte, f layers.Feature) ([]byte, error) {
	dst = binary.AppendVarint(dst, f.ID)
	g, err := wkb.Marshal(f.Geometry, binary.LittleEndian)
	if err != nil {
		return nil, fmt.Errorf("feature %d: encode geometry: %w", f.ID, err)
	}
	dst = binary.AppendUvarint(dst, uint64(len(g)))
	dst = append(dst, g...)
	dst = binary.AppendUvarint(dst, uint64(len(f.Props)))
	for k, v := range f.Props {
		dst = appendString(dst, k)
		switch x := v.(type) {
		case nil:
			dst = append(dst, tagNil)
		case string:
			dst = append(dst, tagString)
			dst = appendString(dst, x)
		case int64:
			dst = append(dst, tagInt)
			dst = binary.AppendVarint(dst, x)
		case float64:
			dst = append(dst, tagFloat)
			dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(x))
		case bool:
			if x {
				dst = append(dst, tagTrue)
			} else {
				dst = append(dst, tagFalse)
			}
		default:
			return nil, fmt.Errorf("feature %d property %q: unsupported type %T", f.ID, k, v)
		}
	}
	return dst, nil
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// encodeDelete returns the payload of a delete of ids.
func encodeDelete(dst []byte, ids []int64) []byte {
	dst = append(dst, opDelete)
	dst = binary.AppendUvarint(dst, uint64(len(ids)))
	for _, id := range ids {
		dst = binary.AppendVarint(dst, id)
	}
	return dst
}

// encodeEnd returns the closing payload of a snapshot of n features.
func encodeEnd(n int) []byte {
	return binary.AppendUvarint([]byte{opEnd}, uint64(n))
}

// record is a decoded payload.
type record struct {
	op  byte
	fs  []layers.Feature // opUpsert
	ids []int64          // opDelete
	n   uint64           // opEnd
}

// decoder reads the primitives of a payload; the first failure sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: truncated or malformed %s", errBadRecord, what)
	}
}

func (d *decoder) byte(what string) byte {
	if d.err != nil || len(d.b) < 1 {
		d.fail(what)
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint(what string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes(what string) []byte {
	n := d.uvarint(what)
	if d.err != nil || uint64(len(d.b)) < n {
		d.fail(what)
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

// count reads a length that announces n items of at least min bytes each,
// refusing one that the rest of the payload cannot hold.
func (d *decoder) count(what string, min int) int {
	n := d.uvarint(what)
	if d.err == nil && n > uint64(len(d.b)/min) {
		d.fail(what)
		return 0
	}
	return int(n)
}

func decodeRecord(p []byte) (record, error) {
	d := &decoder{b: p}
	r := record{op: d.byte("op")}
	switch r.op {
	case opUpsert:
		n := d.count("feature count", 3)
		r.fs = make([]layers.Feature, 0, n)
		for i := 0; i < n && d.err == nil; i++ {
			f, err := decodeFeature(d)
			if err != nil {
				return r, err
			}
			r.fs = append(r.fs, f)
		}
	case opDelete:
		n := d.count("id count", 1)
		r.ids = make([]int64, 0, n)
		for i := 0; i < n && d.err == nil; i++ {
			r.ids = append(r.ids, d.varint("id"))
		}
	case opEnd:
		r.n = d.uvarint("count")
	default:
		if d.err == nil {
			d.err = fmt.Errorf("%w: unknown op %d", errBadRecord, r.op)
		}
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%w: %d trailing bytes", errBadRecord, len(d.b))
	}
	return r, d.err
}

func decodeFeature(d *decoder) (layers.Feature, error) {
	f := layers.Feature{ID: d.varint("id")}
	g := d.bytes("geometry")
	if d.err != nil {
		return f, d.err
	}
	geom, err := wkb.Unmarshal(g)
	if err != nil {
		return f, fmt.Errorf("%w: feature %d geometry: %w", errBadRecord, f.ID, err)
	}
	f.Geometry = geom
	n := d.count("property count", 2)
	if n > 0 {
		f.Props = make(map[string]any, n)
	}
	for i := 0; i < n && d.err == nil; i++ {
		k := string(d.bytes("property name"))
		switch tag := d.byte("property tag"); tag {
		case tagNil:
			f.Props[k] = nil
		case tagString:
			f.Props[k] = string(d.bytes("string"))
		case tagInt:
			f.Props[k] = d.varint("int")
		case tagFloat:
			if len(d.b) < 8 {
				d.fail("float")
				break
			}
			f.Props[k] = math.Float64frombits(binary.LittleEndian.Uint64(d.b))
			d.b = d.b[8:]
		case tagFalse, tagTrue:
			f.Props[k] = tag == tagTrue
		default:
			if d.err == nil {
				d.err = fmt.Errorf("%w: unknown property tag %d", errBadRecord, tag)
			}
		}
	}
	if d.err == nil {
		if err := checkGeometry(f.Geometry); err != nil {
			return f, fmt.Errorf("%w: feature %d: %s", errBadRecord, f.ID, err)
		}
	}
	return f, d.err
}

// checkGeometry accepts the six simple geometry types with at least one
// point and only finite coordinates; the reason is returned as an error.
func checkGeometry(g orb.Geometry) error {
	if g == nil {
		return errors.New("no geometry")
	}
	if layers.Family(g) == "" {
		return fmt.Errorf("unsupported geometry type %s", g.GeoJSONType())
	}
	n, finite := 0, true
	layers.EachPoint(g, func(p orb.Point) {
		n++
		if math.IsNaN(p[0]) || math.IsNaN(p[1]) || math.IsInf(p[0], 0) || math.IsInf(p[1], 0) {
			finite = false
		}
	})
	if n == 0 {
		return errors.New("empty geometry")
	}
	if !finite {
		return errors.New("geometry has a NaN or infinite coordinate")
	}
	return nil
}
