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
// pixel coordinates in float64 at high zooms, which both share) over the
// tile and well beyond it, at every zoom, around Banan and at other
// latitudes.
func TestProjectTaylor(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	exact := func(t maptile.Tile, ll orb.Point) orb.Point {
		s := Extent * math.Exp2(float64(t.Z))
		lat := math.Max(-maxLat, math.Min(maxLat, ll[1]))
		sin := math.Sin(lat * math.Pi / 180)
		return orb.Point{(ll[0]+180)/360*s - float64(t.X)*Extent, (0.5-math.Log((1+sin)/(1-sin))/(4*math.Pi))*s - float64(t.Y)*Extent}
	}
	worst, used := 0.0, 0
	for _, c := range []orb.Point{{106.53, 29.39}, {0, 0}, {-70, -55}, {20, 70}, {150, 80}} {
		for z := maptile.Zoom(0); z <= 22; z++ {
			tl := maptile.At(c, z)
			px := newPixels(tl)
			tol := 1e-6 + 32*px.scale*0x1p-53
			b := tl.Bound()
			w, h := b.Max[0]-b.Min[0], b.Max[1]-b.Min[1]
			for range 2000 {
				// up to three tiles away from the centre
				ll := orb.Point{c[0] + (r.Float64()-0.5)*6*w, math.Max(-89, math.Min(89, c[1]+(r.Float64()-0.5)*6*h))}
				got, want := px.project(ll), exact(tl, ll)
				if d := math.Abs(ll[1]*math.Pi/180 - px.phi0); d <= px.taylorR {
					used++
				}
				e := math.Max(math.Abs(got[0]-want[0]), math.Abs(got[1]-want[1]))
				worst = math.Max(worst, e)
				if e > tol {
					t.Fatalf("z%d %v: %v, exact %v (%.2g pixel off)", z, ll, got, want, e)
				}
			}
		}
	}
	if used == 0 {
		t.Fatal("the polynomial was never used")
	}
	t.Logf("worst error %.2g pixel; polynomial used for %d points", worst, used)
}
