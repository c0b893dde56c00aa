package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/paulmach/orb/geojson"

	"riskmap/layers/analysis"
)

func analyzeCmd(ctx context.Context, e env) error {
	fs := flags(e, "analyze", "analyze ID [--town 鱼洞街道] [--format table|geojson|csv] [--data DIR | --db URL]")
	var sf storeFlags
	sf.register(fs, e)
	town := fs.String("town", "", "report only this town (镇街 name)")
	format := fs.String("format", "table", "table (summary per town), geojson or csv (result features)")
	exclude := fs.String("exclude", "", "what-if: water source ids taken out of service, comma separated")
	// the analysis id may come before the flags
	args := e.args
	id := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		id, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if id == "" && fs.NArg() > 0 {
		id = fs.Arg(0)
	}
	a, err := sf.open(ctx, nil)
	if err != nil {
		return err
	}
	defer a.close()
	if id == "" {
		fmt.Fprintln(e.stdout, "analyses:")
		for _, an := range a.engine.Analyses() {
			fmt.Fprintf(e.stdout, "  %-20s %s / %s\n", an.ID(), an.Title().Zh, an.Title().En)
		}
		return errors.New("name an analysis")
	}
	p := analysis.Params{Town: *town}
	for _, s := range strings.Split(*exclude, ",") {
		if s = strings.TrimSpace(s); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return fmt.Errorf("--exclude: %q is not an id", s)
			}
			p.Exclude = append(p.Exclude, n)
		}
	}
	res, err := a.engine.Run(ctx, id, p)
	if err != nil {
		return err
	}
	switch *format {
	case "table":
		return printSummary(e, res)
	case "geojson":
		fc := geojson.NewFeatureCollection()
		for _, l := range slices.Sorted(maps.Keys(res.Layers)) {
			for _, f := range res.Layers[l] {
				gf := geojson.NewFeature(f.Geometry)
				gf.ID = f.ID
				gf.Properties = f.Props
				gf.Properties["layer"] = l
				fc.Append(gf)
			}
		}
		return json.NewEncoder(e.stdout).Encode(fc)
	case "csv":
		w := csv.NewWriter(e.stdout)
		for _, l := range slices.Sorted(maps.Keys(res.Layers)) {
			fs := res.Layers[l]
			if len(fs) == 0 {
				continue
			}
			keys := map[string]bool{}
			for _, f := range fs {
				for k := range f.Props {
					keys[k] = true
				}
			}
			cols := slices.Sorted(maps.Keys(keys))
			_ = w.Write(append([]string{"layer", "id"}, cols...))
			for _, f := range fs {
				row := []string{l, strconv.FormatInt(f.ID, 10)}
				for _, c := range cols {
					row = append(row, fmt.Sprint(valueOr(f.Props[c])))
				}
				_ = w.Write(row)
			}
		}
		w.Flush()
		return w.Error()
	}
	return fmt.Errorf("--format must be table, geojson or csv, got %q", *format)
}

func valueOr(v any) any {
	if v == nil {
		return ""
	}
	return v
}

func printSummary(e env, res *analysis.Result) error {
	s := res.Summary
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\n\n", res.Analysis)
	keys := slices.Sorted(maps.Keys(s.Metrics))
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%v\n", k, s.Metrics[k])
	}
	for _, t := range s.Targets {
		met := "未达标 not met"
		if t.Met(s.Metrics[t.Metric]) {
			met = "达标 met"
		}
		fmt.Fprintf(tw, "\ntarget %d: %s %s %v (%s) — %s\t%s\n", t.Year, t.Metric, t.Op, t.Value, t.Source, t.Title.Zh, met)
	}
	if len(s.Towns) > 0 {
		fmt.Fprintf(tw, "\n镇街 town\t%s\n", strings.Join(keys, "\t"))
		for _, t := range s.Towns {
			var vals []string
			for _, k := range keys {
				vals = append(vals, fmt.Sprint(t.Values[k]))
			}
			fmt.Fprintf(tw, "%s\t%s\n", t.Town, strings.Join(vals, "\t"))
		}
	}
	fmt.Fprintln(tw)
	for _, l := range slices.Sorted(maps.Keys(res.Layers)) {
		fmt.Fprintf(tw, "%s\t%d features\n", l, len(res.Layers[l]))
	}
	return tw.Flush()
}
