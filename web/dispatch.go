package web

import (
	"math"
	"net/http"
	"net/url"
	"strconv"

	"github.com/paulmach/orb"

	"riskmap/dispatch"
	"riskmap/geo"
)

// dispatchParams are the parameters of GET /api/dispatch.
type dispatchParams struct {
	lon, lat float64 // as given, in crs
	crs      geo.CRS
	k        int
}

// parseDispatch reads lon, lat, crs (wgs84 or gcj02, or another CRS
// geo.ParseCRS knows) and k (1…20, default 5); every error names its
// parameter.
func parseDispatch(v url.Values) (dispatchParams, error) {
	p := dispatchParams{crs: geo.WGS84, k: 5}
	for key, vals := range v {
		if len(vals) != 1 {
			return p, badRequest("parameter %q is given %d times; give it once", key, len(vals))
		}
		switch key {
		case "lon", "lat", "crs", "k":
		default:
			return p, badRequest("unknown parameter %q: dispatch takes lon, lat, crs and k", key)
		}
	}
	num := func(key string, lo, hi float64) (float64, error) {
		s := v.Get(key)
		if s == "" {
			return 0, badRequest("%s is required", key)
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, badRequest("%s must be a number, got %q", key, s)
		}
		if f < lo || f > hi {
			return 0, badRequest("%s must be from %g to %g, got %g", key, lo, hi, f)
		}
		return f, nil
	}
	var err error
	if p.lon, err = num("lon", -180, 180); err != nil {
		return p, err
	}
	if p.lat, err = num("lat", -90, 90); err != nil {
		return p, err
	}
	if s := v.Get("crs"); s != "" {
		if p.crs, err = geo.ParseCRS(s); err != nil {
			return p, badRequest("crs: %v", err)
		}
	}
	if s := v.Get("k"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > dispatch.MaxK {
			return p, badRequest("k must be an integer from 1 to %d, got %q", dispatch.MaxK, s)
		}
		p.k = n
	}
	return p, nil
}

func (s *server) dispatch(w http.ResponseWriter, r *http.Request) error {
	p, err := parseDispatch(r.URL.Query())
	if err != nil {
		return err
	}
	at := geo.ToWGS84(p.crs, orb.Point{p.lon, p.lat}).(orb.Point)
	b, err := s.disp.Brief(r.Context(), at, p.k, p.crs)
	if err != nil {
		return err
	}
	out := geo.FromWGS84(p.crs, at).(orb.Point)
	b.Incident = dispatch.Point{Lon: out[0], Lat: out[1], Input: &dispatch.Input{Lon: p.lon, Lat: p.lat, CRS: p.crs.String()}}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, "application/json", "", b)
}
