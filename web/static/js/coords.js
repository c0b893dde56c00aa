// Coordinates typed by a dispatcher: parsing, and GCJ-02 (the offset
// coordinates of Amap, Tencent and most Chinese phone apps) to WGS84.
// The formula is the one of riskmap/geo (gcj.go); web/jstest checks both
// agree on the same points.

const KRAS_A = 6378245.0;
const KRAS_E2 = 0.00669342162296594323;

export function inChina(lon, lat) {
  return lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271;
}

function offset(lon, lat) {
  const x = lon - 105, y = lat - 35;
  const xp = x * Math.PI, yp = y * Math.PI;
  const common = 20 * Math.sin(6 * xp) + 20 * Math.sin(2 * xp);
  let tlat = common + 20 * Math.sin(yp) + 40 * Math.sin(yp / 3) + 160 * Math.sin(yp / 12) + 320 * Math.sin(yp / 30);
  let tlon = common + 20 * Math.sin(xp) + 40 * Math.sin(xp / 3) + 150 * Math.sin(xp / 12) + 300 * Math.sin(xp / 30);
  tlat = tlat * 2 / 3 - 100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
  tlon = tlon * 2 / 3 + 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
  const phi = lat * Math.PI / 180;
  const s = Math.sin(phi);
  const w = 1 - KRAS_E2 * s * s;
  const sw = Math.sqrt(w);
  return [tlon * 180 / (KRAS_A / sw * Math.cos(phi) * Math.PI), tlat * 180 / (KRAS_A * (1 - KRAS_E2) / (w * sw) * Math.PI)];
}

export function wgs84ToGcj02(lon, lat) {
  if (!inChina(lon, lat)) return [lon, lat];
  const [dx, dy] = offset(lon, lat);
  return [lon + dx, lat + dy];
}

// gcj02ToWgs84 inverts the offset by fixed-point iteration (< 1e-10°).
export function gcj02ToWgs84(lon, lat) {
  if (!inChina(lon, lat)) return [lon, lat];
  let w = [lon, lat];
  for (let i = 0; i < 10; i++) {
    const [dx, dy] = offset(w[0], w[1]);
    const next = [lon - dx, lat - dy];
    const done = Math.abs(next[0] - w[0]) < 1e-10 && Math.abs(next[1] - w[1]) < 1e-10;
    w = next;
    if (done) break;
  }
  return w;
}

// parseLonLat reads "106.54, 29.38" (or with spaces, or "lat, lon" when
// the order is obvious in China: longitudes > 60, latitudes < 60). It
// throws an Error whose message is a key of the i18n strings.
export function parseLonLat(text) {
  const nums = String(text || '').trim().split(/[\s,，;；]+/).filter(Boolean).map(Number);
  if (nums.length !== 2 || !nums.every(Number.isFinite)) throw new Error('coordsFormat');
  let [lon, lat] = nums;
  if (lon < 60 && lat > 60) [lon, lat] = [lat, lon];
  if (Math.abs(lon) > 180 || Math.abs(lat) > 90) throw new Error('coordsRange');
  return { lon, lat };
}

// toWgs84 converts typed coordinates in crs ('wgs84' or 'gcj02').
export function toWgs84(p, crs) {
  if (crs === 'gcj02') {
    const [lon, lat] = gcj02ToWgs84(p.lon, p.lat);
    return { lon, lat };
  }
  return { lon: p.lon, lat: p.lat };
}
