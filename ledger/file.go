package ledger

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
)

// HistoryFile is FileHistory's file in the data directory.
const HistoryFile = "hazard-history.jsonl"

// FileHistory keeps the history in DIR/hazard-history.jsonl, one JSON
// object a line, appended and synced; it is read once at open and kept
// in memory. A torn last line (a crash mid-write) is skipped.
type FileHistory struct {
	mu   sync.Mutex
	f    *os.File
	byID map[int64][]Transition
}

var _ History = (*FileHistory)(nil)

// OpenFileHistory opens (creating) the history in dir.
func OpenFileHistory(dir string) (*FileHistory, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	path := filepath.Join(dir, HistoryFile)
	h := &FileHistory{byID: map[int64][]Transition{}}
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var t Transition
		if line := bytes.TrimSpace(sc.Bytes()); len(line) == 0 || json.Unmarshal(line, &t) != nil {
			continue
		}
		h.byID[t.Hazard] = append(h.byID[t.Hazard], t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("ledger: %s: %w", path, err)
	}
	h.f, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		// a torn last line: start the next entry on a line of its own
		if _, err := h.f.Write([]byte{'\n'}); err != nil {
			h.f.Close()
			return nil, fmt.Errorf("ledger: %w", err)
		}
	}
	return h, nil
}

// Close closes the file.
func (h *FileHistory) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.f.Close()
}

// Append implements History.
func (h *FileHistory) Append(_ context.Context, t Transition) error {
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if prev := h.byID[t.Hazard]; len(prev) > 0 {
		if err := checkLast(t, prev[len(prev)-1].To, true); err != nil {
			return err
		}
	}
	if _, err := h.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("ledger: history: %w", err)
	}
	if err := h.f.Sync(); err != nil {
		return fmt.Errorf("ledger: history: %w", err)
	}
	h.byID[t.Hazard] = append(h.byID[t.Hazard], t)
	return nil
}

// History implements History.
func (h *FileHistory) History(_ context.Context, hazard int64) ([]Transition, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.byID[hazard]), nil
}
