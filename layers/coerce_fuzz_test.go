package layers

import (
	"testing"
)

// FuzzCoerce checks that coercing any text to any field of the catalog
// (what CSV cells and query parameters go through) never panics, and that
// a value it accepts coerces again to itself.
func FuzzCoerce(f *testing.F) {
	for _, s := range []string{"", " ", "12", "-1.5e3", "NaN", "true", "是", "2024-05-01", "2024-13-40", "red", "重大", "in_service", "1e400", "0x10"} {
		f.Add(s)
	}
	var fields []Field
	for _, l := range NewCatalog().Layers() {
		fields = append(fields, l.Fields...)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, fd := range fields {
			v, err := fd.Coerce(s)
			if err != nil || v == nil {
				continue
			}
			again, err := fd.Coerce(v)
			if err != nil || again != v {
				t.Fatalf("field %s: %q → %#v → %#v, %v", fd.Name, s, v, again, err)
			}
		}
	})
}
