package auth

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"riskmap/layers"
)

// Files of FileStore in the data directory.
const (
	TokensFile = "tokens.json"
	AuditFile  = "audit.jsonl"
)

// FileStore keeps tokens in DIR/tokens.json (replaced atomically on every
// change, mode 0600) and the audit log in DIR/audit.jsonl (appended, one
// JSON object a line). It re-reads tokens.json whenever the file changed,
// so a token revoked by another process stops working at the next request.
type FileStore struct {
	dir string

	mu     sync.Mutex
	stamp  fileStamp
	tokens []Token
	audit  *os.File
}

type fileStamp struct {
	mod  time.Time
	size int64
	ok   bool
}

var _ Store = (*FileStore)(nil)

// OpenFileStore opens (creating) the store in dir.
func OpenFileStore(dir string) (*FileStore, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	return &FileStore{dir: dir}, nil
}

// Close closes the audit file.
func (s *FileStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.audit == nil {
		return nil
	}
	err := s.audit.Close()
	s.audit = nil
	return err
}

// load re-reads tokens.json if it changed since the last read. Called
// with mu held.
func (s *FileStore) load() error {
	path := filepath.Join(s.dir, TokensFile)
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		s.tokens, s.stamp = nil, fileStamp{}
		return nil
	}
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	stamp := fileStamp{mod: st.ModTime(), size: st.Size(), ok: true}
	if stamp == s.stamp {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	var doc struct {
		Tokens []Token `json:"tokens"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("auth: %s: %w", path, err)
	}
	s.tokens, s.stamp = doc.Tokens, stamp
	return nil
}

// save writes tokens.json atomically: a temporary file, fsynced, renamed.
func (s *FileStore) save(tokens []Token) error {
	b, err := json.MarshalIndent(map[string]any{"tokens": tokens}, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(s.dir, TokensFile)
	tmp, err := os.CreateTemp(s.dir, ".tokens-*.partial")
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("auth: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("auth: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("auth: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	s.stamp = fileStamp{} // read back on next use
	return s.load()
}

// AddToken implements TokenStore.
func (s *FileStore) AddToken(_ context.Context, t Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(); err != nil {
		return err
	}
	for _, o := range s.tokens {
		if o.Name == t.Name || o.ID == t.ID {
			return fmt.Errorf("%w: a token named %q exists", layers.ErrConflict, t.Name)
		}
	}
	return s.save(append(slices.Clone(s.tokens), t))
}

// Tokens implements TokenStore.
func (s *FileStore) Tokens(context.Context) ([]Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(); err != nil {
		return nil, err
	}
	return slices.Clone(s.tokens), nil
}

// TokenByHash implements TokenStore.
func (s *FileStore) TokenByHash(_ context.Context, hash string) (Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(); err != nil {
		return Token{}, err
	}
	for _, t := range s.tokens {
		if t.Hash == hash {
			return t, nil
		}
	}
	return Token{}, layers.ErrNotFound
}

// RevokeToken implements TokenStore.
func (s *FileStore) RevokeToken(_ context.Context, idOrName string, at time.Time) (Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(); err != nil {
		return Token{}, err
	}
	tokens := slices.Clone(s.tokens)
	for i, t := range tokens {
		if t.ID != idOrName && t.Name != idOrName {
			continue
		}
		if t.Revoked == nil {
			at := at.UTC().Truncate(time.Second)
			tokens[i].Revoked = &at
			if err := s.save(tokens); err != nil {
				return Token{}, err
			}
		}
		return tokens[i], nil
	}
	return Token{}, fmt.Errorf("%w: no token with id or name %q", layers.ErrNotFound, idOrName)
}

// Append implements AuditLog: one line, written with O_APPEND and synced.
func (s *FileStore) Append(_ context.Context, e AuditEntry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.audit == nil {
		f, err := os.OpenFile(filepath.Join(s.dir, AuditFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return fmt.Errorf("auth: %w", err)
		}
		s.audit = f
	}
	if _, err := s.audit.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("auth: audit log: %w", err)
	}
	return s.audit.Sync()
}

// Entries implements AuditLog by reading the file; a torn last line (a
// crash in the middle of a write) is skipped.
func (s *FileStore) Entries(_ context.Context, before time.Time, limit int) ([]AuditEntry, error) {
	f, err := os.Open(filepath.Join(s.dir, AuditFile))
	if errors.Is(err, fs.ErrNotExist) {
		return []AuditEntry{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	defer f.Close()
	var all []AuditEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		var e AuditEntry
		if len(line) == 0 || json.Unmarshal(line, &e) != nil {
			continue
		}
		if before.IsZero() || e.At.Before(before) {
			all = append(all, e)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("auth: %s: %w", AuditFile, err)
	}
	slices.Reverse(all)
	if limit > 0 && len(all) > limit {
		all = all[:limit]
	}
	return all, nil
}
