package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
	"github.com/paulmach/orb/maptile/tilecover"

	"riskmap/tiles"
	"riskmap/tiles/pmtiles"
)

func tilesCmd(ctx context.Context, e env) error {
	if len(e.args) == 0 || e.args[0] != "export" {
		return errors.New("usage: riskmap tiles export --bbox minLon,minLat,maxLon,maxLat --zoom 10-16 --layers a,b --out FILE.pmtiles")
	}
	fs := flags(e, "tiles export", "tiles export --bbox minLon,minLat,maxLon,maxLat --zoom 10-16 [--layers a,b] --out FILE.pmtiles")
	var sf storeFlags
	sf.register(fs, e)
	bboxS := fs.String("bbox", "", "area to export, WGS84 (default: the extent of the data)")
	zoomS := fs.String("zoom", "10-15", "zoom range, e.g. 10-16")
	ids := fs.String("layers", "", "comma list of layers (default: every layer)")
	out := fs.String("out", "", "output .pmtiles file (required)")
	if err := fs.Parse(e.args[1:]); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("--out is required")
	}
	lo, hi, err := zoomRange(*zoomS)
	if err != nil {
		return err
	}
	a, err := sf.open(ctx, nil)
	if err != nil {
		return err
	}
	defer a.close()
	var list []string
	if *ids == "" {
		for _, l := range a.cat.Layers() {
			list = append(list, l.ID)
		}
	} else if list, err = tiles.ParseIDs(*ids); err != nil {
		return err
	}
	var bound orb.Bound
	if *bboxS != "" {
		if bound, err = tiles.ParseBBox(*bboxS); err != nil {
			return err
		}
	} else {
		stats, err := a.store.Stats(ctx)
		if err != nil {
			return err
		}
		first := true
		for _, s := range stats {
			if s.Count > 0 {
				if first {
					bound, first = s.Extent, false
				}
				bound = bound.Union(s.Extent)
			}
		}
	}
	total := 0
	for z := lo; z <= hi; z++ {
		total += len(tilecover.Bound(bound, maptile.Zoom(z)))
	}
	if total > 2_000_000 {
		return fmt.Errorf("%d tiles: narrow the bbox or the zoom range (at most 2,000,000)", total)
	}
	r := tiles.New(a.store, a.cat)
	w, err := pmtiles.NewWriter("")
	if err != nil {
		return err
	}
	done := 0
	for z := lo; z <= hi; z++ {
		for t := range tilecover.Bound(bound, maptile.Zoom(z)) {
			if err := ctx.Err(); err != nil {
				return err
			}
			data, err := r.Render(ctx, t, list)
			if err != nil {
				return fmt.Errorf("tile %d/%d/%d: %w", t.Z, t.X, t.Y, err)
			}
			if len(data) > 0 {
				var buf bytes.Buffer
				zw := gzip.NewWriter(&buf)
				zw.Write(data)
				zw.Close()
				if err := w.Add(uint8(t.Z), t.X, t.Y, buf.Bytes()); err != nil {
					return err
				}
			}
			done++
			if done%1000 == 0 || done == total {
				fmt.Fprintf(e.stderr, "\rtiles %d/%d (%.0f%%)", done, total, 100*float64(done)/float64(total))
			}
		}
	}
	fmt.Fprintln(e.stderr)
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	c := bound.Center()
	err = w.Finish(f, pmtiles.Header{MinZoom: uint8(lo), MaxZoom: uint8(hi), MinLon: bound.Min[0], MinLat: bound.Min[1],
		MaxLon: bound.Max[0], MaxLat: bound.Max[1], CenterZoom: uint8(lo), CenterLon: c[0], CenterLat: c[1],
		TileCompression: pmtiles.CompressionGzip},
		map[string]any{"name": "riskmap Banan", "format": "pbf", "layers": list})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(*out)
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %s: %d tiles with data of %d, zoom %d–%d\n", *out, w.Tiles(), total, lo, hi)
	return nil
}

func zoomRange(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		b = a
	}
	lo, err1 := strconv.Atoi(a)
	hi, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || lo < 0 || hi > 18 || lo > hi {
		return 0, 0, fmt.Errorf("--zoom must be like 10-16 within 0-18, got %q", s)
	}
	return lo, hi, nil
}
