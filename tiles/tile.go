package tiles

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/paulmach/orb/maptile"

	"riskmap/layers"
)

// MaxZoom is the highest zoom a tile may have.
const MaxZoom = 22

// MaxIDs is the most layers one tile request may name.
const MaxIDs = 32

// ErrInvalidTile reports a malformed or out-of-range tile address. It
// wraps layers.ErrInvalid, so the web error mapper answers 400.
var ErrInvalidTile = fmt.Errorf("%w: invalid tile", layers.ErrInvalid)

// Parse reads a tile address from its decimal path segments: z in
// 0..MaxZoom, x and y in 0..2^z-1, plain digits without sign or leading
// zeros. Errors wrap ErrInvalidTile.
func Parse(z, x, y string) (maptile.Tile, error) {
	zz, err := parseUint(z, MaxZoom)
	if err != nil {
		return maptile.Tile{}, fmt.Errorf("%w: z %q: %v", ErrInvalidTile, z, err)
	}
	limit := uint64(1)<<zz - 1
	xx, err := parseUint(x, limit)
	if err != nil {
		return maptile.Tile{}, fmt.Errorf("%w: x %q at zoom %d: %v", ErrInvalidTile, x, zz, err)
	}
	yy, err := parseUint(y, limit)
	if err != nil {
		return maptile.Tile{}, fmt.Errorf("%w: y %q at zoom %d: %v", ErrInvalidTile, y, zz, err)
	}
	return maptile.New(uint32(xx), uint32(yy), maptile.Zoom(zz)), nil
}

var errNotNumber = errors.New("not a non-negative integer")

func parseUint(s string, max uint64) (uint64, error) {
	if s == "" || len(s) > 10 || (len(s) > 1 && s[0] == '0') {
		return 0, errNotNumber
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errNotNumber
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, errNotNumber
	}
	if n > max {
		return 0, fmt.Errorf("out of range 0..%d", max)
	}
	return n, nil
}

// ParseIDs splits a comma list of layer ids ("buildings,water_sources"),
// keeping the order given and dropping repeats. Ids are checked for shape
// only (lower-case letters, digits, '_', '-' and the "h3:" prefix); the
// catalog decides whether they exist. Errors wrap layers.ErrInvalid.
func ParseIDs(s string) ([]string, error) {
	if s == "" {
		return nil, fmt.Errorf("%w: no layer ids", layers.ErrInvalid)
	}
	parts := strings.Split(s, ",")
	if len(parts) > MaxIDs {
		return nil, fmt.Errorf("%w: %d layer ids, at most %d", layers.ErrInvalid, len(parts), MaxIDs)
	}
	out := make([]string, 0, len(parts))
	for _, id := range parts {
		if !validID(id) {
			return nil, fmt.Errorf("%w: layer id %q", layers.ErrInvalid, id)
		}
		dup := false
		for _, o := range out {
			dup = dup || o == id
		}
		if !dup {
			out = append(out, id)
		}
	}
	return out, nil
}

func validID(id string) bool {
	id = strings.TrimPrefix(id, H3Prefix)
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// ParsePath reads "{ids}/{z}/{x}/{y}.mvt", the part of a tile URL after
// "/tiles/". Errors wrap layers.ErrInvalid (ErrInvalidTile for the
// address).
func ParsePath(p string) ([]string, maptile.Tile, error) {
	rest, ok := strings.CutSuffix(p, ".mvt")
	if !ok {
		return nil, maptile.Tile{}, fmt.Errorf("%w: tile path %q does not end in .mvt", ErrInvalidTile, p)
	}
	seg := strings.Split(rest, "/")
	if len(seg) != 4 {
		return nil, maptile.Tile{}, fmt.Errorf("%w: tile path %q is not {ids}/{z}/{x}/{y}.mvt", ErrInvalidTile, p)
	}
	ids, err := ParseIDs(seg[0])
	if err != nil {
		return nil, maptile.Tile{}, err
	}
	t, err := Parse(seg[1], seg[2], seg[3])
	if err != nil {
		return nil, maptile.Tile{}, err
	}
	return ids, t, nil
}
