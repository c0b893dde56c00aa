package browsertest

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/tracing"
	"github.com/chromedp/chromedp"

	"riskmap/fixtures"
)

// paintScript reads the page's timeline after the first idle map: the
// page's own marks, and the resource timings of what the first view
// needs (milliseconds from navigation start; 0 when absent). The tiles
// are fetched by MapLibre's worker, out of the page's resource timings:
// their times are the server's, from just before the navigation.
const paintScript = `(() => {
	const at = n => (performance.getEntriesByName(n)[0] || {}).startTime || 0;
	const res = performance.getEntriesByType('resource');
	const nav = performance.getEntriesByType('navigation')[0] || {};
	const of = re => res.filter(e => re.test(new URL(e.name).pathname));
	const end = re => Math.max(0, ...of(re).map(e => e.responseEnd));
	return {
		HTML: nav.responseEnd || 0,
		FCP: at('first-contentful-paint'),
		ModuleFetched: end(/maplibre-gl\.mjs$/),
		WorkerFetched: end(/maplibre-gl-worker\.mjs$/),
		API: end(/^\/api\/(collections|analyses)$/),
		MapLibre: at('riskmap:maplibre'),
		Map: at('riskmap:map'),
		Style: at('riskmap:style'),
		MapLoad: at('riskmap:map-load'),
		Ready: riskmap.readyMs || 0,
	};
})()`

// paint is one load's timeline, as paintScript reads it.
type paint struct {
	HTML, FCP, ModuleFetched, WorkerFetched, API, MapLibre, Map, Style, MapLoad, TileFirst, TileLast float64
	Tiles, TileBytes, Requests                                                                       int
	Ready                                                                                            float64
}

func (p paint) String() string {
	return fmt.Sprintf("html %4.0f · FCP %4.0f · module fetched %4.0f · worker fetched %4.0f · api %4.0f · MapLibre loaded %4.0f · map created %4.0f · style loaded %4.0f · map loaded %4.0f · tiles %4.0f–%4.0f (%d, %d kB) · idle %4.0f ms; %d requests",
		p.HTML, p.FCP, p.ModuleFetched, p.WorkerFetched, p.API, p.MapLibre, p.Map, p.Style, p.MapLoad, p.TileFirst, p.TileLast, p.Tiles, p.TileBytes/1000, p.Ready, p.Requests)
}

// serverTiles sets the tile fields from the server's requests since t0
// (just before the navigation).
func (p *paint) serverTiles(reqs []request, t0 time.Time) {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	for _, r := range reqs {
		if !strings.HasPrefix(r.path, "/tiles/") {
			continue
		}
		if p.Tiles == 0 || ms(r.at.Sub(t0)) < p.TileFirst {
			p.TileFirst = ms(r.at.Sub(t0))
		}
		p.TileLast = max(p.TileLast, ms(r.at.Add(r.took).Sub(t0)))
		p.Tiles++
		p.TileBytes += r.size
	}
	p.Requests = len(reqs)
}

// TestPaint measures the first meaningful paint (the map's first idle
// over the whole district) RISKMAP_BROWSER_PAINT times, each in a new
// browser over a new server (cold: empty browser and tile caches) and
// then reloaded (warm), and logs each timeline and the medians. It
// asserts nothing about speed (docs/BENCHMARKS.md has the figures).
func TestPaint(t *testing.T) {
	if testing.Short() {
		t.Skip("generates the demo dataset and drives a browser")
	}
	runs, _ := strconv.Atoi(os.Getenv("RISKMAP_BROWSER_PAINT"))
	if runs <= 0 {
		t.Skip("a measurement: RISKMAP_BROWSER_PAINT=n loads the map n times cold and warm")
	}
	browser := chromium(t)
	var cold, warm []paint
	for i := range runs {
		rec := &recorder{}
		base, _ := serveDemo(t, fixtures.Demo, rec)
		ctx := startBrowser(t, browser, 2*time.Minute)
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(1366, 768)); err != nil {
			t.Fatal(err)
		}
		for j, u := range []string{base + "/", base + "/"} {
			tr := i == 0 && j == 0 && os.Getenv("RISKMAP_BROWSER_TRACE") != ""
			var done chan struct{}
			var events []json.RawMessage
			if tr {
				done = make(chan struct{})
				var mu sync.Mutex
				chromedp.Listen(ctx, func(ev any) {
					switch ev := ev.(type) {
					case *tracing.EventDataCollected:
						mu.Lock()
						for _, v := range ev.Value {
							events = append(events, json.RawMessage(v))
						}
						mu.Unlock()
					case *tracing.EventTracingComplete:
						close(done)
					}
				})
				cfg := &tracing.TraceConfig{IncludedCategories: []string{"devtools.timeline", "disabled-by-default-devtools.timeline", "v8.execute", "blink.user_timing", "loading", "toplevel", "gpu", "gpu.angle", "gpu.service", "disabled-by-default-gpu.service", "gpu.decoder", "disabled-by-default-gpu.decoder", "shaders", "viz"}}
				if _, err := chromedp.Call(ctx, tracing.Start, tracing.StartParams{TraceConfig: cfg}); err != nil {
					t.Fatal(err)
				}
			}
			t0, seen := time.Now(), len(rec.all())
			if err := chromedp.Do(ctx, chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`))); err != nil {
				t.Fatalf("run %d load %d: %v", i, j, err)
			}
			b, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](paintScript))
			if err != nil {
				t.Fatal(err)
			}
			if tr {
				if _, err := chromedp.Call(ctx, tracing.End, struct{}{}); err != nil {
					t.Fatal(err)
				}
				<-done
				b, _ := json.Marshal(map[string]any{"traceEvents": events})
				if err := os.WriteFile(os.Getenv("RISKMAP_BROWSER_TRACE"), b, 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("trace of the first cold load: %s (%d events)", os.Getenv("RISKMAP_BROWSER_TRACE"), len(events))
			}
			var p paint
			if err := json.Unmarshal(b, &p); err != nil {
				t.Fatal(err)
			}
			reqs := rec.all()[seen:]
			p.serverTiles(reqs, t0)
			ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
			if i == 0 && os.Getenv("RISKMAP_BROWSER_PAINT_LOG") != "" {
				for _, r := range reqs {
					t.Logf("  %6.0f +%4.0f ms %d %6d B %s", ms(r.at.Sub(t0)), ms(r.took), r.status, r.size, r.path)
				}
			}
			if p.Ready <= 0 {
				t.Errorf("run %d load %d: no ready time: %+v", i, j, p)
			}
			if j == 0 {
				cold = append(cold, p)
				t.Logf("cold %d: %v", i, p)
			} else {
				warm = append(warm, p)
				t.Logf("warm %d: %v", i, p)
			}
		}
	}
	t.Logf("cold, median of %d: %v", runs, medianPaint(cold))
	t.Logf("warm, median of %d: %v", runs, medianPaint(warm))
	t.Logf("first meaningful paint: cold %s ms, warm %s ms", spread(cold), spread(warm))
}

// medianPaint is the median of each field on its own.
func medianPaint(ps []paint) paint {
	med := func(f func(paint) float64) float64 {
		v := make([]float64, len(ps))
		for i, p := range ps {
			v[i] = f(p)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	return paint{
		HTML: med(func(p paint) float64 { return p.HTML }), FCP: med(func(p paint) float64 { return p.FCP }),
		ModuleFetched: med(func(p paint) float64 { return p.ModuleFetched }), WorkerFetched: med(func(p paint) float64 { return p.WorkerFetched }),
		API: med(func(p paint) float64 { return p.API }), MapLibre: med(func(p paint) float64 { return p.MapLibre }),
		Map: med(func(p paint) float64 { return p.Map }), Style: med(func(p paint) float64 { return p.Style }),
		MapLoad: med(func(p paint) float64 { return p.MapLoad }), TileFirst: med(func(p paint) float64 { return p.TileFirst }),
		TileLast: med(func(p paint) float64 { return p.TileLast }), Tiles: int(med(func(p paint) float64 { return float64(p.Tiles) })),
		TileBytes: int(med(func(p paint) float64 { return float64(p.TileBytes) })), Requests: int(med(func(p paint) float64 { return float64(p.Requests) })),
		Ready: med(func(p paint) float64 { return p.Ready }),
	}
}

// spread lists the ready times, sorted.
func spread(ps []paint) string {
	v := make([]string, 0, len(ps))
	r := make([]float64, len(ps))
	for i, p := range ps {
		r[i] = p.Ready
	}
	slices.Sort(r)
	for _, x := range r {
		v = append(v, strconv.FormatFloat(x, 'f', 0, 64))
	}
	return strings.Join(v, ", ")
}
