package geo

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/paulmach/orb"
)

// This file converts between the three datums met in Chinese map data:
// WGS 84 (GPS, OSM; CGCS2000 is the same to the centimetre), GCJ-02 (the
// obfuscated datum of Amap, Tencent and DataV) and BD-09 (Baidu's second
// offset on top of GCJ-02). The forward formulas are the public ones
// (eviltransform, coordtransform); the inverses here are iterative and
// exact to well under a millimetre, unlike the usual one-step inverses,
// which are off by up to about 2 m.

// CRS names a geographic coordinate reference system of lon/lat degrees.
// Its zero value is WGS84.
type CRS uint8

// The coordinate reference systems known to the package.
const (
	WGS84    CRS = iota // EPSG:4326, OGC CRS84
	CGCS2000            // EPSG:4490; identical to WGS84 at map accuracy
	GCJ02               // "Mars coordinates": Amap, Tencent, DataV
	BD09                // Baidu
)

// ErrUnknownCRS is returned (wrapped) by ParseCRS for a name it does not know.
var ErrUnknownCRS = errors.New("geo: unknown CRS")

// String returns the short lower-case name of c, as accepted by ParseCRS.
func (c CRS) String() string {
	switch c {
	case WGS84:
		return "wgs84"
	case CGCS2000:
		return "cgcs2000"
	case GCJ02:
		return "gcj02"
	case BD09:
		return "bd09"
	}
	return fmt.Sprintf("CRS(%d)", uint8(c))
}

// MarshalText implements encoding.TextMarshaler.
func (c CRS) MarshalText() ([]byte, error) {
	if c > BD09 {
		return nil, fmt.Errorf("%w: %d", ErrUnknownCRS, uint8(c))
	}
	return []byte(c.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with ParseCRS.
func (c *CRS) UnmarshalText(b []byte) error {
	v, err := ParseCRS(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// ParseCRS reads a CRS name, case-insensitively: the short names
// ("wgs84", "cgcs2000", "gcj02", "bd09", with or without a hyphen),
// "EPSG:4326", "EPSG:4490", "CRS84", their OGC URIs
// (http://www.opengis.net/def/crs/OGC/1.3/CRS84,
// http://www.opengis.net/def/crs/EPSG/0/4326 and .../4490) and their URNs
// (urn:ogc:def:crs:OGC:1.3:CRS84, urn:ogc:def:crs:EPSG::4326).
//
// Only the datum is returned: EPSG:4326 and EPSG:4490 officially list
// latitude first, and honouring that axis order (as OGC API – Features
// requires for those URIs) is the caller's business.
func ParseCRS(s string) (CRS, error) {
	k := strings.ToLower(strings.TrimSpace(s))
	k = strings.TrimPrefix(k, "https://")
	k = strings.TrimPrefix(k, "http://")
	switch k {
	case "wgs84", "wgs-84", "wgs 84", "epsg:4326", "crs84",
		"www.opengis.net/def/crs/ogc/1.3/crs84",
		"www.opengis.net/def/crs/epsg/0/4326",
		"urn:ogc:def:crs:ogc:1.3:crs84", "urn:ogc:def:crs:ogc::crs84",
		"urn:ogc:def:crs:epsg::4326", "urn:ogc:def:crs:epsg:0:4326":
		return WGS84, nil
	case "cgcs2000", "cgcs-2000", "epsg:4490",
		"www.opengis.net/def/crs/epsg/0/4490",
		"urn:ogc:def:crs:epsg::4490", "urn:ogc:def:crs:epsg:0:4490":
		return CGCS2000, nil
	case "gcj02", "gcj-02", "gcj":
		return GCJ02, nil
	case "bd09", "bd-09", "bd09ll":
		return BD09, nil
	}
	return 0, fmt.Errorf("%w: %q", ErrUnknownCRS, s)
}

// ToWGS84 returns a copy of g converted from c to WGS84 (g itself is not
// changed). An unknown c gives an unchanged copy.
func ToWGS84(c CRS, g orb.Geometry) orb.Geometry {
	switch c {
	case GCJ02:
		return mapPoints(orb.Clone(g), GCJ02ToWGS84)
	case BD09:
		return mapPoints(orb.Clone(g), BD09ToWGS84)
	}
	return orb.Clone(g)
}

// FromWGS84 returns a copy of g converted from WGS84 to c (g itself is not
// changed). An unknown c gives an unchanged copy.
func FromWGS84(c CRS, g orb.Geometry) orb.Geometry {
	switch c {
	case GCJ02:
		return mapPoints(orb.Clone(g), WGS84ToGCJ02)
	case BD09:
		return mapPoints(orb.Clone(g), WGS84ToBD09)
	}
	return orb.Clone(g)
}

// InChina reports whether p lies in the box where the GCJ-02 offset is
// applied (eviltransform's: lon 72.004–137.8347, lat 0.8293–55.8271).
// The conversions return points outside it unchanged.
func InChina(p orb.Point) bool {
	return p[0] >= 72.004 && p[0] <= 137.8347 && p[1] >= 0.8293 && p[1] <= 55.8271
}

// Krasovsky 1940 ellipsoid, as used by the GCJ-02 formula.
const (
	krasA  = 6378245.0
	krasE2 = 0.00669342162296594323
)

// gcjOffset returns the GCJ-02 offset in degrees (dlon, dlat) at the WGS84
// point (lon, lat).
func gcjOffset(lon, lat float64) (dlon, dlat float64) {
	x, y := lon-105, lat-35
	xp, yp := x*math.Pi, y*math.Pi
	common := 20*math.Sin(6*xp) + 20*math.Sin(2*xp)

	tlat := common + 20*math.Sin(yp) + 40*math.Sin(yp/3) + 160*math.Sin(yp/12) + 320*math.Sin(yp/30)
	tlon := common + 20*math.Sin(xp) + 40*math.Sin(xp/3) + 150*math.Sin(xp/12) + 300*math.Sin(xp/30)
	tlat = tlat*2/3 - 100 + 2*x + 3*y + 0.2*y*y + 0.1*x*y + 0.2*math.Sqrt(math.Abs(x))
	tlon = tlon*2/3 + 300 + x + 2*y + 0.1*x*x + 0.1*x*y + 0.1*math.Sqrt(math.Abs(x))

	phi := lat * math.Pi / 180
	s := math.Sin(phi)
	w := 1 - krasE2*s*s
	sw := math.Sqrt(w)
	dlat = tlat * 180 / (krasA * (1 - krasE2) / (w * sw) * math.Pi)
	dlon = tlon * 180 / (krasA / sw * math.Cos(phi) * math.Pi)
	return dlon, dlat
}

// WGS84ToGCJ02 converts p from WGS84 to GCJ-02.
func WGS84ToGCJ02(p orb.Point) orb.Point {
	if !InChina(p) {
		return p
	}
	dlon, dlat := gcjOffset(p[0], p[1])
	return orb.Point{p[0] + dlon, p[1] + dlat}
}

// GCJ02ToWGS84 converts p from GCJ-02 to WGS84 by fixed-point iteration on
// the forward formula, to better than 1e-10 degrees (about 0.01 mm).
func GCJ02ToWGS84(p orb.Point) orb.Point {
	if !InChina(p) {
		return p
	}
	w := p
	for range 10 {
		dlon, dlat := gcjOffset(w[0], w[1])
		next := orb.Point{p[0] - dlon, p[1] - dlat}
		done := math.Abs(next[0]-w[0]) < 1e-10 && math.Abs(next[1]-w[1]) < 1e-10
		w = next
		if done {
			break
		}
	}
	return w
}

const bdXPi = math.Pi * 3000 / 180

// bdForward is Baidu's offset from GCJ-02 to BD-09.
func bdForward(p orb.Point) orb.Point {
	x, y := p[0], p[1]
	z := math.Hypot(x, y) + 0.00002*math.Sin(y*bdXPi)
	theta := math.Atan2(y, x) + 0.000003*math.Cos(x*bdXPi)
	return orb.Point{z*math.Cos(theta) + 0.0065, z*math.Sin(theta) + 0.006}
}

// bdBackward is the published one-step inverse of bdForward (about 0.1 m).
func bdBackward(p orb.Point) orb.Point {
	x, y := p[0]-0.0065, p[1]-0.006
	z := math.Hypot(x, y) - 0.00002*math.Sin(y*bdXPi)
	theta := math.Atan2(y, x) - 0.000003*math.Cos(x*bdXPi)
	return orb.Point{z * math.Cos(theta), z * math.Sin(theta)}
}

// GCJ02ToBD09 converts p from GCJ-02 to BD-09.
func GCJ02ToBD09(p orb.Point) orb.Point {
	if !InChina(p) {
		return p
	}
	return bdForward(p)
}

// BD09ToGCJ02 converts p from BD-09 to GCJ-02: the published one-step
// inverse refined by fixed-point iteration on the forward formula, so that
// BD09ToGCJ02(GCJ02ToBD09(q)) == q to better than 1e-10 degrees.
func BD09ToGCJ02(p orb.Point) orb.Point {
	if !InChina(p) {
		return p
	}
	g := bdBackward(p)
	for range 5 {
		f := bdForward(g)
		dx, dy := p[0]-f[0], p[1]-f[1]
		g = orb.Point{g[0] + dx, g[1] + dy}
		if math.Abs(dx) < 1e-10 && math.Abs(dy) < 1e-10 {
			break
		}
	}
	return g
}

// WGS84ToBD09 converts p from WGS84 to BD-09.
func WGS84ToBD09(p orb.Point) orb.Point { return GCJ02ToBD09(WGS84ToGCJ02(p)) }

// BD09ToWGS84 converts p from BD-09 to WGS84.
func BD09ToWGS84(p orb.Point) orb.Point { return GCJ02ToWGS84(BD09ToGCJ02(p)) }
