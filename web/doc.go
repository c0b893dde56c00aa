// Package web is riskmap's HTTP surface: the OGC API – Features routes,
// the analyses and the health check, the tile routes of a TileServer, and
// the page at /. Every route is registered in New; handlers return errors
// and one function (writeError) maps them to status codes and JSON bodies.
package web
