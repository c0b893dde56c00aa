package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"riskmap/layers"
	"riskmap/layers/postgis"
	"riskmap/layers/postgis/pgtest"
)

// outageAddr is where the outage test serves (the bench helper's ports).
const outageAddr = "127.0.0.1:18710"

// hit is one request of the load during the outage test.
type hit struct {
	Path       string
	Start, End time.Time
	Status     int
	RetryAfter string
	Err        error
}

// TestPostgresOutage serves the demo from a throwaway PostgreSQL cluster
// under a steady load of feature pages, tiles and health checks, stops
// the cluster for RISKMAP_FAULTS_OUTAGE (default 30s) and starts it
// again. It checks: no crash; while PostgreSQL is down every answer is a
// success (a cached tile) or a 503 with Retry-After, and none hangs; an
// import during the outage fails with a clear error and writes nothing;
// within 5 s of PostgreSQL's return every request succeeds again, and an
// import then works.
func TestPostgresOutage(t *testing.T) {
	need(t)
	outage := 30 * time.Second
	if v := os.Getenv("RISKMAP_FAULTS_OUTAGE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("RISKMAP_FAULTS_OUTAGE: %v", err)
		}
		outage = d
	}
	ctx := context.Background()
	cluster := pgtest.Start(t)
	url := cluster.URL()
	db, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS postgis"); err != nil {
		t.Skipf("no PostGIS in the throwaway cluster: %v", err)
	}
	db.Close(ctx)
	if out, err := riskmap(ctx, "load-fixtures", "--profile", "demo", "--db", url); err != nil {
		t.Fatalf("load-fixtures: %v\n%s", err, out)
	}
	before := countWater(t, url)

	logPath := filepath.Join(t.TempDir(), "serve.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	srv := exec.Command(riskmapBin, "serve", "--addr", outageAddr, "--db", url, "--log-level", "warn")
	srv.Stdout, srv.Stderr = logf, logf
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- srv.Wait() }()
	t.Cleanup(func() {
		_ = srv.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = srv.Process.Kill()
		}
	})
	base := "http://" + outageAddr
	waitHealthy(t, base, exited, logPath)

	paths := []string{"/healthz"}
	for i := range 40 {
		lon, lat := 106.50+0.01*float64(i%8), 29.30+0.01*float64(i/8)
		paths = append(paths,
			fmt.Sprintf("/api/collections/water_sources/items?limit=50&bbox=%.2f,%.2f,%.2f,%.2f", lon, lat, lon+0.02, lat+0.02),
			fmt.Sprintf("/api/collections/buildings/items?limit=100&after=%d", i*1000),
			fmt.Sprintf("/tiles/buildings/14/%d/%d.mvt", 13340+i%6, 6740+i/6))
	}
	var (
		mu   sync.Mutex
		hits []hit
		stop = make(chan struct{})
		wg   sync.WaitGroup
	)
	client := &http.Client{Timeout: 20 * time.Second}
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				h := hit{Path: paths[i%len(paths)], Start: time.Now()}
				resp, err := client.Get(base + h.Path)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					h.Status, h.RetryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
				}
				h.Err, h.End = err, time.Now()
				mu.Lock()
				hits = append(hits, h)
				mu.Unlock()
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}

	// an import of every building, begun a second before the outage: it
	// must fail and leave the old buildings, or have finished first
	_, newBuildings := fixtureFiles(t)
	midImport := make(chan error, 1)
	var midOut string
	time.Sleep(4 * time.Second)
	go func() {
		var err error
		midOut, err = riskmap(ctx, "import", "--layer", "buildings", "--db", url, newBuildings)
		midImport <- err
	}()
	time.Sleep(time.Second)
	down := time.Now()
	cluster.Stop()
	t.Logf("PostgreSQL stopped for %s", outage)

	time.Sleep(min(5*time.Second, outage/3))
	newFile := waterFile(t)
	out, importErr := riskmap(ctx, "import", "--layer", "water_sources", "--db", url, newFile)
	importMsg := lastLine(out)
	if importErr == nil {
		t.Errorf("an import while PostgreSQL was down succeeded: %s", out)
	}

	midErr := <-midImport
	if midErr == nil {
		t.Logf("the import begun before the outage finished first: %s", lastLine(midOut))
	}
	time.Sleep(time.Until(down.Add(outage)))
	cluster.Startup()
	up := time.Now()
	time.Sleep(15 * time.Second)
	close(stop)
	wg.Wait()

	select {
	case err := <-exited:
		t.Fatalf("riskmap serve exited during the test: %v\n%s", err, readTail(logPath))
	default:
	}

	ok := func(h hit) bool {
		return h.Err == nil && (h.Status == http.StatusOK || h.Status == http.StatusNoContent)
	}
	var (
		beforeBad, during503, duringOK, duringBad, noRetry int
		slowest                                            time.Duration
		lastBad                                            time.Time
		afterOK                                            int
		bad                                                = map[string]int{}
	)
	sort.Slice(hits, func(i, j int) bool { return hits[i].End.Before(hits[j].End) })
	for _, h := range hits {
		switch {
		case h.End.Before(down):
			if !ok(h) {
				beforeBad++
				bad[describe(h)]++
			}
		case h.Start.Before(up):
			slowest = max(slowest, h.End.Sub(h.Start))
			switch {
			case ok(h):
				duringOK++
			case h.Err == nil && h.Status == http.StatusServiceUnavailable:
				during503++
				if h.RetryAfter == "" {
					noRetry++
				}
			default:
				duringBad++
				bad[describe(h)]++
			}
			if !ok(h) {
				lastBad = h.End
			}
		default:
			if ok(h) {
				afterOK++
			} else {
				lastBad = h.End
				if h.Status != http.StatusServiceUnavailable {
					bad[describe(h)]++
				}
			}
		}
	}
	recovery := lastBad.Sub(up)
	if recovery < 0 {
		recovery = 0
	}
	t.Logf("RESULT outage %s: before %d bad; during %d × 503 (%d without Retry-After), %d successes (cached tiles), %d other, slowest answer %s; import during the outage: %q",
		outage, beforeBad, during503, noRetry, duringOK, duringBad, slowest.Round(time.Millisecond), importMsg)
	t.Logf("RESULT recovery: last failure %s after PostgreSQL was back, %d successes after", recovery.Round(10*time.Millisecond), afterOK)
	if len(bad) > 0 {
		t.Errorf("answers other than success or 503: %v", bad)
	}
	if during503 == 0 {
		t.Error("no 503 while PostgreSQL was down")
	}
	if noRetry > 0 {
		t.Errorf("%d 503s without Retry-After", noRetry)
	}
	if slowest > 10*time.Second {
		t.Errorf("an answer during the outage took %s", slowest)
	}
	if recovery > 5*time.Second {
		t.Errorf("failures went on %s after PostgreSQL was back (want ≤ 5 s)", recovery)
	}
	if afterOK == 0 {
		t.Error("no success after PostgreSQL was back")
	}
	if got := countWater(t, url); got != before {
		t.Errorf("water sources after the failed import: %d, want %d (nothing written)", got, before)
	}
	v, err := postgisVersion(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("RESULT import of 58k buildings cut by the outage: %q; buildings after recovery: %v", lastLine(midOut), v)
	if v.New != 0 && (v.New != v.Count || midErr != nil) {
		t.Errorf("buildings after an import cut by the outage: %v (import error %v)", v, midErr)
	}
	if out, err := riskmap(ctx, "import", "--layer", "water_sources", "--db", url, newFile); err != nil {
		t.Errorf("import after recovery: %v\n%s", err, out)
	} else if got := countWater(t, url); got != before+10 {
		t.Errorf("water sources after the import: %d, want %d", got, before+10)
	}
}

func describe(h hit) string {
	if h.Err != nil {
		return "error: " + firstWords(h.Err.Error())
	}
	return fmt.Sprintf("%d on %s", h.Status, strings.SplitN(h.Path, "?", 2)[0])
}

func firstWords(s string) string {
	if len(s) > 80 {
		return s[:80]
	}
	return s
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func countWater(t *testing.T, url string) int {
	t.Helper()
	ctx := context.Background()
	st, err := postgis.Open(ctx, url, layers.NewCatalog())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n, err := st.Count(ctx, layers.Query{Layer: layers.WaterSources})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// waterFile writes 10 new in-service hydrants.
func waterFile(t *testing.T) string {
	t.Helper()
	var fs []map[string]any
	for i := range 10 {
		fs = append(fs, map[string]any{"type": "Feature", "id": 900_000_001 + i,
			"geometry":   map[string]any{"type": "Point", "coordinates": []float64{106.53 + 0.001*float64(i), 29.39}},
			"properties": map[string]any{"kind": "hydrant", "name": fmt.Sprintf("故障测试消火栓 %d", i), "status": "in_service", "town": "鱼洞街道"}})
	}
	b, err := json.Marshal(map[string]any{"type": "FeatureCollection", "features": fs})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "hydrants.geojson")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func waitHealthy(t *testing.T, base string, exited chan error, logPath string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			t.Fatalf("riskmap serve exited: %v\n%s", err, readTail(logPath))
		case <-time.After(200 * time.Millisecond):
		}
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
	}
	t.Fatalf("riskmap serve not healthy after 3 min\n%s", readTail(logPath))
}

func readTail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}
