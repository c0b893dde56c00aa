// Command riskmap serves Banan District's safety risk map: layers, analyses,
// vector tiles and an OGC API – Features, from an embedded store or PostGIS.
// Run `riskmap help` for the subcommands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// env is what a command sees of the world: arguments, environment and
// output streams.
type env struct {
	args   []string
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
}

type command struct {
	summary string
	run     func(ctx context.Context, e env) error
}

func commands() map[string]command {
	return map[string]command{
		"serve":         {"serve the web map and the API (loads the Banan demo into an empty data dir)", serve},
		"fixtures":      {"write the demo dataset as GeoJSON files", writeFixtures},
		"load-fixtures": {"load the demo (or large) dataset into the store (--db for PostGIS)", loadFixtures},
		"migrate":       {"apply the database migrations embedded in the binary to PostGIS and report the version", migrateCmd},
		"import":        {"import GeoJSON, CSV, Shapefile or GeoPackage files into a layer", importCmd},
		"export":        {"export layers as GeoJSON, CSV or a GeoPackage", exportCmd},
		"analyze":       {"run an analysis and print its summary and results", analyzeCmd},
		"token":         {"create, list or revoke API tokens (roles viewer, editor, admin)", tokenCmd},
		"tiles":         {"tiles export: write a PMTiles archive of layers for offline use", tilesCmd},
		"version":       {"print the version", func(_ context.Context, e env) error { _, err := fmt.Fprintln(e.stdout, "riskmap", version); return err }},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, env{args: os.Args[1:], getenv: os.Getenv, stdout: os.Stdout, stderr: os.Stderr})
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "riskmap:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, e env) error {
	cmds := commands()
	if len(e.args) == 0 || e.args[0] == "help" || e.args[0] == "-h" || e.args[0] == "--help" {
		usage(e.stdout, cmds)
		if len(e.args) == 0 {
			return errors.New("no command given")
		}
		return nil
	}
	c, ok := cmds[e.args[0]]
	if !ok {
		usage(e.stderr, cmds)
		return fmt.Errorf("unknown command %q", e.args[0])
	}
	sub := e
	sub.args = e.args[1:]
	return c.run(ctx, sub)
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "riskmap — 巴南区安全风险一张图 (Banan District safety risk map)")
	fmt.Fprintln(w, "\nUsage: riskmap <command> [flags]   (riskmap <command> --help for its flags)")
	fmt.Fprintln(w, "\nCommands:")
	var names []string
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-14s %s\n", n, cmds[n].summary)
	}
}

// flags makes a flag set that prints its usage to e.stderr.
func flags(e env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: riskmap %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// logger builds the logger: text on a terminal, JSON otherwise.
func logger(e env, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: l}
	if f, ok := e.stderr.(*os.File); ok && isTerminal(f) {
		return slog.New(slog.NewTextHandler(e.stderr, opts)), nil
	}
	return slog.New(slog.NewJSONHandler(e.stderr, opts)), nil
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// envOr returns the environment variable or a default.
func envOr(e env, key, def string) string {
	if v := strings.TrimSpace(e.getenv(key)); v != "" {
		return v
	}
	return def
}
