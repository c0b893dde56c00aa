// Package postgis is the PostgreSQL/PostGIS implementation of layers.Store,
// riskmap's system of record.
//
// # Schema
//
// Every layer of the catalog is one table named by the layer id, with
// id bigint primary key, geom geometry(Geometry, 4326) and one typed column
// per schema field (text for strings and enums, with a CHECK on the enum
// codes; bigint; double precision; boolean; date). Required fields are NOT
// NULL. The geometry column is declared as the generic Geometry type with a
// CHECK on GeometryType(geom) so that a layer accepts its families and their
// Multi* variants (flood_spots: POINT, MULTIPOINT, POLYGON, MULTIPOLYGON) and
// returns exactly what was stored (a MultiPolygon of one part stays a
// MultiPolygon). Each table has a GiST index on geom and btree indexes on
// the attribute columns queries filter by (status, kind, class, category,
// risk_level, town). Tables and columns carry COMMENTs with the Chinese and
// English titles, units and enum codes, so an analyst who opens the database
// in QGIS or psql (\d+) can read it without the code.
//
// # Migrations
//
// The base layers' tables are created by versioned SQL migrations embedded
// in the binary (migrations/NNNN_name.sql), recorded in riskmap_migrations
// and applied by Open (and Migrate) in one transaction under an advisory
// lock, so that two servers starting together do not race. A migration is
// never edited once released: a change of a base layer's schema is a new
// file (go run ./layers/postgis/internal/gen prints the DDL of a layer as a
// starting point). After migrating, Open checks the database against the
// catalog and refuses to start when a base layer's column is missing or of
// the wrong type, naming the migration that is due.
//
// Layers the migrations do not know — derived layers the analyses add to
// the catalog, or layers a deployment registers — get their tables created
// from the catalog on Open; a derived layer whose schema changed is
// dropped and recreated (its content is recomputed by its analysis).
//
// # Writes and reads
//
// Upsert validates every feature against the layer schema (layers.Layer
// Normalize, on a copy) and writes all of them in one transaction: small
// batches as pipelined INSERT … ON CONFLICT statements, large ones (more than
// 1,000 rows by default) by COPY in binary format with EWKB geometries into a
// temporary staging table followed by one INSERT … SELECT … ON CONFLICT (id)
// DO UPDATE. Into an empty table, COPY goes straight into the table (under a
// savepoint per batch: an id repeated from an earlier batch undoes that
// batch and merges it instead) with its secondary indexes dropped and
// rebuilt after the load.
//
// Imports stream through BeginBulk (layers.Bulk): one transaction for the
// whole import, each batch copied into the staging table and merged, the
// staging table truncated, so memory does not grow with the import; Commit
// makes all of it visible at once, and an error or a cancelled context
// leaves the layer as it was. COPY data is encoded straight into a reused
// buffer in PostgreSQL's binary format (points' EWKB written in place);
// features an import has already normalised skip the second validation
// (layers.NormalizedWriter).
//
// Queries are parameterised SQL; column names come only from the catalog.
// Bounding-box queries use the GiST index (geom && envelope) and then compare
// exact bounds, since the index boxes are rounded to float4: in Go on the
// decoded geometries when the query has no limit (a tile's read; four
// ST_XMin… calls per row tripled the database's time), in SQL when it has
// one (paging) and for Count. Nearest uses the
// KNN operator (<->, planar degrees) to find K candidates, then a second,
// distance-bounded query (ST_DWithin on geography) ranks by exact ground
// distance on the spheroid, so the K returned are the true K nearest.
//
// Reads for tiles and analyses go through View (layers.Viewer): rows in
// binary format decoded into buffers reused from row to row, and a bbox
// read without a limit fetched in the heap's order and sorted by id in Go
// (the database's sort was half its time for such a query). Connections
// run with plan_cache_mode = force_generic_plan: the prepared statements
// keep one plan instead of being planned again at every execution.
//
// # Availability
//
// Connections time out after 2 s (WithConnectTimeout) and idle connections
// are checked before use, so when the database is down every method fails
// fast with an error wrapping layers.ErrUnavailable, and the pool
// reconnects by itself when PostgreSQL is back.
package postgis
