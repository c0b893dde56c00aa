package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb/maptile"
)

// config is one bench run's settings.
type config struct {
	Quick     bool
	Profile   string
	Count     int
	Duration  time.Duration // of one wrk run
	Threads   int
	Conns     int
	Tiles     int // distinct tiles per tile workload
	Port      int // first port; servers use Port+1, Port+2
	Bin       string
	Go        string
	AdminURL  string
	DB        string // database name for the PostGIS runs
	Doc       string
	Parts     map[string]bool
	Work      string
	StartWait time.Duration
	Out       io.Writer
}

func (c config) logf(format string, a ...any) {
	fmt.Fprintf(c.Out, "riskbench: "+format+"\n", a...)
}

// dbURL is the URL of database name on the admin URL's server.
func (c config) dbURL(name string) (string, error) {
	u, err := url.Parse(c.AdminURL)
	if err != nil {
		return "", fmt.Errorf("--pg: %w", err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

// freshDB drops and creates the database with PostGIS.
func (c config) freshDB(ctx context.Context) (string, error) {
	admin, err := pgx.Connect(ctx, c.AdminURL)
	if err != nil {
		return "", fmt.Errorf("PostgreSQL at %s: %w", c.AdminURL, err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{c.DB}.Sanitize()+" WITH (FORCE)"); err != nil {
		return "", err
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{c.DB}.Sanitize()); err != nil {
		return "", err
	}
	u, err := c.dbURL(c.DB)
	if err != nil {
		return "", err
	}
	db, err := pgx.Connect(ctx, u)
	if err != nil {
		return "", err
	}
	defer db.Close(ctx)
	if _, err := db.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS postgis"); err != nil {
		return "", fmt.Errorf("PostGIS: %w", err)
	}
	return u, nil
}

func (c config) dropDB() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, c.AdminURL)
	if err != nil {
		c.logf("could not drop %s: %v", c.DB, err)
		return
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{c.DB}.Sanitize()+" WITH (FORCE)"); err != nil {
		c.logf("could not drop %s: %v", c.DB, err)
	}
}

// runCmd runs a command, its output to the log; it returns the wall time
// and the peak RSS (kB) of the child.
func (c config) runCmd(ctx context.Context, stdout *bytes.Buffer, name string, args ...string) (time.Duration, int64, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = stdout, &errb
	start := time.Now()
	err := cmd.Run()
	el := time.Since(start)
	if err != nil {
		why := firstLine(errb.String())
		if why == "" {
			why = firstLine(stdout.String())
		}
		return el, 0, fmt.Errorf("%s %s: %w: %s\n%s%s", filepath.Base(name), c.display(args), err, why, stdout, errb.String())
	}
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss // kB on Linux
	}
	return el, rss, nil
}

// runBench measures everything and returns the report.
func runBench(ctx context.Context, c config) *report {
	r := &report{Date: time.Now(), Profile: c.Profile, Count: c.Count, Machine: machineInfo(ctx, c.Go), Mode: "full"}
	if c.Quick {
		r.Mode = "QUICK trial run: not reference figures"
	}
	if c.Parts["embedded"] || c.Parts["postgis"] {
		if _, err := exec.LookPath("wrk"); err != nil {
			r.Load = append(r.Load, loadResult{Store: "–", Name: "all HTTP load", Err: "wrk is not installed (apt-get install wrk; it is in the Makefile's DEB_PKGS)"})
		} else {
			if c.Parts["embedded"] {
				c.storeLoad(ctx, r, "embedded", "--data", filepath.Join(c.Work, "data"))
			}
			if c.Parts["postgis"] {
				c.postgisLoad(ctx, r)
			}
		}
	}
	if c.Parts["import"] {
		c.imports(ctx, r)
	}
	if c.Parts["go"] {
		c.goBench(ctx, r)
	}
	return r
}

func (c config) postgisLoad(ctx context.Context, r *report) {
	fail := func(err error) {
		r.Load = append(r.Load, loadResult{Store: "PostGIS", Name: "all HTTP load", Err: err.Error()})
	}
	u, err := c.freshDB(ctx)
	if err != nil {
		fail(err)
		return
	}
	defer c.dropDB()
	c.logf("PostGIS: riskmap load-fixtures --profile %s into %s", c.Profile, c.DB)
	var out bytes.Buffer
	el, _, err := c.runCmd(ctx, &out, c.Bin, "load-fixtures", "--profile", c.Profile, "--db", u)
	if err != nil {
		fail(err)
		return
	}
	r.Commands = append(r.Commands, fmt.Sprintf("riskmap load-fixtures --profile %s --db postgres://…/%s   # %s", c.Profile, c.DB, el.Round(time.Second)))
	tr := timingResult{Store: "PostGIS", What: "water-coverage, whole district: `riskmap analyze water-coverage --db …` wall time (process start and store open included)", Target: "≤ 3 s"}
	for i := range c.Count {
		c.logf("PostGIS: riskmap analyze water-coverage, run %d/%d", i+1, c.Count)
		var out bytes.Buffer
		el, _, err := c.runCmd(ctx, &out, c.Bin, "analyze", "water-coverage", "--db", u)
		if err != nil {
			tr.Err, tr.Secs = err.Error(), nil
			break
		}
		tr.Secs = append(tr.Secs, el.Seconds())
	}
	r.Timings = append(r.Timings, tr)
	r.Commands = append(r.Commands, "riskmap analyze water-coverage --db postgres://…/"+c.DB)
	c.storeLoad(ctx, r, "PostGIS", "--db", u)
}

// storeLoad runs the HTTP workloads against one store: a server without a
// tile cache for the cold tiles, items and dispatch, then one with a
// cache for the cached tiles.
func (c config) storeLoad(ctx context.Context, r *report, store string, storeArgs ...string) {
	addr := fmt.Sprintf("127.0.0.1:%d", c.Port+1)
	run := func(name, detail, target string, paths []string) loadResult {
		l := loadResult{Store: store, Name: name, Detail: detail, Target: target}
		w := wrkRun{Base: "http://" + addr, Paths: paths, Threads: c.Threads, Connections: c.Conns, Duration: c.Duration}
		l.Command = w.Command()
		if cmdLine := l.Command + "   # PATHS: a file of request paths, one a line (cmd/riskbench/walk.lua)"; !slices.Contains(r.Commands, cmdLine) {
			r.Commands = append(r.Commands, cmdLine)
		}
		for i := range c.Count {
			c.logf("%s: %s, run %d/%d (%s)", store, name, i+1, c.Count, c.Duration)
			res, err := w.run(ctx, c.Work)
			if err != nil {
				l.Err = err.Error()
				l.Runs = nil
				return l
			}
			l.Runs = append(l.Runs, res)
		}
		return l
	}
	serverArgs := append([]string{"--profile", c.Profile}, storeArgs...)
	// cold: nothing is kept, every request renders
	c.logf("%s: starting riskmap serve without a tile cache (loads the %s profile into an empty store)", store, c.Profile)
	srv, err := startServer(ctx, c.Bin, addr, filepath.Join(c.Work, store+"-cold.log"), c.StartWait, append(serverArgs, "--tile-cache-mb", "0")...)
	if err != nil {
		r.Servers = append(r.Servers, serverResult{Store: store, Role: "no tile cache", Err: err.Error()})
		return
	}
	r.Commands = append(r.Commands, "riskmap serve --addr "+addr+" "+c.display(serverArgs)+" --tile-cache-mb 0")
	d, err := fetchDistrict(ctx, srv.base)
	if err != nil {
		srv.stop()
		r.Servers = append(r.Servers, serverResult{Store: store, Role: "no tile cache", Err: err.Error()})
		return
	}
	buildings := tilePaths(d, "buildings", []maptile.Zoom{13, 14, 15}, c.Tiles)
	mixed := tilePaths(d, "buildings,water_sources,pipelines,enterprises", []maptile.Zoom{10, 11, 12, 13, 14, 15}, c.Tiles)
	items := itemsPaths(d, 200)
	dispatch := dispatchPaths(d, 500)
	r.Load = append(r.Load,
		run("cold tiles, buildings z13–z15", fmt.Sprintf("%d distinct tiles, no cache", len(buildings)),
			map[string]string{"embedded": "≥ 2,000 tiles/s", "PostGIS": "≥ 700 tiles/s"}[store], buildings),
		run("cold tiles, 4 layers z10–z15", fmt.Sprintf("%d distinct tiles of buildings, water_sources, pipelines, enterprises, no cache", len(mixed)),
			"p99 ≤ 200 ms", mixed),
		run("items pages", fmt.Sprintf("%d pages of ≤ 1,000 buildings in 2 km boxes", len(items)), "≤ 50 ms a page", items))
	if st, err := probe(ctx, srv.base, dispatch[0]); err != nil || st == http.StatusNotFound {
		reason := fmt.Sprintf("GET %s answered %d: this build has no dispatch route", dispatch[0], st)
		if err != nil {
			reason = err.Error()
		}
		c.logf("%s: dispatch skipped: %s", store, reason)
		r.Load = append(r.Load, loadResult{Store: store, Name: "dispatch", Target: "p99 ≤ 100 ms", Skipped: reason})
	} else {
		r.Load = append(r.Load, run("dispatch", fmt.Sprintf("%d incident points near the town centres", len(dispatch)), "p99 ≤ 100 ms", dispatch))
	}
	r.Servers = append(r.Servers, c.finish(srv, store, "no tile cache"))

	// cached: every tile fetched once, then the same tiles again
	srv, err = startServer(ctx, c.Bin, addr, filepath.Join(c.Work, store+"-cached.log"), c.StartWait, append(serverArgs, "--tile-cache-mb", "2048")...)
	if err != nil {
		r.Servers = append(r.Servers, serverResult{Store: store, Role: "tile cache 2 GiB", Err: err.Error()})
		return
	}
	r.Commands = append(r.Commands, "riskmap serve --addr "+addr+" "+c.display(serverArgs)+" --tile-cache-mb 2048")
	c.logf("%s: warming the tile cache with %d tiles", store, len(buildings))
	if err := warm(ctx, srv.base, buildings); err != nil {
		r.Load = append(r.Load, loadResult{Store: store, Name: "cached tiles", Err: err.Error()})
	} else {
		r.Load = append(r.Load, run("cached tiles, buildings z13–z15", fmt.Sprintf("the same %d tiles, all cached, gzip", len(buildings)), "≥ 25,000 tiles/s", buildings))
	}
	r.Servers = append(r.Servers, c.finish(srv, store, "tile cache 2 GiB"))
}

// display prints arguments for the report: the work directory as $WORK
// and a database URL as postgres://…/DB (no host, user or password).
func (c config) display(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.HasPrefix(a, "postgres://") || strings.HasPrefix(a, "postgresql://") {
			a = "postgres://…/" + c.DB
		}
		out[i] = strings.ReplaceAll(a, c.Work, "$WORK")
	}
	return strings.Join(out, " ")
}

// finish reads the server's peak RSS and stops it; a server that died or
// did not shut down cleanly is a failure.
func (c config) finish(srv *server, store, role string) serverResult {
	s := serverResult{Store: store, Role: role, Startup: srv.Startup}
	if !srv.alive() {
		s.Err = "the server died during the load: " + tail(srv.log.Name())
		return s
	}
	hwm, err := procStatus(srv.cmd.Process.Pid, "VmHWM")
	if err != nil {
		s.Err = err.Error()
	}
	s.PeakRSSKB = hwm
	if err := srv.stop(); err != nil && s.Err == "" {
		s.Err = "shutdown: " + err.Error()
	}
	return s
}

// warm fetches every path once (4 at a time) and checks each answered
// 200 or 204.
func warm(ctx context.Context, base string, paths []string) error {
	ch := make(chan string)
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range ch {
				st, err := probe(ctx, base, p)
				if err == nil && st != http.StatusOK && st != http.StatusNoContent {
					err = fmt.Errorf("GET %s: status %d", p, st)
				}
				if err != nil {
					mu.Lock()
					first = cmp(first, err)
					mu.Unlock()
				}
			}
		}()
	}
	for _, p := range paths {
		ch <- p
	}
	close(ch)
	wg.Wait()
	return first
}

func cmp(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

var rowsRead = regexp.MustCompile(`: (\d+) read, (\d+) written`)

// imports times riskmap import of the profile's buildings into each
// store, and ogr2ogr into PostGIS beside it when it is installed.
func (c config) imports(ctx context.Context, r *report) {
	fx := filepath.Join(c.Work, "fixtures")
	file := filepath.Join(fx, "buildings.geojson")
	var out bytes.Buffer
	if _, _, err := c.runCmd(ctx, &out, c.Bin, "fixtures", "--profile", c.Profile, "--out", fx); err != nil {
		r.Imports = append(r.Imports, importResult{Store: "both", Loader: "riskmap fixtures", Err: err.Error()})
		return
	}
	r.Commands = append(r.Commands, "riskmap fixtures --profile "+c.Profile+" --out FIXTURES")
	one := func(store, loader string, timeIt func(i int) (time.Duration, int64, int64, error)) {
		ir := importResult{Store: store, Loader: loader, File: "buildings.geojson"}
		for i := range c.Count {
			c.logf("import: %s into %s, run %d/%d", loader, store, i+1, c.Count)
			el, rss, rows, err := timeIt(i)
			if err != nil {
				ir.Err = err.Error()
				break
			}
			ir.Rows = rows
			ir.Secs = append(ir.Secs, el.Seconds())
			ir.PeakRSSKB = append(ir.PeakRSSKB, float64(rss))
		}
		r.Imports = append(r.Imports, ir)
	}
	// --skip-analyses: the load alone, as ogr2ogr does it (an import
	// otherwise recomputes the analyses that read buildings: seconds and
	// gigabytes that are the analyses', not the loader's)
	riskmapImport := func(storeArgs ...string) (time.Duration, int64, int64, error) {
		var out bytes.Buffer
		el, rss, err := c.runCmd(ctx, &out, c.Bin, append(append([]string{"import", "--layer", "buildings", "--skip-analyses"}, storeArgs...), file)...)
		if err != nil {
			return 0, 0, 0, err
		}
		m := rowsRead.FindStringSubmatch(out.String())
		if m == nil {
			return 0, 0, 0, fmt.Errorf("riskmap import printed no row count: %q", out.String())
		}
		n, _ := strconv.ParseInt(m[1], 10, 64)
		return el, rss, n, nil
	}
	one("embedded", "riskmap import", func(i int) (time.Duration, int64, int64, error) {
		dir := filepath.Join(c.Work, fmt.Sprintf("import-%d", i))
		defer os.RemoveAll(dir)
		return riskmapImport("--data", dir)
	})
	r.Commands = append(r.Commands, "riskmap import --layer buildings --skip-analyses --data EMPTYDIR FIXTURES/buildings.geojson",
		"riskmap import --layer buildings --skip-analyses --db postgres://…/"+c.DB+" FIXTURES/buildings.geojson   # into a fresh database each run")
	one("PostGIS", "riskmap import", func(int) (time.Duration, int64, int64, error) {
		u, err := c.freshDB(ctx)
		if err != nil {
			return 0, 0, 0, err
		}
		defer c.dropDB()
		return riskmapImport("--db", u)
	})
	if _, err := exec.LookPath("ogr2ogr"); err != nil {
		r.Imports = append(r.Imports, importResult{Store: "PostGIS", Loader: "ogr2ogr", Err: "ogr2ogr is not installed (gdal-bin)"})
		return
	}
	pg, _ := url.Parse(c.AdminURL)
	r.Commands = append(r.Commands, "ogr2ogr -f PostgreSQL PG:… FIXTURES/buildings.geojson -nln buildings -lco GEOMETRY_NAME=geom --config PG_USE_COPY YES")
	one("PostGIS", "ogr2ogr (reference)", func(int) (time.Duration, int64, int64, error) {
		if _, err := c.freshDB(ctx); err != nil {
			return 0, 0, 0, err
		}
		defer c.dropDB()
		conn := fmt.Sprintf("PG:host=%s port=%s user=%s dbname=%s", pg.Hostname(), cmpStr(pg.Port(), "5432"), pg.User.Username(), c.DB)
		var out bytes.Buffer
		el, rss, err := c.runCmd(ctx, &out, "ogr2ogr", "-f", "PostgreSQL", conn, file, "-nln", "buildings", "-lco", "GEOMETRY_NAME=geom", "--config", "PG_USE_COPY", "YES")
		if err != nil {
			return 0, 0, 0, err
		}
		u, _ := c.dbURL(c.DB)
		db, err := pgx.Connect(ctx, u)
		if err != nil {
			return 0, 0, 0, err
		}
		defer db.Close(ctx)
		var n int64
		if err := db.QueryRow(ctx, "SELECT count(*) FROM buildings").Scan(&n); err != nil {
			return 0, 0, 0, fmt.Errorf("counting ogr2ogr's rows: %w", err)
		}
		return el, rss, n, nil
	})
}

func cmpStr(a, def string) string {
	if a == "" {
		return def
	}
	return a
}

// goBench runs the Go benchmarks of every package.
func (c config) goBench(ctx context.Context, r *report) {
	args := []string{"test", "-run", "^$", "-bench", ".", "-benchmem", "-timeout", "90m"}
	env := os.Environ()
	if c.Quick {
		args = append(args, "-benchtime", "200ms", "-count", "1")
	} else {
		args = append(args, "-benchtime", "1s", "-count", strconv.Itoa(c.Count))
		env = append(env, "RISKMAP_BENCH_PROFILE=large")
	}
	args = append(args, "./...")
	line := c.Go + " " + strings.Join(args, " ")
	if !c.Quick {
		line = "RISKMAP_BENCH_PROFILE=large " + line
	}
	r.Commands = append(r.Commands, line)
	c.logf("go benchmarks: %s", line)
	cmd := exec.CommandContext(ctx, c.Go, args...)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout = io.MultiWriter(&out, c.Out)
	cmd.Stderr = cmd.Stdout
	err := cmd.Run()
	bs, perr := parseGoBench(out.String())
	r.GoBench = bs
	if err != nil {
		r.GoErr = fmt.Sprintf("%s: %v (see the output above)", line, err)
	} else if perr != nil {
		r.GoErr = perr.Error()
	}
}

var errFailed = errors.New("some parts failed; see the report")
