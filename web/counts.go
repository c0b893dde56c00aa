package web

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"riskmap/layers"
)

// Bounds of the count cache.
const (
	countTTL     = 10 * time.Second // as long as responses may be cached (cacheData)
	countEntries = 1000
)

// countCache remembers numberMatched of recent queries, so that paging
// through a selection counts it once (a count of a large PostGIS table
// costs more than its page). It is used only over a layers.Observed
// store, whose writes forget the counts of their layer; an entry also
// expires after countTTL, as long as a shared cache may keep the page.
type countCache struct {
	mu sync.Mutex
	m  map[string]countEntry
}

type countEntry struct {
	n  int
	at time.Time
}

func newCountCache() *countCache { return &countCache{m: map[string]countEntry{}} }

// countKey identifies what a query counts: its layer, bbox and filters.
func countKey(q layers.Query) string {
	return fmt.Sprintf("%s\x00%v\x00%v", q.Layer, q.BBox, q.Filters)
}

func (c *countCache) get(key string) (int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || time.Since(e.at) > countTTL {
		return 0, false
	}
	return e.n, true
}

func (c *countCache) put(key string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= countEntries {
		clear(c.m)
	}
	c.m[key] = countEntry{n, time.Now()}
}

// forget drops the counts of a layer.
func (c *countCache) forget(layer string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.m {
		if strings.HasPrefix(k, layer+"\x00") {
			delete(c.m, k)
		}
	}
}
