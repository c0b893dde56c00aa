package postgis

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"riskmap/layers"
)

// Store is a layers.Store on PostgreSQL with PostGIS. It is safe for
// concurrent use.
type Store struct {
	pool   *pgxpool.Pool
	cat    *layers.Catalog
	tables map[string]*table
	opts   options
	bufs   sync.Pool // of *rowBuf, for View
}

var _ layers.Store = (*Store)(nil)

// DefaultCopyThreshold is the batch size above which Upsert loads by COPY.
const DefaultCopyThreshold = 1000

type options struct {
	connectTimeout time.Duration
	maxConns       int32
	copyThreshold  int
	migrate        bool
	viewBuffer     int // bytes of rows View sorts itself (tests lower it)
}

// Option configures Open.
type Option func(*options)

// WithConnectTimeout bounds how long a new connection may take; it is also
// how quickly calls fail when the database is unreachable. Default 2 s.
func WithConnectTimeout(d time.Duration) Option { return func(o *options) { o.connectTimeout = d } }

// WithMaxConns sets the pool size (default: the pgxpool default, or
// pool_max_conns in the URL).
func WithMaxConns(n int) Option { return func(o *options) { o.maxConns = int32(n) } }

// WithCopyThreshold sets the batch size above which Upsert uses COPY
// (default DefaultCopyThreshold).
func WithCopyThreshold(n int) Option { return func(o *options) { o.copyThreshold = n } }

// WithoutMigrate makes Open skip migrations and the schema check (for
// tools that only read, or a deployment that runs Migrate separately).
func WithoutMigrate() Option { return func(o *options) { o.migrate = false } }

// Open connects to the database at url (a postgres:// URL or a libpq
// keyword/value string), checks that it answers, applies pending migrations
// and creates the tables of catalog layers the migrations do not cover.
// cat is the deployment's catalog (nil means layers.NewCatalog()); the store
// serves exactly its layers. A database that cannot be reached gives an
// error wrapping layers.ErrUnavailable.
func Open(ctx context.Context, url string, cat *layers.Catalog, opts ...Option) (*Store, error) {
	o := options{connectTimeout: 2 * time.Second, copyThreshold: DefaultCopyThreshold, migrate: true, viewBuffer: maxBuffered}
	for _, opt := range opts {
		opt(&o)
	}
	if cat == nil {
		cat = layers.NewCatalog()
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgis: parse database url: %w", err)
	}
	if o.connectTimeout > 0 {
		cfg.ConnConfig.ConnectTimeout = o.connectTimeout
		cfg.PingTimeout = o.connectTimeout
	}
	if o.maxConns > 0 {
		cfg.MaxConns = o.maxConns
	}
	cfg.HealthCheckPeriod = 10 * time.Second
	cfg.AfterConnect = registerGeometry
	// Statements are prepared once per connection (pgx's statement
	// cache); with bind parameters PostgreSQL's default (auto) keeps
	// planning every execution afresh for a bbox query, ≈ 60 µs of the
	// server's CPU per query, a tenth of a cold tile's database time.
	// The generic plan is the GiST index scan such a query wants. A
	// plan_cache_mode given in the URL wins.
	if _, ok := cfg.ConnConfig.RuntimeParams["plan_cache_mode"]; !ok {
		cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_generic_plan"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgis: %w", err)
	}
	s := &Store{pool: pool, cat: cat, tables: map[string]*table{}, opts: o}
	for _, l := range cat.Layers() {
		s.tables[l.ID] = newTable(l)
	}
	if err := s.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	if o.migrate {
		if err := s.Migrate(ctx); err != nil {
			pool.Close()
			return nil, err
		}
	}
	return s, nil
}

// registerGeometry teaches a new connection the PostGIS geometry type, so
// that COPY can send EWKB in binary format. Before the extension exists
// (the first migration creates it) there is nothing to register.
func registerGeometry(ctx context.Context, c *pgx.Conn) error {
	var oid *uint32
	if err := c.QueryRow(ctx, "SELECT to_regtype('geometry')::oid").Scan(&oid); err != nil {
		return err
	}
	if oid != nil {
		c.TypeMap().RegisterType(&pgtype.Type{Name: "geometry", OID: *oid, Codec: pgtype.ByteaCodec{}})
	}
	return nil
}

// Kind returns "postgis".
func (s *Store) Kind() string { return "postgis" }

// Ping checks that the database answers; the error wraps
// layers.ErrUnavailable.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return wrap(ctx, "ping", err)
	}
	return nil
}

// Close closes the pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Pool returns the connection pool, for callers that need SQL the Store
// interface does not offer (exports, tile queries). The Store owns it.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

func (s *Store) table(layer string) (*table, error) {
	if layer == "" {
		return nil, fmt.Errorf("postgis: %w: empty layer name", layers.ErrInvalid)
	}
	if t, ok := s.tables[layer]; ok {
		return t, nil
	}
	return nil, fmt.Errorf("postgis: %w: %q", layers.ErrUnknownLayer, layer)
}
