package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/time/rate"

	"riskmap/auth"
	"riskmap/ledger"
	"riskmap/web"
)

// accessFlags are serve's flags of access control and limits.
type accessFlags struct {
	private     bool
	cors        string
	maxBodyKB   int64
	maxUploadMB int64
	writeRate   float64
	writeBurst  int
}

func (af *accessFlags) register(fs *flag.FlagSet, e env) {
	fs.BoolVar(&af.private, "private", envOr(e, "RISKMAP_PRIVATE", "") == "true", "reads need a viewer token too (env RISKMAP_PRIVATE=true); writes always need an editor token")
	fs.StringVar(&af.cors, "cors-origins", envOr(e, "RISKMAP_CORS_ORIGINS", ""), "comma list of origins allowed cross-origin, or *; empty: CORS off (env RISKMAP_CORS_ORIGINS)")
	fs.Int64Var(&af.maxBodyKB, "max-body-kb", 1024, "largest JSON body of a write, in KiB")
	fs.Int64Var(&af.maxUploadMB, "max-upload-mb", 256, "largest import upload, in MiB")
	fs.Float64Var(&af.writeRate, "write-rate", 5, "writes per second allowed per token (or IP)")
	fs.IntVar(&af.writeBurst, "write-burst", 20, "burst of writes allowed per token (or IP)")
}

func (af accessFlags) apply(d *web.Deps) {
	d.Private = af.private
	for _, o := range strings.Split(af.cors, ",") {
		if o = strings.TrimSpace(o); o != "" {
			d.CORSOrigins = append(d.CORSOrigins, o)
		}
	}
	d.MaxBody = af.maxBodyKB << 10
	d.MaxUpload = af.maxUploadMB << 20
	d.WriteRate = rate.Limit(af.writeRate)
	d.WriteBurst = af.writeBurst
}

// openAccess opens the token store, the audit log and the hazard ledger
// beside the features: files in the data directory, or tables in PostGIS.
func (sf storeFlags) openAccess(ctx context.Context, a *app) (auth.Store, *ledger.Ledger, func(), error) {
	if sf.db == "" {
		as, err := auth.OpenFileStore(sf.data)
		if err != nil {
			return nil, nil, nil, err
		}
		h, err := ledger.OpenFileHistory(sf.data)
		if err != nil {
			as.Close()
			return nil, nil, nil, err
		}
		lg, err := ledger.New(a.store, a.cat, h)
		if err != nil {
			as.Close()
			h.Close()
			return nil, nil, nil, err
		}
		return as, lg, func() { as.Close(); h.Close() }, nil
	}
	// the store's Open has applied the migrations that made the tables
	pool, err := pgxpool.New(ctx, sf.db)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("--db: %w", err)
	}
	lg, err := ledger.New(a.store, a.cat, ledger.NewPGHistory(pool))
	if err != nil {
		pool.Close()
		return nil, nil, nil, err
	}
	return auth.NewPGStore(pool), lg, pool.Close, nil
}

// sweepHourly keeps overdue and listed supervision current as deadlines
// pass, until ctx ends.
func sweepHourly(ctx context.Context, lg *ledger.Ledger, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := lg.Sweep(ctx); err != nil {
				log.Error("hazard ledger sweep failed", "err", err)
			} else if n > 0 {
				log.Info("hazard ledger: overdue hazards updated", "hazards", n)
			}
		}
	}
}
