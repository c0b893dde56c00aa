package tiles

import (
	"bytes"
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
	"golang.org/x/sync/singleflight"

	"riskmap/layers"
)

// RenderTimeout bounds one render started by a Cache. A render is shared
// by every request waiting for the tile, so it does not stop when the
// request that started it goes away.
const RenderTimeout = 30 * time.Second

// Cache keeps rendered tiles in memory, least recently used first out,
// within a budget of bytes. It is safe for concurrent use.
type Cache struct {
	maxBytes int64
	sf       singleflight.Group
	gz       gzipper

	mu      sync.Mutex
	size    int64
	lru     *list.List // of *Entry, most recent first
	items   map[string]*list.Element
	gens    map[string]uint64 // per layer: bumped by every change
	hits    uint64
	misses  uint64
	dropped uint64 // entries invalidated
}

// Entry is a cached tile: the rendered tile, its ETag and its gzipped
// bytes. Entries are immutable.
type Entry struct {
	Key  string
	Tile *Tile
	// ETag is a strong validator of the tile's content, quoted.
	ETag string
	// Gzip holds Tile.Data gzipped; nil for an empty tile.
	Gzip []byte
	size int64
}

// NewCache returns a cache of at most maxBytes of tiles (their plain and
// gzipped bytes, plus a small overhead per entry).
func NewCache(maxBytes int64) *Cache {
	return &Cache{maxBytes: maxBytes, lru: list.New(), items: map[string]*list.Element{}, gens: map[string]uint64{}}
}

// Key is the cache key of a tile of layers ids: ids in order, then z/x/y,
// then any rendering parameters.
func Key(ids []string, z, x, y uint32, params ...string) string {
	var b strings.Builder
	b.WriteString(strings.Join(ids, ","))
	fmt.Fprintf(&b, "/%d/%d/%d", z, x, y)
	for _, p := range params {
		b.WriteString("?")
		b.WriteString(p)
	}
	return b.String()
}

// Get returns the entry for key, rendering it with render on a miss.
// Concurrent misses of one key render once. deps names the stored layers
// the tile is made of: a render during which one of them changes is
// returned but not kept. Get waits for the render only as long as ctx
// allows.
func (c *Cache) Get(ctx context.Context, key string, deps []string, render func(context.Context) (*Tile, error)) (*Entry, error) {
	return c.get(ctx, key, deps, func(ctx context.Context) (*Entry, error) {
		t, err := render(ctx)
		if err != nil {
			return nil, err
		}
		return newEntry(key, t, &c.gz)
	})
}

// get is Get with build making the whole entry (rendering, ETag, gzip).
func (c *Cache) get(ctx context.Context, key string, deps []string, build func(context.Context) (*Entry, error)) (*Entry, error) {
	c.mu.Lock()
	if el, ok := c.items[key]; ok {
		c.lru.MoveToFront(el)
		c.hits++
		c.mu.Unlock()
		return el.Value.(*Entry), nil
	}
	c.misses++
	gens := c.gensOf(deps)
	c.mu.Unlock()

	// The flight key holds the layers' generations: a request that comes
	// after a change never joins a render that started before it.
	ch := c.sf.DoChan(key+"#"+gens, func() (any, error) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), RenderTimeout)
		defer cancel()
		e, err := build(rctx)
		if err != nil {
			return nil, err
		}
		c.put(e, deps, gens)
		return e, nil
	})
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*Entry), nil
	}
}

// gensOf is the generations of deps as a string; c.mu is held.
func (c *Cache) gensOf(deps []string) string {
	var b strings.Builder
	for _, d := range deps {
		b.WriteString(strconv.FormatUint(c.gens[d], 36))
		b.WriteByte('.')
	}
	return b.String()
}

func newEntry(key string, t *Tile, gz *gzipper) (*Entry, error) {
	sum := sha256.Sum256(t.Data)
	e := &Entry{Key: key, Tile: t, ETag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}
	if len(t.Data) > 0 {
		var err error
		if e.Gzip, err = gz.compress(t.Data); err != nil {
			return nil, err
		}
	}
	e.size = int64(len(key) + len(t.Data) + len(e.Gzip) + 256 + 64*len(t.Deps))
	return e, nil
}

// gzipper gzips tiles at BestSpeed with pooled writers of
// klauspost/compress (the standard library's format, about twice as fast
// as compress/gzip at the same level and ratio). Every rendered tile is
// gzipped once, so this is part of the cost of a cold tile: with
// compress/gzip at the default level and a new writer (≈ 800 KB of
// state) per tile, gzipping cost several times the rendering itself.
type gzipper struct{ pool sync.Pool }

func (g *gzipper) compress(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(data)/3 + 64)
	zw, _ := g.pool.Get().(*gzip.Writer)
	if zw == nil {
		var err error
		if zw, err = gzip.NewWriterLevel(&buf, gzip.BestSpeed); err != nil {
			return nil, fmt.Errorf("tiles: gzip: %w", err)
		}
	} else {
		zw.Reset(&buf)
	}
	defer g.pool.Put(zw)
	if _, err := zw.Write(data); err != nil {
		return nil, fmt.Errorf("tiles: gzip: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("tiles: gzip: %w", err)
	}
	return buf.Bytes(), nil
}

// put keeps e unless one of deps changed since gens was taken or e alone
// is over a quarter of the budget.
func (c *Cache) put(e *Entry, deps []string, gens string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gensOf(deps) != gens || e.size > c.maxBytes/4 {
		return
	}
	if el, ok := c.items[e.Key]; ok {
		c.remove(el)
	}
	c.items[e.Key] = c.lru.PushFront(e)
	c.size += e.size
	for c.size > c.maxBytes {
		c.remove(c.lru.Back())
	}
}

func (c *Cache) remove(el *list.Element) {
	e := c.lru.Remove(el).(*Entry)
	delete(c.items, e.Key)
	c.size -= e.size
}

// Invalidate drops the tiles a change can have touched: those depending
// on the changed layer over an area that intersects the change's bounds,
// or every tile of the layer when the change is not described (All). It
// has the shape of a layers.Observed subscriber once wrapped:
// o.Subscribe(func(_ context.Context, ch layers.Change) { c.Invalidate(ch) }).
func (c *Cache) Invalidate(ch layers.Change) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gens[ch.Layer]++
	for el := c.lru.Front(); el != nil; {
		next := el.Next()
		for _, d := range el.Value.(*Entry).Tile.Deps {
			if d.Layer == ch.Layer && (ch.All || d.Bound.Intersects(ch.Bound)) {
				c.remove(el)
				c.dropped++
				break
			}
		}
		el = next
	}
}

// CacheStats are counters of a Cache.
type CacheStats struct {
	Entries     int
	Bytes       int64
	MaxBytes    int64
	Hits        uint64
	Misses      uint64
	Invalidated uint64
}

// Stats returns the cache's counters.
func (c *Cache) Stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return CacheStats{Entries: len(c.items), Bytes: c.size, MaxBytes: c.maxBytes, Hits: c.hits, Misses: c.misses, Invalidated: c.dropped}
}
