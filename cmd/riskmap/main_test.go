package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"riskmap/layers"
	"riskmap/layers/memstore"
)

// syncBuffer is a bytes.Buffer the server's goroutines may write while the
// test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testEnv(args ...string) (env, *syncBuffer, *syncBuffer) {
	var out, errs syncBuffer
	return env{args: args, getenv: func(string) string { return "" }, stdout: &out, stderr: &errs}, &out, &errs
}

// servedAddr finds the address in the "serving" log line (JSON, since
// stderr is not a terminal).
func servedAddr(logs string) string {
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		var rec struct{ Msg, Addr string }
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "serving" {
			return rec.Addr
		}
	}
	return ""
}

// serveOnce runs `riskmap serve` on a free port of 127.0.0.1 until fn
// returns, then cancels its context (what SIGINT and SIGTERM do) and
// expects a clean exit.
func serveOnce(t *testing.T, dir string, fn func(base string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e, _, logs := testEnv("serve", "--addr", "127.0.0.1:0", "--data", dir)
	done := make(chan error, 1)
	go func() { done <- run(ctx, e) }()
	deadline := time.Now().Add(3 * time.Minute)
	addr := ""
	for addr == "" {
		select {
		case err := <-done:
			t.Fatalf("serve exited early: %v\n%s", err, logs)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not come up:\n%s", logs)
		}
		addr = servedAddr(logs.String())
	}
	fn("http://" + addr)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v\n%s", err, logs)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	if !strings.Contains(logs.String(), "shutting down") {
		t.Errorf("no shutdown logged:\n%s", logs)
	}
}

func getJSON(t *testing.T, u string, v any) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s: %v", u, err)
	}
	return resp.StatusCode
}

type collections struct {
	Collections []struct {
		ID      string `json:"id"`
		Count   int    `json:"feature_count"`
		Derived bool   `json:"derived"`
	}
}

func (c collections) count(id string) int {
	for _, l := range c.Collections {
		if l.ID == id {
			return l.Count
		}
	}
	return -1
}

// TestServeDemoAndRestart starts the server on an empty data dir (it loads
// the demo), writes a feature into the store between two runs and checks
// the second run serves it and did not reload the demo over it.
func TestServeDemoAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the demo dataset")
	}
	dir := t.TempDir()
	e, out, _ := testEnv("token", "create", "--data", dir, "--name", "desk", "--role", "editor")
	if err := run(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(out.String())
	var first collections
	var hazardID float64
	serveOnce(t, dir, func(base string) {
		// a hazard reported with the token made at the command line
		body := `{"type":"Feature","geometry":{"type":"Point","coordinates":[106.53,29.39]},"properties":{"category":"fire","title":"重启测试隐患"}}`
		req, _ := http.NewRequest("POST", base+"/api/hazards", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var created map[string]any
		json.NewDecoder(resp.Body).Decode(&created)
		resp.Body.Close()
		if resp.StatusCode != 201 {
			t.Fatalf("report a hazard: %d %v", resp.StatusCode, created)
		}
		hazardID = created["id"].(float64)

		var h map[string]string
		if c := getJSON(t, base+"/healthz", &h); c != 200 || h["status"] != "ok" || h["store"] != "memory" {
			t.Errorf("healthz %d %v", c, h)
		}
		if c := getJSON(t, base+"/api/collections", &first); c != 200 {
			t.Fatalf("collections %d", c)
		}
		nbase := 0
		for _, c := range first.Collections {
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
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	serveOnce(t, dir, func(base string) {
		var hz struct{ History []map[string]any }
		if c := getJSON(t, fmt.Sprintf("%s/api/hazards/%d", base, int64(hazardID)), &hz); c != 200 || len(hz.History) != 1 || hz.History[0]["by"] != "desk" {
			t.Errorf("hazard after restart: %d %+v", c, hz)
		}
		var got struct{ Properties map[string]any }
		if c := getJSON(t, base+"/api/collections/water_sources/items/999999", &got); c != 200 || got.Properties["name"] != "重启测试" {
			t.Errorf("after restart: %d %v", c, got)
		}
		var again collections
		getJSON(t, base+"/api/collections", &again)
		if n, was := again.count(layers.WaterSources), first.count(layers.WaterSources); n != was+1 {
			t.Errorf("water_sources: %d after restart, %d before plus one expected (demo reloaded?)", n, was)
		}
	})
}

// TestServeRefuses: a bad flag value or a taken port fails at once,
// before any data is loaded.
func TestServeRefuses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--log-level", "verbose"}, "log-level"},
		{[]string{"--addr", ln.Addr().String()}, "address already in use"},
		{[]string{"--colour", "red"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		e, _, _ := testEnv(append([]string{"serve", "--data", dir}, tt.args...)...)
		start := time.Now()
		if err := run(context.Background(), e); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want %q", tt.args, err, tt.want)
		}
		if el := time.Since(start); el > 5*time.Second {
			t.Errorf("%v: failed after %v", tt.args, el)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("%v: wrote into the data dir", tt.args)
		}
	}
}

func TestHelpAndVersion(t *testing.T) {
	e, out, _ := testEnv("--help")
	if err := run(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	for name := range commands() {
		if !strings.Contains(out.String(), "  "+name+" ") {
			t.Errorf("riskmap --help does not list %s:\n%s", name, out)
		}
	}
	for name := range commands() {
		if name == "version" || name == "tiles" {
			continue
		}
		e, _, errs := testEnv(name, "--help")
		if err := run(context.Background(), e); !errors.Is(err, flag.ErrHelp) || !strings.Contains(errs.String(), "Usage: riskmap "+name) {
			t.Errorf("%s --help: %v\n%s", name, err, errs)
		}
	}
	e, _, errs := testEnv("tiles", "export", "--help")
	if err := run(context.Background(), e); !errors.Is(err, flag.ErrHelp) || !strings.Contains(errs.String(), "Usage: riskmap tiles export") {
		t.Errorf("tiles export --help: %v\n%s", err, errs)
	}
	e, out, _ = testEnv("version")
	if err := run(context.Background(), e); err != nil || !strings.HasPrefix(out.String(), "riskmap ") {
		t.Errorf("version: %v %q", err, out)
	}
	e, _, _ = testEnv("frobnicate")
	if err := run(context.Background(), e); err == nil || !strings.Contains(err.Error(), `unknown command "frobnicate"`) {
		t.Errorf("unknown command: %v", err)
	}
}

// TestReadmeConfiguration keeps the README's configuration table true to
// `riskmap serve --help`: every flag and environment variable is in it.
func TestReadmeConfiguration(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	e, _, help := testEnv("serve", "--help")
	_ = run(context.Background(), e)
	flags := regexp.MustCompile(`(?m)^  -([a-z-]+)`).FindAllStringSubmatch(help.String(), -1)
	envs := regexp.MustCompile(`env (RISKMAP_[A-Z_]+)`).FindAllStringSubmatch(help.String(), -1)
	if len(flags) < 5 || len(envs) < 4 {
		t.Fatalf("parsed %d flags, %d env vars from:\n%s", len(flags), len(envs), help)
	}
	for _, f := range flags {
		if !bytes.Contains(readme, []byte("| `--"+f[1]+"`")) {
			t.Errorf("README's configuration table lacks --%s", f[1])
		}
	}
	for _, v := range envs {
		if !bytes.Contains(readme, []byte("`"+v[1]+"`")) {
			t.Errorf("README's configuration table lacks %s", v[1])
		}
	}
}

func TestFixturesCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("generates the demo dataset")
	}
	dir := t.TempDir()
	e, out, _ := testEnv("fixtures", "--profile", "demo", "--out", dir)
	if err := run(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	var m struct {
		Profile string
		Layers  map[string]int
	}
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil || m.Profile != "demo" || len(m.Layers) != 13 {
		t.Fatalf("manifest %v %+v", err, m)
	}
	for _, l := range layers.NewCatalog().Base() {
		var fc struct {
			Type     string
			Features []json.RawMessage
		}
		b, err := os.ReadFile(filepath.Join(dir, l.ID+".geojson"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &fc); err != nil || fc.Type != "FeatureCollection" || len(fc.Features) != m.Layers[l.ID] || len(fc.Features) == 0 {
			t.Errorf("%s.geojson: %v, %d features, manifest %d", l.ID, err, len(fc.Features), m.Layers[l.ID])
		}
		if !strings.Contains(out.String(), l.ID) {
			t.Errorf("stdout does not report %s", l.ID)
		}
	}
	e, _, _ = testEnv("fixtures", "--profile", "huge", "--out", dir)
	if err := run(context.Background(), e); err == nil || !strings.Contains(fmt.Sprint(err), "huge") {
		t.Errorf("bad profile: %v", err)
	}
}

// TestTokenCommand: create prints the secret once on stdout, list shows
// no secret, revoke by name marks it.
func TestTokenCommand(t *testing.T) {
	dir := t.TempDir()
	e, out, _ := testEnv("token", "create", "--data", dir, "--name", "field-team", "--role", "editor")
	if err := run(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	secret := strings.TrimSpace(out.String())
	if !strings.HasPrefix(secret, "rm_") || len(secret) < 40 {
		t.Fatalf("secret %q", secret)
	}
	e, out, _ = testEnv("token", "list", "--data", dir)
	if err := run(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	if l := out.String(); !strings.Contains(l, "field-team") || !strings.Contains(l, "editor") || strings.Contains(l, secret) {
		t.Errorf("list:\n%s", l)
	}
	e, out, _ = testEnv("token", "revoke", "--data", dir, "field-team")
	if err := run(context.Background(), e); err != nil || !strings.Contains(out.String(), "revoked field-team") {
		t.Errorf("revoke: %v %s", err, out)
	}
	for _, args := range [][]string{{"token", "create", "--data", dir, "--name", "x", "--role", "root"}, {"token", "revoke", "--data", dir, "nobody"}, {"token", "frob"}} {
		e, _, _ := testEnv(args...)
		if err := run(context.Background(), e); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

// TestAnalyzeCommand runs an analysis from the command line over the
// demo, for the district and for one town: the table reports every town
// (the district run once crashed when no town was asked for).
func TestAnalyzeCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the demo dataset")
	}
	dir := t.TempDir()
	runOK(t, "load-fixtures", "--data", dir)
	district := runOK(t, "analyze", "water-coverage", "--data", dir)
	for _, want := range []string{"鱼洞街道", "coverage"} {
		if !strings.Contains(district, want) {
			t.Errorf("analyze water-coverage: no %q in\n%s", want, district)
		}
	}
	town := runOK(t, "analyze", "water-coverage", "--data", dir, "--town", "鱼洞街道")
	if !strings.Contains(town, "鱼洞街道") || len(town) >= len(district) {
		t.Errorf("analyze --town 鱼洞街道: want one town's lines, got\n%s", town)
	}
	e, _, _ := testEnv("analyze", "water-coverage", "--data", dir, "--town", "火星")
	if err := run(context.Background(), e); err == nil || !strings.Contains(err.Error(), "火星") {
		t.Errorf("unknown town: %v", err)
	}
}
