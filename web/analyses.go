package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gorilla/mux"
	"github.com/paulmach/orb/geojson"

	"riskmap/geo"
	"riskmap/layers/analysis"
)

func (s *server) analyses(w http.ResponseWriter, r *http.Request) error {
	var out []map[string]any
	for _, a := range s.Analyses.Analyses() {
		out = append(out, s.analysisDoc(r, a))
	}
	return writeJSON(w, "application/json", cacheData, map[string]any{"analyses": out})
}

func (s *server) analysisDoc(r *http.Request, a analysis.Analysis) map[string]any {
	var rules []analysis.Rule
	for _, id := range a.RuleIDs() {
		rules = append(rules, s.Analyses.Rules().Get(id))
	}
	var ls []string
	for _, l := range a.Layers() {
		ls = append(ls, l.ID)
	}
	doc := map[string]any{
		"id": a.ID(), "title": a.Title(), "description": a.Description(), "rules": rules,
		"inputs": a.Inputs(), "layers": ls,
		"links": []link{{baseURL(r) + "/api/analyses/" + a.ID(), "self", "application/json", ""}},
	}
	if sum, ok := s.Analyses.Summary(a.ID()); ok {
		doc["summary"] = sum
	}
	return doc
}

// analysis runs one analysis for ?town=, ?bbox=, and the what-ifs
// ?exclude=ids and ?status=usable statuses, returning the summary and up
// to ?limit= (default 1000) features per derived layer.
func (s *server) analysis(w http.ResponseWriter, r *http.Request) error {
	a, err := s.Analyses.Get(mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	v := r.URL.Query()
	var p analysis.Params
	limit := 1000
	for key, vals := range v {
		val := vals[0]
		switch key {
		case "town":
			p.Town = val
		case "bbox":
			if p.BBox, err = parseBBox(val); err != nil {
				return err
			}
		case "exclude":
			for _, part := range strings.Split(val, ",") {
				id, err := strconv.ParseInt(strings.TrimSpace(part), 10, 64)
				if err != nil || id <= 0 {
					return badRequest("exclude must be a comma list of water source ids, got %q", part)
				}
				p.Exclude = append(p.Exclude, id)
			}
			if len(p.Exclude) > 1000 {
				return badRequest("exclude lists %d ids; at most 1000 are allowed", len(p.Exclude))
			}
		case "status":
			p.Usable = strings.Split(val, ",")
			for _, st := range p.Usable {
				if !slices.Contains([]string{"in_service", "faulty", "planned"}, st) {
					return badRequest("status must list in_service, faulty or planned, got %q", st)
				}
			}
		case "limit":
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 || n > maxLimit {
				return badRequest("limit must be an integer from 0 to %d, got %q", maxLimit, val)
			}
			limit = n
		default:
			return badRequest("unknown parameter %q (town, bbox, exclude, status, limit)", key)
		}
	}
	res, err := s.Analyses.Run(r.Context(), a.ID(), p)
	if err != nil {
		return err
	}
	out := map[string]any{}
	counts := map[string]int{}
	for _, l := range a.Layers() {
		fs := res.Layers[l.ID]
		counts[l.ID] = len(fs)
		fc := geojson.NewFeatureCollection()
		for _, f := range fs[:min(limit, len(fs))] {
			fc.Append(geoJSONFeature(f, geo.WGS84))
		}
		fc.ExtraMembers = geojson.Properties{"numberMatched": len(fs), "numberReturned": len(fc.Features)}
		out[l.ID] = fc
	}
	doc := s.analysisDoc(r, a)
	doc["summary"] = res.Summary
	doc["counts"] = counts
	doc["results"] = out
	doc["what_if"] = p.WhatIf()
	return writeJSON(w, "application/json", cacheData, doc)
}
