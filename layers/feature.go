package layers

import (
	"maps"

	"github.com/paulmach/orb"
)

// Feature is one record of a layer. Geometry is WGS84 lon/lat (CGCS2000 is
// treated as identical) and never a Collection. Props hold only scalars of
// the types the layer schema allows: string, int64, float64 and bool; dates
// are "YYYY-MM-DD" strings and enums their English codes.
type Feature struct {
	Layer    string
	ID       int64
	Geometry orb.Geometry
	Props    map[string]any
}

// Clone returns a deep copy: orb mutates geometry in place (projection,
// clipping), so a store hands out clones and callers own what they receive.
func (f Feature) Clone() Feature {
	c := f
	if f.Geometry != nil {
		c.Geometry = orb.Clone(f.Geometry)
	}
	c.Props = maps.Clone(f.Props)
	return c
}

// Neighbor is a feature found by a nearest query with its ground distance.
type Neighbor struct {
	Feature   Feature
	DistanceM float64
}
