package tiles

import (
	"bytes"
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
	"github.com/paulmach/orb/maptile/tilecover"

	"riskmap/layers"
	"riskmap/layers/memstore"
)

// TestMemoSameTiles checks that kept feature forms change nothing: the
// demo's tiles holding a building, z12–z15, all 13 layers, rendered by a
// renderer that keeps nothing, by one that keeps everything (its second
// pass, in parallel, reads kept forms only) and by one whose bound fills
// part of the way, are byte for byte the same.
func TestMemoSameTiles(t *testing.T) {
	ctx := context.Background()
	st := demoStore(t)
	ix := demoRenderer(t).Index() // the H3 grids, built once
	cat := layers.NewCatalog()
	// a store's memo holds one renderer's forms: the renderers that keep
	// them read their own copies of the demo
	fresh := func() *memstore.Store {
		s := memstore.New()
		if err := demoData(t).Load(ctx, s, nil); err != nil {
			t.Fatal(err)
		}
		return s
	}
	none := New(st, cat, WithH3Index(ix), WithMemoBytes(0))
	all := New(fresh(), cat, WithH3Index(ix))
	some := New(fresh(), cat, WithH3Index(ix), WithMemoBytes(1<<20))
	var ts []maptile.Tile
	for z := maptile.Zoom(12); z <= 15; z++ {
		for tl := range tilecover.Bound(demoExtent(t), z) {
			if n, err := st.Count(ctx, layers.Query{Layer: layers.Buildings, BBox: tl.Bound()}); err != nil {
				t.Fatal(err)
			} else if n > 0 {
				ts = append(ts, tl)
			}
		}
	}
	if testing.Short() {
		var every []maptile.Tile
		for i := 0; i < len(ts); i += 6 {
			every = append(every, ts[i])
		}
		ts = every
	}
	want := make([][]byte, len(ts))
	for i, tl := range ts {
		var err error
		if want[i], err = none.Render(ctx, tl, allIDs()); err != nil {
			t.Fatal(err)
		}
	}
	if none.memo.used.Load() != 0 {
		t.Fatalf("a renderer bound to 0 kept %d bytes", none.memo.used.Load())
	}
	check := func(name string, r *Renderer, parallel int) {
		t.Helper()
		var wg sync.WaitGroup
		for w := range parallel {
			wg.Go(func() {
				for i := w; i < len(ts); i += parallel {
					got, err := r.Render(ctx, ts[i], allIDs())
					if err != nil {
						t.Error(err)
						return
					}
					if !bytes.Equal(got, want[i]) {
						t.Errorf("%s: tile %v: %d bytes, %d without kept forms", name, ts[i], len(got), len(want[i]))
					}
				}
			})
		}
		wg.Wait()
	}
	check("keeping, first pass", all, 1)
	kept := all.memo.used.Load()
	check("keeping, second pass", all, 4)
	if kept == 0 || all.memo.used.Load() != kept {
		t.Errorf("kept %d bytes after the first pass, %d after the second (want > 0, unchanged)", kept, all.memo.used.Load())
	}
	check("bounded", some, 2)
	check("bounded, again", some, 2)
	if b := some.memo.used.Load(); b == 0 || b > 1<<20 {
		t.Errorf("a renderer bound to 1 MiB kept %d bytes", b)
	}
	t.Logf("%d tiles; kept %.1f MiB", len(ts), float64(kept)/(1<<20))
}

// TestMemoAfterEdit checks that a write is seen at once by a renderer
// that kept the old version's forms: a building moved, reshaped and given
// other properties, then deleted, renders as a renderer that keeps
// nothing renders it.
func TestMemoAfterEdit(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	cat := layers.NewCatalog()
	kept := New(st, cat)
	fresh := New(st, cat, WithMemoBytes(0))
	centre := yudongCentre
	square := func(c orb.Point, d float64) orb.Polygon {
		return orb.Polygon{{{c[0] - d, c[1] - d}, {c[0] + d, c[1] - d}, {c[0] + d, c[1] + d}, {c[0] - d, c[1] + d}, {c[0] - d, c[1] - d}}}
	}
	put := func(g orb.Geometry, floors int64) {
		t.Helper()
		f := layers.Feature{Layer: layers.Buildings, ID: 7, Geometry: g, Props: map[string]any{"use": "residential", "floors": floors}}
		if err := st.Upsert(ctx, layers.Buildings, []layers.Feature{f}); err != nil {
			t.Fatal(err)
		}
	}
	tl := maptile.At(centre, 15)
	var last []byte
	same := func(step string) {
		t.Helper()
		for range 2 { // the second render reads the kept forms
			got, err := kept.Render(ctx, tl, []string{layers.Buildings})
			if err != nil {
				t.Fatal(err)
			}
			want, err := fresh.Render(ctx, tl, []string{layers.Buildings})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s: %d bytes from the renderer that keeps forms, %d from one that does not", step, len(got), len(want))
			}
			if step != "deleted" && bytes.Equal(got, last) {
				t.Fatalf("%s: the tile did not change", step)
			}
			if step == "deleted" && got != nil {
				t.Fatalf("deleted: the tile still holds %d bytes", len(got))
			}
		}
		last, _ = kept.Render(ctx, tl, []string{layers.Buildings})
	}
	put(square(centre, 0.0001), 3)
	same("stored")
	put(square(orb.Point{centre[0] + 0.0003, centre[1]}, 0.0001), 3)
	same("moved")
	put(square(orb.Point{centre[0] + 0.0003, centre[1]}, 0.0002), 3)
	same("grown")
	put(square(orb.Point{centre[0] + 0.0003, centre[1]}, 0.0002), 9)
	same("floors")
	if err := st.Delete(ctx, layers.Buildings, []int64{7}); err != nil {
		t.Fatal(err)
	}
	same("deleted")

	// what was kept of the replaced and deleted versions is given back
	// to the bound once they are collected: only interned values remain
	interned := int64(0)
	kept.values.Range(func(_, _ any) bool { interned += 64; return true })
	deadline := time.Now().Add(10 * time.Second)
	for kept.memo.used.Load() != interned {
		if time.Now().After(deadline) {
			t.Fatalf("%d bytes still counted after the versions went, want %d (interned values)", kept.memo.used.Load(), interned)
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}
