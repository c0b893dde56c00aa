// The riskmap web map: one page, four modes (layers, analyses, dispatch,
// hazards), Chinese first with an English switch, state in the URL hash.
// MapLibre GL JS is loaded from /static/vendor (copied from npm by make);
// without it the panels still work and the page says why the map is
// missing.
import { parseHash, formatHash } from './hashstate.js';
import { I18n } from './i18n.js';
import * as style from './style.js';
import { describe, fmtNum, value } from './popup.js';
import { barChart } from './chart.js';
import { parseLonLat, toWgs84 } from './coords.js';

const $ = (sel, el = document) => el.querySelector(sel);
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
const OPEN = ['reported', 'assigned', 'rectifying'];

// api fetches JSON; it never throws for an HTTP error: {ok, status, data}.
async function api(url, opts = {}) {
  try {
    const r = await fetch(url, opts);
    let data = null;
    if ((r.headers.get('Content-Type') || '').includes('json')) data = await r.json().catch(() => null);
    return { ok: r.ok, status: r.status, data };
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    return { ok: false, status: 0, data: { message: String(e) } };
  }
}
const errText = (r) => (r.data && (r.data.message || r.data.error)) || `HTTP ${r.status}`;

// fit the district on a first visit (no view in the hash)
const FIT = !/(^|[#&])map=/.test(location.hash);

const app = {
  state: parseHash(location.hash),
  i18n: null,
  cols: [], byID: {}, analyses: [], rules: {},
  ml: null, map: null, styleLayers: {}, baseFilters: {},
  towns: null, counts: {}, hazards: null,
  whatIf: { ids: [], picking: false, result: null, base: null },
  dispatch: null, hazardSel: null, hzStatus: '',
  mapErrors: [], // MapLibre's error events (a tile that failed to load, a bad style)
};
window.riskmap = app; // for the browser test and the console

function setHash() {
  const h = formatHash(app.state);
  if (h !== location.hash) history.replaceState(null, '', h);
}

function msg(text) {
  const m = $('#map-msg');
  m.hidden = !text;
  m.textContent = text || '';
}

async function boot() {
  app.i18n = new I18n(app.state.lang);
  // MapLibre (1.1 MB, modulepreloaded by the page) loads while the layer
  // list and the analyses come; the map starts as soon as MapLibre and
  // the layer list are there, the panel when the analyses are too
  const maplibre = import('../vendor/maplibre-gl.mjs').catch(() => null);
  const analyses = api('/api/analyses');
  const cr = await api('/api/collections');
  if (!cr.ok) {
    $('#panel').innerHTML = `<p class="err">${esc(app.i18n.s('loadError'))} /api/collections: ${esc(errText(cr))}</p>`;
    return;
  }
  app.cols = cr.data.collections;
  for (const c of app.cols) app.byID[c.id] = c;
  if (!app.state.layers) app.state.layers = style.DEFAULT_ON.filter((id) => app.byID[id]);
  const mapped = maplibre.then((ml) => {
    app.ml = ml;
    performance.mark('riskmap:maplibre');
    if (!ml) {
      msg(app.i18n.s('noMaplibre'));
      document.body.dataset.ready = 'nomap';
      return;
    }
    initMap();
  });

  const ar = await analyses;
  app.analyses = ar.ok ? ar.data.analyses : [];
  for (const a of app.analyses) for (const r of a.rules || []) app.rules[r.id] = r;
  $('#lang').onclick = () => {
    app.state.lang = app.state.lang === 'en' ? 'zh' : 'en';
    app.i18n = new I18n(app.state.lang);
    render();
  };
  for (const b of document.querySelectorAll('#modes button')) b.onclick = () => setMode(b.dataset.mode);
  $('#panel-toggle').onclick = () => $('#panel').classList.toggle('hidden');
  window.addEventListener('hashchange', () => {
    if (location.hash === formatHash(app.state)) return;
    const s = parseHash(location.hash);
    app.state = { ...s, layers: s.layers || app.state.layers };
    app.i18n = new I18n(app.state.lang);
    if (app.map) app.map.jumpTo({ center: [s.view.lon, s.view.lat], zoom: s.view.zoom });
    syncLayers();
    render();
  });
  render();
  await mapped;
}

// ---------- the map ----------

function initMap() {
  const { ml, state } = app;
  // the worker (0.5 MB, it fetches and parses the tiles) starts loading
  // now, not after the WebGL context, which takes the main thread for a
  // while in a software renderer
  ml.prewarm();
  const ours = style.mapStyle(app.cols, new Set(state.layers), style.isoDay(new Date()), location.origin);
  app.styleLayers = ours.byCol;
  // undefined where a layer has none: MapLibre's setFilter ignores a
  // filter equal to the layer's own, but null for undefined is a change,
  // which makes it parse the layer's tiles again
  for (const l of ours.style.layers) app.baseFilters[l.id] = l.filter;
  const tb = app.byID.towns && app.byID.towns.extent && app.byID.towns.extent.spatial.bbox[0];
  const fit = FIT && tb ? [[tb[0], tb[1]], [tb[2], tb[3]]] : null;
  const opts = {
    container: 'map', style: state.basemap || ours.style, maxZoom: 19,
    // no fade-in of labels: the first view is drawn once, at once
    fadeDuration: 0,
    attributionControl: { compact: true, customAttribution: 'riskmap · 巴南区演示数据 demo data' },
  };
  if (fit && !state.basemap) Object.assign(opts, { bounds: fit, fitBoundsOptions: { padding: 10 } });
  else Object.assign(opts, { center: [state.view.lon, state.view.lat], zoom: state.view.zoom });
  const map = new ml.Map(opts);
  performance.mark('riskmap:map'); // the WebGL context is there
  app.map = map;
  map.once('style.load', () => performance.mark('riskmap:style'));
  map.addControl(new ml.NavigationControl({ showCompass: false }), 'top-right');
  map.addControl(new ml.ScaleControl({ unit: 'metric' }), 'bottom-left');
  map.on('error', (e) => {
    const m = (e && e.error && e.error.message) || '';
    app.mapErrors.push(m || String(e && e.type));
    if (/style|basemap/i.test(m) && state.basemap) msg(`${app.i18n.s('loadError')}: ${state.basemap}`);
  });
  // load: the style and the first view's tiles are loaded, and drawn once
  map.on('load', () => {
    performance.mark('riskmap:map-load');
    if (state.basemap) {
      // a basemap's style: fit the district and add our layers over it
      if (fit) map.fitBounds(fit, { padding: 10, animate: false });
      addLayers(ours.style);
    }
    viewChanged();
    syncLayers();
    render();
    map.once('idle', () => {
      app.readyMs = Math.round(performance.now());
      document.body.dataset.ready = '1';
    });
  });
  map.on('moveend', viewChanged);
  map.on('click', onMapClick);
  map.on('mousemove', (e) => {
    const hit = map.queryRenderedFeatures(e.point, { layers: clickable() }).length > 0;
    map.getCanvas().style.cursor = hit || app.state.mode === 'dispatch' || app.whatIf.picking ? 'pointer' : '';
  });
}

// viewChanged keeps the view in the hash and the counts in view.
function viewChanged() {
  const c = app.map.getCenter();
  app.state.view = { zoom: app.map.getZoom(), lat: c.lat, lon: c.lng };
  setHash();
  scheduleCounts();
}

// addLayers adds our sources and layers over a basemap's style.
function addLayers(ours) {
  for (const [id, src] of Object.entries(ours.sources)) app.map.addSource(id, src);
  for (const l of ours.layers) app.map.addLayer(l);
}

function setOverlay(features) {
  const s = app.map && app.map.getSource('overlay');
  if (s) s.setData({ type: 'FeatureCollection', features });
}

function clickable() {
  const out = [];
  for (const id of app.state.layers || []) if (id !== 'towns') out.push(...(app.styleLayers[id] || []));
  return out.filter((l) => app.map.getLayer(l));
}

function syncLayers() {
  if (!app.map || !app.map.getSource('overlay')) return;
  const on = new Set(app.state.layers);
  for (const [id, ls] of Object.entries(app.styleLayers)) {
    for (const l of ls) app.map.setLayoutProperty(l, 'visibility', on.has(id) ? 'visible' : 'none');
  }
  applyTownFilter();
  setHash();
  scheduleCounts();
}

function setLayer(id, on) {
  const s = new Set(app.state.layers);
  if (on) s.add(id); else s.delete(id);
  app.state.layers = app.cols.map((c) => c.id).filter((x) => s.has(x));
  syncLayers();
}

// applyTownFilter shows only the selected town's features of the derived
// layers of the analysis being viewed.
// In the hazards mode, a status picked in the panel filters the hazards.
function applyTownFilter() {
  if (!app.map || !app.map.getSource('overlay')) return;
  const a = app.analyses.find((x) => x.id === app.state.analysis);
  const town = app.state.mode === 'analyses' ? app.state.town : '';
  const status = app.state.mode === 'hazards' ? app.hzStatus : '';
  for (const [id, ls] of Object.entries(app.styleLayers)) {
    let extra = null;
    if (town && a && a.layers.includes(id)) extra = ['==', ['get', 'town'], town];
    if (status && id === 'hazards') extra = ['==', ['get', 'status'], status];
    for (const l of ls) {
      const f = app.baseFilters[l];
      app.map.setFilter(l, extra ? (f ? ['all', f, extra] : extra) : f);
    }
  }
}

// Counts in view: numberMatched of each layer on, over the view's bbox.
let countTimer = null, countAbort = null;
function scheduleCounts() {
  clearTimeout(countTimer);
  countTimer = setTimeout(updateCounts, 350);
}
async function updateCounts() {
  if (!app.map) return;
  if (countAbort) countAbort.abort();
  countAbort = new AbortController();
  // the view, clipped to the district's towns (plus a margin): the items
  // route refuses a bbox over 4 square degrees
  const b = app.map.getBounds();
  const tb = (app.byID.towns && app.byID.towns.extent && app.byID.towns.extent.spatial.bbox[0]) || [105.5, 28.5, 107.5, 30.3];
  const box = [Math.max(b.getWest(), tb[0] - 0.2), Math.max(b.getSouth(), tb[1] - 0.2), Math.min(b.getEast(), tb[2] + 0.2), Math.min(b.getNorth(), tb[3] + 0.2)];
  if (box[0] >= box[2] || box[1] >= box[3]) return;
  const bbox = box.map((v) => v.toFixed(5)).join(',');
  const signal = countAbort.signal;
  try {
    await Promise.all((app.state.layers || []).map(async (id) => {
      const r = await api(`/api/collections/${id}/items?limit=1&bbox=${bbox}`, { signal });
      if (r.ok) app.counts[id] = r.data.numberMatched;
    }));
  } catch (e) {
    return; // aborted by a newer view
  }
  if (app.state.mode === 'layers') renderCounts();
}

// ---------- clicks and popups ----------

function onMapClick(e) {
  const { state, whatIf } = app;
  if (state.mode === 'dispatch') {
    runDispatch({ lon: e.lngLat.lng, lat: e.lngLat.lat }, { lon: e.lngLat.lng, lat: e.lngLat.lat, crs: 'wgs84' });
    return;
  }
  if (whatIf.picking) {
    const f = app.map.queryRenderedFeatures([[e.point.x - 5, e.point.y - 5], [e.point.x + 5, e.point.y + 5]], { layers: app.styleLayers.water_sources.filter((l) => !l.endsWith(':heat')) })[0];
    if (f && f.id != null && !whatIf.ids.includes(f.id)) {
      whatIf.ids.push(f.id);
      runWhatIf();
    }
    return;
  }
  const fs = app.map.queryRenderedFeatures([[e.point.x - 3, e.point.y - 3], [e.point.x + 3, e.point.y + 3]], { layers: clickable() });
  if (!fs.length) return;
  const f = fs[0];
  const [colID, suffix] = f.layer.id.split(':');
  const col = app.byID[colID];
  if (!col) return;
  if (state.mode === 'hazards' && colID === 'hazards' && f.id != null) selectHazard(f.id);
  const d = describe(col, f.properties, app.rules, state.lang, suffix === 'heat');
  const html = `<h4>${esc(d.title)}</h4><table>${d.rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>` +
    (d.evidence ? `<div class="evidence">${esc(d.evidence)}</div>` : '');
  new app.ml.Popup({ maxWidth: '340px' }).setLngLat(e.lngLat).setHTML(html).addTo(app.map);
}

// ---------- panels ----------

function setMode(mode) {
  app.state.mode = mode;
  if (mode !== 'analyses') app.whatIf.picking = false;
  if (app.map) applyTownFilter();
  setHash();
  render();
}

function render() {
  const { i18n, state } = app;
  document.documentElement.lang = state.lang === 'en' ? 'en' : 'zh-CN';
  $('#title').textContent = i18n.s('title');
  document.title = `${i18n.s('title')} · riskmap`;
  $('#lang').textContent = i18n.s('langSwitch');
  const names = { layers: 'modeLayers', analyses: 'modeAnalyses', dispatch: 'modeDispatch', hazards: 'modeHazards' };
  for (const b of document.querySelectorAll('#modes button')) {
    b.textContent = i18n.s(names[b.dataset.mode]);
    b.setAttribute('aria-selected', String(b.dataset.mode === state.mode));
  }
  const p = $('#panel');
  p.dataset.mode = state.mode;
  if (state.mode === 'layers') renderLayers(p);
  else if (state.mode === 'analyses') renderAnalyses(p);
  else if (state.mode === 'dispatch') renderDispatch(p);
  else renderHazards(p);
  setHash();
}

function swatches(col) {
  const lg = style.legend(col, app.state.lang, { overdue: app.i18n.s('overdue'), supervised: app.i18n.s('supervised') });
  return lg.map((e) => `<span><i class="sw ${e.shape}" style="background:${e.color}${e.stroke ? `;border:2px solid ${e.stroke}` : ''}"></i>${esc(e.label)}</span>`).join('');
}

function renderLayers(p) {
  const { i18n, state } = app;
  const on = new Set(state.layers);
  const group = (derived) => app.cols.filter((c) => !!c.derived === derived).map((c) => `
    <div class="layer" data-layer="${c.id}">
      <input type="checkbox" id="cb-${c.id}" ${on.has(c.id) ? 'checked' : ''}>
      <label for="cb-${c.id}" title="${esc(c.id)}">${esc(state.lang === 'en' ? c.title_en : c.title_zh)}</label>
      <span class="n" data-count="${c.id}"></span>
      <div class="legend">${on.has(c.id) ? swatches(c) : ''}</div>
    </div>`).join('');
  p.innerHTML = `<h3>${esc(i18n.s('baseLayers'))}</h3>${group(false)}
    <h3>${esc(i18n.s('derivedLayers'))}</h3>${group(true)}
    <h3>${esc(i18n.s('basemap'))}</h3>
    <div class="row"><input type="text" id="basemap" value="${esc(state.basemap)}" placeholder="https://…/style.json" style="flex:1"><button class="act" id="basemap-go">${esc(i18n.s('apply'))}</button></div>
    <p class="muted">${esc(i18n.s('basemapHint'))}</p>`;
  for (const cb of p.querySelectorAll('.layer input')) {
    cb.onchange = () => { setLayer(cb.closest('.layer').dataset.layer, cb.checked); renderLayers(p); };
  }
  $('#basemap-go', p).onclick = () => {
    state.basemap = $('#basemap', p).value.trim();
    setHash();
    location.reload();
  };
  renderCounts();
}

function renderCounts() {
  for (const el of document.querySelectorAll('[data-count]')) {
    const id = el.dataset.count;
    const on = (app.state.layers || []).includes(id);
    el.textContent = on && app.counts[id] != null ? `${app.counts[id].toLocaleString()} ${app.i18n.s('inView')}` : '';
  }
}

// ----- analyses -----

async function renderAnalyses(p) {
  const { i18n, state } = app;
  if (!app.analyses.length) {
    p.innerHTML = `<p class="muted">${esc(i18n.s('notDeployed'))}/api/analyses</p>`;
    return;
  }
  const opts = app.analyses.map((a) => `<option value="${a.id}" ${a.id === state.analysis ? 'selected' : ''}>${esc(i18n.t(a.title))}</option>`).join('');
  p.innerHTML = `<h3>${esc(i18n.s('pickAnalysis'))}</h3><select id="analysis"><option value="">—</option>${opts}</select><div id="analysis-body"></div>`;
  $('#analysis', p).onchange = (e) => pickAnalysis(e.target.value);
  if (state.analysis) await showAnalysis();
}

function pickAnalysis(id) {
  const { state } = app;
  state.analysis = id;
  state.town = '';
  app.chartMetric = '';
  app.whatIf = { ids: [], picking: false, result: null, base: null };
  setOverlay([]);
  const a = app.analyses.find((x) => x.id === id);
  if (a) {
    // the analysis's layers on, other derived layers off
    const keep = app.state.layers.filter((l) => !app.byID[l] || !app.byID[l].derived);
    state.layers = [...keep, ...a.layers];
    syncLayers();
  }
  renderAnalyses($('#panel'));
}

async function showAnalysis() {
  const { i18n, state } = app;
  const body = $('#analysis-body');
  const a = app.analyses.find((x) => x.id === state.analysis);
  if (!a || !body) return;
  body.innerHTML = `<p class="muted">${esc(i18n.s('loading'))}</p>`;
  const q = state.town ? `&town=${encodeURIComponent(state.town)}` : '';
  const r = await api(`/api/analyses/${a.id}?limit=0${q}`);
  if (!r.ok) {
    body.innerHTML = `<p class="err">${esc(errText(r))}</p>`;
    return;
  }
  if (state.mode !== 'analyses' || state.analysis !== a.id) return;
  const sum = r.data.summary;
  const district = a.summary || sum;
  const targets = (district.targets || []);
  const townMetrics = Object.keys(((district.towns || [])[0] || {}).values || {});
  const chartMetric = townMetrics.includes(app.chartMetric) ? app.chartMetric
    : targets.length ? targets[0].metric : mainMetric(a.id, district.metrics);
  const rows = (district.towns || []).map((t) => ({ label: t.town, value: t.values[chartMetric] || 0 }));
  const target = targets.find((t) => t.metric === chartMetric);
  const metrics = Object.entries(sum.metrics).map(([k, v]) => `<tr><td>${esc(i18n.metric(k))}</td><td class="n">${esc(fmtNum(v))}${esc(i18n.unit(k))}</td></tr>`).join('');
  const tg = targets.map((t) => {
    const v = sum.metrics[t.metric];
    const met = v != null && (t.op === '<=' ? v <= t.value : v >= t.value);
    return `<li><b>${t.year}</b> ${esc(i18n.t(t.title))}: ${esc(i18n.metric(t.metric))} ${esc(fmtNum(v))}${esc(i18n.unit(t.metric))} ${t.op} ${esc(fmtNum(t.value))} — <span class="${met ? 'ok' : 'err'}">${esc(i18n.s(met ? 'met' : 'notMet'))}</span> <span class="muted">(${esc(t.source)})</span></li>`;
  }).join('');
  body.innerHTML = `<p class="muted">${esc(i18n.t(a.description))}</p>
    <h4>${esc(state.town || i18n.s('district'))}${state.town ? ` <button class="act off" id="all-towns">${esc(i18n.s('allTowns'))}</button>` : ''}</h4>
    <table>${metrics}</table>
    ${tg ? `<h4>${esc(i18n.s('targets'))}</h4><ul class="list">${tg}</ul>` : ''}
    <h4>${esc(i18n.s('byTown'))} <span class="muted">(${esc(i18n.s('clickTown'))})</span></h4>
    <select id="chart-metric">${townMetrics.map((k) => `<option value="${esc(k)}" ${k === chartMetric ? 'selected' : ''}>${esc(i18n.metric(k))}${targets.some((t) => t.metric === k) ? ' ◎' : ''}</option>`).join('')}</select>
    <div id="chart">${barChart({ rows, target, unit: i18n.unit(chartMetric), selected: state.town, targetLabel: i18n.s('target'), width: 310 })}</div>
    <div id="whatif"></div>`;
  for (const g of body.querySelectorAll('.chart .bar')) g.onclick = () => pickTown(g.dataset.town);
  $('#chart-metric', body).onchange = (e) => { app.chartMetric = e.target.value; showAnalysis(); };
  const all = $('#all-towns', body);
  if (all) all.onclick = () => pickTown('');
  if (a.id === 'water-coverage') renderWhatIf();
}

function mainMetric(id, m) {
  const pref = { 'station-reach': 'reach_pct', 'flood-exposure': 'exposed', 'distance-rules': 'violations', 'risk-index': 'red_cells' }[id];
  return pref && m && pref in m ? pref : Object.keys(m || {})[0];
}

async function townBounds() {
  if (app.towns) return app.towns;
  const r = await api('/api/collections/towns/items?limit=100');
  app.towns = {};
  for (const f of (r.ok ? r.data.features : [])) {
    let b = [180, 90, -180, -90];
    const walk = (c) => { if (typeof c[0] === 'number') b = [Math.min(b[0], c[0]), Math.min(b[1], c[1]), Math.max(b[2], c[0]), Math.max(b[3], c[1])]; else c.forEach(walk); };
    walk(f.geometry.coordinates);
    app.towns[f.properties.name] = b;
  }
  return app.towns;
}

async function pickTown(town) {
  app.state.town = town;
  if (app.map) {
    applyTownFilter();
    const tb = await townBounds();
    if (town && tb[town]) app.map.fitBounds([[tb[town][0], tb[town][1]], [tb[town][2], tb[town][3]]], { padding: 30, duration: 600 });
  }
  setHash();
  showAnalysis();
}

// what-if: water sources out of service → the coverage gaps in view
// before and after, new gaps drawn on top.
function renderWhatIf() {
  const { i18n } = app;
  const w = app.whatIf;
  const el = $('#whatif');
  if (!el) return;
  let res = '';
  if (w.result && w.base) {
    const mb = w.base.summary.metrics, ma = w.result.summary.metrics;
    res = `<table><tr><th></th><th>${esc(i18n.s('before'))}</th><th>${esc(i18n.s('after'))}</th></tr>
      ${['coverage_pct', 'gap_cells', 'uncovered_buildings', 'usable_sources'].map((k) => `<tr><td>${esc(i18n.metric(k))}</td><td class="n">${esc(fmtNum(mb[k]))}</td><td class="n">${esc(fmtNum(ma[k]))}</td></tr>`).join('')}
      <tr><td>${esc(i18n.s('newGaps'))}</td><td></td><td class="n" id="new-gaps">${w.newGaps}</td></tr></table>`;
  } else if (w.error) {
    res = `<p class="err">${esc(w.error)}</p>`;
  }
  el.innerHTML = `<h4>${esc(i18n.s('whatIf'))}</h4><p class="muted">${esc(i18n.s('whatIfHint'))}</p>
    <div class="row"><button class="act ${w.picking ? 'off' : ''}" id="wi-pick">${esc(i18n.s(w.picking ? 'whatIfOff' : 'whatIfOn'))}</button>
    <button class="act off" id="wi-clear">${esc(i18n.s('whatIfClear'))}</button></div>
    <div class="muted">${esc(i18n.s('excluded'))}: ${w.ids.map((x) => '#' + x).join(', ') || esc(i18n.s('none'))}</div>${res}`;
  $('#wi-pick').onclick = () => {
    w.picking = !w.picking;
    if (w.picking && !app.state.layers.includes('water_sources')) setLayer('water_sources', true);
    renderWhatIf();
  };
  $('#wi-clear').onclick = () => { app.whatIf = { ids: [], picking: w.picking, result: null, base: null }; setOverlay([]); renderWhatIf(); };
}

async function runWhatIf() {
  const w = app.whatIf;
  const b = app.map.getBounds();
  const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(5)).join(',');
  const [base, res] = await Promise.all([
    api(`/api/analyses/water-coverage?bbox=${bbox}&limit=5000`),
    api(`/api/analyses/water-coverage?bbox=${bbox}&limit=5000&exclude=${w.ids.join(',')}`),
  ]);
  if (!base.ok || !res.ok) {
    w.error = errText(base.ok ? res : base);
    renderWhatIf();
    return;
  }
  w.error = '';
  w.bbox = bbox;
  w.base = base.data;
  w.result = res.data;
  const had = new Set(base.data.results.water_gaps.features.map((f) => f.properties.cell));
  const fresh = res.data.results.water_gaps.features.filter((f) => !had.has(f.properties.cell));
  w.newGaps = fresh.length;
  const out = fresh.map((f) => ({ ...f, properties: { ...f.properties, color: '#6a1b9a' } }));
  // the sources taken out, as black dots
  const src = app.map.queryRenderedFeatures({ layers: app.styleLayers.water_sources.filter((l) => !l.endsWith(':heat')) });
  for (const f of src) if (w.ids.includes(f.id)) out.push({ type: 'Feature', geometry: f.geometry, properties: { color: '#000', r: 7 } });
  setOverlay(out);
  renderWhatIf();
}

// ----- dispatch -----

function renderDispatch(p) {
  const { i18n } = app;
  const d = app.dispatch;
  p.innerHTML = `<h3>${esc(i18n.s('modeDispatch'))}</h3><p class="muted">${esc(i18n.s('dispatchHint'))}</p>
    <label>${esc(i18n.s('coords'))}</label>
    <div class="row"><input type="text" id="coords" placeholder="106.5400, 29.3900" value="${esc(d && d.typed ? d.typed : '')}" style="flex:1">
    <select id="crs"><option value="wgs84">WGS84</option><option value="gcj02" ${d && d.crs === 'gcj02' ? 'selected' : ''}>GCJ-02</option></select>
    <button class="act" id="brief">${esc(i18n.s('go'))}</button></div><div id="coords-err" class="err"></div><div id="briefing"></div>`;
  $('#brief', p).onclick = () => {
    const typed = $('#coords', p).value, crs = $('#crs', p).value;
    try {
      const q = parseLonLat(typed);
      runDispatch(toWgs84(q, crs), { ...q, crs, typed });
    } catch (e) {
      $('#coords-err', p).textContent = i18n.s(e.message);
    }
  };
  renderBriefing();
}

async function runDispatch(pt, input) {
  app.dispatch = { pt, input, typed: input.typed || `${pt.lon.toFixed(6)}, ${pt.lat.toFixed(6)}`, crs: input.crs, loading: true };
  setOverlay([{ type: 'Feature', geometry: { type: 'Point', coordinates: [pt.lon, pt.lat] }, properties: { color: '#d50000', r: 8 } }]);
  if (app.state.mode === 'dispatch') renderDispatch($('#panel'));
  const r = await api(`/api/dispatch?lon=${pt.lon.toFixed(7)}&lat=${pt.lat.toFixed(7)}&crs=wgs84&k=5`);
  if (app.dispatch.pt !== pt) return;
  app.dispatch = { ...app.dispatch, loading: false, status: r.status, data: r.ok ? r.data : null, error: r.ok ? '' : errText(r) };
  if (r.ok) {
    const lines = [];
    const add = (items, color) => (items || []).forEach((it) => {
      if (it.lon == null || it.lat == null) return;
      lines.push({ type: 'Feature', geometry: { type: 'LineString', coordinates: [[pt.lon, pt.lat], [it.lon, it.lat]] }, properties: { color } });
      lines.push({ type: 'Feature', geometry: { type: 'Point', coordinates: [it.lon, it.lat] }, properties: { color, r: 5 } });
    });
    add(r.data.water_sources, '#1565c0');
    add(r.data.fire_stations, '#c62828');
    lines.push({ type: 'Feature', geometry: { type: 'Point', coordinates: [pt.lon, pt.lat] }, properties: { color: '#d50000', r: 8 } });
    setOverlay(lines);
    // frame the incident with its water sources and stations
    const pts = lines.filter((f) => f.geometry.type === 'Point').map((f) => f.geometry.coordinates);
    const lo = [Math.min(...pts.map((p) => p[0])), Math.min(...pts.map((p) => p[1]))];
    const hi = [Math.max(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[1]))];
    if (app.map) app.map.fitBounds([lo, hi], { padding: 60, maxZoom: 16, duration: 500 });
  }
  if (app.state.mode === 'dispatch') renderBriefing();
}

function renderBriefing() {
  const { i18n } = app;
  const el = $('#briefing');
  const d = app.dispatch;
  if (!el || !d) return;
  if (d.loading) { el.innerHTML = `<p class="muted">${esc(i18n.s('loading'))}</p>`; return; }
  if (d.status === 404) { el.innerHTML = `<p class="err" id="dispatch-404">${esc(i18n.s('notDeployed'))}/api/dispatch</p>`; return; }
  if (!d.data) { el.innerHTML = `<p class="err">${esc(d.error)}</p>`; return; }
  const b = d.data;
  const m = (v) => (v == null ? '' : `${fmtNum(v)} m`);
  const name = (it) => esc(it.name || (app.byID[it.layer] ? app.i18n.t({ zh: app.byID[it.layer].title_zh, en: app.byID[it.layer].title_en }) : it.layer) + ` #${it.id}`);
  const st = (it) => {
    const fd = app.byID[it.layer] && app.byID[it.layer].fields.find((f) => f.name === 'status');
    return it.status ? ` · ${esc(value(fd, it.status, app.state.lang))}` : '';
  };
  const section = (key, items, fmt) => `<h4>${esc(i18n.s(key))} (${(items || []).length})</h4>` +
    ((items || []).length ? `<ol class="list" data-section="${key}">${items.map((it) => `<li>${fmt(it)}</li>`).join('')}</ol>` : `<p class="muted">${esc(i18n.s('none'))}</p>`);
  el.innerHTML = `<h4>${esc(i18n.s('incident'))}</h4>
    <div>${b.incident.lon.toFixed(6)}, ${b.incident.lat.toFixed(6)} (WGS84)${d.crs === 'gcj02' ? ` ← GCJ-02 ${esc(d.typed)}` : ''}</div>
    <div>${b.town ? esc(b.town.name) : esc(i18n.s('outsideTowns'))}</div>
    ${section('waterSources', b.water_sources, (it) => `${name(it)}${st(it)} — ${esc(i18n.s('straight'))} ${m(it.distance_m)}${it.road_m != null ? `, ${esc(i18n.s('road'))} ${m(it.road_m)}` : `, ${esc(i18n.s('unreachable'))}`}`)}
    ${section('fireStations', b.fire_stations, (it) => `${name(it)} — ${esc(i18n.s('eta'))} ${it.eta_s != null ? `${fmtNum(it.eta_s / 60)} ${esc(i18n.s('minutes'))}` : esc(i18n.s('unreachable'))}, ${esc(i18n.s('road'))} ${m(it.road_m)}`)}
    ${section('enterprises', b.enterprises, (it) => `${name(it)} — ${m(it.distance_m)}`)}
    ${section('hazardSources', b.hazard_sources, (it) => `${name(it)} — ${m(it.distance_m)}`)}
    ${section('openHazards', b.hazards, (it) => `${name(it)}${st(it)} — ${m(it.distance_m)}`)}
    ${section('floodSpots', b.flood_spots, (it) => `${name(it)} — ${m(it.distance_m)}`)}
    ${section('lifeLanes', b.life_lanes, (it) => `${name(it)}${st(it)} — ${m(it.distance_m)}`)}
    <p class="muted">${esc(i18n.s('took'))} ${esc(fmtNum(b.took_ms))} ms</p>`;
}

// ----- hazards -----

const token = () => sessionStorage.getItem('riskmap.token') || '';
const authHeaders = () => (token() ? { Authorization: 'Bearer ' + token() } : {});

// overdue: the ledger's flag, or (before the ledger) an open hazard past
// its deadline.
function overdue(p, today) {
  if (typeof p.overdue === 'boolean') return p.overdue;
  return OPEN.includes(p.status) && !!p.deadline && p.deadline < today;
}

async function loadHazards() {
  const out = [];
  let url = '/api/collections/hazards/items?limit=1000';
  for (let i = 0; url && i < 20; i++) {
    const r = await api(url);
    if (!r.ok) return { error: errText(r) };
    out.push(...r.data.features);
    const next = (r.data.links || []).find((l) => l.rel === 'next');
    url = next ? new URL(next.href).pathname + new URL(next.href).search : '';
  }
  return { features: out };
}

async function renderHazards(p) {
  const { i18n, state } = app;
  const hzCol = app.byID.hazards;
  p.innerHTML = `<h3>${esc(i18n.s('token'))}</h3>
    <div class="row"><input type="password" id="token" placeholder="${esc(i18n.s('tokenHint'))}" value="${esc(token())}" style="flex:1" autocomplete="off">
    <button class="act" id="token-save">${esc(i18n.s('save'))}</button></div><div id="whoami" class="muted"></div>
    <div id="hz-detail"></div><h3>${esc(i18n.s('hazardsByStatus'))}</h3><div id="hz-stats"></div><div id="hz-list"><p class="muted">${esc(i18n.s('loading'))}</p></div>`;
  $('#token-save', p).onclick = () => { sessionStorage.setItem('riskmap.token', $('#token', p).value.trim()); renderHazards(p); };
  if (!state.layers.includes('hazards')) setLayer('hazards', true);
  whoami();
  if (app.hazardSel) renderHazardDetail();
  if (!app.hazards) app.hazards = await loadHazards();
  if (app.state.mode !== 'hazards') return;
  const hz = app.hazards;
  if (hz.error) { $('#hz-list').innerHTML = `<p class="err">${esc(hz.error)}</p>`; return; }
  const today = style.isoDay(new Date());
  const st = hzCol.fields.find((f) => f.name === 'status');
  // stats by status from the ledger when it is there, else from the items
  const sr = await api('/api/hazards/stats', { headers: authHeaders() });
  const counts = {};
  let od = 0, sv = 0;
  if (sr.ok && sr.data.total) {
    Object.assign(counts, sr.data.total);
    od = sr.data.total.overdue || 0; sv = sr.data.total.supervised || 0;
  } else {
    for (const f of hz.features) {
      counts[f.properties.status] = (counts[f.properties.status] || 0) + 1;
      if (overdue(f.properties, today)) od++;
      if (f.properties.listed_supervision && OPEN.includes(f.properties.status)) sv++;
    }
  }
  $('#hz-stats').innerHTML = `<table class="statuses">${st.values.map((v) => `<tr data-st="${v.code}" class="${app.hzStatus === v.code ? 'sel' : ''}"><td><i class="sw circle" style="background:${style.ENUM_COLORS.status[v.code]}"></i>${esc(v[state.lang] || v.zh)}</td><td class="n" data-status="${v.code}">${counts[v.code] || 0}</td></tr>`).join('')}
    <tr><td><span class="chip od">${esc(i18n.s('overdue'))}</span></td><td class="n" id="hz-overdue">${od}</td></tr>
    <tr><td><span class="chip sv">${esc(i18n.s('supervised'))}</span></td><td class="n" id="hz-supervised">${sv}</td></tr></table>
    ${sr.ok ? '' : `<p class="muted">${esc(i18n.s('notDeployed'))}/api/hazards/stats</p>`}`;
  // open hazards by town (overdue ones in the bar's label)
  const byTown = {};
  for (const f of hz.features) {
    const q = f.properties;
    if (!OPEN.includes(q.status) || !q.town) continue;
    const b = byTown[q.town] || (byTown[q.town] = { open: 0, overdue: 0 });
    b.open++;
    if (overdue(q, today)) b.overdue++;
  }
  const townRows = (sr.ok && sr.data.by_town
    ? sr.data.by_town.map((r) => ({ label: r.town, value: (r.reported || 0) + (r.assigned || 0) + (r.rectifying || 0) }))
    : Object.entries(byTown).map(([k, v]) => ({ label: k, value: v.open })));
  townRows.sort((x, y) => y.value - x.value);
  // 2024: clear the stock found in 2023 or earlier (SEED-NOTES §4)
  const stock = hz.features.filter((f) => OPEN.includes(f.properties.status) && f.properties.found_date && f.properties.found_date < '2024-01-01').length;
  $('#hz-stats').insertAdjacentHTML('beforeend', `<p><b>2024</b> ${esc(i18n.s('stock2023'))}: <span id="hz-stock">${stock}</span> — <span class="${stock === 0 ? 'ok' : 'err'}">${esc(i18n.s(stock === 0 ? 'met' : 'notMet'))}</span></p>`);
  $('#hz-stats').insertAdjacentHTML('beforeend', `<h4>${esc(i18n.s('openByTown'))}</h4>${barChart({ rows: townRows, target: { value: 0, op: '<=' }, targetLabel: i18n.s('dynamicZero'), width: 310 })}`);
  for (const tr of p.querySelectorAll('tr[data-st]')) {
    tr.onclick = () => {
      app.hzStatus = app.hzStatus === tr.dataset.st ? '' : tr.dataset.st;
      applyTownFilter();
      renderHazards(p);
    };
  }
  // the hazards of the status picked, else the open ones
  const open = hz.features.filter((f) => (app.hzStatus ? f.properties.status === app.hzStatus : OPEN.includes(f.properties.status)));
  const rank = (f) => (f.properties.listed_supervision ? 2 : 0) + (overdue(f.properties, today) ? 1 : 0);
  open.sort((a, b) => rank(b) - rank(a) || String(a.properties.deadline).localeCompare(String(b.properties.deadline)));
  $('#hz-list').innerHTML = `<p class="muted">${esc(i18n.s(app.hzStatus ? 'statusPicked' : 'listFirst'))} (${open.length})</p>` + open.slice(0, 200).map((f) => {
    const q = f.properties;
    return `<div class="hz ${app.hazardSel === f.id ? 'sel' : ''}" data-id="${f.id}">
      ${q.listed_supervision ? `<span class="chip sv">${esc(i18n.s('supervised'))}</span>` : ''}${overdue(q, today) ? `<span class="chip od">${esc(i18n.s('overdue'))}</span>` : ''}
      <span class="chip" style="background:${style.ENUM_COLORS.status[q.status]}">${esc(value(st, q.status, state.lang))}</span>${q.major ? `<b>${esc(i18n.s('major'))}</b> ` : ''}
      ${esc(q.title || '')} <span class="muted">${esc(q.town || '')} · ${esc(q.deadline || '')}</span></div>`;
  }).join('');
  for (const el of p.querySelectorAll('.hz')) {
    el.onclick = () => {
      const f = open.find((x) => String(x.id) === el.dataset.id);
      if (f && app.map) app.map.flyTo({ center: f.geometry.coordinates, zoom: Math.max(app.map.getZoom(), 15) });
      selectHazard(Number(el.dataset.id));
    };
  }
}

async function whoami() {
  const el = $('#whoami');
  if (!token()) { el.textContent = `${app.i18n.s('whoami')}: ${app.i18n.s('anonymous')}`; return; }
  const r = await api('/api/whoami', { headers: authHeaders() });
  if (!el.isConnected) return;
  el.textContent = r.ok ? `${app.i18n.s('whoami')}: ${r.data.name} (${r.data.role})`
    : r.status === 404 ? `${app.i18n.s('notDeployed')}/api/whoami` : `${app.i18n.s('whoami')}: ${errText(r)}`;
}

async function selectHazard(id) {
  app.hazardSel = id;
  app.hazardDoc = null;
  if (app.state.mode !== 'hazards') return;
  for (const el of document.querySelectorAll('.hz')) el.classList.toggle('sel', el.dataset.id === String(id));
  const r = await api(`/api/hazards/${id}`, { headers: authHeaders() });
  if (r.ok) app.hazardDoc = r.data;
  else {
    const f = (app.hazards && app.hazards.features || []).find((x) => x.id === id);
    app.hazardDoc = { id, properties: f ? f.properties : {}, missing: r.status === 404, error: r.status === 404 ? '' : errText(r) };
  }
  renderHazardDetail();
}

// when shows a history time (RFC 3339, UTC) in Beijing time.
const when = (at) => (Number.isNaN(Date.parse(at)) ? at : new Date(at).toLocaleString(app.state.lang === 'en' ? 'en-GB' : 'zh-CN', { timeZone: 'Asia/Shanghai', hour12: false }));

// needed lists the fields the allowed moves need (the API's requires),
// for the detail to ask for; a re-open's note is the note box.
const needed = (d) => [...new Set(Object.values(d.requires || {}).flat())].filter((n) => n !== 'note');

function renderHazardDetail(note = '') {
  const el = $('#hz-detail');
  const d = app.hazardDoc;
  if (!el || !d) return;
  const { i18n, state } = app;
  const col = app.byID.hazards;
  const ds = describe(col, d.properties, app.rules, state.lang);
  const st = col.fields.find((f) => f.name === 'status');
  let edit = '';
  if (d.missing) edit = `<p class="muted" id="ledger-404">${esc(i18n.s('notDeployed'))}/api/hazards/${d.id}</p>`;
  else if (d.error) edit = `<p class="err">${esc(d.error)}</p>`;
  else {
    edit = `<div class="row">${esc(i18n.s('transitionTo'))}: ${(d.allowed || []).map((s) => `<button class="act" data-to="${s}">${esc(value(st, s, state.lang))}</button>`).join('') || esc(i18n.s('none'))}</div>
      <div class="row"><input type="text" id="hz-note" placeholder="${esc(i18n.s('note'))}" style="flex:1"></div>
      ${needed(d).map((n) => { const fd = col.fields.find((f) => f.name === n) || { title: { zh: n } }; return `<div class="row"><label for="hz-f-${n}" style="flex:1">${esc(fd.title[state.lang] || fd.title.zh)}</label><input type="${fd.type === 'date' ? 'date' : 'text'}" id="hz-f-${n}" value="${esc(d.properties[n] ?? '')}" style="flex:2"></div>`; }).join('')}
      <h4>${esc(i18n.s('history'))}</h4><ol class="list" id="hz-history">${(d.history || []).map((h) => `<li>${esc(value(st, h.from, state.lang))} → ${esc(value(st, h.to, state.lang))} · ${esc(h.by)} · ${esc(when(h.at))}${h.note ? ' · ' + esc(h.note) : ''}</li>`).join('')}</ol>`;
  }
  el.innerHTML = `<h3>${esc(ds.title)} #${d.id}</h3><table>${ds.rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>${edit}<div id="hz-msg">${note}</div>`;
  for (const b of el.querySelectorAll('button[data-to]')) b.onclick = () => transition(d.id, b.dataset.to);
}

async function transition(id, to) {
  const { i18n } = app;
  const body = { to, note: $('#hz-note').value, fields: {} };
  for (const n of (app.hazardDoc.requires || {})[to] || []) {
    const v = n === 'note' ? '' : $(`#hz-f-${n}`).value.trim();
    if (v) body.fields[n] = v;
  }
  const r = await api(`/api/hazards/${id}/transitions`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...authHeaders() }, body: JSON.stringify(body) });
  const st = app.byID.hazards.fields.find((f) => f.name === 'status');
  let note;
  if (r.ok) {
    app.hazardDoc = r.data;
    app.hazards = null; // reload the list
    const s = app.map && app.map.getSource('s:hazards');
    if (s) s.setTiles([`${location.origin}/tiles/hazards/{z}/{x}/{y}.mvt?v=${Date.now()}`]);
    note = `<p class="ok">✓ ${esc(value(st, to, app.state.lang))}</p>`;
    renderHazards($('#panel'));
  } else if (r.status === 401) note = `<p class="err">${esc(i18n.s('needToken'))}</p>`;
  else if (r.status === 403) note = `<p class="err">${esc(i18n.s('forbidden'))}</p>`;
  else if (r.status === 409) {
    // moved meanwhile: show it as it is now, with the moves allowed now
    const g = await api(`/api/hazards/${id}`, { headers: authHeaders() });
    if (g.ok) app.hazardDoc = g.data;
    note = `<p class="err">${esc(i18n.s('conflict'))}${esc(((r.data && r.data.allowed) || []).map((c) => value(st, c, app.state.lang)).join('、'))}</p>`;
  }
  else if (r.status === 404 || r.status === 405) note = `<p class="err">${esc(i18n.s('notDeployed'))}/api/hazards/${id}/transitions</p>`;
  else note = `<p class="err">${esc(errText(r))}</p>`;
  renderHazardDetail(note);
}

boot();
