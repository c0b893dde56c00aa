package memstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/layers"
)

// abandon drops a persisted store as a crash would: files closed, no
// compaction.
func (s *Store) abandon() {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.disk.close()
}

// batch returns n hydrants of batch k with ids (k-1)*n+1 … k*n.
func batch(k, n int) []layers.Feature {
	fs := make([]layers.Feature, n)
	for i := range fs {
		id := int64((k-1)*n + i + 1)
		fs[i] = layers.Feature{Layer: layers.WaterSources, ID: id,
			Geometry: orb.Point{106.4 + float64(id%1000)*5e-4, 29.1 + float64(id/1000)*5e-4},
			Props: map[string]any{"batch": int64(k), "kind": "hydrant", "status": "in_service",
				"flow_lps": float64(i) + 0.5, "key_area": i%2 == 0, "name": fmt.Sprintf("消火栓 %d", id)}}
	}
	return fs
}

// batches groups the stored water sources by their batch property.
func batches(t *testing.T, s *Store) map[int64][]int64 {
	t.Helper()
	out := map[int64][]int64{}
	err := s.Query(context.Background(), layers.Query{Layer: layers.WaterSources}, func(f layers.Feature) error {
		k, ok := f.Props["batch"].(int64)
		if !ok {
			return fmt.Errorf("feature %d: batch %#v", f.ID, f.Props["batch"])
		}
		out[k] = append(out[k], f.ID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkBatches asserts that the stored batches are 1…m, each whole (n
// features), with m ≥ least; it returns m.
func checkBatches(t *testing.T, s *Store, n, least int) int {
	t.Helper()
	bs := batches(t, s)
	for k := 1; k <= len(bs); k++ {
		got := bs[int64(k)]
		if len(got) != n {
			t.Fatalf("batch %d: %d of %d features (stored batches: %d)", k, len(got), n, len(bs))
		}
		for i, id := range got {
			if id != int64((k-1)*n+i+1) {
				t.Fatalf("batch %d: ids %v", k, got)
			}
		}
	}
	if len(bs) < least {
		t.Fatalf("%d batches stored, %d were acknowledged", len(bs), least)
	}
	return len(bs)
}

func mustOpen(t *testing.T, dir string, o Options) *Store {
	t.Helper()
	s, err := OpenWith(dir, o)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

func write(t *testing.T, s *Store, fs []layers.Feature) {
	t.Helper()
	if err := s.Upsert(context.Background(), fs[0].Layer, fs); err != nil {
		t.Fatal(err)
	}
}

func logPath(dir string) string  { return filepath.Join(dir, layers.WaterSources+logExt) }
func snapPath(dir string) string { return filepath.Join(dir, layers.WaterSources+snapExt) }

func TestDamagedLogTail(t *testing.T) {
	// three batches in the log, then the tail damaged in various ways
	cases := []struct {
		name   string
		damage func(b []byte, last int) []byte // last: offset of the third record
		keep   int                             // batches that survive
	}{
		{"torn record", func(b []byte, _ int) []byte { return b[:len(b)-5] }, 2},
		{"torn header", func(b []byte, last int) []byte { return b[:last+3] }, 2},
		{"flipped last byte", func(b []byte, _ int) []byte { b[len(b)-1] ^= 0x40; return b }, 2},
		{"flipped checksum", func(b []byte, last int) []byte { b[last+5] ^= 1; return b }, 2},
		{"huge length", func(b []byte, last int) []byte { b[last+3] = 0x7f; return b }, 2},
		{"garbage after", func(b []byte, _ int) []byte { return append(b, 1, 2, 3) }, 3},
		{"zeros after", func(b []byte, _ int) []byte { return append(b, make([]byte, 4096)...) }, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			s := mustOpen(t, dir, Options{})
			var last int
			for k := 1; k <= 3; k++ {
				if k == 3 {
					last = int(s.disk.files[layers.WaterSources].logSize)
				}
				write(t, s, batch(k, 50))
			}
			s.abandon()
			b, err := os.ReadFile(logPath(dir))
			if err != nil {
				t.Fatal(err)
			}
			b = c.damage(b, last)
			if err := os.WriteFile(logPath(dir), b, 0o644); err != nil {
				t.Fatal(err)
			}
			s = mustOpen(t, dir, Options{})
			if m := checkBatches(t, s, 50, c.keep); m != c.keep {
				t.Fatalf("%d batches, want %d", m, c.keep)
			}
			fi, err := os.Stat(logPath(dir))
			if err != nil {
				t.Fatal(err)
			}
			if c.keep == 2 && fi.Size() != int64(last) {
				t.Errorf("log is %d bytes after opening, want the damaged tail cut at %d", fi.Size(), last)
			}
			// writes after the cut are found again
			write(t, s, batch(c.keep+1, 50))
			s.abandon()
			s = mustOpen(t, dir, Options{})
			defer s.Close()
			if m := checkBatches(t, s, 50, c.keep+1); m != c.keep+1 {
				t.Fatalf("after another write: %d batches, want %d", m, c.keep+1)
			}
		})
	}
}

func TestCorruptSnapshot(t *testing.T) {
	cases := []struct {
		name   string
		path   func(dir string) string
		damage func(b []byte) []byte
	}{
		{"flipped byte", snapPath, func(b []byte) []byte { b[len(b)/2] ^= 0x10; return b }},
		{"truncated", snapPath, func(b []byte) []byte { return b[:len(b)*2/3] }},
		{"end record lost", snapPath, func(b []byte) []byte { return b[:len(b)-frameHeader-2] }},
		{"bad magic", snapPath, func(b []byte) []byte { b[0] = 'X'; return b }},
		{"empty", snapPath, func([]byte) []byte { return nil }},
		{"log bad magic", logPath, func(b []byte) []byte { b[2] = 'X'; return b }},
		{"log ahead of snapshot", logPath, func(b []byte) []byte { b[8] = 9; return b }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			s := mustOpen(t, dir, Options{})
			write(t, s, batch(1, 300))
			write(t, s, batch(2, 300))
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(c.path(dir))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(c.path(dir), c.damage(bytes.Clone(b)), 0o644); err != nil {
				t.Fatal(err)
			}
			s, err = Open(dir)
			if err == nil {
				s.Close()
				t.Fatal("opening a corrupt directory succeeded")
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("error %v does not wrap ErrCorrupt", err)
			}
			// the directory lock was released
			if err := os.WriteFile(c.path(dir), b, 0o644); err != nil {
				t.Fatal(err)
			}
			s = mustOpen(t, dir, Options{})
			defer s.Close()
			checkBatches(t, s, 300, 2)
		})
	}
}

// An interrupted compaction that renamed the new snapshot but not the new
// log leaves an older log, which must be ignored, not replayed twice.
func TestStaleLogAfterCompaction(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	write(t, s, batch(1, 100))
	write(t, s, batch(2, 100))
	ctx := context.Background()
	if err := s.Delete(ctx, layers.WaterSources, []int64{5, 150}); err != nil {
		t.Fatal(err)
	}
	write(t, s, batch(1, 100)[4:5]) // 5 again
	stale, err := os.ReadFile(logPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(logPath(dir), stale, 0o644); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, dir, Options{})
	if n, _ := s.Count(ctx, layers.Query{Layer: layers.WaterSources}); n != 199 {
		t.Errorf("count = %d, want 199", n)
	}
	if _, err := s.Get(ctx, layers.WaterSources, 150); !errors.Is(err, layers.ErrNotFound) {
		t.Errorf("deleted feature 150: %v", err)
	}
	s.abandon()
	if b, _ := os.ReadFile(logPath(dir)); len(b) != fileHeader {
		t.Errorf("the stale log was not replaced: %d bytes", len(b))
	}
}

func TestCompaction(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{CompactAt: 20 << 10})
	for k := 1; k <= 40; k++ {
		write(t, s, batch(k, 50))
	}
	lf := s.disk.files[layers.WaterSources]
	if lf.gen == 0 || lf.snapSize == 0 {
		t.Fatalf("no compaction after 40 writes: gen %d, snapshot %d bytes", lf.gen, lf.snapSize)
	}
	if lf.logSize > max(lf.snapSize, 20<<10)+10<<10 {
		t.Errorf("log %d bytes, snapshot %d", lf.logSize, lf.snapSize)
	}
	s.abandon() // the log has records the snapshot lacks
	s = mustOpen(t, dir, Options{})
	checkBatches(t, s, 50, 40)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(logPath(dir)); len(b) != fileHeader {
		t.Errorf("Close left %d bytes in the log", len(b))
	}
	s = mustOpen(t, dir, Options{})
	defer s.Close()
	checkBatches(t, s, 50, 40)
}

func TestLockedDirectory(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	if s2, err := Open(dir); err == nil {
		s2.Close()
		t.Fatal("a second Open of the same directory succeeded")
	} else if !errors.Is(err, layers.ErrUnavailable) {
		t.Errorf("second open: %v, want an error wrapping ErrUnavailable", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Ping(ctx); !errors.Is(err, layers.ErrUnavailable) {
		t.Errorf("ping after close: %v", err)
	}
	if err := s.Upsert(ctx, layers.WaterSources, batch(1, 1)); !errors.Is(err, layers.ErrUnavailable) {
		t.Errorf("upsert after close: %v", err)
	}
	if _, err := s.Count(ctx, layers.Query{Layer: layers.WaterSources}); !errors.Is(err, layers.ErrUnavailable) {
		t.Errorf("count after close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	s = mustOpen(t, dir, Options{})
	s.Close()
}

func TestOddLayerNames(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	names := []string{"../escape", "a b/c", "%41", "层", "x.log"}
	ctx := context.Background()
	for i, n := range names {
		f := batch(1, 1)[0]
		f.ID = int64(i + 1)
		if err := s.Upsert(ctx, n, []layers.Feature{f}); err != nil {
			t.Fatal(err)
		}
	}
	s.abandon()
	entries, _ := os.ReadDir(filepath.Dir(dir))
	for _, e := range entries {
		if e.Name() == "escape.log" {
			t.Fatal("a layer name escaped the data directory")
		}
	}
	s = mustOpen(t, dir, Options{})
	defer s.Close()
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range names {
		if f, err := s.Get(ctx, n, int64(i+1)); err != nil || f.Layer != n {
			t.Errorf("layer %q: %v %v", n, f.Layer, err)
		}
		if st[n].Count != 1 {
			t.Errorf("stats of %q: %+v", n, st[n])
		}
	}
	for _, n := range names {
		if got, ok := unescapeName(escapeName(n)); !ok || got != n {
			t.Errorf("escape %q → %q → %q", n, escapeName(n), got)
		}
	}
}

func TestCodecRoundTrip(t *testing.T) {
	fs := []layers.Feature{
		{ID: 1, Geometry: orb.Point{106.5, 29.5}, Props: map[string]any{
			"i": int64(-7), "f": 7.0, "big": int64(math.MaxInt64), "tiny": math.SmallestNonzeroFloat64,
			"s": "巴南 \x00 end", "t": true, "n": false, "nil": nil, "": "empty key"}},
		{ID: math.MaxInt64, Geometry: orb.MultiPolygon{{{{0, 0}, {1, 0}, {1, 1}, {0, 0}}, {{0.1, 0.1}, {0.2, 0.1}, {0.2, 0.2}, {0.1, 0.1}}}}},
		{ID: 3, Geometry: orb.MultiLineString{{{1, 2}, {3, 4}}, {{5, 6}, {7, 8}, {9, 10}}}, Props: map[string]any{}},
		{ID: 4, Geometry: orb.MultiPoint{{1, 2}}},
	}
	p, err := encodeUpsert(nil, fs)
	if err != nil {
		t.Fatal(err)
	}
	frame := appendFrame(nil, p)
	payload, rest, ok := nextFrame(frame)
	if !ok || len(rest) != 0 || !bytes.Equal(payload, p) {
		t.Fatal("frame does not round-trip")
	}
	r, err := decodeRecord(payload)
	if err != nil {
		t.Fatal(err)
	}
	if r.op != opUpsert || len(r.fs) != len(fs) {
		t.Fatalf("decoded %+v", r)
	}
	for i, want := range fs {
		got := r.fs[i]
		if got.ID != want.ID || !orb.Equal(got.Geometry, want.Geometry) || len(got.Props) != len(want.Props) {
			t.Errorf("feature %d: %#v", i, got)
		}
		for k, v := range want.Props {
			if w, ok := got.Props[k]; !ok || w != v {
				t.Errorf("feature %d prop %q: %#v (%T), want %#v (%T)", i, k, w, w, v, v)
			}
		}
	}
	d, err := decodeRecord(encodeDelete(nil, []int64{1, math.MaxInt64, 5}))
	if err != nil || d.op != opDelete || !slices.Equal(d.ids, []int64{1, math.MaxInt64, 5}) {
		t.Errorf("delete record: %+v %v", d, err)
	}
	// every truncation of a valid payload fails cleanly
	for i := range len(p) {
		if _, err := decodeRecord(p[:i]); err == nil {
			t.Fatalf("a payload cut at %d of %d decodes", i, len(p))
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	p, _ := encodeUpsert(nil, batch(1, 3))
	f.Add(p)
	f.Add(encodeDelete(nil, []int64{1, 2, 3}))
	f.Add(encodeEnd(10))
	f.Add([]byte{opUpsert, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(b)
		if err != nil {
			return
		}
		for _, ft := range r.fs {
			if checkGeometry(ft.Geometry) != nil {
				t.Fatalf("decoded an invalid geometry %v", ft.Geometry)
			}
		}
	})
}

func TestInvalidInput(t *testing.T) {
	s := New()
	ctx := context.Background()
	p := orb.Point{106.5, 29.5}
	bad := []layers.Feature{
		{ID: 1, Geometry: p, Props: map[string]any{"x": []int{1}}},
		{ID: 1, Geometry: orb.Collection{p}},
		{ID: 1, Geometry: orb.LineString{}},
		{ID: 1, Geometry: orb.Point{math.Inf(1), 0}},
		{ID: 1, Geometry: orb.Bound{Min: p, Max: p}},
	}
	for _, f := range bad {
		if err := s.Upsert(ctx, layers.WaterSources, []layers.Feature{f}); !errors.Is(err, layers.ErrInvalid) {
			t.Errorf("upsert %#v: %v, want ErrInvalid", f, err)
		}
	}
	if err := s.Delete(ctx, "", []int64{1}); !errors.Is(err, layers.ErrInvalid) {
		t.Errorf("delete from an unnamed layer: %v", err)
	}
	for _, q := range []layers.NearestQuery{{Layer: "x", Point: p}, {Layer: "x", Point: p, K: -1}, {Layer: "x", Point: orb.Point{math.NaN(), 0}, K: 1}} {
		if _, err := s.Nearest(ctx, q); !errors.Is(err, layers.ErrInvalid) {
			t.Errorf("nearest %+v: %v, want ErrInvalid", q, err)
		}
	}
	if err := s.Upsert(ctx, "x", []layers.Feature{{ID: 9, Geometry: p}}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Nearest(ctx, layers.NearestQuery{Layer: "x", Point: p, K: 1 << 40}); err != nil || len(n) != 1 {
		t.Errorf("nearest with a huge K: %v %v", n, err)
	}
	// narrower Go integers and floats are widened
	if err := s.Upsert(ctx, "x", []layers.Feature{{ID: 1, Geometry: p, Props: map[string]any{"a": 3, "b": float32(1.5), "c": uint8(2)}}}); err != nil {
		t.Fatal(err)
	}
	f, _ := s.Get(ctx, "x", 1)
	if f.Props["a"] != int64(3) || f.Props["b"] != 1.5 || f.Props["c"] != int64(2) {
		t.Errorf("props %#v", f.Props)
	}
	if s.Kind() != "memory" || s.Ping(ctx) != nil || s.Close() != nil || s.Ping(ctx) != nil {
		t.Error("a memory store is always up, even after Close")
	}
}
