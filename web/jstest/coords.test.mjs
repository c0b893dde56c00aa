// Unit tests of the page's JavaScript logic: node --test web/jstest/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseLonLat, wgs84ToGcj02, gcj02ToWgs84, toWgs84 } from '../static/js/coords.js';

// WGS84 → GCJ-02 by riskmap/geo (geo.WGS84ToGCJ02), printed by Go.
const GO = [
  [106.54, 29.38, 106.5437299951, 29.3770917614],
  [106.7, 29.5, 106.7039096011, 29.4972227690],
  [116.39, 39.9, 116.3962395025, 39.9014002875],
];

test('GCJ-02 agrees with riskmap/geo', () => {
  for (const [lon, lat, glon, glat] of GO) {
    const [x, y] = wgs84ToGcj02(lon, lat);
    assert.ok(Math.abs(x - glon) < 1e-9 && Math.abs(y - glat) < 1e-9, `${lon},${lat} → ${x},${y}, Go ${glon},${glat}`);
    const [bx, by] = gcj02ToWgs84(glon, glat);
    assert.ok(Math.abs(bx - lon) < 1e-8 && Math.abs(by - lat) < 1e-8, `back: ${bx},${by}`);
  }
});

test('GCJ-02 leaves points outside China alone', () => {
  assert.deepEqual(wgs84ToGcj02(2.35, 48.85), [2.35, 48.85]);
  assert.deepEqual(gcj02ToWgs84(-74, 40.7), [-74, 40.7]);
});

test('parseLonLat', () => {
  const cases = [
    ['106.54, 29.38', { lon: 106.54, lat: 29.38 }],
    ['106.54 29.38', { lon: 106.54, lat: 29.38 }],
    ['106.54，29.38', { lon: 106.54, lat: 29.38 }],
    ['29.38, 106.54', { lon: 106.54, lat: 29.38 }], // lat, lon: obvious in China
    ['  106.5;29.4 ', { lon: 106.5, lat: 29.4 }],
  ];
  for (const [text, want] of cases) assert.deepEqual(parseLonLat(text), want, text);
  for (const [text, key] of [['', 'coordsFormat'], ['106.5', 'coordsFormat'], ['a, b', 'coordsFormat'], ['1 2 3', 'coordsFormat'], ['200, 29', 'coordsRange'], ['106, 95', 'coordsRange']]) {
    assert.throws(() => parseLonLat(text), { message: key }, text);
  }
});

test('toWgs84', () => {
  assert.deepEqual(toWgs84({ lon: 106.54, lat: 29.38 }, 'wgs84'), { lon: 106.54, lat: 29.38 });
  const p = toWgs84({ lon: GO[0][2], lat: GO[0][3] }, 'gcj02');
  assert.ok(Math.abs(p.lon - 106.54) < 1e-8 && Math.abs(p.lat - 29.38) < 1e-8);
});
