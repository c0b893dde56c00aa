package web_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"riskmap/auth"
	"riskmap/exports"
	"riskmap/layers"
	"riskmap/layers/memstore"
	"riskmap/web"
)

// upload posts one file as multipart/form-data to the import route.
func (a *authServer) upload(t *testing.T, layer, query string, role auth.Role, name string, data []byte, v any) int {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	part.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", a.srv.URL+"/api/collections/"+layer+"/import"+query, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if s := a.tokens[role]; s != "" {
		req.Header.Set("Authorization", "Bearer "+s)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v: %s", name, err, b)
		}
	}
	return resp.StatusCode
}

func hydrantCSV(n, badRow int) []byte {
	var b strings.Builder
	b.WriteString("编号,经度,纬度,类型,状态,流量\n")
	for i := 1; i <= n; i++ {
		status := "在用"
		if i == badRow {
			status = "半坏"
		}
		fmt.Fprintf(&b, "%d,%.5f,29.39,市政消火栓,%s,15\n", 100+i, 106.50+float64(i)*0.0001, status)
	}
	return []byte(b.String())
}

type report struct {
	Layer            string
	Read, Written    int
	Rejected         int
	Rejects          []map[string]any
	RejectsTruncated bool `json:"rejects_truncated"`
	Code, Message    string
}

func TestImportHTTP(t *testing.T) {
	d := web.Deps{MaxUpload: 64 << 10}
	t.Run("memstore", func(t *testing.T) { testImportHTTP(t, newAuthServer(t, d)) })
	t.Run("postgis", func(t *testing.T) { testImportHTTP(t, newPGAuthServer(t, d)) })
}

func testImportHTTP(t *testing.T, a *authServer) {
	ctx := context.Background()
	count := func() int {
		n, err := a.store.Count(ctx, layers.Query{Layer: layers.WaterSources})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()
	m := "?id-field=编号&map=类型:kind&map=状态=status&map=流量:flow_lps"

	// one bad row: 400 naming the line and field; nothing written
	var r report
	if c := a.upload(t, "water_sources", m, auth.Editor, "hydrants.csv", hydrantCSV(50, 37), &r); c != 400 ||
		!strings.Contains(r.Message, "hydrants.csv line 38") || !strings.Contains(r.Message, `"status"`) || !strings.Contains(r.Message, "半坏") {
		t.Errorf("bad row: %d %+v", c, r)
	}
	if n := count(); n != before {
		t.Errorf("a rejected file wrote %d features", n-before)
	}
	// skip-invalid: the 49 land, the one comes back with its reason
	r = report{}
	if c := a.upload(t, "water_sources", m+"&skip-invalid=true", auth.Editor, "hydrants.csv", hydrantCSV(50, 37), &r); c != 200 ||
		r.Read != 50 || r.Written != 49 || r.Rejected != 1 || len(r.Rejects) != 1 || r.Rejects[0]["where"] != "hydrants.csv line 38" {
		t.Errorf("skip-invalid: %d %+v", c, r)
	}
	if n := count(); n != before+49 {
		t.Errorf("count %d, want %d", n, before+49)
	}
	// all good, re-imported: idempotent
	r = report{}
	if c := a.upload(t, "water_sources", m, auth.Editor, "hydrants.csv", hydrantCSV(50, 0), &r); c != 200 || r.Written != 50 {
		t.Errorf("good file: %d %+v", c, r)
	}
	if n := count(); n != before+50 {
		t.Errorf("count %d, want %d", n, before+50)
	}

	// GeoJSON in GCJ-02
	gj := `{"type":"FeatureCollection","features":[{"type":"Feature","id":900,"geometry":{"type":"Point","coordinates":[106.5231,29.3972]},"properties":{"kind":"fire_pool","status":"in_service"}}]}`
	r = report{}
	if c := a.upload(t, "water_sources", "?crs=gcj02", auth.Editor, "pools.geojson", []byte(gj), &r); c != 200 || r.Written != 1 {
		t.Errorf("geojson: %d %+v", c, r)
	}
	f, err := a.store.Get(ctx, layers.WaterSources, 900)
	if err != nil || f.Geometry.Bound().Min[0] >= 106.5231 {
		t.Errorf("GCJ-02 not converted: %v %v", f.Geometry, err)
	}

	// a GeoPackage exported from another store imports back
	src := memstore.New()
	if err := src.Upsert(ctx, layers.WaterSources, []layers.Feature{{Layer: layers.WaterSources, ID: 901, Geometry: f.Geometry,
		Props: map[string]any{"kind": "hydrant", "status": "faulty"}}}); err != nil {
		t.Fatal(err)
	}
	wl, _ := layers.NewCatalog().Layer(layers.WaterSources)
	gp := filepath.Join(t.TempDir(), "export.gpkg")
	if _, err := exports.GeoPackage(ctx, src, []*layers.Layer{wl}, gp, nil); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(gp)
	r = report{}
	if c := a.upload(t, "water_sources", "", auth.Editor, "export.gpkg", data, &r); c != 200 || r.Written != 1 {
		t.Errorf("gpkg: %d %+v", c, r)
	}

	// a zipped Shapefile with GBK attributes, made by ogr2ogr
	if zipped := shapefileZip(t, `{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[106.51,29.38]},"properties":{"fid":902,"类型":"消防水池","状态":"故障"}}]}`); zipped != nil {
		r = report{}
		if c := a.upload(t, "water_sources", "?id-field=fid&map=类型:kind&map=状态:status", auth.Editor, "pools.zip", zipped, &r); c != 200 || r.Written != 1 {
			t.Errorf("shapefile: %d %+v", c, r)
		}
		if f, err := a.store.Get(ctx, layers.WaterSources, 902); err != nil || f.Props["status"] != "faulty" || f.Props["kind"] != "fire_pool" {
			t.Errorf("shapefile feature: %v %v", f.Props, err)
		}
	}

	// imported hazards come out with the ledger's derived fields
	hz := `{"type":"FeatureCollection","features":[{"type":"Feature","id":77,"geometry":{"type":"Point","coordinates":[106.52,29.40]},"properties":{"category":"gas","major":true,"status":"rectifying","deadline":"2026-01-31","town":"花溪街道"}}]}`
	if c := a.upload(t, "hazards", "", auth.Editor, "ledger.geojson", []byte(hz), nil); c != 200 {
		t.Errorf("hazards import: %d", c)
	}
	if f, err := a.store.Get(ctx, layers.Hazards, 77); err != nil || f.Props["overdue"] != true || f.Props["listed_supervision"] != true {
		t.Errorf("imported hazard: %v %v", f.Props, err)
	}

	// refusals
	for _, tc := range []struct {
		layer, query, name string
		role               auth.Role
		data               []byte
		code               int
		has                string
	}{
		{"water_sources", "", "a.csv", auth.Anonymous, hydrantCSV(1, 0), 401, "token"},
		{"water_sources", "", "a.csv", auth.Viewer, hydrantCSV(1, 0), 403, "editor"},
		{"water_sources", "", "a.pdf", auth.Editor, []byte("x"), 400, "unknown format"},
		{"water_sources", "", "a.shp", auth.Editor, []byte("x"), 400, ".zip"},
		{"water_sources", "?crs=mars", "a.csv", auth.Editor, hydrantCSV(1, 0), 400, "crs"},
		{"water_sources", "?colour=red", "a.csv", auth.Editor, hydrantCSV(1, 0), 400, "unknown parameter"},
		{"nowhere", "", "a.csv", auth.Editor, hydrantCSV(1, 0), 404, "nowhere"},
		{"water_sources", "", "big.csv", auth.Editor, hydrantCSV(3000, 0), 413, "larger"},
		{"water_sources", "", "broken.geojson", auth.Editor, []byte(`{"type":"FeatureCollection","features":[{"type":`), 400, "broken.geojson"},
	} {
		r = report{}
		if c := a.upload(t, tc.layer, tc.query, tc.role, tc.name, tc.data, &r); c != tc.code || !strings.Contains(r.Message, tc.has) {
			t.Errorf("%s %s%s: %d %q, want %d with %q", tc.name, tc.layer, tc.query, c, r.Message, tc.code, tc.has)
		}
	}
}

// shapefileZip converts GeoJSON to a Shapefile in GBK with ogr2ogr and
// zips its parts; nil (and the test logs why) without ogr2ogr.
func shapefileZip(t *testing.T, geojson string) []byte {
	t.Helper()
	ogr, err := exec.LookPath("ogr2ogr")
	if err != nil {
		t.Log("no ogr2ogr (gdal-bin): the Shapefile upload is not tested")
		return nil
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "in.geojson")
	if err := os.WriteFile(in, []byte(geojson), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "shp")
	if b, err := exec.Command(ogr, "-f", "ESRI Shapefile", "-lco", "ENCODING=GBK", out, in).CombinedOutput(); err != nil {
		t.Fatalf("ogr2ogr: %v: %s", err, b)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(out, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		w, _ := zw.Create(e.Name())
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
