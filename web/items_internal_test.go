package web

import (
	"errors"
	"net/url"
	"testing"

	"riskmap/layers"
)

// FuzzParseItems: any query string of the items route parses into a
// bounded request or is refused as invalid input; never a panic.
func FuzzParseItems(f *testing.F) {
	for _, s := range []string{
		"bbox=106.5,29.3,106.6,29.4&bbox-crs=gcj02&limit=10&after=3",
		"filter=status%20%3D%20%27in_service%27&filter-lang=cql2-text&filter-crs=gcj02",
		"sortby=-flow_lps,%2Bkind&offset=20&limit=5&properties=name,kind",
		"kind=hydrant,fire_pool&flow_lps=10&f=csv",
		"datetime=2025-01-01", "limit=0", "after=-1", "bbox=1,2,3", "sortby=id&after=1",
	} {
		f.Add(s)
	}
	l, err := layers.NewCatalog().Layer(layers.WaterSources)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, q string) {
		v, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		req, err := parseItems(l, v)
		if err != nil {
			if !errors.Is(err, layers.ErrInvalid) {
				t.Fatalf("%q: %v is not ErrInvalid", q, err)
			}
			return
		}
		if req.q.Limit < 1 || req.q.Limit > maxLimit || req.offset < 0 || req.offset > maxSorted || len(req.sortby) > maxSortKeys {
			t.Fatalf("%q parsed out of bounds: %+v", q, req)
		}
		if req.q.HasBBox() {
			if err := layers.ValidateBBox(req.q.BBox); err != nil && !req.empty {
				t.Fatalf("%q: bbox %v: %v", q, req.q.BBox, err)
			}
		}
	})
}
