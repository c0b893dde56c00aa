package postgis

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"riskmap/layers"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrationLock is the advisory lock key held while migrating ("riskmap").
const migrationLock int64 = 0x7269736b6d6170

// Migration is one versioned schema change.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations returns the migrations embedded in the binary, by version.
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, e := range entries {
		name := e.Name()
		num, rest, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration file %q is not NNNN_name.sql", name)
		}
		b, err := migrationFS.ReadFile(path.Join("migrations", name))
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: rest, SQL: string(b)})
	}
	slices.SortFunc(out, func(a, b Migration) int { return a.Version - b.Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("two migrations with version %d", out[i].Version)
		}
	}
	return out, nil
}

// Version returns the highest migration applied to the database, 0 when
// none is (a database riskmap never opened).
func (s *Store) Version(ctx context.Context) (int, error) {
	var exists bool
	var v *int32
	err := s.pool.QueryRow(ctx, "SELECT to_regclass('riskmap_migrations') IS NOT NULL").Scan(&exists)
	if err == nil && exists {
		err = s.pool.QueryRow(ctx, "SELECT max(version) FROM riskmap_migrations").Scan(&v)
	}
	if err != nil {
		return 0, wrap(ctx, "migration version", err)
	}
	if v == nil {
		return 0, nil
	}
	return int(*v), nil
}

// Migrate applies pending migrations, creates the tables of catalog layers
// no migration covers (recreating derived layers whose schema changed) and
// checks every table against the catalog. It runs in one transaction under
// an advisory lock: concurrent servers wait for each other and the second
// finds nothing to do.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := Migrations()
	if err != nil {
		return fmt.Errorf("postgis: %w", err)
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLock); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS riskmap_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE riskmap_migrations IS 'riskmap 数据库迁移记录 / schema migrations applied by riskmap (layers/postgis/migrations)'`); err != nil {
			return err
		}
		applied := map[int]bool{}
		rows, err := tx.Query(ctx, "SELECT version FROM riskmap_migrations")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				return err
			}
			applied[v] = true
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for _, m := range ms {
			if applied[m.Version] {
				continue
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("migration %d %s: %w", m.Version, m.Name, err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO riskmap_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name); err != nil {
				return err
			}
		}
		return s.ensureTables(ctx, tx)
	})
	if err != nil {
		return wrap(ctx, "migrate", err)
	}
	// Connections opened before the first migration created PostGIS do not
	// know the geometry type; start afresh.
	s.pool.Reset()
	return nil
}

// ensureTables creates missing layer tables from the catalog and checks the
// columns of existing ones.
func (s *Store) ensureTables(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `SELECT table_name, column_name, udt_name FROM information_schema.columns
WHERE table_schema = current_schema()`)
	if err != nil {
		return err
	}
	defer rows.Close()
	have := map[string]map[string]string{}
	for rows.Next() {
		var t, c, u string
		if err := rows.Scan(&t, &c, &u); err != nil {
			return err
		}
		if have[t] == nil {
			have[t] = map[string]string{}
		}
		have[t][c] = u
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, l := range s.cat.Layers() {
		cols, exists := have[l.ID]
		if exists {
			problem := schemaProblem(l, cols)
			if problem == "" {
				continue
			}
			if !l.Derived {
				return fmt.Errorf("table %s does not match the catalog: %s; add a migration in layers/postgis/migrations", l.ID, problem)
			}
			// A derived layer is recomputed by its analysis: start it afresh.
			if _, err := tx.Exec(ctx, "DROP TABLE "+ident(l.ID)); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, CreateTableSQL(l)); err != nil {
			return fmt.Errorf("create table %s: %w", l.ID, err)
		}
	}
	return nil
}

// schemaProblem describes how a table's columns differ from the layer's
// schema, or returns "". Extra columns are allowed (a newer migration may
// have added fields this binary does not know yet).
func schemaProblem(l *layers.Layer, cols map[string]string) string {
	if cols["id"] != "int8" {
		return "column id is missing or not bigint"
	}
	if cols["geom"] != "geometry" {
		return "column geom is missing or not geometry"
	}
	for _, f := range l.Fields {
		u, ok := cols[f.Name]
		if !ok {
			return fmt.Sprintf("column %s is missing", f.Name)
		}
		if u != udtName(f.Type) {
			return fmt.Sprintf("column %s is %s, the catalog says %s (%s)", f.Name, u, sqlType(f.Type), f.Type)
		}
	}
	return ""
}
