// Command riskbench measures and hardens riskmap: `riskbench bench` runs
// the Go benchmarks and a wrk load test against `riskmap serve` on both
// stores and writes the figures into docs/BENCHMARKS.md; `riskbench soak`
// holds mixed traffic for minutes and checks errors, latency, memory and
// goroutines; `riskbench faults` runs the fault tests (package faults)
// and records their results in docs/FAULTS.md. `make bench`, `make soak`
// and `make faults` run them. Every part that cannot run is reported as
// FAILED and makes the command exit 1; no figure is printed that was not
// measured.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "riskbench:", err)
		}
		os.Exit(1)
	}
}

const usage = `Usage: riskbench bench|soak|faults [flags]   (riskbench CMD -h for the flags)

  bench   Go benchmarks + wrk load on both stores + imports → docs/BENCHMARKS.md
  soak    mixed traffic (70 % tiles, 20 % items, 10 % dispatch) for SOAK → docs/BENCHMARKS.md
  faults  the fault tests (RISKMAP_FAULTS=1 go test ./faults) → docs/FAULTS.md
`

func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(out, usage)
		return errors.New("no command given")
	}
	quick := getenv("BENCH_QUICK") == "1"
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(out)
	c := config{Quick: quick, Profile: "large", Count: 3, Duration: 20 * time.Second, Threads: 2, Conns: 16, Tiles: 2000,
		Go: "go", DB: "riskmap_bench", StartWait: 20 * time.Minute, Out: out}
	if quick {
		c.Profile, c.Count, c.Duration, c.Tiles = "demo", 1, 3*time.Second, 600
	}
	fs.BoolVar(&c.Quick, "quick", c.Quick, "trial run: demo profile, one short run of each part (env BENCH_QUICK=1)")
	fs.IntVar(&c.Port, "port", 18700, "first of the loopback ports used (port+1…port+4)")
	fs.StringVar(&c.Bin, "riskmap", "bin/riskmap", "the riskmap binary to measure")
	fs.StringVar(&c.AdminURL, "pg", cmpStr(getenv("RISKMAP_BENCH_PG"), "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"),
		"PostgreSQL admin URL; the database --db is created there and dropped (env RISKMAP_BENCH_PG)")
	fs.StringVar(&c.DB, "db", c.DB, "database created for the PostGIS runs and dropped afterwards")
	fs.StringVar(&c.Doc, "doc", "", "markdown file to write the results into (default docs/BENCHMARKS.md, docs/FAULTS.md for faults)")
	work := fs.String("work", "", "work directory (default: a new temporary directory, removed afterwards)")
	switch args[0] {
	case "bench":
		parts := fs.String("parts", "go,embedded,postgis,import", "parts to run: go, embedded, postgis, import")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		c.Parts = map[string]bool{}
		for _, p := range strings.Split(*parts, ",") {
			c.Parts[strings.TrimSpace(p)] = true
		}
		return withWork(*work, &c, func() error { return bench(ctx, c) })
	case "soak":
		dur := cmpStr(getenv("SOAK"), "10m")
		d := fs.String("duration", dur, "how long to hold the load (env SOAK)")
		defChunk := 30 * time.Second
		if c.Quick {
			defChunk = 10 * time.Second
		}
		chunk := fs.Duration("chunk", defChunk, "length of one wrk run; latency and goroutines are checked per run")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		total, err := time.ParseDuration(*d)
		if err != nil {
			return fmt.Errorf("--duration: %w", err)
		}
		return withWork(*work, &c, func() error { return soak(ctx, c, total, min(*chunk, total)) })
	case "faults":
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return faults(ctx, c)
	case "-h", "--help", "help":
		fmt.Fprint(out, usage)
		return nil
	}
	fmt.Fprint(out, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// withWork runs f with c.Work set to dir or to a temporary directory
// removed afterwards.
func withWork(dir string, c *config, f func() error) error {
	if dir != "" {
		c.Work = dir
		return f()
	}
	d, err := os.MkdirTemp("", "riskbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(d)
	c.Work = d
	return f()
}

func bench(ctx context.Context, c config) error {
	if _, err := os.Stat(c.Bin); err != nil {
		return fmt.Errorf("the riskmap binary: %w (run make build)", err)
	}
	r := runBench(ctx, c)
	if err := writeSection(cmpStr(c.Doc, "docs/BENCHMARKS.md"), "bench", r.markdown()); err != nil {
		return err
	}
	if f := r.Failed(); len(f) > 0 {
		for _, s := range f {
			fmt.Fprintln(c.Out, "FAILED:", s)
		}
		return errFailed
	}
	c.logf("wrote %s", cmpStr(c.Doc, "docs/BENCHMARKS.md"))
	return nil
}

// writeSection rewrites the generated section name of the markdown file.
func writeSection(path, name, body string) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	doc, err := replaceSection(string(old), name, body)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, []byte(doc), 0o644)
}
