package postgis

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/ewkb"

	"riskmap/layers"
)

// copyHeader starts a binary COPY stream: signature, flags, extension length.
var copyHeader = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")

// pgEpoch is day 0 of PostgreSQL's date type.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// encodeCopy appends normalised features to dst as the tuples of a binary
// COPY into copyCols (see the "Binary Format" of COPY in the PostgreSQL
// manual): id int8, geom as EWKB (SRID 4326), then each field by its
// column type, NULL when the feature has no value. dst starts with
// copyHeader; the caller adds the trailer.
func (t *table) encodeCopy(dst []byte, fs []layers.Feature) ([]byte, error) {
	if len(dst) == 0 {
		dst = append(dst, copyHeader...)
	}
	for _, f := range fs {
		dst = binary.BigEndian.AppendUint16(dst, uint16(2+len(t.fields)))
		dst = binary.BigEndian.AppendUint32(dst, 8)
		dst = binary.BigEndian.AppendUint64(dst, uint64(f.ID))
		var err error
		if dst, err = appendEWKB(dst, f.Geometry); err != nil {
			return nil, fmt.Errorf("feature %d: encode geometry: %w", f.ID, err)
		}
		for _, fd := range t.fields {
			v, ok := f.Props[fd.Name]
			if !ok || v == nil {
				dst = binary.BigEndian.AppendUint32(dst, math.MaxUint32) // -1: NULL
				continue
			}
			if dst, err = appendValue(dst, fd, v); err != nil {
				return nil, fmt.Errorf("feature %d field %s: %w", f.ID, fd.Name, err)
			}
		}
	}
	return dst, nil
}

// copyTrailer ends a binary COPY stream.
func copyTrailer(dst []byte) []byte { return append(dst, 0xff, 0xff) }

// appendEWKB appends the length and EWKB of g: points directly, other
// geometries through orb's encoder.
func appendEWKB(dst []byte, g orb.Geometry) ([]byte, error) {
	if p, ok := g.(orb.Point); ok {
		dst = binary.BigEndian.AppendUint32(dst, 25)
		dst = append(dst, 1)                                    // little endian
		dst = binary.LittleEndian.AppendUint32(dst, 0x20000001) // point with SRID
		dst = binary.LittleEndian.AppendUint32(dst, 4326)
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(p[0]))
		return binary.LittleEndian.AppendUint64(dst, math.Float64bits(p[1])), nil
	}
	b, err := ewkb.Marshal(g, 4326)
	if err != nil {
		return nil, err
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(b)))
	return append(dst, b...), nil
}

// appendValue appends the length and binary form of a normalised value.
func appendValue(dst []byte, fd layers.Field, v any) ([]byte, error) {
	bad := func() ([]byte, error) { return nil, fmt.Errorf("%T is not a %s value", v, fd.Type) }
	switch fd.Type {
	case layers.Int:
		x, ok := v.(int64)
		if !ok {
			return bad()
		}
		dst = binary.BigEndian.AppendUint32(dst, 8)
		return binary.BigEndian.AppendUint64(dst, uint64(x)), nil
	case layers.Float:
		x, ok := v.(float64)
		if !ok {
			return bad()
		}
		dst = binary.BigEndian.AppendUint32(dst, 8)
		return binary.BigEndian.AppendUint64(dst, math.Float64bits(x)), nil
	case layers.Bool:
		x, ok := v.(bool)
		if !ok {
			return bad()
		}
		dst = binary.BigEndian.AppendUint32(dst, 1)
		if x {
			return append(dst, 1), nil
		}
		return append(dst, 0), nil
	case layers.Date:
		s, ok := v.(string)
		if !ok {
			return bad()
		}
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return nil, err
		}
		days := int32((d.Unix() - pgEpoch.Unix()) / 86400) // both UTC midnights
		dst = binary.BigEndian.AppendUint32(dst, 4)
		return binary.BigEndian.AppendUint32(dst, uint32(days)), nil
	}
	s, ok := v.(string) // String, Enum
	if !ok {
		return bad()
	}
	if !utf8.ValidString(s) {
		return nil, fmt.Errorf("text is not valid UTF-8")
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(s)))
	return append(dst, s...), nil
}
