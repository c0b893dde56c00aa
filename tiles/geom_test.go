package tiles

import (
	"math"
	"math/rand"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
)

// TestProjectTaylor checks the projection's polynomial against the exact
// Web Mercator formula: within 1e-6 pixel (plus the rounding of world
// pixel coordinates in float64 at high zooms, which both share) around
// the band of a feature's first vertex and well beyond it, at every zoom,
// around Banan and at other latitudes.
func TestProjectTaylor(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	exact := func(z maptile.Zoom, ll orb.Point) orb.Point {
		s := Extent * math.Exp2(float64(z))
		lat := math.Max(-maxLat, math.Min(maxLat, ll[1]))
		sin := math.Sin(lat * math.Pi / 180)
		return orb.Point{(ll[0] + 180) / 360 * s, (0.5 - math.Log((1+sin)/(1-sin))/(4*math.Pi)) * s}
	}
	worst, used := 0.0, 0
	for _, c := range []orb.Point{{106.53, 29.39}, {0, 0}, {-70, -55}, {20, 70}, {150, 80}} {
		for z := maptile.Zoom(0); z <= 22; z++ {
			w := newWorld(z)
			tol := 1e-6 + 32*w.scale*0x1p-53
			b := maptile.At(c, z).Bound()
			dx, dy := b.Max[0]-b.Min[0], b.Max[1]-b.Min[1]
			for range 2000 {
				// a feature's first vertex near c, and a vertex up to
				// three tiles or 0.1° from it
				first := orb.Point{c[0] + (r.Float64()-0.5)*dx, c[1] + (r.Float64()-0.5)*dy}
				span := math.Max(3*dx, 0.1)
				ll := orb.Point{first[0] + (r.Float64()-0.5)*span, math.Max(-89, math.Min(89, first[1]+(r.Float64()-0.5)*span))}
				bd := w.band(first[1])
				got, want := w.project(bd, ll), exact(z, ll)
				if d := math.Abs(ll[1]*math.Pi/180 - bd.phi0); d <= bd.taylorR {
					used++
				}
				e := math.Max(math.Abs(got[0]-want[0]), math.Abs(got[1]-want[1]))
				worst = math.Max(worst, e)
				if e > tol {
					t.Fatalf("z%d %v (band of %v): %v, exact %v (%.2g pixel off)", z, ll, first, got, want, e)
				}
			}
		}
	}
	if used == 0 {
		t.Fatal("the polynomial was never used")
	}
	t.Logf("worst error %.2g pixel; polynomial used for %d points", worst, used)
}
