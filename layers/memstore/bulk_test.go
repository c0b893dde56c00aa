package memstore

import (
	"context"
	"os"
	"slices"
	"testing"

	"riskmap/layers"
)

// TestBulkPersisted loads a layer through BeginBulk into an empty layer (a
// snapshot), then a smaller import over part of it (a log record), then
// one abandoned midway, and checks what a reopened store finds: exactly
// the committed features, each from its last import.
func TestBulkPersisted(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	load := func(s *Store, commit bool, fss ...[]layers.Feature) {
		t.Helper()
		w, err := s.BeginBulk(ctx, layers.WaterSources)
		if err != nil {
			t.Fatal(err)
		}
		for _, fs := range fss {
			if err := w.Write(ctx, fs); err != nil {
				t.Fatal(err)
			}
		}
		if commit {
			err = w.Commit(ctx)
		} else {
			err = w.Rollback(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	load(s, true, batch(1, 500), batch(2, 500), batch(3, 500))
	if st, err := os.Stat(snapPath(dir)); err != nil || st.Size() == 0 {
		t.Fatalf("no snapshot after a load into an empty layer: %v", err)
	}
	if st, err := os.Stat(logPath(dir)); err != nil || st.Size() != fileHeader {
		t.Fatalf("log after a load into an empty layer: %v, %d bytes", err, st.Size())
	}
	// batch 4 of 100 holds ids 301–400: they replace those of batch 1
	load(s, true, batch(4, 100))
	if st, _ := os.Stat(logPath(dir)); st.Size() == fileHeader {
		t.Error("a small import over a larger layer left no log record")
	}
	load(s, false, batch(5, 300)) // rolled back: ids 1201–1500 stay batch 3
	want := map[int64][]int64{}
	for id := int64(1); id <= 1500; id++ {
		k := (id-1)/500 + 1
		if id > 300 && id <= 400 {
			k = 4
		}
		want[k] = append(want[k], id)
	}
	check := func(s *Store) {
		t.Helper()
		got := batches(t, s)
		for k := range want {
			if !slices.Equal(got[k], want[k]) {
				t.Fatalf("batch %d: %d features, want %d", k, len(got[k]), len(want[k]))
			}
		}
		if len(got) != len(want) {
			t.Fatalf("batches %d, want %d", len(got), len(want))
		}
	}
	check(s)
	s.abandon() // no compaction on the way out
	s = mustOpen(t, dir, Options{})
	check(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, dir, Options{})
	defer s.Close()
	check(s)
	if n, err := s.Count(ctx, layers.Query{Layer: layers.WaterSources}); err != nil || n != 1500 {
		t.Errorf("count = %d, %v", n, err)
	}
}
