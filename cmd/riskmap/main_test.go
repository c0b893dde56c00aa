package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"riskmap/layers"
	"riskmap/layers/memstore"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// serveOnce runs `riskmap serve` until fn returns.
func serveOnce(t *testing.T, dir string, fn func(base string)) {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var stderr bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, env{args: []string{"serve", "--addr", addr, "--data", dir, "--log-level", "warn"},
			getenv: func(string) string { return "" }, stdout: &bytes.Buffer{}, stderr: &stderr})
	}()
	base := "http://" + addr
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve exited: %v\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("serve did not come up")
		}
		time.Sleep(100 * time.Millisecond)
	}
	fn(base)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
}

// TestServeDemoAndRestart starts the server on an empty data dir (it loads
// the demo), writes a feature into the store between two runs and checks
// the second run serves it and did not reload the demo over it.
func TestServeDemoAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the demo dataset")
	}
	dir := t.TempDir()
	serveOnce(t, dir, func(base string) {
		resp, err := http.Get(base + "/api/collections")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var cols struct {
			Collections []struct {
				ID      string `json:"id"`
				Count   int    `json:"feature_count"`
				Derived bool   `json:"derived"`
			}
		}
		if err := json.NewDecoder(resp.Body).Decode(&cols); err != nil {
			t.Fatal(err)
		}
		nbase := 0
		for _, c := range cols.Collections {
			if !c.Derived {
				nbase++
				if c.Count == 0 {
					t.Errorf("layer %s is empty", c.ID)
				}
			}
		}
		if nbase != 13 {
			t.Errorf("%d base layers, want 13", nbase)
		}
	})
	st, err := memstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	f := layers.Feature{Layer: layers.WaterSources, ID: 999999, Geometry: orb.Point{106.53, 29.39},
		Props: map[string]any{"kind": "hydrant", "status": "in_service", "name": "重启测试"}}
	if err := st.Upsert(context.Background(), layers.WaterSources, []layers.Feature{f}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	serveOnce(t, dir, func(base string) {
		resp, err := http.Get(base + "/api/collections/water_sources/items/999999")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var got map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&got)
		if resp.StatusCode != 200 || !strings.Contains(fmt.Sprint(got["properties"]), "重启测试") {
			t.Errorf("after restart: %d %v", resp.StatusCode, got)
		}
	})
}

func TestHelp(t *testing.T) {
	var out bytes.Buffer
	e := env{args: []string{"help"}, getenv: func(string) string { return "" }, stdout: &out, stderr: &out}
	if err := run(context.Background(), e); err != nil || !strings.Contains(out.String(), "serve") {
		t.Fatalf("%v %s", err, out.String())
	}
	for _, c := range []string{"serve", "import", "export", "analyze", "fixtures"} {
		out.Reset()
		e.args = []string{c, "--help"}
		_ = run(context.Background(), e)
		if !strings.Contains(out.String(), "Usage: riskmap "+c) {
			t.Errorf("%s --help: %s", c, out.String())
		}
	}
}
