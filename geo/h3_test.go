package geo

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// chongqing is a point in central Chongqing (Jiefangbei), lon/lat.
var chongqing = orb.Point{106.5775, 29.5577}

// Known cells from h3-go's own example and tests (San Francisco at res 9,
// a Bering Strait point at res 5).
func TestCellOfKnown(t *testing.T) {
	tests := []struct {
		p    orb.Point
		res  int
		want string
	}{
		{orb.Point{-122.41795063018799, 37.775938728915946}, 9, "8928308280fffff"},
		{orb.Point{-168.3908885810, 67.1509268640}, 5, "850dab63fffffff"},
	}
	for _, tt := range tests {
		c := CellOf(tt.p, tt.res)
		if c.String() != tt.want {
			t.Errorf("CellOf(%v, %d) = %s, want %s", tt.p, tt.res, c, tt.want)
		}
		if swapped := CellOf(orb.Point{tt.p[1], tt.p[0]}, tt.res); swapped == c {
			t.Errorf("swapping lon and lat gave the same cell")
		}
	}
	if CellOf(chongqing, -1) != 0 || CellOf(chongqing, 16) != 0 {
		t.Error("out-of-range resolution should give 0")
	}
}

func TestCellCenterAndPolygon(t *testing.T) {
	for _, res := range []int{5, 8, 9, 10} {
		c := CellOf(chongqing, res)
		centre := CellCenter(c)
		if d := Distance(centre, chongqing); d > EdgeLengthM(res)*1.2 {
			t.Errorf("res %d: centre %v is %.0f m from the point (edge %.0f m)", res, centre, d, EdgeLengthM(res))
		}
		if CellOf(centre, res) != c {
			t.Errorf("res %d: CellOf(CellCenter(c)) != c", res)
		}
		poly := CellPolygon(c)
		r := poly[0]
		if len(r) != 7 || r[0] != r[len(r)-1] {
			t.Errorf("res %d: ring has %d points, closed %v", res, len(r), r[0] == r[len(r)-1])
		}
		if r.Orientation() != orb.CCW {
			t.Errorf("res %d: ring is not counter-clockwise", res)
		}
		if !planar.PolygonContains(poly, centre) || !planar.PolygonContains(poly, chongqing) {
			t.Errorf("res %d: cell polygon does not contain its centre and the point", res)
		}
		if a, want := Area(poly), CellAreaM2(res); a < want*0.8 || a > want*1.2 {
			t.Errorf("res %d: cell area %.0f m², average %.0f m²", res, a, want)
		}
	}
	c := CellOf(chongqing, 9)
	if d := Distance(CellCenter(c), chongqing); d > 200 {
		t.Errorf("Chongqing res-9 centre %.0f m away", d)
	}

	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		p := orb.Point{106.4 + rng.Float64()*0.6, 29.1 + rng.Float64()*0.7}
		c := CellOf(p, 10)
		if CellOf(CellCenter(c), 10) != c || !planar.PolygonContains(CellPolygon(c), p) {
			t.Fatalf("cell %s of %v: centre or polygon inconsistent", c, p)
		}
	}
}

func TestParseCell(t *testing.T) {
	c := CellOf(chongqing, 9)
	for _, s := range []string{c.String(), "0x" + c.String(), "8928308280FFFFF"} {
		got, err := ParseCell(s)
		if err != nil || !got.IsValid() {
			t.Errorf("ParseCell(%q) = %v, %v", s, got, err)
		}
	}
	if got, _ := ParseCell(c.String()); got != c {
		t.Errorf("ParseCell(%s) = %s", c, got)
	}
	for _, s := range []string{"", "0", "zzz", "8928308280fffff0", "ffffffffffffffff", "-1", "8928308280fffff "} {
		if got, err := ParseCell(s); !errors.Is(err, ErrInvalidCell) || got != 0 {
			t.Errorf("ParseCell(%q) = %v, %v; want ErrInvalidCell", s, got, err)
		}
	}
}

func TestDiskParentResolution(t *testing.T) {
	c := CellOf(chongqing, 9)
	d1 := Disk(c, 1)
	if len(d1) != 7 || !slices.Contains(d1, c) || !slices.IsSorted(d1) {
		t.Errorf("Disk(c, 1) = %v", d1)
	}
	if n := len(Disk(c, 2)); n != 19 {
		t.Errorf("Disk(c, 2) has %d cells", n)
	}
	if Disk(c, -1) != nil || Disk(0, 1) != nil {
		t.Error("bad input should give nil")
	}
	pent, _ := ParseCell("821c07fffffffff")
	if !pent.IsPentagon() {
		t.Fatal("not a pentagon")
	}
	pd := Disk(pent, 1)
	if len(pd) != 6 || slices.Contains(pd, 0) {
		t.Errorf("pentagon disk = %v, want 6 cells and no zero", pd)
	}

	if Resolution(c) != 9 {
		t.Errorf("Resolution = %d", Resolution(c))
	}
	p := Parent(c, 7)
	if Resolution(p) != 7 || p != CellOf(chongqing, 7) {
		t.Errorf("Parent(c, 7) = %s", p)
	}
	if Parent(c, 9) != c || Parent(c, 10) != 0 || Parent(c, -1) != 0 {
		t.Error("Parent at own, finer or negative resolution")
	}
	for res, want := range map[int]float64{8: 461.354684, 9: 174.375668, 10: 65.907807} {
		if got := EdgeLengthM(res); got < want*0.99 || got > want*1.01 {
			t.Errorf("EdgeLengthM(%d) = %.3f, want about %.3f", res, got, want)
		}
	}
}

func TestCellsInBound(t *testing.T) {
	b := orb.Bound{Min: orb.Point{106.50, 29.50}, Max: orb.Point{106.56, 29.55}}
	cells := CellsInBound(b, 9)
	if !slices.IsSorted(cells) {
		t.Error("not sorted")
	}
	for _, c := range cells {
		if !b.Contains(CellCenter(c)) {
			t.Fatalf("cell %s centre outside the bound", c)
		}
	}
	want := Area(b.ToPolygon()) / CellAreaM2(9)
	if n := float64(len(cells)); n < want*0.9 || n > want*1.1 {
		t.Errorf("%d cells, expected about %.0f", len(cells), want)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 500 {
		p := orb.Point{b.Min[0] + rng.Float64()*0.06, b.Min[1] + rng.Float64()*0.05}
		c := CellOf(p, 9)
		if _, found := slices.BinarySearch(cells, c); found != b.Contains(CellCenter(c)) {
			t.Fatalf("cell %s: listed %v, centre inside %v", c, found, b.Contains(CellCenter(c)))
		}
	}
	if CellsInBound(orb.Bound{Min: chongqing, Max: chongqing}, 9) != nil {
		t.Error("an empty bound should have no cells")
	}
}

func TestCellsPoint(t *testing.T) {
	got := Cells(chongqing, 9)
	if len(got) != 1 || got[0] != CellOf(chongqing, 9) {
		t.Errorf("Cells(point) = %v", got)
	}
	mp := orb.MultiPoint{chongqing, chongqing, {106.6, 29.6}}
	if got := Cells(mp, 9); len(got) != 2 || !slices.IsSorted(got) {
		t.Errorf("Cells(multipoint) = %v", got)
	}
	if Cells(chongqing, 16) != nil || Cells(nil, 9) != nil {
		t.Error("bad input should give nil")
	}
}

// checkLineCells asserts that cells is exactly the set of cells line
// passes through: every sample's cell is in it, and every cell of it
// touches the line.
func checkLineCells(t *testing.T, line orb.LineString, res int, cells []Cell) {
	t.Helper()
	step := EdgeLengthM(res) / 50
	for i := 1; i < len(line); i++ {
		a, b := line[i-1], line[i]
		n := int(Distance(a, b)/step) + 1
		for k := 0; k <= n; k++ {
			f := float64(k) / float64(n)
			p := orb.Point{a[0] + f*(b[0]-a[0]), a[1] + f*(b[1]-a[1])}
			if _, ok := slices.BinarySearch(cells, CellOf(p, res)); !ok {
				t.Fatalf("cell of %v on the line is missing", p)
			}
		}
	}
	for _, c := range cells {
		if d := GeometryDistance(CellPolygon(c), line); d > 0.01 {
			t.Fatalf("cell %s is %.3f m from the line", c, d)
		}
	}
}

func TestCellsLine(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, res := range []int{7, 9, 10} {
		for range 5 {
			line := orb.LineString{chongqing}
			for range 6 {
				last := line[len(line)-1]
				line = append(line, orb.Point{last[0] + (rng.Float64()-0.5)*0.02, last[1] + (rng.Float64()-0.5)*0.02})
			}
			cells := Cells(line, res)
			if !slices.IsSorted(cells) || len(slices.Compact(slices.Clone(cells))) != len(cells) {
				t.Fatal("cells not sorted and unique")
			}
			checkLineCells(t, line, res, cells)
		}
	}
	// a line through a cell's vertex, where a coarse sampling would skip
	// the cells that meet there
	c := CellOf(chongqing, 9)
	v := CellPolygon(c)[0][0]
	ctr := CellCenter(c)
	far := orb.Point{2*v[0] - ctr[0], 2*v[1] - ctr[1]}
	line := orb.LineString{ctr, far}
	checkLineCells(t, line, 9, Cells(line, 9))
}

func TestCellsPolygon(t *testing.T) {
	square := orb.Polygon{{{106.50, 29.50}, {106.52, 29.50}, {106.52, 29.52}, {106.50, 29.52}, {106.50, 29.50}}}
	cells := Cells(square, 9)
	inner := polygonCells(square, 9)
	for _, c := range inner {
		if _, ok := slices.BinarySearch(cells, c); !ok {
			t.Fatal("a cell with its centre inside is missing")
		}
	}
	if len(cells) <= len(inner) {
		t.Errorf("boundary cells not added: %d vs %d", len(cells), len(inner))
	}
	for _, c := range cells {
		if d := GeometryDistance(CellPolygon(c), square); d > 0.01 {
			t.Fatalf("cell %s does not touch the polygon (%.2f m)", c, d)
		}
	}
	// clockwise rings (as DataV's) give the same cells
	cw := orb.Clone(square).(orb.Polygon)
	cw[0].Reverse()
	if !slices.Equal(Cells(cw, 9), cells) {
		t.Error("clockwise ring gives other cells")
	}
	// a 2 m wide, 1 km long strip still has cells
	strip := orb.Polygon{{{106.50, 29.50}, {106.51, 29.50}, {106.51, 29.50002}, {106.50, 29.50002}, {106.50, 29.50}}}
	if got := Cells(strip, 9); len(got) < 4 {
		t.Errorf("thin strip has %d cells", len(got))
	}
	// a hole leaves out the cells inside it
	holed := orb.Polygon{square[0], {{106.505, 29.505}, {106.505, 29.515}, {106.515, 29.515}, {106.515, 29.505}, {106.505, 29.505}}}
	hc := Cells(holed, 9)
	if _, ok := slices.BinarySearch(hc, CellOf(orb.Point{106.51, 29.51}, 9)); ok {
		t.Error("cell in the middle of the hole is listed")
	}
	if len(hc) >= len(cells) {
		t.Error("the hole removed no cells")
	}
	mp := Cells(orb.MultiPolygon{square, strip}, 9)
	if len(mp) < len(cells) {
		t.Error("multipolygon lost cells")
	}
	if got := Cells(orb.Collection{chongqing, square}, 9); len(got) != len(cells)+1 {
		t.Errorf("collection: %d cells, want %d", len(got), len(cells)+1)
	}
}
