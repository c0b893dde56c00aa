package geo

// This is the only file that imports h3-go (v4.1.0: cgo, no error returns,
// LatLng{Lat, Lng} where orb.Point is {lon, lat}). Other packages say
// geo.Cell and never import h3.

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
	"github.com/uber/h3-go/v4"
)

// Cell is an H3 cell index. It marshals to JSON as its hex string.
type Cell = h3.Cell

// ErrInvalidCell is returned (wrapped) by ParseCell for a string that is
// not a valid H3 cell index.
var ErrInvalidCell = errors.New("geo: invalid H3 cell")

// MaxResolution is the finest H3 resolution.
const MaxResolution = 15

// latLng converts an orb point (lon, lat) to h3's (lat, lng).
func latLng(p orb.Point) h3.LatLng { return h3.LatLng{Lat: p[1], Lng: p[0]} }

// point converts h3's (lat, lng) to an orb point (lon, lat).
func point(ll h3.LatLng) orb.Point { return orb.Point{ll.Lng, ll.Lat} }

// CellOf returns the cell at resolution res (0–15) holding p; 0 for an
// out-of-range resolution.
func CellOf(p orb.Point, res int) Cell {
	if res < 0 || res > MaxResolution {
		return 0
	}
	return h3.LatLngToCell(latLng(p), res)
}

// CellCenter returns the centre of c.
func CellCenter(c Cell) orb.Point { return point(h3.CellToLatLng(c)) }

// CellPolygon returns the outline of c as a closed counter-clockwise ring
// in lon/lat. (Cells crossing the antimeridian are not unwrapped.)
func CellPolygon(c Cell) orb.Polygon {
	b := h3.CellToBoundary(c)
	r := make(orb.Ring, 0, len(b)+1)
	for _, ll := range b {
		r = append(r, point(ll))
	}
	if len(r) > 0 {
		r = append(r, r[0])
	}
	if r.Orientation() == orb.CW {
		r.Reverse()
	}
	return orb.Polygon{r}
}

// ParseCell reads a cell from its hex string (an optional 0x prefix is
// allowed) and checks that it is a valid cell.
func ParseCell(s string) (Cell, error) {
	var c Cell
	if err := c.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("%w: %q", ErrInvalidCell, s)
	}
	return c, nil
}

// Resolution returns the resolution of c.
func Resolution(c Cell) int { return c.Resolution() }

// Parent returns the ancestor of c at resolution res; c itself when res is
// its own resolution, and 0 when res is finer than c's or out of range.
func Parent(c Cell, res int) Cell {
	if res < 0 || res > c.Resolution() {
		return 0
	}
	return c.Parent(res)
}

// Disk returns the cells within k steps of c (c included), sorted, without
// the zero entries h3 leaves near pentagons. Nil for an invalid c or k < 0.
func Disk(c Cell, k int) []Cell {
	if k < 0 || !c.IsValid() {
		return nil
	}
	out := slices.DeleteFunc(h3.GridDisk(c, k), func(x Cell) bool { return x == 0 })
	slices.Sort(out)
	return out
}

// EdgeLengthM returns the average edge length in metres of a hexagon at
// resolution res.
func EdgeLengthM(res int) float64 { return h3.HexagonEdgeLengthAvgM(res) }

// CellAreaM2 returns the average area in square metres of a hexagon at
// resolution res: the number of cells covering an area A is about
// A / CellAreaM2(res).
func CellAreaM2(res int) float64 { return h3.HexagonAreaAvgM2(res) }

// CellsInBound returns the cells at res whose centre lies in b, sorted.
// Their number is about the area of b over CellAreaM2(res): callers
// serving requests should bound it first.
func CellsInBound(b orb.Bound, res int) []Cell {
	if res < 0 || res > MaxResolution || b.Max[0] <= b.Min[0] || b.Max[1] <= b.Min[1] {
		return nil
	}
	cells := slices.DeleteFunc(polygonCells(b.ToPolygon(), res), func(c Cell) bool {
		return !b.Contains(CellCenter(c))
	})
	slices.Sort(cells)
	return cells
}

// Cells returns the cells at res that g touches, deduplicated and sorted:
// for a point its cell; for a line every cell it passes through (found by
// bisecting each segment until both ends of every piece lie in one cell,
// so no cell crossed for more than a thousandth of an edge length is
// skipped); for a polygon the cells whose centre it contains plus those of
// its boundary, so a polygon thinner than a cell still gets cells.
func Cells(g orb.Geometry, res int) []Cell {
	if res < 0 || res > MaxResolution || g == nil {
		return nil
	}
	var out []Cell
	addCells(&out, g, res)
	slices.Sort(out)
	return slices.Compact(out)
}

func addCells(out *[]Cell, g orb.Geometry, res int) {
	switch x := g.(type) {
	case orb.Point:
		*out = append(*out, CellOf(x, res))
	case orb.MultiPoint:
		for _, p := range x {
			*out = append(*out, CellOf(p, res))
		}
	case orb.LineString:
		lineCells(out, x, res)
	case orb.Ring:
		lineCells(out, orb.LineString(x), res)
	case orb.MultiLineString:
		for _, l := range x {
			lineCells(out, l, res)
		}
	case orb.Polygon:
		*out = append(*out, polygonCells(x, res)...)
		for _, r := range x {
			lineCells(out, orb.LineString(r), res)
		}
	case orb.MultiPolygon:
		for _, p := range x {
			addCells(out, p, res)
		}
	case orb.Collection:
		for _, m := range x {
			addCells(out, m, res)
		}
	case orb.Bound:
		addCells(out, x.ToPolygon(), res)
	}
}

// lineCells appends the cells of every segment of l.
func lineCells(out *[]Cell, l orb.LineString, res int) {
	if len(l) == 0 {
		return
	}
	edge := EdgeLengthM(res)
	prev := CellOf(l[0], res)
	*out = append(*out, prev)
	for i := 1; i < len(l); i++ {
		next := CellOf(l[i], res)
		segmentCells(out, l[i-1], l[i], prev, next, edge)
		*out = append(*out, next)
		prev = next
	}
}

// segmentCells appends the cells strictly between a (in cell ca) and b (in
// cb). A piece whose ends share a cell and which is shorter than half an
// edge lies in that cell (cells are convex); other pieces are halved until
// they are shorter than edge/1000.
func segmentCells(out *[]Cell, a, b orb.Point, ca, cb Cell, edge float64) {
	d := Distance(a, b)
	if ca == cb && d <= edge/2 || d < edge/1000 {
		return
	}
	m := orb.Point{(a[0] + b[0]) / 2, (a[1] + b[1]) / 2}
	cm := CellOf(m, Resolution(ca))
	segmentCells(out, a, m, ca, cm, edge)
	if cm != ca && cm != cb {
		*out = append(*out, cm)
	}
	segmentCells(out, m, b, cm, cb, edge)
}

// polygonCells returns the cells whose centre lies in p (h3's
// PolygonToCells), nil for a degenerate polygon.
func polygonCells(p orb.Polygon, res int) []Cell {
	if len(p) == 0 || len(p[0]) < 4 || planar.Area(p) == 0 || math.IsNaN(planar.Area(p)) {
		return nil
	}
	gp := h3.GeoPolygon{GeoLoop: loop(p[0])}
	for _, h := range p[1:] {
		if len(h) >= 4 {
			gp.Holes = append(gp.Holes, loop(h))
		}
	}
	return h3.PolygonToCells(gp, res)
}

// loop converts a closed ring to an h3 loop (which is implicitly closed).
func loop(r orb.Ring) h3.GeoLoop {
	if len(r) > 1 && r[0] == r[len(r)-1] {
		r = r[:len(r)-1]
	}
	l := make(h3.GeoLoop, len(r))
	for i, p := range r {
		l[i] = latLng(p)
	}
	return l
}
