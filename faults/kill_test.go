package faults

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"riskmap/layers/postgis/pgtest"
)

// TestKillDuringImport kills `riskmap import` with SIGKILL at points
// spread over a full import of the demo's 58,000 buildings, over the old
// version of the same buildings, and checks after each kill that the
// layer, opened again, holds either the old or the new version — never
// some of each — on the embedded store and on PostGIS.
func TestKillDuringImport(t *testing.T) {
	need(t)
	oldFile, newFile := fixtureFiles(t)
	fractions := []float64{0.05, 0.2, 0.4, 0.6, 0.8, 0.95}

	t.Run("embedded", func(t *testing.T) {
		ctx := context.Background()
		base := t.TempDir()
		if out, err := riskmap(ctx, "import", "--layer", "buildings", "--data", base, oldFile); err != nil {
			t.Fatalf("import of the old version: %v\n%s", err, out)
		}
		// a full import of the new version, for its duration
		full := t.TempDir()
		copyDir(t, base, full)
		start := time.Now()
		if out, err := riskmap(ctx, "import", "--layer", "buildings", "--data", full, newFile); err != nil {
			t.Fatalf("full import of the new version: %v\n%s", err, out)
		}
		took := time.Since(start)
		if v, err := embeddedVersion(ctx, full); err != nil || v.New != v.Count {
			t.Fatalf("after a complete import: %v, %v; want the new version", v, err)
		}
		var seen []string
		for _, f := range fractions {
			dir := t.TempDir()
			copyDir(t, base, dir)
			at := time.Duration(f * float64(took))
			finished := killAfter(t, at, "import", "--layer", "buildings", "--data", dir, newFile)
			v, err := embeddedVersion(ctx, dir)
			if err != nil {
				t.Fatalf("killed at %s: %v", at, err)
			}
			if v.New != 0 && v.New != v.Count {
				t.Errorf("killed at %s: %v", at.Round(time.Millisecond), v)
			}
			seen = append(seen, fmt.Sprintf("%s→%s", at.Round(10*time.Millisecond), short(v, finished)))
		}
		t.Logf("RESULT embedded: full import %s; SIGKILL at %s", took.Round(10*time.Millisecond), strings.Join(seen, ", "))
	})

	t.Run("postgis", func(t *testing.T) {
		ctx := context.Background()
		url := pgtest.Database(t)
		restore := func() {
			t.Helper()
			if out, err := riskmap(ctx, "import", "--layer", "buildings", "--db", url, oldFile); err != nil {
				t.Fatalf("import of the old version: %v\n%s", err, out)
			}
		}
		restore()
		start := time.Now()
		if out, err := riskmap(ctx, "import", "--layer", "buildings", "--db", url, newFile); err != nil {
			t.Fatalf("full import of the new version: %v\n%s", err, out)
		}
		took := time.Since(start)
		if v, err := postgisVersion(ctx, url); err != nil || v.New != v.Count {
			t.Fatalf("after a complete import: %v, %v; want the new version", v, err)
		}
		var seen []string
		for _, f := range fractions {
			restore()
			if v, err := postgisVersion(ctx, url); err != nil || v.New != 0 {
				t.Fatalf("restoring the old version: %v, %v", v, err)
			}
			at := time.Duration(f * float64(took))
			finished := killAfter(t, at, "import", "--layer", "buildings", "--db", url, newFile)
			v, err := postgisVersion(ctx, url)
			if err != nil {
				t.Fatalf("killed at %s: %v", at, err)
			}
			if v.New != 0 && v.New != v.Count {
				t.Errorf("killed at %s: %v", at.Round(time.Millisecond), v)
			}
			seen = append(seen, fmt.Sprintf("%s→%s", at.Round(10*time.Millisecond), short(v, finished)))
		}
		t.Logf("RESULT PostGIS: full import %s; SIGKILL at %s", took.Round(10*time.Millisecond), strings.Join(seen, ", "))
	})
}

func short(v version, finished bool) string {
	s := "old"
	switch {
	case v.New == v.Count && v.Count > 0:
		s = "new"
	case v.New > 0:
		s = "MIX"
	}
	if finished {
		s += " (import had finished)"
	}
	return s
}

// killAfter starts riskmap with args and sends SIGKILL after d; it
// reports whether the import had already finished.
func killAfter(t *testing.T, d time.Duration, args ...string) (finished bool) {
	t.Helper()
	cmd := exec.Command(riskmapBin, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("riskmap %s failed before the kill: %v", strings.Join(args, " "), err)
		}
		return true
	case <-time.After(d):
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	err := <-done
	return err == nil
}

// copyDir copies the files of a flat directory (the embedded store's).
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	ents, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			t.Fatalf("%s: %s is not a regular file", from, e.Name())
		}
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
