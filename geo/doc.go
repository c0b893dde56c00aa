// Package geo is pure geometry over orb in WGS84 lon/lat: ground distances
// in metres, metric bounds and buffers, conversion between WGS84, GCJ-02
// and BD-09, and H3 cells. It is the only package that imports h3-go. It
// does no I/O and knows no domain words.
package geo
