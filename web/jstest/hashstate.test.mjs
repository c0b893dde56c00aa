import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHash, formatHash, DEFAULT_VIEW } from '../static/js/hashstate.js';

test('hash round trip', () => {
  const s = { view: { zoom: 13.5, lat: 29.38, lon: 106.54 }, layers: ['towns', 'water_gaps'], mode: 'analyses', analysis: 'water-coverage', town: '鱼洞街道', lang: 'en', basemap: 'https://example.org/style.json?k=1&x=2' };
  const h = formatHash(s);
  assert.match(h, /^#map=13\.50\/29\.38000\/106\.54000&layers=towns,water_gaps&mode=analyses/);
  assert.deepEqual(parseHash(h), s);
});

test('defaults and bad values', () => {
  for (const h of ['', '#', '#map=abc', '#map=30/29/106', '#map=10/95/106', '#mode=nope&lang=fr']) {
    const s = parseHash(h);
    assert.deepEqual(s.view, DEFAULT_VIEW, h);
    assert.equal(s.mode, 'layers', h);
    assert.equal(s.lang, 'zh', h);
    assert.equal(s.layers, null, h);
  }
  assert.deepEqual(parseHash('#layers=').layers, []);
  assert.equal(formatHash(parseHash('')), '#map=10.40/29.44000/106.71000');
});
