package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"riskmap/layers"
)

// Role is what a token may do; a higher role may do all a lower one may.
type Role int

// Roles, lowest first. Anonymous is the role of a request without a token.
const (
	Anonymous Role = iota
	Viewer
	Editor
	Admin
)

var roleNames = []string{"anonymous", "viewer", "editor", "admin"}

func (r Role) String() string {
	if r < 0 || int(r) >= len(roleNames) {
		return fmt.Sprintf("role(%d)", int(r))
	}
	return roleNames[r]
}

// ParseRole reads viewer, editor or admin.
func ParseRole(s string) (Role, error) {
	for i, n := range roleNames[1:] {
		if strings.EqualFold(s, n) {
			return Role(i + 1), nil
		}
	}
	return 0, fmt.Errorf("%w: role %q is not viewer, editor or admin", layers.ErrInvalid, s)
}

// MarshalText writes the role's name.
func (r Role) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads a role's name.
func (r *Role) UnmarshalText(b []byte) error {
	if string(b) == roleNames[Anonymous] {
		*r = Anonymous
		return nil
	}
	v, err := ParseRole(string(b))
	*r = v
	return err
}

// Errors of authentication; the web package maps them to 401 and 403.
var (
	ErrUnauthenticated = errors.New("authentication required")
	ErrForbidden       = errors.New("forbidden")
)

// Token is a stored token: never the secret, only its SHA-256.
type Token struct {
	ID      string     `json:"id"`
	Name    string     `json:"name"`
	Role    Role       `json:"role"`
	Hash    string     `json:"hash"` // hex SHA-256 of the secret
	Created time.Time  `json:"created"`
	Revoked *time.Time `json:"revoked,omitempty"`
}

// Identity is who made a request.
type Identity struct {
	Name    string `json:"name"`
	Role    Role   `json:"role"`
	TokenID string `json:"token_id,omitempty"`
}

// Can reports whether the identity has at least role r.
func (i Identity) Can(r Role) bool { return i.Role >= r }

// TokenStore keeps tokens. Implementations: FileStore and PGStore.
type TokenStore interface {
	// AddToken stores a new token; a name in use (even revoked) wraps
	// layers.ErrConflict.
	AddToken(ctx context.Context, t Token) error
	// Tokens lists every token, oldest first.
	Tokens(ctx context.Context) ([]Token, error)
	// TokenByHash returns the token with this hash or wraps layers.ErrNotFound.
	TokenByHash(ctx context.Context, hash string) (Token, error)
	// RevokeToken revokes the token with this id or name; unknown wraps
	// layers.ErrNotFound. Revoking twice keeps the first time.
	RevokeToken(ctx context.Context, idOrName string, at time.Time) (Token, error)
}

// Prefix starts every token secret, so that a leaked one is recognisable.
const Prefix = "rm_"

var nameRE = regexp.MustCompile(`^[\p{L}\p{N}][\p{L}\p{N}_.@-]{0,63}$`)

// Create makes a token with a name and role, stores its hash and returns
// the secret, which is shown once and never stored.
func Create(ctx context.Context, st TokenStore, name string, role Role, now time.Time) (string, Token, error) {
	if !nameRE.MatchString(name) {
		return "", Token{}, fmt.Errorf("%w: token name %q: 1–64 letters, digits, _ . @ -, starting with a letter or digit", layers.ErrInvalid, name)
	}
	if role < Viewer || role > Admin {
		return "", Token{}, fmt.Errorf("%w: role %v", layers.ErrInvalid, role)
	}
	var secret [32]byte
	var id [6]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return "", Token{}, err
	}
	if _, err := rand.Read(id[:]); err != nil {
		return "", Token{}, err
	}
	s := Prefix + base64.RawURLEncoding.EncodeToString(secret[:])
	t := Token{ID: "tk_" + hex.EncodeToString(id[:]), Name: name, Role: role, Hash: Hash(s), Created: now.UTC().Truncate(time.Second)}
	if err := st.AddToken(ctx, t); err != nil {
		return "", Token{}, err
	}
	return s, t, nil
}

// Hash is the stored form of a secret: hex SHA-256. Secrets carry 256
// random bits, so a fast unsalted hash is enough.
func Hash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// Authenticate resolves a secret to an identity. Unknown, malformed and
// revoked secrets all wrap ErrUnauthenticated with the same message.
func Authenticate(ctx context.Context, st TokenStore, secret string) (Identity, error) {
	bad := fmt.Errorf("%w: the token is invalid or revoked", ErrUnauthenticated)
	if !strings.HasPrefix(secret, Prefix) || len(secret) > 100 {
		return Identity{}, bad
	}
	h := Hash(secret)
	t, err := st.TokenByHash(ctx, h)
	if errors.Is(err, layers.ErrNotFound) {
		return Identity{}, bad
	}
	if err != nil {
		return Identity{}, err
	}
	if subtle.ConstantTimeCompare([]byte(t.Hash), []byte(h)) != 1 || t.Revoked != nil {
		return Identity{}, bad
	}
	return Identity{Name: t.Name, Role: t.Role, TokenID: t.ID}, nil
}
