package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/maptile"
)

// district is where the load goes: the towns' centres and their union's
// bounds, read from the running server (so the paths fit whatever data it
// serves).
type district struct {
	Centres []orb.Point
	Bound   orb.Bound
}

func fetchDistrict(ctx context.Context, base string) (district, error) {
	var d district
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/collections/towns/items?limit=1000", nil)
	if err != nil {
		return d, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return d, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return d, err
	}
	if resp.StatusCode != http.StatusOK {
		return d, fmt.Errorf("GET towns: %s: %s", resp.Status, body)
	}
	fc, err := geojson.UnmarshalFeatureCollection(body)
	if err != nil {
		return d, fmt.Errorf("GET towns: %w", err)
	}
	for i, f := range fc.Features {
		b := f.Geometry.Bound()
		d.Centres = append(d.Centres, b.Center())
		if i == 0 {
			d.Bound = b
		} else {
			d.Bound = d.Bound.Union(b)
		}
	}
	if len(d.Centres) == 0 {
		return d, fmt.Errorf("GET towns: no towns")
	}
	return d, nil
}

// tilePaths lists up to n distinct tiles of ids over zooms, spread evenly
// over the zooms: rings of tiles around the town centres, nearest rings
// first, inside the district's bounds. A zoom with fewer tiles in the
// district than its share (the low ones) leaves the rest to the zooms
// after it, so that the list holds n tiles when the district has them.
func tilePaths(d district, ids string, zooms []maptile.Zoom, n int) []string {
	var out []string
	for i, z := range zooms {
		per := (n - len(out)) / (len(zooms) - i)
		seen := map[maptile.Tile]bool{}
		var got []maptile.Tile
		lo := maptile.At(orb.Point{d.Bound.Min[0], d.Bound.Max[1]}, z)
		hi := maptile.At(orb.Point{d.Bound.Max[0], d.Bound.Min[1]}, z)
		maxRing := int(max(hi.X-lo.X, hi.Y-lo.Y)) + 1
		for ring := 0; ring <= maxRing && len(got) < per; ring++ {
			for _, c := range d.Centres {
				ct := maptile.At(c, z)
				for dx := -ring; dx <= ring; dx++ {
					for dy := -ring; dy <= ring; dy++ {
						if max(abs(dx), abs(dy)) != ring {
							continue
						}
						x, y := int(ct.X)+dx, int(ct.Y)+dy
						if x < int(lo.X) || x > int(hi.X) || y < int(lo.Y) || y > int(hi.Y) {
							continue
						}
						t := maptile.New(uint32(x), uint32(y), z)
						if !seen[t] && len(got) < per {
							seen[t] = true
							got = append(got, t)
						}
					}
				}
			}
		}
		for _, t := range got {
			out = append(out, fmt.Sprintf("/tiles/%s/%d/%d/%d.mvt", ids, t.Z, t.X, t.Y))
		}
	}
	return out
}

func abs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}

// near returns n points within about radius degrees of the town centres,
// deterministically.
func near(d district, n int, radius float64, seed uint64) []orb.Point {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	pts := make([]orb.Point, 0, n)
	for i := range n {
		c := d.Centres[i%len(d.Centres)]
		pts = append(pts, orb.Point{c[0] + (r.Float64()*2-1)*radius, c[1] + (r.Float64()*2-1)*radius})
	}
	return pts
}

// itemsPaths lists n pages of up to 1,000 buildings in ~2 km boxes near
// the town centres.
func itemsPaths(d district, n int) []string {
	var out []string
	for _, p := range near(d, n, 0.02, 1) {
		bbox := fmt.Sprintf("%.5f,%.5f,%.5f,%.5f", p[0]-0.01, p[1]-0.01, p[0]+0.01, p[1]+0.01)
		out = append(out, "/api/collections/buildings/items?limit=1000&bbox="+url.QueryEscape(bbox))
	}
	return out
}

// dispatchPaths lists n incident points within ~3 km of the town centres.
func dispatchPaths(d district, n int) []string {
	var out []string
	for _, p := range near(d, n, 0.03, 2) {
		out = append(out, fmt.Sprintf("/api/dispatch?lon=%.6f&lat=%.6f", p[0], p[1]))
	}
	return out
}

// mixPaths interleaves the lists 7 tiles : 2 items : 1 dispatch (the
// soak's traffic), walking each list in turn. Without dispatch paths the
// mix is 7 : 2.
func mixPaths(tiles, items, dispatch []string, n int) []string {
	pattern := "TITTDTITTT"
	var out []string
	var ti, ii, di int
	for len(out) < n {
		for _, c := range pattern {
			switch {
			case c == 'T':
				out = append(out, tiles[ti%len(tiles)])
				ti++
			case c == 'I':
				out = append(out, items[ii%len(items)])
				ii++
			case c == 'D' && len(dispatch) > 0:
				out = append(out, dispatch[di%len(dispatch)])
				di++
			}
		}
	}
	return out
}

// probe GETs path and returns its status.
func probe(ctx context.Context, base, path string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var v json.RawMessage
	_ = json.NewDecoder(resp.Body).Decode(&v)
	return resp.StatusCode, nil
}
