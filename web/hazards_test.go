package web_test

import (
	"fmt"
	"slices"
	"testing"

	"riskmap/auth"
)

type hazardDoc struct {
	ID         int64               `json:"id"`
	Properties map[string]any      `json:"properties"`
	Geometry   map[string]any      `json:"geometry"`
	Allowed    []string            `json:"allowed"`
	Requires   map[string][]string `json:"requires"`
	History    []struct {
		From, To, By, At, Note string
	} `json:"history"`
}

// TestHazardLedgerHTTP moves a hazard through its lifecycle over HTTP as
// the map's editor would (CONTRACTS.md).
func TestHazardLedgerHTTP(t *testing.T) {
	forEachBackend(t, testHazardLedgerHTTP)
}

func testHazardLedgerHTTP(t *testing.T, a *authServer) {
	body := `{"type":"Feature","geometry":{"type":"Point","coordinates":[106.52,29.40]},
	  "properties":{"category":"fire","major":true,"title":"安全出口锁闭","town":"鱼洞街道","location":"三楼东侧","note":"群众举报查实"}}`
	var h hazardDoc
	resp := a.do(t, "POST", "/api/hazards", auth.Editor, body, &h)
	if resp.StatusCode != 201 || h.ID == 0 || h.Properties["status"] != "reported" || h.Properties["overdue"] != false ||
		h.Properties["listed_supervision"] != false || !slices.Equal(h.Allowed, []string{"assigned"}) || len(h.History) != 1 ||
		h.History[0].By != "editor-1" || h.History[0].Note != "群众举报查实" || resp.Header.Get("Location") != fmt.Sprintf("/api/hazards/%d", h.ID) {
		t.Fatalf("create %d %+v", resp.StatusCode, h)
	}
	if !slices.Equal(h.Requires["assigned"], []string{"responsible_unit", "responsible_person", "deadline"}) || len(h.Requires) != 1 {
		t.Errorf("requires %v", h.Requires)
	}
	tr := fmt.Sprintf("/api/hazards/%d/transitions", h.ID)
	// illegal: 409 with the allowed states
	var conflict struct {
		Error   string   `json:"error"`
		Allowed []string `json:"allowed"`
	}
	if c := a.do(t, "POST", tr, auth.Editor, `{"to":"closed"}`, &conflict).StatusCode; c != 409 ||
		!slices.Equal(conflict.Allowed, []string{"assigned"}) || conflict.Error == "" {
		t.Errorf("illegal move: %d %+v", c, conflict)
	}
	var bad struct{ Code, Message string }
	if c := a.do(t, "POST", tr, auth.Editor, `{"to":"assigned","fields":{"responsible_unit":"某商场"}}`, &bad).StatusCode; c != 400 ||
		bad.Message != fmt.Sprintf(`hazards feature %d field "responsible_person": required to move to assigned`, h.ID) {
		t.Errorf("missing field: %d %+v", c, bad)
	}
	if c := a.do(t, "POST", tr, auth.Editor, `{"to":"assigned","colour":"red"}`, &bad).StatusCode; c != 400 {
		t.Errorf("unknown member: %d %+v", c, bad)
	}
	if c := a.do(t, "POST", tr, auth.Viewer, `{"to":"assigned"}`, nil).StatusCode; c != 403 {
		t.Errorf("viewer moves a hazard: %d", c)
	}
	moves := []string{
		`{"to":"assigned","note":"交办","fields":{"responsible_unit":"某商场","responsible_person":"李明","deadline":"2026-11-20"}}`,
		`{"to":"rectifying","fields":{"measures":"拆除锁具","temporary_measures":"专人值守"}}`,
	}
	for _, m := range moves {
		if c := a.do(t, "POST", tr, auth.Editor, m, &h).StatusCode; c != 200 {
			t.Fatalf("%s: %d", m, c)
		}
	}
	// the deadline has passed (the test's today is 2026-11-28): overdue, and listed as a major hazard
	if h.Properties["overdue"] != true || h.Properties["listed_supervision"] != true || !slices.Equal(h.Allowed, []string{"accepted"}) ||
		!slices.Equal(h.Requires["accepted"], []string{"acceptance_officer"}) {
		t.Errorf("rectifying past the deadline: %+v", h)
	}
	var got hazardDoc
	if c := a.do(t, "GET", fmt.Sprintf("/api/hazards/%d", h.ID), auth.Anonymous, "", &got).StatusCode; c != 200 ||
		got.Properties["status"] != "rectifying" || len(got.History) != 3 || got.Geometry["type"] != "Point" {
		t.Errorf("get %d %+v", c, got)
	}
	var hist []map[string]any
	if c := a.do(t, "GET", fmt.Sprintf("/api/hazards/%d/history", h.ID), auth.Anonymous, "", &hist).StatusCode; c != 200 ||
		len(hist) != 3 || hist[1]["from"] != "reported" || hist[1]["to"] != "assigned" || hist[1]["by"] != "editor-1" || hist[1]["note"] != "交办" {
		t.Errorf("history %d %v", c, hist)
	}
	var st struct {
		ByTown []map[string]any `json:"by_town"`
		Total  map[string]int   `json:"total"`
	}
	if c := a.do(t, "GET", "/api/hazards/stats", auth.Anonymous, "", &st).StatusCode; c != 200 || st.Total["rectifying"] != 1 ||
		st.Total["overdue"] != 1 || st.Total["supervised"] != 1 || st.Total["major_open"] != 1 || len(st.ByTown) != 1 || st.ByTown[0]["town"] != "鱼洞街道" {
		t.Errorf("stats %d %+v", c, st)
	}
	if c := a.do(t, "GET", "/api/hazards/stats?year=twenty", auth.Anonymous, "", nil).StatusCode; c != 400 {
		t.Errorf("bad year: %d", c)
	}
	// items carry the ledger's fields for the map
	var items struct{ Features []hazardDoc }
	a.do(t, "GET", "/api/collections/hazards/items", auth.Anonymous, "", &items)
	if len(items.Features) != 1 || items.Features[0].Properties["overdue"] != true || items.Features[0].Properties["listed_supervision"] != true {
		t.Errorf("items %+v", items)
	}
	for path, want := range map[string]int{"/api/hazards/999": 404, "/api/hazards/0": 400} {
		if c := a.do(t, "GET", path, auth.Anonymous, "", nil).StatusCode; c != want {
			t.Errorf("%s: %d, want %d", path, c, want)
		}
	}
	if c := a.do(t, "POST", "/api/hazards", auth.Editor, `{"type":"Feature","geometry":{"type":"LineString","coordinates":[[106.5,29.4],[106.6,29.4]]},"properties":{"category":"fire"}}`, &bad).StatusCode; c != 400 {
		t.Errorf("line hazard: %d %+v", c, bad)
	}
}
