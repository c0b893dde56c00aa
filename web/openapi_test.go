package web_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"riskmap/layers"
	"riskmap/web"
)

func TestServiceDescConformanceQueryables(t *testing.T) {
	h := web.New(web.Deps{Store: small(t), Catalog: layers.NewCatalog()})
	var landing struct {
		Links []struct{ Href, Rel, Type string }
	}
	if err := json.Unmarshal(do(t, h, http.MethodGet, "/api").Body.Bytes(), &landing); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range landing.Links {
		if l.Rel == "service-desc" && l.Href == "http://riskmap.test/api/openapi.json" {
			found = true
		}
	}
	rec := do(t, h, http.MethodGet, "/api/openapi.json")
	var doc struct {
		OpenAPI string
		Paths   map[string]any
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil || !found || doc.OpenAPI != "3.0.3" || doc.Paths["/api/dispatch"] == nil {
		t.Errorf("service-desc %v, openapi %d %v %v", found, rec.Code, doc.OpenAPI, err)
	}
	var conf struct{ ConformsTo []string }
	_ = json.Unmarshal(do(t, h, http.MethodGet, "/api/conformance").Body.Bytes(), &conf)
	for _, c := range []string{"ogcapi-features-1/1.0/conf/core", "ogcapi-features-1/1.0/conf/oas30", "ogcapi-features-1/1.0/conf/geojson", "cql2/1.0/conf/cql2-text"} {
		if !slices.Contains(conf.ConformsTo, "http://www.opengis.net/spec/"+c) {
			t.Errorf("conformance lacks %s: %v", c, conf.ConformsTo)
		}
	}
	rec = do(t, h, http.MethodGet, "/api/collections/water_sources/queryables")
	var q struct {
		Properties map[string]struct {
			Type string
			Enum []string
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &q); err != nil || rec.Header().Get("Content-Type") != "application/schema+json" ||
		q.Properties["flow_lps"].Type != "number" || !slices.Contains(q.Properties["status"].Enum, "in_service") {
		t.Errorf("queryables %d %s", rec.Code, rec.Body)
	}
	if rec := do(t, h, http.MethodGet, "/api/collections/nope/queryables"); rec.Code != 404 {
		t.Errorf("unknown layer queryables: %d", rec.Code)
	}
}
