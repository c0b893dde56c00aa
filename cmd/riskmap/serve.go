package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"time"

	"riskmap/fixtures"
	"riskmap/layers"
	"riskmap/layers/analysis"
	"riskmap/layers/memstore"
	"riskmap/layers/postgis"
	"riskmap/tiles"
	"riskmap/web"
)

// app is an opened deployment: the store, the catalog with the derived
// layers and the analysis engine attached to the store.
type app struct {
	raw    layers.Store // the store itself: bulk loads that need no notifications
	store  *layers.Observed
	cat    *layers.Catalog
	engine *analysis.Engine
	close  func() error
}

// storeFlags are the flags every command that opens the store shares.
type storeFlags struct {
	data, db, rules string
}

func (sf *storeFlags) register(fs interface {
	StringVar(*string, string, string, string)
}, e env) {
	fs.StringVar(&sf.data, "data", envOr(e, "RISKMAP_DATA", "./data"), "data directory of the embedded store (env RISKMAP_DATA)")
	fs.StringVar(&sf.db, "db", envOr(e, "RISKMAP_DATABASE_URL", ""), "PostgreSQL/PostGIS URL; empty: the embedded store (env RISKMAP_DATABASE_URL)")
	fs.StringVar(&sf.rules, "rules", envOr(e, "RISKMAP_RULES", ""), "JSON file overriding rule values, e.g. {\"water.hydrant_radius_m\": 120} (env RISKMAP_RULES)")
}

// open opens the store and the engine; onErr hears of background analysis
// failures.
func (sf storeFlags) open(ctx context.Context, onErr func(error)) (*app, error) {
	rules := analysis.DefaultRules()
	if sf.rules != "" {
		f, err := os.Open(sf.rules)
		if err != nil {
			return nil, err
		}
		rules, err = rules.Override(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", sf.rules, err)
		}
	}
	cat := layers.NewCatalog()
	engine, err := analysis.New(cat, rules, analysis.Default()...)
	if err != nil {
		return nil, err
	}
	var raw layers.Store
	if sf.db != "" {
		// the catalog already holds the derived layers: they get tables too
		pg, err := postgis.Open(ctx, sf.db, cat)
		if err != nil {
			return nil, fmt.Errorf("--db: %w", err)
		}
		raw = pg
	} else {
		ms, err := memstore.Open(sf.data)
		if err != nil {
			return nil, err
		}
		raw = ms
	}
	st := layers.Observe(raw)
	engine.Attach(st, onErr)
	closeAll := func() error {
		engine.Close() // stops the background recomputation first
		return raw.Close()
	}
	return &app{raw: raw, store: st, cat: cat, engine: engine, close: closeAll}, nil
}

func serve(ctx context.Context, e env) error {
	fs := flags(e, "serve", "serve [--addr :8080] [--data DIR | --db URL] [--profile demo|large] [--rules FILE] [--private] [--cors-origins URL,…] [--log-level info]")
	var sf storeFlags
	sf.register(fs, e)
	addr := fs.String("addr", envOr(e, "RISKMAP_ADDR", ":8080"), "listen address (env RISKMAP_ADDR)")
	profile := fs.String("profile", "demo", "dataset loaded into an empty store: demo or large")
	level := fs.String("log-level", envOr(e, "RISKMAP_LOG_LEVEL", "info"), "log level: debug, info, warn or error (env RISKMAP_LOG_LEVEL)")
	timeout := fs.Duration("timeout", 30*time.Second, "time limit of one request")
	cacheMB := fs.Int64("tile-cache-mb", 256, "memory for cached tiles, in MiB")
	memoMB := fs.Int64("tile-memo-mb", tiles.DefaultMemoBytes>>20, "memory for features readied for tiles (embedded store: typed properties, shapes per zoom 10–17), in MiB; 0: none")
	var af accessFlags
	af.register(fs, e)
	debugAddr := fs.String("debug-addr", "", "loopback address serving GET /debug/vars (goroutines, heap) for load tests; empty: off")
	if err := fs.Parse(e.args); err != nil {
		return err
	}
	log, err := logger(e, *level)
	if err != nil {
		return err
	}
	// listen first: a taken port fails at once, not after loading the data
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	if *debugAddr != "" {
		stopDebug, err := startDebug(*debugAddr, log)
		if err != nil {
			return err
		}
		defer stopDebug()
	}
	a, err := sf.open(ctx, func(err error) { log.Error("analysis update failed", "err", err) })
	if err != nil {
		return err
	}
	defer a.close()
	if err := loadDemoIfEmpty(ctx, a, *profile, log); err != nil {
		return err
	}
	authStore, lg, closeAccess, err := sf.openAccess(ctx, a)
	if err != nil {
		return err
	}
	defer closeAccess()
	if n, err := lg.Sweep(ctx); err != nil {
		return fmt.Errorf("hazard ledger: %w", err)
	} else if n > 0 {
		log.Info("hazard ledger: overdue and listed supervision brought up to date", "hazards", n)
	}
	sweepCtx, stopSweep := context.WithCancel(ctx)
	defer stopSweep()
	go sweepHourly(sweepCtx, lg, log)
	start := time.Now()
	if err := a.engine.Refresh(ctx); err != nil {
		return fmt.Errorf("running the analyses: %w", err)
	}
	log.Info("analyses computed", "took", time.Since(start).Round(time.Millisecond))

	renderer := tiles.New(a.store, a.cat, tiles.WithMemoBytes(*memoMB<<20))
	var topts []tiles.HandlerOption
	if a.store.Kind() == "memory" {
		// rendering from memory is pure CPU: as many builds as cores
		topts = append(topts, tiles.WithBuildLimit(runtime.GOMAXPROCS(0)))
	}
	th := tiles.NewHandler(renderer, tiles.NewCache(*cacheMB<<20), topts...)
	th.Watch(a.store)
	deps := web.Deps{Store: a.store, Catalog: a.cat, Analyses: a.engine, Tiles: th, Log: log, Timeout: *timeout,
		Auth: authStore, Ledger: lg}
	af.apply(&deps)
	h := web.New(deps)

	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: time.Minute,
		WriteTimeout: *timeout + 10*time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	log.Info("serving", "addr", ln.Addr().String(), "store", a.store.Kind(), "url", "http://"+displayAddr(ln.Addr()))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	return nil
}

func displayAddr(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok && t.IP.IsUnspecified() {
		return fmt.Sprintf("localhost:%d", t.Port)
	}
	return a.String()
}

// loadDemoIfEmpty fills an empty store with the generated demo dataset;
// the caller refreshes the analyses.
func loadDemoIfEmpty(ctx context.Context, a *app, profile string, log *slog.Logger) error {
	stats, err := a.store.Stats(ctx)
	if err != nil {
		return err
	}
	for _, l := range a.cat.Base() {
		if stats[l.ID].Count > 0 {
			return nil
		}
	}
	p, err := fixtures.ParseProfile(profile)
	if err != nil {
		return err
	}
	log.Info("empty store: loading the Banan demo dataset", "profile", p)
	start := time.Now()
	ds, err := fixtures.Generate(p)
	if err != nil {
		return err
	}
	// straight into the store: the analyses are computed once afterwards
	err = ds.Load(ctx, a.raw, func(layer string, done, total int) {
		if done == total {
			log.Info("loaded", "layer", layer, "features", total)
		}
	})
	if err != nil {
		return err
	}
	log.Info("demo dataset loaded", "features", ds.Count(), "took", time.Since(start).Round(time.Millisecond))
	return nil
}
