package tiles

import (
	"bytes"
	"context"
	"testing"

	"github.com/paulmach/orb/maptile"
	"github.com/paulmach/orb/maptile/tilecover"

	"riskmap/layers"
	"riskmap/layers/postgis"
	"riskmap/layers/postgis/pgtest"
)

// TestPostGISTilesMatchMemstore renders the same demo tiles from the
// embedded store and from PostGIS: one code path, so the tiles must be
// byte for byte the same (H3 layers included: each renderer builds its
// index from its own store). The sample holds every z13–z15 tile with a
// building, where PostGIS reads through its own View (rows sorted by id
// in Go, lent features).
func TestPostGISTilesMatchMemstore(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the demo dataset into PostGIS")
	}
	ctx := context.Background()
	pg, err := postgis.Open(ctx, pgtest.Database(t), layers.NewCatalog())
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	if err := demoData(t).Load(ctx, pg, nil); err != nil {
		t.Fatal(err)
	}
	mem := demoRenderer(t)
	pgr := New(pg, layers.NewCatalog())
	var sample []maptile.Tile
	for z := maptile.Zoom(12); z <= 16; z++ {
		sample = append(sample, maptile.At(yudongCentre, z))
	}
	for z := maptile.Zoom(8); z <= 10; z++ {
		for tl := range tilecover.Bound(demoExtent(t), z) {
			sample = append(sample, tl)
		}
	}
	for z := maptile.Zoom(13); z <= 15; z++ {
		for tl := range tilecover.Bound(demoExtent(t), z) {
			if n, err := demoStore(t).Count(ctx, layers.Query{Layer: layers.Buildings, BBox: tl.Bound()}); err != nil {
				t.Fatal(err)
			} else if n > 0 {
				sample = append(sample, tl)
			}
		}
	}
	nonEmpty := 0
	for _, tl := range sample {
		a, err := mem.Render(ctx, tl, allIDs())
		if err != nil {
			t.Fatal(err)
		}
		b, err := pgr.Render(ctx, tl, allIDs())
		if err != nil {
			t.Fatal(err)
		}
		if a != nil {
			nonEmpty++
		}
		if !bytes.Equal(a, b) {
			t.Errorf("tile %v: memstore %d bytes, PostGIS %d bytes differ", tl, len(a), len(b))
			if a != nil && b != nil {
				ja, jb := string(goldenJSON(t, a)), string(goldenJSON(t, b))
				for i := 0; i < min(len(ja), len(jb)); i++ {
					if ja[i] != jb[i] {
						t.Logf("first difference at %d:\nmem: %s\npg:  %s", i, ja[max(0, i-300):min(len(ja), i+200)], jb[max(0, i-300):min(len(jb), i+200)])
						break
					}
				}
			}
		}
	}
	if nonEmpty == 0 {
		t.Fatal("every sampled tile is empty")
	}
	t.Logf("%d tiles compared, %d non-empty", len(sample), nonEmpty)
}
