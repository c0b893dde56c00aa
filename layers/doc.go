// Package layers is the domain of riskmap: the catalog of layers with their
// typed schemas, the Feature and Query types, and the small Store interface
// that the embedded store (layers/memstore) and PostGIS (layers/postgis)
// implement. layers/storetest holds the conformance suite both must pass.
package layers
