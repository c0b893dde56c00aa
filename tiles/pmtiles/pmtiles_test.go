package pmtiles_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"riskmap/tiles/pmtiles"
)

func TestID(t *testing.T) {
	// vectors of the PMTiles v3 specification's reference implementation
	tests := []struct {
		z    uint8
		x, y uint32
		want uint64
	}{
		{0, 0, 0, 0}, {1, 0, 0, 1}, {1, 0, 1, 2}, {1, 1, 1, 3}, {1, 1, 0, 4}, {2, 0, 0, 5},
		{12, 3423, 1763, 19078479},
	}
	for _, tt := range tests {
		if got := pmtiles.ID(tt.z, tt.x, tt.y); got != tt.want {
			t.Errorf("ID(%d,%d,%d) = %d, want %d", tt.z, tt.x, tt.y, got, tt.want)
		}
	}
}

// TestRoundTrip writes enough tiles to need leaf directories, with
// repeated contents, and reads every one back.
func TestRoundTrip(t *testing.T) {
	w, err := pmtiles.NewWriter(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	want := map[[3]uint32][]byte{}
	for z := uint8(8); z <= 13; z++ {
		n := uint32(1) << (z - 6)
		for x := uint32(0); x < n; x++ {
			for y := uint32(0); y < n; y++ {
				x0, y0 := 200<<(z-8)+x, 100<<(z-8)+y
				data := []byte(fmt.Sprintf("tile %d/%d/%d", z, x0, y0))
				if rng.IntN(4) == 0 {
					data = []byte("ocean") // a repeated content
				}
				want[[3]uint32{uint32(z), x0, y0}] = data
				if err := w.Add(z, x0, y0, data); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	var buf bytes.Buffer
	h := pmtiles.Header{MinZoom: 8, MaxZoom: 13, MinLon: 106.43, MinLat: 29.12, MaxLon: 107.01, MaxLat: 29.77, CenterZoom: 11, CenterLon: 106.7, CenterLat: 29.4}
	if err := w.Finish(&buf, h, map[string]any{"name": "banan"}); err != nil {
		t.Fatal(err)
	}
	if leaves := binary.LittleEndian.Uint64(buf.Bytes()[48:]); leaves == 0 {
		t.Error("the archive has no leaf directories: the test does not exercise them")
	}
	a, err := pmtiles.Open(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if a.Metadata["name"] != "banan" || a.Header.MaxZoom != 13 || a.Header.MinLon != 106.43 {
		t.Errorf("header %+v, metadata %v", a.Header, a.Metadata)
	}
	for k, v := range want {
		got, err := a.Tile(uint8(k[0]), k[1], k[2])
		if err != nil || !bytes.Equal(got, v) {
			t.Fatalf("tile %v = %q, %v; want %q", k, got, err, v)
		}
	}
	if got, _ := a.Tile(13, 0, 0); got != nil {
		t.Errorf("absent tile = %q", got)
	}
	t.Logf("%d tiles, %d bytes", len(want), buf.Len())
}
