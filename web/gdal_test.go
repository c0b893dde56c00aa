package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"riskmap/fixtures"
	"riskmap/layers"
	"riskmap/layers/memstore"
	"riskmap/web"
)

// gdal returns the path of a GDAL tool; it skips the test when GDAL is not
// installed, except in CI (CI=true), where that is a failure.
func gdal(t *testing.T, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found (Debian package gdal-bin, make deps): %v", tool, err)
		}
		t.Skipf("%s not installed", tool)
	}
	return p
}

// TestGDALClient serves the demo district on a loopback listener and reads
// it with GDAL's OGC API – Features driver as a real client: ogrinfo lists
// every layer, ogr2ogr copies collections to a GeoPackage with as many
// features as numberMatched, following the next links page by page. With
// -where, GDAL 3.6 pages through the whole collection and evaluates the
// filter itself: its count must equal numberMatched of the same expression
// sent to riskmap as a CQL2-text filter.
func TestGDALClient(t *testing.T) {
	ogrinfo, ogr2ogr := gdal(t, "ogrinfo"), gdal(t, "ogr2ogr")
	if testing.Short() {
		t.Skip("generates the demo dataset")
	}
	ds, err := fixtures.Generate(fixtures.Demo)
	if err != nil {
		t.Fatal(err)
	}
	st := memstore.New()
	if err := ds.Load(context.Background(), st, nil); err != nil {
		t.Fatal(err)
	}
	cat := layers.NewCatalog()
	var mu sync.Mutex
	var requests []string
	h := web.New(web.Deps{Store: st, Catalog: cat})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests = append(requests, r.URL.RequestURI())
		mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	api := "OAPIF:" + srv.URL + "/api"
	run := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Env = append(os.Environ(), "GDAL_HTTP_TIMEOUT=60", "CPL_DEBUG=OFF", "GDAL_DISABLE_READDIR_ON_OPEN=EMPTY_DIR")
		out, err := cmd.CombinedOutput()
		if err != nil {
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("%s %s: %v\n%s\nrequests: %s", filepath.Base(name), strings.Join(args, " "), err, out, strings.Join(requests, "\n"))
		}
		return string(out)
	}

	out := run(ogrinfo, "-ro", "-so", api)
	for _, l := range cat.Layers() {
		if !regexp.MustCompile(`(?m)^\d+: ` + l.ID + `\b`).MatchString(out) {
			t.Errorf("ogrinfo does not list %s:\n%s", l.ID, out)
		}
	}

	matched := func(target string) int {
		var p struct{ NumberMatched int }
		if code := get(t, srv.URL+target, &p); code != 200 {
			t.Fatalf("%s: %d", target, code)
		}
		return p.NumberMatched
	}
	count := func(gpkg, layer string) int {
		out := run(ogrinfo, "-ro", "-so", gpkg, layer)
		m := regexp.MustCompile(`Feature Count: (\d+)`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no feature count for %s in %s:\n%s", layer, gpkg, out)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	dir := t.TempDir()
	for _, c := range []struct {
		layer, where, filter string
	}{
		{layers.Hazards, "", ""},
		{layers.LifeLanes, "", ""},
		{layers.Enterprises, "risk_level = 'red' AND staff > 100", "risk_level = 'red' AND staff > 100"},
	} {
		gpkg := filepath.Join(dir, c.layer+strconv.Itoa(len(c.where))+".gpkg")
		args := []string{"-f", "GPKG", gpkg, api, c.layer}
		if c.where != "" {
			args = append(args, "-where", c.where)
		}
		run(ogr2ogr, args...)
		target := "/api/collections/" + c.layer + "/items?limit=1"
		if c.filter != "" {
			target += "&filter=" + neturl.QueryEscape(c.filter)
		}
		want := matched(target)
		if got := count(gpkg, c.layer); got != want || want == 0 {
			t.Errorf("ogr2ogr %s %q: %d features, numberMatched %d", c.layer, c.where, got, want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("GDAL made %d requests", len(requests))
}
