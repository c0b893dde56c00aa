package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"riskmap/layers"
	"riskmap/layers/memstore"
	"riskmap/layers/postgis"
)

// riskmapBin is the riskmap command built by TestMain when the fault
// tests run.
var riskmapBin string

func TestMain(m *testing.M) {
	if os.Getenv("RISKMAP_FAULTS") != "1" {
		os.Exit(m.Run()) // every test skips
	}
	dir, err := os.MkdirTemp("", "riskmap-faults-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	riskmapBin = filepath.Join(dir, "riskmap")
	out, err := exec.Command("go", "build", "-o", riskmapBin, "riskmap/cmd/riskmap").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building riskmap: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// need skips a test unless RISKMAP_FAULTS=1.
func need(t *testing.T) {
	t.Helper()
	if riskmapBin == "" {
		t.Skip("fault tests run with RISKMAP_FAULTS=1 (make faults)")
	}
}

// riskmap runs the command to completion.
func riskmap(ctx context.Context, args ...string) (string, error) {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, riskmapBin, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// fixtureFiles writes the demo dataset into a temporary directory and returns
// the buildings file and a "new" version of it: the same features with
// every name ending in newMark.
func fixtureFiles(t *testing.T) (oldFile, newFile string) {
	t.Helper()
	dir := t.TempDir()
	if out, err := riskmap(context.Background(), "fixtures", "--profile", "demo", "--out", dir); err != nil {
		t.Fatalf("riskmap fixtures: %v\n%s", err, out)
	}
	oldFile = filepath.Join(dir, "buildings.geojson")
	b, err := os.ReadFile(oldFile)
	if err != nil {
		t.Fatal(err)
	}
	var fc struct {
		Type     string           `json:"type"`
		Features []map[string]any `json:"features"`
	}
	if err := json.Unmarshal(b, &fc); err != nil {
		t.Fatal(err)
	}
	for _, f := range fc.Features {
		props, _ := f["properties"].(map[string]any)
		if props == nil {
			t.Fatalf("feature %v has no properties", f["id"])
		}
		name, _ := props["name"].(string)
		if strings.HasSuffix(name, newMark) {
			t.Fatalf("fixture name %q already carries the mark", name)
		}
		props["name"] = name + newMark
	}
	nb, err := json.Marshal(fc)
	if err != nil {
		t.Fatal(err)
	}
	newFile = filepath.Join(dir, "buildings-new.geojson")
	if err := os.WriteFile(newFile, nb, 0o644); err != nil {
		t.Fatal(err)
	}
	return oldFile, newFile
}

const newMark = "·v2"

// version says what a layer holds: "old", "new" or "MIX" (and counts).
type version struct {
	Count, New int
}

func (v version) String() string {
	switch {
	case v.New == 0:
		return fmt.Sprintf("old (%d features)", v.Count)
	case v.New == v.Count:
		return fmt.Sprintf("new (%d features)", v.Count)
	}
	return fmt.Sprintf("MIX: %d of %d features new", v.New, v.Count)
}

func buildingsVersion(ctx context.Context, st layers.Store) (version, error) {
	var v version
	err := st.Query(ctx, layers.Query{Layer: layers.Buildings}, func(f layers.Feature) error {
		v.Count++
		if name, _ := f.Props["name"].(string); strings.HasSuffix(name, newMark) {
			v.New++
		}
		return nil
	})
	return v, err
}

// embeddedVersion opens the data directory as riskmap would after a
// restart.
func embeddedVersion(ctx context.Context, dir string) (version, error) {
	st, err := memstore.Open(dir)
	if err != nil {
		return version{}, fmt.Errorf("reopening the store: %w", err)
	}
	defer st.Close()
	return buildingsVersion(ctx, st)
}

func postgisVersion(ctx context.Context, url string) (version, error) {
	st, err := postgis.Open(ctx, url, layers.NewCatalog())
	if err != nil {
		return version{}, err
	}
	defer st.Close()
	return buildingsVersion(ctx, st)
}
