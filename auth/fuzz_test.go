package auth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"riskmap/auth"
)

// FuzzAuthenticate: no string but the secret authenticates, and none
// panics.
func FuzzAuthenticate(f *testing.F) {
	ctx := context.Background()
	st, err := auth.OpenFileStore(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	secret, _, err := auth.Create(ctx, st, "fuzz", auth.Editor, time.Now())
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"", "rm_", secret[:20], secret + " ", "Bearer " + secret, auth.Hash(secret), "rm_\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := auth.Authenticate(ctx, st, s)
		switch {
		case s == secret && (err != nil || id.Name != "fuzz"):
			t.Fatalf("the secret: %+v %v", id, err)
		case s != secret && !errors.Is(err, auth.ErrUnauthenticated):
			t.Fatalf("%q authenticated: %+v %v", s, id, err)
		}
	})
}

// FuzzRole: a role parses only from its name, and round-trips.
func FuzzRole(f *testing.F) {
	for _, s := range []string{"viewer", "EDITOR", "admin", "anonymous", "", "root"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := auth.ParseRole(s)
		if err != nil {
			return
		}
		if r < auth.Viewer || r > auth.Admin {
			t.Fatalf("%q parsed as %v", s, r)
		}
		var back auth.Role
		b, _ := r.MarshalText()
		if err := back.UnmarshalText(b); err != nil || back != r {
			t.Fatalf("%v round-trips to %v %v", r, back, err)
		}
	})
}
