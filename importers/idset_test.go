package importers

import (
	"math/rand/v2"
	"testing"
)

// TestIDSet checks the compact id set against a map on ascending ids with
// gaps, random ids, and ascending runs broken by lower ids.
func TestIDSet(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	gen := map[string]func(i int, last int64) int64{
		"ascending by 1":  func(i int, last int64) int64 { return last + 1 },
		"ascending, gaps": func(i int, last int64) int64 { return last + 1 + rng.Int64N(1000) },
		"random, repeats": func(i int, last int64) int64 { return 1 + rng.Int64N(3000) },
		"random 63-bit":   func(i int, last int64) int64 { return 1 + rng.Int64N(1<<62) },
		"ascending, falling": func(i int, last int64) int64 {
			if rng.IntN(10) == 0 {
				return max(1, last-rng.Int64N(200))
			}
			return last + 1 + rng.Int64N(3)
		},
	}
	for name, next := range gen {
		t.Run(name, func(t *testing.T) {
			var s idSet
			want := map[int64]int32{}
			last := int64(0)
			dups := 0
			for i := range 5000 {
				id := next(i, last)
				last = id
				rec := int32(i + 1)
				prev, dup := s.add(id, rec)
				wprev, wdup := want[id]
				if dup != wdup || prev != wprev {
					t.Fatalf("record %d id %d: add = %d, %v, want %d, %v", rec, id, prev, dup, wprev, wdup)
				}
				if !wdup {
					want[id] = rec
				} else {
					dups++
				}
			}
			for id, rec := range want {
				if got, ok := s.find(id); !ok || got != rec {
					t.Fatalf("find(%d) = %d, %v, want %d", id, got, ok, rec)
				}
			}
			t.Logf("%d ids, %d repeats, %d bytes of log, %d in the map", len(want), dups, len(s.log), len(s.other))
		})
	}
}
