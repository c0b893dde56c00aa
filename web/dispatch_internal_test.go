package web

import (
	"errors"
	"net/url"
	"testing"

	"riskmap/layers"
)

// FuzzParseDispatch: any query string either parses into a point in range
// and k in 1…20, or is refused as invalid input; never a panic.
func FuzzParseDispatch(f *testing.F) {
	for _, s := range []string{"lon=106.5&lat=29.4", "lon=106.5&lat=29.4&crs=gcj02&k=20", "lon=NaN&lat=1", "lon=1e400&lat=0", "k=-1", "lon=1&lon=2&lat=3", "lat=%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		v, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		p, err := parseDispatch(v)
		if err != nil {
			if !errors.Is(err, layers.ErrInvalid) {
				t.Fatalf("%q: %v is not ErrInvalid", q, err)
			}
			return
		}
		if !(p.lon >= -180 && p.lon <= 180 && p.lat >= -90 && p.lat <= 90 && p.k >= 1 && p.k <= 20) {
			t.Fatalf("%q parsed to %+v", q, p)
		}
	})
}
