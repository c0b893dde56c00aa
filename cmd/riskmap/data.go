package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"riskmap/exports"
	"riskmap/fixtures"
	"riskmap/geo"
	"riskmap/importers"
	"riskmap/layers"
	"riskmap/layers/memstore"
)

func writeFixtures(ctx context.Context, e env) error {
	fs := flags(e, "fixtures", "fixtures --profile demo|large --out DIR")
	profile := fs.String("profile", "demo", "demo or large")
	out := fs.String("out", "", "directory to write <layer>.geojson files into (required)")
	if err := fs.Parse(e.args); err != nil {
		return err
	}
	if *out == "" {
		fs.Usage()
		return errors.New("--out is required")
	}
	p, err := fixtures.ParseProfile(*profile)
	if err != nil {
		return err
	}
	ds, err := fixtures.Generate(p)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	st := memstore.New()
	if err := ds.Load(ctx, st, nil); err != nil {
		return err
	}
	manifest := map[string]int{}
	for _, l := range ds.Layers {
		f, err := os.Create(filepath.Join(*out, l.Layer+".geojson"))
		if err != nil {
			return err
		}
		n, err := exports.GeoJSON(ctx, st, layers.Query{Layer: l.Layer}, geo.WGS84, f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		manifest[l.Layer] = n
		fmt.Fprintf(e.stdout, "%-20s %7d features\n", l.Layer, n)
	}
	b, _ := json.MarshalIndent(map[string]any{"profile": p, "layers": manifest}, "", "  ")
	return os.WriteFile(filepath.Join(*out, "manifest.json"), append(b, '\n'), 0o644)
}

// progressBar prints import progress on a terminal, nothing otherwise.
type progressBar struct {
	w     io.Writer
	on    bool
	start time.Time
	last  time.Time
	src   *importers.Source
}

func newProgress(e env, src *importers.Source) *progressBar {
	f, ok := e.stderr.(*os.File)
	return &progressBar{w: e.stderr, on: ok && isTerminal(f), start: time.Now(), src: src}
}

func (p *progressBar) update(pr importers.Progress) {
	if !p.on || time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	el := time.Since(p.start).Seconds()
	rate := float64(pr.Records) / max(el, 1e-3)
	line := fmt.Sprintf("\r%d records (%d rejected), %.0f rows/s", pr.Records, pr.Rejected, rate)
	if p.src.Size > 0 {
		frac := float64(p.src.Read()) / float64(p.src.Size)
		eta := ""
		if frac > 0 {
			eta = fmt.Sprintf(", ETA %s", time.Duration(el/frac*(1-frac)*float64(time.Second)).Round(time.Second))
		}
		bar := strings.Repeat("█", int(frac*30)) + strings.Repeat("·", 30-int(frac*30))
		line = fmt.Sprintf("\r[%s] %3.0f%% %d records (%d rejected), %.0f rows/s%s", bar, frac*100, pr.Records, pr.Rejected, rate, eta)
	}
	fmt.Fprint(p.w, line)
}

func (p *progressBar) done() {
	if p.on {
		fmt.Fprintln(p.w)
	}
}

type mapFlag map[string]string

func (m mapFlag) String() string { return fmt.Sprint(map[string]string(m)) }
func (m mapFlag) Set(s string) error {
	src, dst, ok := strings.Cut(s, "=")
	if !ok || src == "" || dst == "" {
		return fmt.Errorf("want source=field, got %q", s)
	}
	m[src] = dst
	return nil
}

func importCmd(ctx context.Context, e env) error {
	fs := flags(e, "import", "import --layer ID [--data DIR | --db URL] [--skip-analyses] [--crs wgs84|cgcs2000|gcj02|bd09] [--map src=field …] [--id-field F] [--skip-invalid --rejects FILE] FILE…")
	var sf storeFlags
	sf.register(fs, e)
	layerID := fs.String("layer", "", "layer to import into (required)")
	crsName := fs.String("crs", "", "CRS of the source: wgs84, cgcs2000, gcj02 or bd09 (default: a Shapefile's .prj, else wgs84)")
	idField := fs.String("id-field", "id", "source column holding the feature id")
	skip := fs.Bool("skip-invalid", false, "write the valid rows and report the bad ones to --rejects")
	rejects := fs.String("rejects", "", "with --skip-invalid: file for the rejected rows (GeoJSON sequence with reasons)")
	table := fs.String("table", "", "GeoPackage feature table (default: the only one)")
	skipAnalyses := fs.Bool("skip-analyses", false, "do not recompute the analyses that read the layer (serve recomputes them on start); for loading several layers in a row")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the import to this file (go tool pprof)")
	memProfile := fs.String("memprofile", "", "write a heap profile (allocations) to this file at the end")
	m := mapFlag{}
	fs.Var(m, "map", "source column to schema field, e.g. --map 风险等级=risk_level (repeatable)")
	if err := fs.Parse(e.args); err != nil {
		return err
	}
	if *layerID == "" || fs.NArg() == 0 {
		fs.Usage()
		return errors.New("--layer and at least one file are required")
	}
	stopProfiles, err := startProfiles(*cpuProfile, *memProfile)
	if err != nil {
		return err
	}
	defer stopProfiles()
	opt := importers.Options{Map: m, IDField: *idField, SkipInvalid: *skip}
	if *crsName != "" {
		c, err := geo.ParseCRS(*crsName)
		if err != nil {
			return err
		}
		opt.CRS = &c
	}
	if *rejects != "" {
		if !*skip {
			return errors.New("--rejects goes with --skip-invalid")
		}
		f, err := os.Create(*rejects)
		if err != nil {
			return err
		}
		defer f.Close()
		opt.Rejects = f
	}
	a, err := sf.open(ctx, nil)
	if err != nil {
		return err
	}
	defer a.close()
	l, err := a.cat.Layer(*layerID)
	if err != nil {
		return err
	}
	written := 0
	for _, path := range fs.Args() {
		src, err := importers.Open(ctx, path, *table)
		if err != nil {
			return err
		}
		bar := newProgress(e, src)
		opt.Progress = bar.update
		// into the store itself: the analyses are recomputed once at the end
		rep, err := importers.Import(ctx, a.raw, l, src, opt)
		bar.done()
		src.Close()
		if err != nil {
			err = fmt.Errorf("%w (nothing was written)", err)
			if written > 0 && !*skipAnalyses {
				err = errors.Join(err, refresh(ctx, e, a, l.ID))
			}
			return err
		}
		written += rep.Written
		fmt.Fprintf(e.stdout, "%s: %d read, %d written, %d rejected into %s in %s (%.0f rows/s)\n", filepath.Base(path),
			rep.Read, rep.Written, rep.Rejected, rep.Layer, rep.Duration.Round(time.Millisecond), float64(rep.Read)/max(rep.Duration.Seconds(), 1e-3))
		if len(rep.Ignored) > 0 {
			fmt.Fprintf(e.stdout, "  columns with no field (not imported; use --map): %s\n", strings.Join(rep.Ignored, ", "))
		}
	}
	if written == 0 || *skipAnalyses {
		return nil
	}
	return refresh(ctx, e, a, l.ID)
}

// startProfiles starts a CPU profile into cpu (if set); the returned stop
// ends it and writes a heap profile into mem (if set).
func startProfiles(cpu, mem string) (stop func(), err error) {
	var cf *os.File
	if cpu != "" {
		if cf, err = os.Create(cpu); err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(cf); err != nil {
			cf.Close()
			return nil, err
		}
	}
	return func() {
		if cf != nil {
			pprof.StopCPUProfile()
			cf.Close()
		}
		if mem != "" {
			if f, err := os.Create(mem); err == nil {
				_ = pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		}
	}, nil
}

// refresh recomputes, once, the analyses that read the given layer.
func refresh(ctx context.Context, e env, a *app, layer string) error {
	var ids []string
	for _, an := range a.engine.Analyses() {
		if slices.Contains(an.Inputs(), layer) {
			ids = append(ids, an.ID())
		}
	}
	if len(ids) == 0 {
		return nil
	}
	start := time.Now()
	if err := a.engine.Refresh(ctx, ids...); err != nil {
		return fmt.Errorf("recomputing the analyses after the import: %w", err)
	}
	fmt.Fprintf(e.stdout, "analyses %s recomputed in %s\n", strings.Join(ids, ", "), time.Since(start).Round(time.Millisecond))
	return nil
}

func exportCmd(ctx context.Context, e env) error {
	fs := flags(e, "export", "export --layer ID[,ID…] --format geojson|csv|gpkg [--crs wgs84|gcj02|bd09] --out FILE")
	var sf storeFlags
	sf.register(fs, e)
	layerIDs := fs.String("layer", "", "layer id, or a comma list for gpkg (all layers when empty with gpkg)")
	format := fs.String("format", "geojson", "geojson, csv or gpkg")
	crsName := fs.String("crs", "wgs84", "output CRS for geojson and csv: wgs84, gcj02 or bd09 (gpkg is always WGS84)")
	out := fs.String("out", "", "output file (required for gpkg; default stdout)")
	if err := fs.Parse(e.args); err != nil {
		return err
	}
	crs, err := geo.ParseCRS(*crsName)
	if err != nil {
		return err
	}
	a, err := sf.open(ctx, nil)
	if err != nil {
		return err
	}
	defer a.close()
	var ls []*layers.Layer
	if *layerIDs == "" {
		ls = a.cat.Layers()
	} else {
		for _, id := range strings.Split(*layerIDs, ",") {
			l, err := a.cat.Layer(strings.TrimSpace(id))
			if err != nil {
				return err
			}
			ls = append(ls, l)
		}
	}
	if *format == "gpkg" {
		if *out == "" {
			return errors.New("--out is required for gpkg")
		}
		counts, err := exports.GeoPackage(ctx, a.store, ls, *out, func(layer string, n int) { fmt.Fprintf(e.stderr, "%s: %d\n", layer, n) })
		if err != nil {
			os.Remove(*out)
			return err
		}
		fmt.Fprintf(e.stdout, "wrote %s: %v\n", *out, counts)
		return nil
	}
	if len(ls) != 1 {
		return errors.New("--layer takes one layer for geojson and csv")
	}
	w := e.stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	q := layers.Query{Layer: ls[0].ID}
	switch *format {
	case "geojson":
		_, err = exports.GeoJSON(ctx, a.store, q, crs, w)
	case "csv":
		_, err = exports.CSV(ctx, a.store, ls[0], q, crs, w)
	default:
		return fmt.Errorf("--format must be geojson, csv or gpkg, got %q", *format)
	}
	return err
}

func loadFixtures(ctx context.Context, e env) error {
	fs := flags(e, "load-fixtures", "load-fixtures [--profile demo|large] [--data DIR | --db URL]")
	var sf storeFlags
	sf.register(fs, e)
	profile := fs.String("profile", "demo", "demo or large")
	if err := fs.Parse(e.args); err != nil {
		return err
	}
	p, err := fixtures.ParseProfile(*profile)
	if err != nil {
		return err
	}
	a, err := sf.open(ctx, nil)
	if err != nil {
		return err
	}
	defer a.close()
	start := time.Now()
	ds, err := fixtures.Generate(p)
	if err != nil {
		return err
	}
	gen := time.Since(start)
	start = time.Now()
	// straight into the store, a layer per transaction; the analyses are
	// computed once afterwards
	err = ds.Load(ctx, a.raw, func(layer string, done, total int) {
		if done == total {
			fmt.Fprintf(e.stderr, "%-20s %7d\n", layer, total)
		}
	})
	if err != nil {
		return err
	}
	load := time.Since(start)
	start = time.Now()
	if err := a.engine.Refresh(ctx); err != nil {
		return fmt.Errorf("running the analyses: %w", err)
	}
	fmt.Fprintf(e.stdout, "generated %d features (%s) in %s, loaded in %s (%.0f features/s), computed the analyses in %s\n",
		ds.Count(), p, gen.Round(time.Millisecond), load.Round(time.Millisecond), float64(ds.Count())/load.Seconds(),
		time.Since(start).Round(time.Millisecond))
	return nil
}
