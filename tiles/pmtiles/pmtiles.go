// Package pmtiles writes PMTiles v3 archives: every tile of a pyramid in
// one file, with a Hilbert-ordered directory, for offline use in the field
// and for object storage behind a CDN. It also reads them back (Open),
// which the tests use as an independent check of the writer.
package pmtiles

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
)

// Compression codes of the header.
const (
	CompressionNone = 1
	CompressionGzip = 2
)

// TypeMVT is the tile type code of Mapbox vector tiles.
const TypeMVT = 1

const (
	headerLen  = 127
	rootMaxLen = 16384 - headerLen
)

// ID returns the PMTiles tile id of z/x/y: the tiles of lower zooms first,
// then the position on the Hilbert curve.
func ID(z uint8, x, y uint32) uint64 {
	var acc uint64
	for t := uint8(0); t < z; t++ {
		acc += uint64(1) << (2 * t)
	}
	n := uint64(1) << z
	tx, ty := uint64(x), uint64(y)
	var d uint64
	for s := n / 2; s > 0; s /= 2 {
		var rx, ry uint64
		if tx&s > 0 {
			rx = 1
		}
		if ty&s > 0 {
			ry = 1
		}
		d += s * s * ((3 * rx) ^ ry)
		if ry == 0 {
			if rx == 1 {
				tx = s - 1 - tx
				ty = s - 1 - ty
			}
			tx, ty = ty, tx
		}
	}
	return acc + d
}

type entry struct {
	id        uint64
	offset    uint64
	length    uint32
	runLength uint32
}

// Header is the part of the header a caller sets.
type Header struct {
	MinZoom, MaxZoom     uint8
	MinLon, MinLat       float64
	MaxLon, MaxLat       float64
	CenterZoom           uint8
	CenterLon, CenterLat float64
	TileCompression      uint8 // CompressionGzip when the tiles added are gzipped
}

// Writer builds an archive; tiles are staged in a temporary file so memory
// stays flat in the number of tiles' bytes.
type Writer struct {
	tmp     *os.File
	size    uint64
	entries []entry
	seen    map[[32]byte]entry // identical contents are stored once
}

// NewWriter stages tiles in a temporary file in dir ("" for the default).
func NewWriter(dir string) (*Writer, error) {
	f, err := os.CreateTemp(dir, "pmtiles-*.tmp")
	if err != nil {
		return nil, err
	}
	return &Writer{tmp: f, seen: map[[32]byte]entry{}}, nil
}

// Add stages one tile. Empty tiles are skipped. Tiles may come in any order
// but each z/x/y at most once.
func (w *Writer) Add(z uint8, x, y uint32, data []byte) error {
	if len(data) == 0 {
		return nil
	}
	id := ID(z, x, y)
	sum := sha256.Sum256(data)
	if e, ok := w.seen[sum]; ok {
		w.entries = append(w.entries, entry{id: id, offset: e.offset, length: e.length, runLength: 1})
		return nil
	}
	if _, err := w.tmp.Write(data); err != nil {
		return err
	}
	e := entry{id: id, offset: w.size, length: uint32(len(data)), runLength: 1}
	w.size += uint64(len(data))
	w.seen[sum] = e
	w.entries = append(w.entries, e)
	return nil
}

// Tiles returns how many tiles were added.
func (w *Writer) Tiles() int { return len(w.entries) }

// Finish writes the archive to out and removes the staging file.
func (w *Writer) Finish(out io.Writer, h Header, metadata map[string]any) error {
	defer os.Remove(w.tmp.Name())
	defer w.tmp.Close()
	slices.SortFunc(w.entries, func(a, b entry) int {
		switch {
		case a.id < b.id:
			return -1
		case a.id > b.id:
			return 1
		}
		return 0
	})
	for i := 1; i < len(w.entries); i++ {
		if w.entries[i].id == w.entries[i-1].id {
			return fmt.Errorf("pmtiles: tile id %d added twice", w.entries[i].id)
		}
	}
	// lay the tile data out in id order (clustered), each content once
	var ordered []entry
	placed := map[uint64]uint64{} // staging offset -> final offset
	var dataLen uint64
	for _, e := range w.entries {
		off, ok := placed[e.offset]
		if !ok {
			off = dataLen
			placed[e.offset] = off
			dataLen += uint64(e.length)
		}
		n := len(ordered)
		if n > 0 && ordered[n-1].offset == off && ordered[n-1].id+uint64(ordered[n-1].runLength) == e.id {
			ordered[n-1].runLength++
			continue
		}
		ordered = append(ordered, entry{id: e.id, offset: off, length: e.length, runLength: 1})
	}
	root, leaves, err := directories(ordered)
	if err != nil {
		return err
	}
	meta, err := json.Marshal(metadata)
	if err != nil {
		return err
	}
	metaZ, err := gz(meta)
	if err != nil {
		return err
	}
	contents := map[uint64]bool{}
	for _, e := range w.entries {
		contents[e.offset] = true
	}
	hb := make([]byte, headerLen)
	copy(hb, "PMTiles")
	hb[7] = 3
	le := binary.LittleEndian
	rootOff := uint64(headerLen)
	metaOff := rootOff + uint64(len(root))
	leafOff := metaOff + uint64(len(metaZ))
	dataOff := leafOff + uint64(len(leaves))
	for i, v := range []uint64{rootOff, uint64(len(root)), metaOff, uint64(len(metaZ)), leafOff, uint64(len(leaves)),
		dataOff, dataLen, uint64(len(w.entries)), uint64(len(ordered)), uint64(len(contents))} {
		le.PutUint64(hb[8+8*i:], v)
	}
	hb[96] = 1 // clustered
	hb[97] = CompressionGzip
	hb[98] = h.TileCompression
	if hb[98] == 0 {
		hb[98] = CompressionNone
	}
	hb[99] = TypeMVT
	hb[100], hb[101] = h.MinZoom, h.MaxZoom
	for i, v := range []float64{h.MinLon, h.MinLat, h.MaxLon, h.MaxLat} {
		le.PutUint32(hb[102+4*i:], uint32(int32(v*1e7)))
	}
	hb[118] = h.CenterZoom
	le.PutUint32(hb[119:], uint32(int32(h.CenterLon*1e7)))
	le.PutUint32(hb[123:], uint32(int32(h.CenterLat*1e7)))
	for _, b := range [][]byte{hb, root, metaZ, leaves} {
		if _, err := out.Write(b); err != nil {
			return err
		}
	}
	// tile data, each content once, in id order
	written := map[uint64]bool{}
	for _, e := range w.entries {
		if written[e.offset] {
			continue
		}
		written[e.offset] = true
		buf := make([]byte, e.length)
		if _, err := w.tmp.ReadAt(buf, int64(e.offset)); err != nil {
			return err
		}
		if _, err := out.Write(buf); err != nil {
			return err
		}
	}
	return nil
}

// directories encodes the root directory, splitting the entries into leaf
// directories when the root would not fit in the first 16 KiB.
func directories(es []entry) (root, leaves []byte, err error) {
	if root, err = encodeDir(es); err != nil {
		return nil, nil, err
	}
	if len(root) <= rootMaxLen {
		return root, nil, nil
	}
	for size := 4096; ; size *= 2 {
		var rootEntries []entry
		var lb bytes.Buffer
		for i := 0; i < len(es); i += size {
			chunk := es[i:min(i+size, len(es))]
			d, err := encodeDir(chunk)
			if err != nil {
				return nil, nil, err
			}
			rootEntries = append(rootEntries, entry{id: chunk[0].id, offset: uint64(lb.Len()), length: uint32(len(d))})
			lb.Write(d)
		}
		if root, err = encodeDir(rootEntries); err != nil {
			return nil, nil, err
		}
		if len(root) <= rootMaxLen {
			return root, lb.Bytes(), nil
		}
	}
}

func encodeDir(es []entry) ([]byte, error) {
	var b []byte
	b = binary.AppendUvarint(b, uint64(len(es)))
	var last uint64
	for _, e := range es {
		b = binary.AppendUvarint(b, e.id-last)
		last = e.id
	}
	for _, e := range es {
		b = binary.AppendUvarint(b, uint64(e.runLength))
	}
	for _, e := range es {
		b = binary.AppendUvarint(b, uint64(e.length))
	}
	for i, e := range es {
		if i > 0 && e.offset == es[i-1].offset+uint64(es[i-1].length) {
			b = binary.AppendUvarint(b, 0)
		} else {
			b = binary.AppendUvarint(b, e.offset+1)
		}
	}
	return gz(b)
}

func gz(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Archive reads tiles from a PMTiles v3 file. It is not safe for
// concurrent use.
type Archive struct {
	r              io.ReaderAt
	Header         Header
	rootOff, rootN uint64
	leafOff        uint64
	dataOff        uint64
	Metadata       map[string]any
	dirs           map[uint64][]entry // decoded directories by offset
}

// ErrFormat marks a file that is not a PMTiles v3 archive.
var ErrFormat = errors.New("pmtiles: not a v3 archive")

// Open reads an archive's header and metadata.
func Open(r io.ReaderAt) (*Archive, error) {
	hb := make([]byte, headerLen)
	if _, err := r.ReadAt(hb, 0); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if string(hb[:7]) != "PMTiles" || hb[7] != 3 {
		return nil, ErrFormat
	}
	le := binary.LittleEndian
	u := func(i int) uint64 { return le.Uint64(hb[8+8*i:]) }
	a := &Archive{r: r, rootOff: u(0), rootN: u(1), leafOff: u(4), dataOff: u(6)}
	i32 := func(at int) float64 { return float64(int32(le.Uint32(hb[at:]))) / 1e7 }
	a.Header = Header{MinZoom: hb[100], MaxZoom: hb[101], MinLon: i32(102), MinLat: i32(106), MaxLon: i32(110), MaxLat: i32(114),
		CenterZoom: hb[118], CenterLon: i32(119), CenterLat: i32(123), TileCompression: hb[98]}
	mb, err := readSection(r, u(2), u(3))
	if err != nil {
		return nil, fmt.Errorf("%w: metadata: %v", ErrFormat, err)
	}
	meta, err := gunzip(mb)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(meta, &a.Metadata); err != nil {
		return nil, fmt.Errorf("%w: metadata: %v", ErrFormat, err)
	}
	return a, nil
}

// Tile returns the stored bytes of z/x/y, or nil when the archive lacks it.
func (a *Archive) Tile(z uint8, x, y uint32) ([]byte, error) {
	id := ID(z, x, y)
	off, n := a.rootOff, a.rootN
	for depth := 0; depth < 4; depth++ {
		es, err := a.readDir(off, n)
		if err != nil {
			return nil, err
		}
		i, _ := slices.BinarySearchFunc(es, id, func(e entry, id uint64) int {
			switch {
			case e.id < id:
				return -1
			case e.id > id:
				return 1
			}
			return 0
		})
		if i == len(es) || es[i].id != id {
			i--
		}
		if i < 0 {
			return nil, nil
		}
		e := es[i]
		if e.runLength == 0 { // a leaf directory
			off, n = a.leafOff+e.offset, uint64(e.length)
			continue
		}
		if id >= e.id+uint64(e.runLength) {
			return nil, nil
		}
		return readSection(a.r, a.dataOff+e.offset, uint64(e.length))
	}
	return nil, fmt.Errorf("%w: directories nested too deep", ErrFormat)
}

func (a *Archive) readDir(off, n uint64) ([]entry, error) {
	if es, ok := a.dirs[off]; ok {
		return es, nil
	}
	es, err := a.decodeDir(off, n)
	if err != nil {
		return nil, err
	}
	if a.dirs == nil || len(a.dirs) > 64 {
		a.dirs = map[uint64][]entry{}
	}
	a.dirs[off] = es
	return es, nil
}

func (a *Archive) decodeDir(off, n uint64) ([]entry, error) {
	buf, err := readSection(a.r, off, n)
	if err != nil {
		return nil, err
	}
	raw, err := gunzip(buf)
	if err != nil {
		return nil, err
	}
	rd := bytes.NewReader(raw)
	cnt, err := binary.ReadUvarint(rd)
	if err != nil || cnt > uint64(len(raw)) {
		return nil, fmt.Errorf("%w: directory", ErrFormat)
	}
	es := make([]entry, cnt)
	var last uint64
	for i := range es {
		d, err := binary.ReadUvarint(rd)
		if err != nil {
			return nil, fmt.Errorf("%w: directory", ErrFormat)
		}
		last += d
		es[i].id = last
	}
	for _, f := range []func(i int, v uint64){
		func(i int, v uint64) { es[i].runLength = uint32(v) },
		func(i int, v uint64) { es[i].length = uint32(v) },
		func(i int, v uint64) {
			if v == 0 && i > 0 {
				es[i].offset = es[i-1].offset + uint64(es[i-1].length)
			} else {
				es[i].offset = v - 1
			}
		},
	} {
		for i := range es {
			v, err := binary.ReadUvarint(rd)
			if err != nil {
				return nil, fmt.Errorf("%w: directory", ErrFormat)
			}
			f(i, v)
		}
	}
	return es, nil
}

// maxSection bounds what one read of an archive may allocate: the
// metadata, a directory or a tile. Lengths come from the file, and a
// corrupt one must not make the reader allocate gigabytes.
const maxSection = 64 << 20

// readSection reads n bytes at off, refusing lengths and offsets no
// archive written by riskmap (or any sane one) has.
func readSection(r io.ReaderAt, off, n uint64) ([]byte, error) {
	if n > maxSection || off > math.MaxInt64-maxSection {
		return nil, fmt.Errorf("%w: section of %d bytes at %d out of bounds", ErrFormat, n, off)
	}
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, int64(off)); err != nil {
		return nil, fmt.Errorf("%w: section of %d bytes at %d: %v", ErrFormat, n, off, err)
	}
	return buf, nil
}

func gunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, maxSection))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	return out, nil
}
