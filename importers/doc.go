// Package importers reads district data — GeoJSON and GeoJSON sequences,
// CSV (lon/lat or WKT columns, UTF-8 or GBK), Shapefiles and GeoPackages —
// validates every record against its layer's schema, converts GCJ-02 and
// BD-09 coordinates to WGS84, and writes the layer all or nothing (or the
// valid rows plus a reject file when asked to skip bad ones).
package importers
