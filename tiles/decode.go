package tiles

import (
	"fmt"

	"github.com/paulmach/orb/encoding/mvt"

	"riskmap/layers"
)

// Decode reads an MVT (gzipped or not) with orb's mvt.Unmarshal, which is
// the project's decoder, and adds what orb does not check: a layer must
// have a name, a version of 1 or 2, and a name no other layer has, and a
// property value must be of a known type (orb reads others as nil). orb
// panics on some malformed tiles (a feature without geometry); Decode
// turns that into an error. Errors wrap layers.ErrInvalid. Geometries are
// in tile coordinates (ProjectToWGS84 converts them).
//
// Known leniencies of orb that Decode keeps (the fixture conformance test
// lists them by mvt-fixtures number): property tags that point at no key
// or value are dropped silently, a value with an extra field of unknown
// type is read as empty, a geometry may start with ClosePath, and a feature with two geometry
// fields keeps the last one.
func Decode(data []byte) (ls mvt.Layers, err error) {
	defer func() {
		if p := recover(); p != nil {
			ls, err = nil, fmt.Errorf("%w: malformed vector tile: %v", layers.ErrInvalid, p)
		}
	}()
	ls, err = mvt.Unmarshal(data)
	if err != nil {
		return nil, fmt.Errorf("%w: malformed vector tile: %v", layers.ErrInvalid, err)
	}
	seen := map[string]bool{}
	for _, l := range ls {
		switch {
		case l.Name == "":
			return nil, fmt.Errorf("%w: vector tile layer without a name", layers.ErrInvalid)
		case l.Version != 1 && l.Version != 2:
			return nil, fmt.Errorf("%w: vector tile layer %q has version %d", layers.ErrInvalid, l.Name, l.Version)
		case seen[l.Name]:
			return nil, fmt.Errorf("%w: two vector tile layers named %q", layers.ErrInvalid, l.Name)
		}
		seen[l.Name] = true
		for _, f := range l.Features {
			for k, v := range f.Properties {
				if v == nil {
					return nil, fmt.Errorf("%w: vector tile layer %q: property %q has a value of unknown type", layers.ErrInvalid, l.Name, k)
				}
			}
		}
	}
	return ls, nil
}
