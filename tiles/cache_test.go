package tiles

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"riskmap/layers"
)

func tileOf(layer string, b orb.Bound, n int) *Tile {
	return &Tile{Data: make([]byte, n), Layers: []string{layer}, Deps: []Dep{{Layer: layer, Bound: b}}}
}

var (
	boxA = orb.Bound{Min: orb.Point{106, 29}, Max: orb.Point{106.1, 29.1}}
	boxB = orb.Bound{Min: orb.Point{107, 30}, Max: orb.Point{107.1, 30.1}}
)

func TestCacheSingleflight(t *testing.T) {
	c := NewCache(1 << 20)
	var renders atomic.Int32
	release := make(chan struct{})
	render := func(context.Context) (*Tile, error) {
		renders.Add(1)
		<-release
		return tileOf("buildings", boxA, 100), nil
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := c.Get(context.Background(), "k", []string{"buildings"}, render); err != nil {
				t.Error(err)
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	if n := renders.Load(); n != 1 {
		t.Errorf("%d renders for 8 concurrent requests, want 1", n)
	}
	if _, err := c.Get(context.Background(), "k", []string{"buildings"}, render); err != nil {
		t.Fatal(err)
	}
	if s := c.Stats(); renders.Load() != 1 || s.Hits < 1 || s.Entries != 1 {
		t.Errorf("after a repeat: %d renders, stats %+v", renders.Load(), s)
	}
}

func TestCacheWaiterCancel(t *testing.T) {
	c := NewCache(1 << 20)
	ctx, cancel := context.WithCancel(context.Background())
	release := make(chan struct{})
	done := make(chan error)
	go func() {
		_, err := c.Get(ctx, "k", nil, func(context.Context) (*Tile, error) {
			<-release
			return tileOf("buildings", boxA, 10), nil
		})
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	cancel()
	if err := <-done; err == nil {
		t.Error("a cancelled request kept waiting")
	}
	close(release)
	// The render finishes for the others and is kept.
	deadline := time.Now().Add(2 * time.Second)
	for c.Stats().Entries == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if c.Stats().Entries != 1 {
		t.Error("the abandoned render was not kept")
	}
}

func TestCacheLRUBytes(t *testing.T) {
	c := NewCache(10_000)
	for i := range 20 {
		key := fmt.Sprint(i)
		if _, err := c.Get(context.Background(), key, nil, func(context.Context) (*Tile, error) { return tileOf("x", boxA, 1000), nil }); err != nil {
			t.Fatal(err)
		}
		if s := c.Stats(); s.Bytes > s.MaxBytes {
			t.Fatalf("%d bytes over a budget of %d", s.Bytes, s.MaxBytes)
		}
	}
	s := c.Stats()
	if s.Entries == 0 || s.Entries >= 20 {
		t.Errorf("%d entries kept", s.Entries)
	}
	// The most recent is kept, the oldest dropped.
	c.mu.Lock()
	_, newest := c.items["19"]
	_, oldest := c.items["0"]
	c.mu.Unlock()
	if !newest || oldest {
		t.Errorf("newest kept %v, oldest kept %v", newest, oldest)
	}
}

func TestCacheInvalidate(t *testing.T) {
	c := NewCache(1 << 20)
	get := func(key, layer string, b orb.Bound) {
		t.Helper()
		if _, err := c.Get(context.Background(), key, []string{layer}, func(context.Context) (*Tile, error) { return tileOf(layer, b, 10), nil }); err != nil {
			t.Fatal(err)
		}
	}
	has := func(key string) bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		_, ok := c.items[key]
		return ok
	}
	get("a-water", "water_sources", boxA)
	get("b-water", "water_sources", boxB)
	get("a-build", "buildings", boxA)
	c.Invalidate(layers.Change{Layer: "water_sources", Bound: orb.Bound{Min: orb.Point{106.05, 29.05}, Max: orb.Point{106.05, 29.05}}, IDs: []int64{1}})
	if has("a-water") || !has("b-water") || !has("a-build") {
		t.Errorf("after a point change in A: a-water %v (want false), b-water %v, a-build %v", has("a-water"), has("b-water"), has("a-build"))
	}
	c.Invalidate(layers.Change{Layer: "water_sources", All: true})
	if has("b-water") || !has("a-build") {
		t.Error("a whole-layer change must drop every tile of the layer and only those")
	}

	// A change during a render: the result is served but not kept.
	release := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = c.Get(context.Background(), "racy", []string{"buildings"}, func(context.Context) (*Tile, error) {
			<-release
			return tileOf("buildings", boxB, 10), nil
		})
	}()
	time.Sleep(20 * time.Millisecond)
	c.Invalidate(layers.Change{Layer: "buildings", Bound: boxA})
	close(release)
	<-done
	if has("racy") {
		t.Error("a tile rendered across a change of its layer was kept")
	}
}

// TestConcurrentRenderAndWrite renders plain and H3 tiles through the
// cache while a writer moves water sources, under -race: every response
// is a valid tile and, once the writes stop, a fresh render equals the
// cached one.
func TestConcurrentRenderAndWrite(t *testing.T) {
	ctx := context.Background()
	obs := layers.Observe(smallStore(t))
	h := NewHandler(New(obs, layers.NewCatalog()), NewCache(1<<20))
	h.Watch(obs)
	tl := tileAt(yudong, 15)
	ids := []string{"water_sources", "h3:water_sources", "buildings"}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				e, err := h.cache.Get(ctx, Key(ids, 15, tl.X, tl.Y), []string{"water_sources", "buildings"},
					func(ctx context.Context) (*Tile, error) { return h.r.RenderTile(ctx, tl, ids) })
				if err != nil {
					t.Error(err)
					return
				}
				checkMVT(t, e.Tile.Data)
			}
		})
	}
	ws, err := obs.Get(ctx, "water_sources", 10)
	if err != nil {
		t.Fatal(err)
	}
	base := ws.Geometry.(orb.Point)
	for i := range 50 {
		ws.Geometry = orb.Point{base[0] + float64(i%5)*0.0001, base[1]}
		if err := obs.Upsert(ctx, "water_sources", []layers.Feature{ws}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	e, err := h.cache.Get(ctx, Key(ids, 15, tl.X, tl.Y), []string{"water_sources", "buildings"},
		func(ctx context.Context) (*Tile, error) { return h.r.RenderTile(ctx, tl, ids) })
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := New(obs, layers.NewCatalog()).Render(ctx, tl, ids)
	if err != nil {
		t.Fatal(err)
	}
	if string(fresh) != string(e.Tile.Data) {
		t.Error("after the writes the cached tile differs from a fresh render")
	}
}
