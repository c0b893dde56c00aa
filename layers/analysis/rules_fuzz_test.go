package analysis

import (
	"strings"
	"testing"
)

// FuzzRulesOverride checks that reading a rules override file never
// panics, and that an accepted override keeps every rule, holds no
// negative value and marks each changed value as a deployment override.
func FuzzRulesOverride(f *testing.F) {
	for _, s := range []string{`{"water.hydrant_radius_m": 120}`, `{"water.hydrant_radius_m": -1}`, `{"nope": 1}`, `{}`, `[]`, `null`,
		`{"water.hydrant_radius_m": 1e999}`, `{"water.hydrant_radius_m": "120"}`, `{`, ``} {
		f.Add(s)
	}
	def := DefaultRules()
	f.Fuzz(func(t *testing.T, s string) {
		r, err := def.Override(strings.NewReader(s))
		if err != nil {
			return
		}
		if len(r) != len(def) {
			t.Fatalf("%q: %d rules, want %d", s, len(r), len(def))
		}
		for id, x := range r {
			d, ok := def[id]
			if !ok || x.Value < 0 {
				t.Fatalf("%q: rule %s = %+v", s, id, x)
			}
			if x.Value != d.Value && !strings.Contains(x.Clause, "deployment override") {
				t.Fatalf("%q: %s changed without saying so: %q", s, id, x.Clause)
			}
		}
		if def["water.hydrant_radius_m"].Value == 0 {
			t.Fatal("the defaults were modified")
		}
	})
}
