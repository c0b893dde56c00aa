package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"
	"github.com/paulmach/orb/geojson"

	"riskmap/geo"
	"riskmap/layers"
	"riskmap/ledger"
)

// The hazard ledger's routes (CONTRACTS.md "Hazard ledger"; docs/API.md).
func (s *server) hazardRoutes(r *mux.Router) {
	get := func(path string, h handlerFunc) { r.Handle(path, s.handle(h)).Methods(http.MethodGet, http.MethodHead) }
	post := func(path string, h handlerFunc) { r.Handle(path, s.handle(h)).Methods(http.MethodPost) }
	get("/api/hazards/stats", s.hazardStats)
	get("/api/hazards/{id:[0-9]+}", s.hazard)
	get("/api/hazards/{id:[0-9]+}/history", s.hazardHistory)
	post("/api/hazards", s.createHazard)
	post("/api/hazards/{id:[0-9]+}/transitions", s.transitionHazard)
}

func hazardID(r *http.Request) (int64, error) {
	v := mux.Vars(r)["id"]
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, badRequest("hazard id must be a positive integer, got %q", v)
	}
	return id, nil
}

// hazardDoc is the one shape of a hazard in responses: a GeoJSON Feature
// with the states it may move to and its history.
func hazardDoc(h ledger.Hazard) *geojson.Feature {
	gf := geoJSONFeature(h.Feature, geo.WGS84)
	gf.ExtraMembers = geojson.Properties{"allowed": h.Allowed, "requires": h.Requires, "history": h.History}
	return gf
}

func (s *server) hazard(w http.ResponseWriter, r *http.Request) error {
	id, err := hazardID(r)
	if err != nil {
		return err
	}
	h, err := s.Ledger.Get(r.Context(), id)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, "application/geo+json", "", hazardDoc(h))
}

func (s *server) hazardHistory(w http.ResponseWriter, r *http.Request) error {
	id, err := hazardID(r)
	if err != nil {
		return err
	}
	h, err := s.Ledger.History(r.Context(), id)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, "application/json", "", h)
}

func (s *server) hazardStats(w http.ResponseWriter, r *http.Request) error {
	year := 0
	for key, vals := range r.URL.Query() {
		if key != "year" {
			return badRequest("unknown parameter %q: stats take year", key)
		}
		y, err := strconv.Atoi(vals[0])
		if err != nil || y < 2000 || y > 2100 {
			return badRequest("year must be a year such as 2025, got %q", vals[0])
		}
		year = y
	}
	st, err := s.Ledger.Stats(r.Context(), year)
	if err != nil {
		return err
	}
	return writeJSON(w, "application/json", "no-store", st)
}

// createHazard: POST /api/hazards with a GeoJSON Feature (WGS84, or the
// CRS named by ?crs=) → 201 with the hazard.
func (s *server) createHazard(w http.ResponseWriter, r *http.Request) error {
	crs := geo.WGS84
	for key, vals := range r.URL.Query() {
		if key != "crs" {
			return badRequest("unknown parameter %q: creating a hazard takes crs", key)
		}
		c, err := geo.ParseCRS(vals[0])
		if err != nil {
			return badRequest("crs: %v", err)
		}
		crs = c
	}
	var body json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		return bodyError("a GeoJSON Feature of the hazards layer", err)
	}
	gf, err := geojson.UnmarshalFeature(body)
	if err != nil {
		return badRequest("body: a GeoJSON Feature of the hazards layer: %v", err)
	}
	f := layers.Feature{Layer: layers.Hazards, Props: map[string]any(gf.Properties)}
	if gf.Geometry != nil {
		f.Geometry = geo.ToWGS84(crs, gf.Geometry)
	}
	switch id := gf.ID.(type) {
	case nil:
	case float64:
		if id != float64(int64(id)) || id <= 0 {
			return badRequest("id must be a positive integer or absent, got %v", id)
		}
		f.ID = int64(id)
	default:
		return badRequest("id must be a positive integer or absent, got %v", id)
	}
	note, _ := f.Props["note"].(string)
	delete(f.Props, "note")
	h, err := s.Ledger.Create(r.Context(), f, identity(r).Name, note)
	if err != nil {
		return err
	}
	noteWrite(r, layers.Hazards, h.Feature.ID)
	w.Header().Set("Location", fmt.Sprintf("/api/hazards/%d", h.Feature.ID))
	w.Header().Set("Content-Type", "application/geo+json")
	w.WriteHeader(http.StatusCreated)
	return json.NewEncoder(w).Encode(hazardDoc(h))
}

// transitionHazard: POST /api/hazards/{id}/transitions with
// {"to": "assigned", "note": "…", "fields": {…}}.
func (s *server) transitionHazard(w http.ResponseWriter, r *http.Request) error {
	id, err := hazardID(r)
	if err != nil {
		return err
	}
	var body struct {
		To     string         `json:"to"`
		Note   string         `json:"note"`
		Fields map[string]any `json:"fields"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		return bodyError(`{"to": state, "note": text, "fields": {…}}`, err)
	}
	if body.To == "" {
		return badRequest("body: \"to\" is required (reported, assigned, rectifying, accepted or closed)")
	}
	if len(body.Note) > 4000 {
		return badRequest("note: at most 4000 bytes")
	}
	noteWrite(r, layers.Hazards, id)
	h, err := s.Ledger.Transition(r.Context(), id, body.To, identity(r).Name, body.Note, body.Fields)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, "application/geo+json", "", hazardDoc(h))
}

// bodyError explains a body that does not decode: 413 when it is too
// large, else 400 saying what was expected.
func bodyError(want string, err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return fmt.Errorf("body larger than %d bytes: %w", mbe.Limit, err)
	}
	return badRequest("body: want %s: %v", want, err)
}
