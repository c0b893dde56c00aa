package postgis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"riskmap/geo"
	"riskmap/layers"
)

// Query calls fn for each feature matching q, in id order, stopping at fn's
// first error and returning it. Rows are streamed: fn runs while the query
// holds a pooled connection, so it may use the store but should not block
// for long.
func (s *Store) Query(ctx context.Context, q layers.Query, fn func(layers.Feature) error) error {
	t, err := s.table(q.Layer)
	if err != nil {
		return err
	}
	sql, args, narrow := t.selectSQL(q)
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return wrap(ctx, "query "+q.Layer, err)
	}
	defer rows.Close()
	sc := t.scanner()
	for rows.Next() {
		if err := rows.Scan(sc.dest...); err != nil {
			return wrap(ctx, "query "+q.Layer, err)
		}
		f, err := sc.feature()
		if err != nil {
			return fmt.Errorf("postgis: query %s: %w", q.Layer, err)
		}
		if narrow && !f.Geometry.Bound().Intersects(q.BBox) {
			continue
		}
		if err := fn(f); err != nil {
			return err
		}
		// pgx may have buffered the rest of the result: a cancelled
		// context must stop the iteration even when no read is pending.
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("postgis: query %s: %w", q.Layer, err)
		}
	}
	return wrap(ctx, "query "+q.Layer, rows.Err())
}

// selectSQL returns the SELECT of t's selectList for q, in id order, and
// its arguments. narrow says the bbox is only the index's (a superset):
// without a limit the exact bounds are checked by the caller on the
// geometries it decodes anyway; with one the database must count exactly.
func (t *table) selectSQL(q layers.Query) (sql string, args []any, narrow bool) {
	var w where
	narrow = q.HasBBox() && q.Limit <= 0
	switch {
	case narrow:
		w.overlap(q.BBox)
	case q.HasBBox():
		w.bbox(q.BBox)
	}
	w.filters(t.layer, q.Filters)
	if q.AfterID > 0 {
		w.add("id > " + w.arg(q.AfterID))
	}
	sql = "SELECT " + t.selectList + " FROM " + t.name + w.String() + orderByID
	if q.Limit > 0 {
		sql += " LIMIT " + w.arg(int64(q.Limit))
	}
	return sql, w.args, narrow
}

const orderByID = " ORDER BY id"

// Count returns how many features match q's bbox and filters.
func (s *Store) Count(ctx context.Context, q layers.Query) (int, error) {
	t, err := s.table(q.Layer)
	if err != nil {
		return 0, err
	}
	var w where
	if q.HasBBox() {
		w.bbox(q.BBox)
	}
	w.filters(t.layer, q.Filters)
	var n int64
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM "+t.name+w.String(), w.args...).Scan(&n); err != nil {
		return 0, wrap(ctx, "count "+q.Layer, err)
	}
	return int(n), nil
}

// Get returns one feature or an error wrapping layers.ErrNotFound.
func (s *Store) Get(ctx context.Context, layer string, id int64) (layers.Feature, error) {
	t, err := s.table(layer)
	if err != nil {
		return layers.Feature{}, err
	}
	sc := t.scanner()
	err = s.pool.QueryRow(ctx, "SELECT "+t.selectList+" FROM "+t.name+" WHERE id = $1", id).Scan(sc.dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return layers.Feature{}, fmt.Errorf("postgis: %s feature %d: %w", layer, id, layers.ErrNotFound)
	}
	if err != nil {
		return layers.Feature{}, wrap(ctx, "get "+layer, err)
	}
	f, err := sc.feature()
	if err != nil {
		return layers.Feature{}, fmt.Errorf("postgis: get %s: %w", layer, err)
	}
	return f, nil
}

// Nearest returns up to K features closest on the ground to q.Point that
// match q.Filters and lie within q.MaxDistanceM if set, ordered by
// distance then id. Distances are geodesic on the WGS84 spheroid.
//
// The GiST index orders by planar distance in degrees, which is not the
// ground order (a degree of longitude is shorter than one of latitude), so
// the K index-nearest are only candidates: the farthest of them bounds the
// true K-th distance, and a second query ranks every feature within that
// ground distance exactly.
func (s *Store) Nearest(ctx context.Context, q layers.NearestQuery) ([]layers.Neighbor, error) {
	t, err := s.table(q.Layer)
	if err != nil {
		return nil, err
	}
	if q.K <= 0 {
		return nil, fmt.Errorf("postgis: %w: nearest needs K ≥ 1, got %d", layers.ErrInvalid, q.K)
	}
	p := q.Point
	if !finite(p[0]) || !finite(p[1]) || math.IsNaN(q.MaxDistanceM) {
		return nil, fmt.Errorf("postgis: %w: nearest: point %v or distance %v is not a number", layers.ErrInvalid, p, q.MaxDistanceM)
	}
	op := "nearest " + q.Layer

	// The two statements read one snapshot: a write between them could
	// otherwise remove a candidate of the first from the second's radius
	// and leave fewer than K neighbours where there are more.
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, wrap(ctx, op, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }() // read only: nothing to keep

	// 1. K candidates by the index order; their largest ground distance.
	var w where
	pt := fmt.Sprintf("ST_SetSRID(ST_MakePoint(%s, %s), 4326)", w.arg(p[0]), w.arg(p[1]))
	w.filters(t.layer, q.Filters)
	sql := fmt.Sprintf("SELECT max(d), count(*) FROM (SELECT ST_Distance(geom::geography, %[1]s::geography) AS d FROM %[2]s%[3]s ORDER BY geom <-> %[1]s LIMIT %[4]s) c",
		pt, t.name, w.String(), w.arg(int64(q.K)))
	var maxD *float64
	var n int64
	if err := tx.QueryRow(ctx, sql, w.args...).Scan(&maxD, &n); err != nil {
		return nil, wrap(ctx, op, err)
	}
	if n == 0 {
		return nil, nil
	}
	radius := math.Inf(1) // fewer than K match: every one is a candidate
	if n == int64(q.K) {
		radius = *maxD
	}
	if q.MaxDistanceM > 0 {
		radius = math.Min(radius, q.MaxDistanceM)
	}

	// 2. Every feature within the radius, ranked exactly.
	w = where{}
	pt = fmt.Sprintf("ST_SetSRID(ST_MakePoint(%s, %s), 4326)", w.arg(p[0]), w.arg(p[1]))
	w.filters(t.layer, q.Filters)
	if !math.IsInf(radius, 1) {
		b := searchBox(p, radius)
		w.add(fmt.Sprintf("geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)", w.arg(b.Min[0]), w.arg(b.Min[1]), w.arg(b.Max[0]), w.arg(b.Max[1])))
		// a hair of slack for rounding; the exact bound is applied below
		w.add(fmt.Sprintf("ST_DWithin(geom::geography, %s::geography, %s)", pt, w.arg(radius*(1+1e-9)+1e-6)))
	}
	var outer []string
	if q.MaxDistanceM > 0 {
		outer = append(outer, "riskmap_distance_m <= "+w.arg(q.MaxDistanceM))
	}
	sql = fmt.Sprintf("SELECT %[1]s, riskmap_distance_m FROM (SELECT *, ST_Distance(geom::geography, %[2]s::geography) AS riskmap_distance_m FROM %[3]s%[4]s) c",
		t.selectList, pt, t.name, w.String())
	if len(outer) > 0 {
		sql += " WHERE " + strings.Join(outer, " AND ")
	}
	sql += " ORDER BY riskmap_distance_m, id LIMIT " + w.arg(int64(q.K))
	rows, err := tx.Query(ctx, sql, w.args...)
	if err != nil {
		return nil, wrap(ctx, op, err)
	}
	defer rows.Close()
	var d float64
	sc := t.scanner(&d)
	var out []layers.Neighbor
	for rows.Next() {
		if err := rows.Scan(sc.dest...); err != nil {
			return nil, wrap(ctx, op, err)
		}
		f, err := sc.feature()
		if err != nil {
			return nil, fmt.Errorf("postgis: %s: %w", op, err)
		}
		out = append(out, layers.Neighbor{Feature: f, DistanceM: d})
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(ctx, op, err)
	}
	return out, nil
}

// searchBox returns a lon/lat box holding every point within r metres of p
// on the ground, with a margin: longitude degrees are measured at the
// largest latitude the box reaches, latitude degrees at their shortest
// (the equator).
func searchBox(p orb.Point, r float64) orb.Bound {
	r = r*1.01 + 1
	_, ky := geo.MetresPerDegree(0)
	dy := r / ky
	lat0, lat1 := math.Max(-90, p[1]-dy), math.Min(90, p[1]+dy)
	if lat0 <= -89 || lat1 >= 89 {
		return orb.Bound{Min: orb.Point{-180, lat0}, Max: orb.Point{180, lat1}}
	}
	kx, _ := geo.MetresPerDegree(math.Max(math.Abs(lat0), math.Abs(lat1)))
	dx := r / kx
	if dx >= 180 {
		return orb.Bound{Min: orb.Point{-180, lat0}, Max: orb.Point{180, lat1}}
	}
	return orb.Bound{Min: orb.Point{p[0] - dx, lat0}, Max: orb.Point{p[0] + dx, lat1}}
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// Stats returns the count and exact extent of every non-empty layer.
func (s *Store) Stats(ctx context.Context) (map[string]layers.LayerStats, error) {
	var parts []string
	var w where
	for _, l := range s.cat.Layers() {
		t := s.tables[l.ID]
		parts = append(parts, fmt.Sprintf("SELECT %s::text, n, ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT count(*) AS n, ST_Extent(geom) AS e FROM %s) x",
			w.arg(l.ID), t.name))
	}
	out := map[string]layers.LayerStats{}
	if len(parts) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, strings.Join(parts, " UNION ALL "), w.args...)
	if err != nil {
		return nil, wrap(ctx, "stats", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var n int64
		var x0, y0, x1, y1 *float64
		if err := rows.Scan(&id, &n, &x0, &y0, &x1, &y1); err != nil {
			return nil, wrap(ctx, "stats", err)
		}
		if x0 == nil {
			continue // empty
		}
		out[id] = layers.LayerStats{Count: int(n), Extent: orb.Bound{Min: orb.Point{*x0, *y0}, Max: orb.Point{*x1, *y1}}}
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(ctx, "stats", err)
	}
	return out, nil
}
