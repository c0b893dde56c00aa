package auth_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"riskmap/auth"
	"riskmap/layers"
	"riskmap/layers/postgis"
	"riskmap/layers/postgis/pgtest"
)

func TestRoles(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want auth.Role
		ok   bool
	}{{"viewer", auth.Viewer, true}, {"Editor", auth.Editor, true}, {"admin", auth.Admin, true}, {"root", 0, false}, {"anonymous", 0, false}} {
		r, err := auth.ParseRole(tc.in)
		if (err == nil) != tc.ok || r != tc.want {
			t.Errorf("ParseRole(%q) = %v, %v", tc.in, r, err)
		}
	}
	id := auth.Identity{Role: auth.Editor}
	if !id.Can(auth.Viewer) || !id.Can(auth.Editor) || id.Can(auth.Admin) {
		t.Error("editor can view and edit, not administer")
	}
}

// conformance runs the same checks on every store.
func conformance(t *testing.T, st auth.Store) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)
	secret, tok, err := auth.Create(ctx, st, "alice", auth.Editor, now)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, auth.Prefix) || len(secret) < 40 || tok.Hash == secret || strings.Contains(tok.Hash, secret[3:]) {
		t.Fatalf("secret %q hash %q", secret, tok.Hash)
	}
	if _, _, err := auth.Create(ctx, st, "alice", auth.Viewer, now); !errors.Is(err, layers.ErrConflict) {
		t.Errorf("duplicate name: %v", err)
	}
	if _, _, err := auth.Create(ctx, st, "bad name!", auth.Viewer, now); !errors.Is(err, layers.ErrInvalid) {
		t.Errorf("bad name: %v", err)
	}
	id, err := auth.Authenticate(ctx, st, secret)
	if err != nil || id.Name != "alice" || id.Role != auth.Editor || id.TokenID != tok.ID {
		t.Fatalf("authenticate: %+v %v", id, err)
	}
	for _, bad := range []string{"", "rm_", secret + "x", strings.TrimPrefix(secret, auth.Prefix), auth.Prefix + strings.Repeat("A", 43)} {
		if _, err := auth.Authenticate(ctx, st, bad); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("authenticate %q: %v", bad, err)
		}
	}
	bobSecret, bob, err := auth.Create(ctx, st, "bob", auth.Admin, now.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	list, err := st.Tokens(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "alice" || list[1].Role != auth.Admin {
		t.Fatalf("tokens: %+v %v", list, err)
	}
	// revoke by id, then by name: at once
	if r, err := st.RevokeToken(ctx, tok.ID, now.Add(time.Hour)); err != nil || r.Revoked == nil {
		t.Fatalf("revoke: %+v %v", r, err)
	}
	if _, err := auth.Authenticate(ctx, st, secret); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("revoked token still works: %v", err)
	}
	if _, err := st.RevokeToken(ctx, "bob", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if r, err := st.RevokeToken(ctx, "bob", now.Add(2*time.Hour)); err != nil || !r.Revoked.Equal(now.Add(time.Hour)) {
		t.Errorf("revoking twice keeps the first time: %+v %v", r, err)
	}
	if _, err := auth.Authenticate(ctx, st, bobSecret); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("revoked token still works: %v", err)
	}
	if _, err := st.RevokeToken(ctx, "carol", now); !errors.Is(err, layers.ErrNotFound) {
		t.Errorf("unknown: %v", err)
	}
	_ = bob

	// audit: append-only, newest first, paged by time
	for i := range 5 {
		e := auth.AuditEntry{At: now.Add(time.Duration(i) * time.Minute), Who: "alice", Role: auth.Editor, Method: "POST",
			Route: "/api/hazards", Path: "/api/hazards", Layer: "hazards", IDs: []int64{int64(i + 1)}, Status: 201, Outcome: "ok"}
		if err := st.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	es, err := st.Entries(ctx, time.Time{}, 3)
	if err != nil || len(es) != 3 || es[0].IDs[0] != 5 || es[0].Role != auth.Editor || es[0].Layer != "hazards" {
		t.Fatalf("entries: %+v %v", es, err)
	}
	es, err = st.Entries(ctx, es[2].At, 10)
	if err != nil || len(es) != 2 || es[0].IDs[0] != 2 {
		t.Fatalf("entries before: %+v %v", es, err)
	}
}

func TestFileStore(t *testing.T) {
	dir := t.TempDir()
	st, err := auth.OpenFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	conformance(t, st)
	fi, err := os.Stat(filepath.Join(dir, auth.TokensFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("tokens file: %v %v", fi, err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, auth.TokensFile))
	if strings.Contains(string(b), auth.Prefix) {
		t.Error("a secret is stored")
	}
}

// TestFileStoreOtherProcess: a token created and revoked through a second
// store on the same directory (the CLI while the server runs) is seen by
// the first at its next lookup.
func TestFileStoreOtherProcess(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	server, _ := auth.OpenFileStore(dir)
	cli, _ := auth.OpenFileStore(dir)
	if _, err := auth.Authenticate(ctx, server, "rm_nothing"); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatal(err)
	}
	secret, _, err := auth.Create(ctx, cli, "field-team", auth.Viewer, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := auth.Authenticate(ctx, server, secret); err != nil {
		t.Fatalf("new token unknown to the server: %v", err)
	}
	if _, err := cli.RevokeToken(ctx, "field-team", time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := auth.Authenticate(ctx, server, secret); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatalf("revoked token still accepted by the server: %v", err)
	}
}

func TestFileAuditTornLine(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, _ := auth.OpenFileStore(dir)
	defer st.Close()
	if err := st.Append(ctx, auth.AuditEntry{At: time.Now(), Who: "a", Status: 200, Outcome: "ok"}); err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(filepath.Join(dir, auth.AuditFile), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"at":"2026-`)
	f.Close()
	es, err := st.Entries(ctx, time.Time{}, 0)
	if err != nil || len(es) != 1 {
		t.Fatalf("%+v %v", es, err)
	}
}

func TestPGStore(t *testing.T) {
	ctx := context.Background()
	url := pgtest.Database(t)
	ps, err := postgis.Open(ctx, url, nil) // applies the migrations
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	st := auth.NewPGStore(pool)
	conformance(t, st)
	// append-only at the database level too
	if _, err := pool.Exec(ctx, "DELETE FROM riskmap_audit"); err != nil {
		t.Fatal(err)
	}
	if es, _ := st.Entries(ctx, time.Time{}, 0); len(es) != 5 {
		t.Errorf("audit entries deleted: %d left", len(es))
	}
}

// BenchmarkAuthenticate is the cost of resolving a token on every request
// (no cache, so that revocation is immediate).
func BenchmarkAuthenticate(b *testing.B) {
	ctx := context.Background()
	run := func(b *testing.B, st auth.Store) {
		var secret string
		for i := range 50 {
			s, _, err := auth.Create(ctx, st, fmt.Sprintf("t%d", i), auth.Editor, time.Now())
			if err != nil {
				b.Fatal(err)
			}
			secret = s
		}
		b.ResetTimer()
		for b.Loop() {
			if _, err := auth.Authenticate(ctx, st, secret); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("file", func(b *testing.B) {
		st, err := auth.OpenFileStore(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		run(b, st)
	})
	b.Run("postgis", func(b *testing.B) {
		url := pgtest.Database(b)
		ps, err := postgis.Open(ctx, url, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer ps.Close()
		pool, err := pgxpool.New(ctx, url)
		if err != nil {
			b.Fatal(err)
		}
		defer pool.Close()
		run(b, auth.NewPGStore(pool))
	})
}
