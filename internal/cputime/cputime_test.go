package cputime

import "testing"

func TestUsedGrows(t *testing.T) {
	start := Used()
	x := 0
	for i := range 50_000_000 {
		x += i % 7
	}
	if x == 0 || Used() <= start {
		t.Fatalf("CPU time did not grow over a busy loop: %v → %v", start, Used())
	}
}
