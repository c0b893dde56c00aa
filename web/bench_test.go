package web_test

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"riskmap/fixtures"
	"riskmap/layers"
	"riskmap/layers/memstore"
	"riskmap/layers/postgis"
	"riskmap/web"
)

// benchServer serves a generated district (RISKMAP_BENCH_PROFILE: demo,
// the default, or large) on a loopback listener, from memstore or, when
// RISKMAP_BENCH_DB is a PostgreSQL URL, from PostGIS (loaded when its
// buildings table is empty), and returns incident points spread over it
// (every hazard's position, in turn).
func benchServer(b *testing.B) (*httptest.Server, []orb.Point) {
	b.Helper()
	p := fixtures.Demo
	if s := os.Getenv("RISKMAP_BENCH_PROFILE"); s != "" {
		var err error
		if p, err = fixtures.ParseProfile(s); err != nil {
			b.Fatal(err)
		}
	}
	ds, err := fixtures.Generate(p)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var st layers.Store = memstore.New()
	if db := os.Getenv("RISKMAP_BENCH_DB"); db != "" {
		if st, err = postgis.Open(ctx, db, layers.NewCatalog()); err != nil {
			b.Fatal(err)
		}
	}
	b.Cleanup(func() { st.Close() })
	if n, err := st.Count(ctx, layers.Query{Layer: layers.Buildings}); err != nil || n == 0 {
		if err := ds.Load(ctx, st, nil); err != nil {
			b.Fatal(err)
		}
	}
	// observed, as riskmap serve runs it
	srv := httptest.NewServer(web.New(web.Deps{Store: layers.Observe(st), Catalog: layers.NewCatalog()}))
	b.Cleanup(srv.Close)
	var pts []orb.Point
	for _, f := range ds.Layer(layers.Hazards) {
		pts = append(pts, f.Geometry.(orb.Point))
	}
	return srv, pts
}

// load sends requests from clients concurrent clients over HTTP on
// loopback and reports the latency percentiles.
func load(b *testing.B, clients int, target func(i int) string) {
	b.Helper()
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	fetch := func(u string) error {
		resp, err := c.Get(u)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("%s: %d", u, resp.StatusCode)
		}
		return nil
	}
	if err := fetch(target(0)); err != nil { // warm: the road graph, connections
		b.Fatal(err)
	}
	var failed error
	var mu sync.Mutex
	var lat []time.Duration
	next := 0
	b.ResetTimer()
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				if i >= b.N || failed != nil {
					mu.Unlock()
					return
				}
				mu.Unlock()
				t := time.Now()
				err := fetch(target(i))
				d := time.Since(t)
				mu.Lock()
				lat = append(lat, d)
				failed = cmp.Or(failed, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if failed != nil {
		b.Fatal(failed)
	}
	slices.Sort(lat)
	q := func(f float64) float64 { return float64(lat[min(len(lat)-1, int(f*float64(len(lat))))]) / 1e6 }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(q(1), "max-ms")
}

// BenchmarkDispatchHTTP: dispatch briefings (k=5) at hazard positions,
// RISKMAP_BENCH_CLIENTS concurrent clients (default 8).
func BenchmarkDispatchHTTP(b *testing.B) {
	srv, pts := benchServer(b)
	clients := 8
	if s := os.Getenv("RISKMAP_BENCH_CLIENTS"); s != "" {
		var err error
		if clients, err = strconv.Atoi(s); err != nil || clients < 1 {
			b.Fatalf("RISKMAP_BENCH_CLIENTS=%q", s)
		}
	}
	load(b, clients, func(i int) string {
		p := pts[(i*7919)%len(pts)]
		return fmt.Sprintf("%s/api/dispatch?lon=%.7f&lat=%.7f", srv.URL, p[0], p[1])
	})
}

// BenchmarkItemsPage1000HTTP: pages of 1,000 buildings (the largest
// layer) at successive cursors, one client.
func BenchmarkItemsPage1000HTTP(b *testing.B) {
	srv, _ := benchServer(b)
	load(b, 1, func(i int) string {
		return fmt.Sprintf("%s/api/collections/buildings/items?limit=1000&after=%d", srv.URL, (i*1000)%50000)
	})
}
