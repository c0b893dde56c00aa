package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"riskmap/auth"
	"riskmap/layers"
	"riskmap/layers/memstore"
	"riskmap/ledger"
)

// FuzzHazardWrites posts arbitrary bodies to the ledger's write routes
// with an editor token: every answer is a 2xx or a 4xx, never a 5xx or a
// panic.
func FuzzHazardWrites(f *testing.F) {
	ctx := context.Background()
	st := memstore.New()
	cat := layers.NewCatalog()
	err := st.Upsert(ctx, layers.Hazards, []layers.Feature{{Layer: layers.Hazards, ID: 1, Geometry: orb.Point{106.5, 29.4},
		Props: map[string]any{"category": "fire", "status": "reported"}}})
	if err != nil {
		f.Fatal(err)
	}
	as, err := auth.OpenFileStore(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	hist, err := ledger.OpenFileHistory(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	lg, err := ledger.New(st, cat, hist)
	if err != nil {
		f.Fatal(err)
	}
	editor, _, err := auth.Create(ctx, as, "fuzz", auth.Editor, time.Now())
	if err != nil {
		f.Fatal(err)
	}
	h := New(Deps{Store: st, Catalog: cat, Auth: as, Ledger: lg, WriteRate: 1e9, WriteBurst: 1e9})
	for _, s := range []string{
		`{"to":"assigned","note":"x","fields":{"responsible_unit":"u","responsible_person":"p","deadline":"2026-12-01"}}`,
		`{"to":"closed"}`, `{"to":"已交办","fields":{"deadline":"not a date"}}`, `{"to":"assigned","fields":{"major":"maybe"}}`,
		`{"type":"Feature","geometry":{"type":"Point","coordinates":[106.5,29.4]},"properties":{"category":"gas"}}`,
		`{"type":"Feature","id":-3,"geometry":null,"properties":{"category":"gas","status":"closed"}}`,
		`{"type":"Feature","geometry":{"type":"Point","coordinates":[1e400,29.4]},"properties":{}}`, `[]`, `null`, ``, `{`,
	} {
		f.Add("/api/hazards/1/transitions", s)
		f.Add("/api/hazards", s)
	}
	f.Fuzz(func(t *testing.T, path, body string) {
		if path != "/api/hazards" {
			path = "/api/hazards/1/transitions"
		}
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+editor)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("POST %s %q: %d %s", path, body, rec.Code, rec.Body)
		}
	})
}
