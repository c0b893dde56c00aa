package pmtiles

import (
	"bytes"
	"testing"
)

// FuzzOpen checks that reading an archive — its header, directories and
// tiles — never panics on any bytes.
func FuzzOpen(f *testing.F) {
	w, err := NewWriter(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	for i := range uint32(3) {
		if err := w.Add(14, 13340+i, 6740, []byte{0x1a, byte(i)}); err != nil {
			f.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := w.Finish(&buf, Header{MinZoom: 14, MaxZoom: 14, MinLon: 106, MinLat: 29, MaxLon: 107, MaxLat: 30}, map[string]any{"name": "fuzz"}); err != nil {
		f.Fatal(err)
	}
	good := buf.Bytes()
	f.Add(good)
	f.Add(good[:127])
	f.Add(good[:len(good)-1])
	f.Add([]byte("PMTiles\x03"))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := Open(bytes.NewReader(b))
		if err != nil {
			return
		}
		for i := range uint32(4) {
			_, _ = a.Tile(14, 13340+i, 6740)
		}
		_, _ = a.Tile(0, 0, 0)
	})
}
