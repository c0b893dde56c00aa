package tiles

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/paulmach/orb/maptile"
)

// ogrinfo returns the path of GDAL's ogrinfo; without it the GDAL tests
// skip, except in CI (CI=true) where that is a failure.
func ogrinfo(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("ogrinfo")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("ogrinfo (gdal-bin) is required in CI: %v", err)
		}
		t.Skipf("ogrinfo not installed: %v", err)
	}
	return p
}

var (
	ogrLayer = regexp.MustCompile(`(?m)^Layer name: (\S+)$`)
	ogrCount = regexp.MustCompile(`(?m)^Feature Count: (\d+)$`)
)

// gdalCheck writes a tile as dir/z/x/y.mvt (GDAL's MVT driver takes the
// tile address from such a path) and reads it back with
// `ogrinfo -ro -al -so`: it must open with the MVT driver, print no error
// or warning, and list the layers with the feature counts our decoder
// finds.
func gdalCheck(t testing.TB, bin, dir string, tl maptile.Tile, data []byte) {
	t.Helper()
	path := filepath.Join(dir, fmt.Sprint(tl.Z), fmt.Sprint(tl.X), fmt.Sprintf("%d.mvt", tl.Y))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-ro", "-al", "-so", path)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ogrinfo %s: %v\n%s", path, err, stderr.String())
	}
	out := stdout.String()
	if !bytes.Contains(stdout.Bytes(), []byte("using driver `MVT' successful")) {
		t.Errorf("ogrinfo %s did not use the MVT driver:\n%s", path, out)
	}
	if bytes.Contains(stderr.Bytes(), []byte("ERROR")) || bytes.Contains(stderr.Bytes(), []byte("Warning")) {
		t.Errorf("ogrinfo %s complained:\n%s", path, stderr.String())
	}
	names := ogrLayer.FindAllStringSubmatch(out, -1)
	counts := ogrCount.FindAllStringSubmatch(out, -1)
	ls := decode(t, data)
	if len(names) != len(ls) || len(counts) != len(ls) {
		t.Fatalf("ogrinfo %s: %d layers and %d counts, our decoder %d layers:\n%s", path, len(names), len(counts), len(ls), out)
	}
	for i, l := range ls {
		n, _ := strconv.Atoi(counts[i][1])
		// GDAL lists layers in tile order.
		if names[i][1] != l.Name || n != len(l.Features) {
			t.Errorf("ogrinfo %s: layer %s with %d features, our decoder %s with %d", path, names[i][1], n, l.Name, len(l.Features))
		}
	}
}
