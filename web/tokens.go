package web

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"riskmap/auth"
)

// Token management for admins, the HTTP side of `riskmap token`.
func (s *server) tokenRoutes(r *mux.Router) {
	r.Handle("/api/tokens", s.handle(s.listTokens)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/api/tokens", s.handle(s.createToken)).Methods(http.MethodPost)
	r.Handle("/api/tokens/{token}", s.handle(s.revokeToken)).Methods(http.MethodDelete)
	for _, m := range []string{"GET /api/tokens", "HEAD /api/tokens", "POST /api/tokens", "DELETE /api/tokens/{token}"} {
		s.roles[m] = auth.Admin
	}
}

// tokenDoc is a token as the API shows it: never the hash.
type tokenDoc struct {
	ID      string     `json:"id"`
	Name    string     `json:"name"`
	Role    auth.Role  `json:"role"`
	Created time.Time  `json:"created"`
	Revoked *time.Time `json:"revoked,omitempty"`
	Secret  string     `json:"token,omitempty"` // only in the answer to its creation
}

func docOf(t auth.Token) tokenDoc {
	return tokenDoc{ID: t.ID, Name: t.Name, Role: t.Role, Created: t.Created, Revoked: t.Revoked}
}

func (s *server) listTokens(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.Auth.Tokens(r.Context())
	if err != nil {
		return err
	}
	out := []tokenDoc{}
	for _, t := range ts {
		out = append(out, docOf(t))
	}
	return writeJSON(w, "application/json", "no-store", map[string]any{"tokens": out})
}

// createToken: {"name": "…", "role": "editor"} → 201 with the secret,
// shown this once.
func (s *server) createToken(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Name string `json:"name"`
		Role string `json:"role"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		return bodyError(`{"name": "…", "role": "viewer|editor|admin"}`, err)
	}
	role, err := auth.ParseRole(body.Role)
	if err != nil {
		return err
	}
	secret, t, err := auth.Create(r.Context(), s.Auth, body.Name, role, time.Now())
	if err != nil {
		return err
	}
	d := docOf(t)
	d.Secret = secret
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	return json.NewEncoder(w).Encode(d)
}

// revokeToken: DELETE /api/tokens/{id or name}; it stops working at once.
func (s *server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	t, err := s.Auth.RevokeToken(r.Context(), mux.Vars(r)["token"], time.Now())
	if err != nil {
		return err
	}
	return writeJSON(w, "application/json", "no-store", docOf(t))
}
