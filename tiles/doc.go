// Package tiles renders the layers of a store as Mapbox Vector Tiles (MVT
// 2.1), describes them as TileJSON 3.0.0, aggregates features into H3 cells
// and caches rendered tiles in memory.
//
// One path serves every store: tiles are built in Go from layers.View
// (features lent by the embedded store, and by PostGIS decoded into
// buffers reused row to row), so the embedded store and PostGIS give the
// same tiles.
//
// # Tiles
//
// A tile of one or more layers ("ids", a comma list) holds one MVT layer
// per id, in the order given, duplicates removed. Coordinates are tile
// pixels (extent 4096) with a buffer of 64 pixels; geometries are clipped
// to the buffered tile, simplified in pixel space (Douglas–Peucker, a
// tolerance that depends on the zoom), snapped to the integer grid and
// cleaned (no repeated points, no degenerate lines or rings, exterior
// rings clockwise in tile coordinates as MVT 2.1 requires). Feature ids
// are the feature API's ids; properties are the layer schema's fields with
// their types (strings, integers as sint, numbers as double, booleans); nil
// properties are left out.
//
// A layer appears only within its zoom range (Layer.MinZoom–MaxZoom). Below
// its MinZoom a point layer is replaced by its H3 aggregate layer
// "h3:{id}" (see below); other layers are left out. A tile with no features
// at all is empty: Render returns no bytes and the HTTP handler answers 204
// No Content.
//
// Budgets keep low zooms small: a layer contributes at most a fixed number
// of features per tile (a point layer over budget becomes its H3 aggregate
// instead), and a whole tile is never larger than 500 KB: when the encoded
// tile is too big, the least important features (smallest polygons,
// shortest lines, a hash-spread sample of points) are dropped until it
// fits.
//
// # Kept forms
//
// Most of a cold tile's cost is readying each feature: typing its
// properties by the layer schema, projecting, simplifying and snapping its
// geometry. For a line or polygon, that last part does not depend on the
// tile: the shaper makes it once per zoom in world pixels, around an
// anchor on the integer grid, and a tile that holds the whole feature
// takes it moved by whole pixels (only features crossing the tile's edge
// are clipped and shaped in the tile). From a store whose features never
// change in place (layers.MemoViewer: the embedded store), the renderer
// keeps these forms in the stored feature's memo — the typed properties
// and the shaped geometry for zooms 10–17 — so the next tile showing the
// feature copies them; a write stores a new version of the feature with
// an empty memo. The memory kept is bounded (WithMemoBytes, riskmap serve
// --tile-memo-mb): past it, features are readied afresh each time; what
// was kept of a replaced or deleted version counts until the garbage
// collector takes the version. A
// tile is byte for byte the same with kept forms or without
// (TestMemoSameTiles, and TestPostGISTilesMatchMemstore against PostGIS,
// which keeps none).
//
// # H3 layers
//
// The layer "h3:{id}" holds the H3 cells of layer id that contain at least
// one feature, as polygons with the properties cell (the index as a hex
// string), res, count (features touching the cell), risk_max (the worst
// risk_level, when the layer has one) and status_{code} counts for every
// code (when the layer has a status enum). The feature id is the cell
// index; it exceeds 2^53, so JavaScript clients should key on the cell
// property. The resolution follows the zoom (ResForZoom: res 7 at z9, res
// 10 at z15), capped at FineRes for lines and polygons.
//
// Features are assigned to cells by an H3Index kept in memory per layer,
// built from the store on first use and kept current from the
// layers.Change notifications of a layers.Observed store (Handler.Watch).
// Writes that bypass the Observed store (another replica writing to the
// same PostGIS) are not seen until a whole-layer change; the same holds
// for the tile cache. The index also answers GET /api/h3/{id} (see
// Handler.H3 and H3Index.Cells).
//
// # Cache
//
// A Cache keeps rendered tiles in memory, bounded by bytes (LRU), computes
// each missing tile once however many requests ask for it, and drops
// exactly the tiles a layers.Change can have touched. A Handler can bound
// the cache misses it builds at once (WithBuildLimit), so that they queue
// instead of sharing the cores; riskmap serve bounds them to the number of
// cores for the embedded store.
package tiles
