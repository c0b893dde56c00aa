package analysis

import (
	"context"
	"slices"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"riskmap/layers"
)

// Towns answers which town (镇街) a point lies in, from the towns layer.
type Towns struct {
	names []string
	polys []orb.Geometry
	bnds  []orb.Bound
}

// LoadTowns reads the towns layer.
func LoadTowns(ctx context.Context, st layers.Store) (*Towns, error) {
	t := &Towns{}
	err := st.Query(ctx, layers.Query{Layer: layers.Towns}, func(f layers.Feature) error {
		name, _ := f.Props["name"].(string)
		t.names = append(t.names, name)
		t.polys = append(t.polys, f.Geometry)
		t.bnds = append(t.bnds, f.Geometry.Bound())
		return nil
	})
	return t, err
}

// Names returns the town names in id order.
func (t *Towns) Names() []string {
	if t == nil {
		return nil
	}
	return slices.Clone(t.names)
}

// At returns the name of the town containing p, or "".
func (t *Towns) At(p orb.Point) string {
	if t == nil {
		return ""
	}
	for i, g := range t.polys {
		if !t.bnds[i].Contains(p) {
			continue
		}
		switch x := g.(type) {
		case orb.Polygon:
			if planar.PolygonContains(x, p) {
				return t.names[i]
			}
		case orb.MultiPolygon:
			if planar.MultiPolygonContains(x, p) {
				return t.names[i]
			}
		}
	}
	return ""
}

// Same reports whether t and u hold the same towns (names and outlines),
// so that what was found in one holds in the other.
func (t *Towns) Same(u *Towns) bool {
	if t == u {
		return true
	}
	if t == nil || u == nil || !slices.Equal(t.names, u.names) || len(t.polys) != len(u.polys) {
		return false
	}
	for i := range t.polys {
		if !orb.Equal(t.polys[i], u.polys[i]) {
			return false
		}
	}
	return true
}

// Bound returns the bounds of a town by name.
func (t *Towns) Bound(name string) (orb.Bound, bool) {
	if t == nil {
		return orb.Bound{}, false
	}
	i := slices.Index(t.names, name)
	if i < 0 {
		return orb.Bound{}, false
	}
	return t.bnds[i], true
}
