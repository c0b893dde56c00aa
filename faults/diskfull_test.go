package faults

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestDiskFull puts the embedded store on a small tmpfs (mounted for the
// test: root only), imports the old buildings, fills the file system —
// once completely, once leaving 3 MiB so that the import fails half-way
// through its write — and checks that importing the new buildings fails
// with an error that says the disk is full, that the store reopened
// holds the old buildings whole, and that once space is freed the same
// import succeeds.
func TestDiskFull(t *testing.T) {
	need(t)
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root; run make faults as root")
	}
	oldFile, newFile := fixtureFiles(t)
	for _, tc := range []struct {
		name string
		free int64
	}{{"no space", 0}, {"3 MiB left", 3 << 20}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			mnt := t.TempDir()
			if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=128m", "tmpfs", mnt).CombinedOutput(); err != nil {
				t.Skipf("cannot mount a tmpfs (%v: %s); the disk-full test needs a mountable tmpfs", err, out)
			}
			t.Cleanup(func() {
				if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
					t.Errorf("umount %s: %v %s", mnt, err, out)
				}
			})
			data := filepath.Join(mnt, "data")
			if out, err := riskmap(ctx, "import", "--layer", "buildings", "--data", data, oldFile); err != nil {
				t.Fatalf("import of the old version: %v\n%s", err, out)
			}
			filler := filepath.Join(mnt, "filler")
			fill(t, filler, tc.free)
			out, err := riskmap(ctx, "import", "--layer", "buildings", "--data", data, newFile)
			if err == nil {
				t.Fatalf("import onto a full disk succeeded: %s", out)
			}
			msg := strings.ReplaceAll(lastLine(out), mnt, "$TMPFS")
			if !strings.Contains(msg, "no space left on device") {
				t.Errorf("the error does not say the disk is full: %q", msg)
			}
			if strings.Contains(out, "panic") || strings.Contains(out, "goroutine ") {
				t.Errorf("the import crashed:\n%s", out)
			}
			v, err := embeddedVersion(ctx, data)
			if err != nil {
				t.Fatalf("reopening the store on the full disk: %v", err)
			}
			if v.New != 0 {
				t.Errorf("after the failed import: %v, want the old version", v)
			}
			if err := os.Remove(filler); err != nil {
				t.Fatal(err)
			}
			if out, err := riskmap(ctx, "import", "--layer", "buildings", "--data", data, newFile); err != nil {
				t.Fatalf("import after freeing space: %v\n%s", err, out)
			}
			after, err := embeddedVersion(ctx, data)
			if err != nil || after.New != after.Count || after.Count != v.Count {
				t.Errorf("after freeing space and importing: %v, %v; want the new version of %d", after, err, v.Count)
			}
			t.Logf("RESULT %s: import failed with %q; store reopened: %v; after freeing space the import worked: %v", tc.name, msg, v, after)
		})
	}
}

// fill writes a file until the file system is full, then gives back free
// bytes.
func fill(t *testing.T, path string, free int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	var n int64
	for {
		k, err := f.Write(buf)
		n += int64(k)
		if errors.Is(err, syscall.ENOSPC) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Truncate(max(0, n-free)); err != nil {
		t.Fatal(err)
	}
}
