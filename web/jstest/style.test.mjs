import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mapStyle, source, order } from '../static/js/style.js';

const COLS = [
  { id: 'fire_stations', geometry: ['Point'], minzoom: 12 },
  { id: 'buildings', geometry: ['Polygon'], minzoom: 14, extent: { spatial: { bbox: [[106.3, 29.1, 106.9, 29.7]] } } },
  { id: 'towns', geometry: ['Polygon'] },
  { id: 'water_gaps', geometry: ['Polygon'], derived: true, minzoom: 12 },
];

test('mapStyle: a source per collection, layers in drawing order, the overlay on top', () => {
  const { style, byCol } = mapStyle(COLS, new Set(['towns', 'fire_stations']), '2026-11-29', 'http://h');
  assert.deepEqual(Object.keys(style.sources).sort(), ['overlay', 's:buildings', 's:fire_stations', 's:towns', 's:water_gaps']);
  assert.equal(style.sources['s:towns'].tiles[0], 'http://h/tiles/towns/{z}/{x}/{y}.mvt');
  const ids = style.layers.map((l) => l.id);
  // no background layer: the first frame compiles no shader
  assert.ok(!style.layers.some((l) => l.type === 'background'));
  assert.deepEqual(ids.slice(-3), ['overlay:fill', 'overlay:line', 'overlay:point']);
  // each collection's layers come together, collections in order()
  const cols = ids.slice(0, -3).map((id) => id.split(':')[0]);
  const seq = cols.filter((c, i) => i === 0 || cols[i - 1] !== c);
  assert.deepEqual(seq, [...COLS].map((c) => c.id).sort((a, b) => order(a) - order(b)));
  for (const [id, ls] of Object.entries(byCol)) {
    assert.deepEqual(ls, ids.filter((l) => l.split(':')[0] === id));
    for (const l of style.layers.filter((x) => ls.includes(x.id))) {
      const want = id === 'towns' || id === 'fire_stations' ? 'visible' : 'none';
      assert.equal(l.layout.visibility, want, l.id);
      assert.equal(l.source, 's:' + id);
    }
  }
});

test('source: points from zoom 0 (the heat), other layers from their minzoom, bounds with a margin', () => {
  assert.equal(source(COLS[0], '').minzoom, 0);
  const b = source(COLS[1], '');
  assert.equal(b.minzoom, 14);
  assert.deepEqual(b.bounds.map((v) => Math.round(v * 100) / 100), [106.29, 29.09, 106.91, 29.71]);
  assert.equal(source(COLS[2], '').bounds, undefined);
  assert.equal(source({ id: 'x', geometry: ['Polygon'], minzoom: 18 }, '').minzoom, 14);
});
