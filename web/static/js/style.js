// How each layer is drawn and its legend. Pure data: MapLibre style layers
// for a collection of /api/collections, sources named "s:{id}" over
// /tiles/{id}/{z}/{x}/{y}.mvt. Point layers come as H3 cells ("h3:{id}")
// where the tile server aggregates them: below the layer's minzoom and in
// tiles holding too many points, which gives the heat at district zoom and
// the features when zoomed in.

// Risk colours (四色): 重大 red, 较大 orange, 一般 yellow, 低 blue.
export const RISK = { red: '#d7191c', orange: '#f08c00', yellow: '#f2d100', blue: '#2b83ba' };
const RISK_RANK = { 4: RISK.red, 3: RISK.orange, 2: RISK.yellow, 1: RISK.blue };

// Colours of enum values, by field: the legend lists them with the
// field's own titles.
export const ENUM_COLORS = {
  risk_level: RISK,
  level: RISK,
  status: {
    in_service: '#1e88e5', faulty: '#e53935', planned: '#9e9e9e', // water sources
    clear: '#43a047', occupied: '#fb8c00', blocked: '#e53935', // life lanes
    operating: '#8d4a1f', idle: '#bf8f4f', closing: '#a1887f', closed: '#9e9e9e', // mines (closed also hazards)
    reported: '#e53935', assigned: '#fb8c00', rectifying: '#f2c200', accepted: '#43a047', // hazards
  },
  class: { oil_long: '#7b3294', gas_long: '#c2185b', gas_urban: '#f06292' },
};

// The colour field of each layer, and a single colour for the others.
const COLOR_FIELD = { enterprises: 'risk_level', water_sources: 'status', life_lanes: 'status', mines: 'status', hazards: 'status', pipelines: 'class', risk_cells: 'level' };
const COLOR = {
  towns: '#6d6875', rivers: '#5fa8d3', roads: '#b8b8b8', buildings: '#cfc6bb', flood_spots: '#00acc1',
  fire_stations: '#c62828', emergency_resources: '#2e7d32', enterprises: '#f08c00', water_sources: '#1e88e5',
  hazards: '#e53935', life_lanes: '#43a047', mines: '#8d4a1f', pipelines: '#7b3294',
  water_gaps: '#e53935', uncovered_buildings: '#ff7043', hydrant_spacing: '#d81b60', pipeline_zones: '#ab47bc',
  pipeline_occupations: '#b71c1c', mine_pipeline_conflicts: '#6a1b9a', lane_issues: '#e53935',
  buildings_without_lane: '#ef6c00', reach_gaps: '#ff9800', station_areas: '#c62828', flood_exposure: '#0097a7',
  distance_violations: '#6a1b9a', risk_cells: RISK.red,
};

// Drawing order, bottom first; layers not listed go with the derived ones.
const ORDER = ['towns', 'rivers', 'roads', 'buildings', 'mines', 'pipelines', 'risk_cells', 'station_areas', 'reach_gaps',
  'pipeline_zones', 'water_gaps', 'uncovered_buildings', 'buildings_without_lane', 'pipeline_occupations',
  'mine_pipeline_conflicts', 'flood_spots', 'flood_exposure', 'distance_violations', 'life_lanes', 'lane_issues',
  'hydrant_spacing', 'water_sources', 'enterprises', 'emergency_resources', 'hazards', 'fire_stations'];

export function order(id) {
  const i = ORDER.indexOf(id);
  return i < 0 ? ORDER.indexOf('flood_exposure') : i;
}

// Layers on when the hash names none: the basemap, the risk heat, the
// enterprises (heat → points), the water gaps and the fire stations.
export const DEFAULT_ON = ['towns', 'rivers', 'roads', 'buildings', 'risk_cells', 'enterprises', 'water_gaps', 'fire_stations'];
export const BASEMAP = ['towns', 'rivers', 'roads', 'buildings'];

export function colorExpr(id) {
  const f = COLOR_FIELD[id];
  if (!f) return COLOR[id] || '#555';
  const m = ['match', ['get', f]];
  for (const [code, c] of Object.entries(ENUM_COLORS[f])) m.push(code, c);
  m.push(COLOR[id] || '#555');
  return m;
}

// today's date as YYYY-MM-DD, for overdue hazards when the tiles do not
// carry an overdue flag.
export function isoDay(d) { return d.toISOString().slice(0, 10); }

// overdueExpr: the hazard's overdue flag, or, where the layer has none,
// an open hazard whose deadline has passed.
export function overdueExpr(today) {
  return ['any', ['==', ['get', 'overdue'], true],
    ['all', ['has', 'deadline'], ['!', ['has', 'overdue']], ['<', ['to-string', ['get', 'deadline']], today],
      ['match', ['get', 'status'], ['accepted', 'closed'], false, true]]];
}

const poly = ['==', ['geometry-type'], 'Polygon'];
const line = ['==', ['geometry-type'], 'LineString'];
const point = ['==', ['geometry-type'], 'Point'];

// styleLayers returns the MapLibre layers of one collection (all hidden:
// the page turns them on).
export function styleLayers(col, today) {
  const id = col.id, src = 's:' + id, c = colorExpr(id);
  const L = (suffix, type, paint, extra = {}) => ({
    id: `${id}:${suffix}`, type, source: src, 'source-layer': id, paint, layout: { visibility: 'none' }, ...extra,
  });
  const geoms = col.geometry || [];
  const out = [];
  const pointLayer = geoms.length === 1 && geoms[0] === 'Point';
  if (pointLayer) {
    // the H3 heat that stands for the points where they are too many
    const heat = id === 'enterprises'
      ? ['match', ['get', 'risk_max'], 'red', RISK.red, 'orange', RISK.orange, 'yellow', RISK.yellow, 'blue', RISK.blue, COLOR[id]]
      : COLOR[id] || '#555';
    out.push({ id: `${id}:heat`, type: 'fill', source: src, 'source-layer': 'h3:' + id, layout: { visibility: 'none' },
      paint: { 'fill-color': heat, 'fill-outline-color': 'rgba(255,255,255,0.4)',
        'fill-opacity': ['interpolate', ['linear'], ['get', 'count'], 1, 0.3, 10, 0.55, 50, 0.8] } });
  }
  switch (id) {
    case 'towns':
      out.push(L('fill', 'fill', { 'fill-color': '#f7f5ef', 'fill-opacity': 0.9 }));
      out.push(L('line', 'line', { 'line-color': COLOR.towns, 'line-width': ['interpolate', ['linear'], ['zoom'], 8, 0.8, 14, 2], 'line-dasharray': [3, 2] }));
      return out;
    case 'rivers':
      out.push(L('fill', 'fill', { 'fill-color': '#a9d3f5' }, { filter: poly }));
      out.push(L('line', 'line', { 'line-color': COLOR.rivers, 'line-width': ['case', ['==', ['get', 'main_stem'], true], 4, 1.5] }, { filter: line }));
      return out;
    case 'roads':
      out.push(L('line', 'line', { 'line-color': ['match', ['get', 'class'], 'expressway', '#f3b562', 'arterial', '#d9c27a', '#c4c4c4'],
        'line-width': ['interpolate', ['linear'], ['zoom'], 9, ['match', ['get', 'class'], ['expressway', 'arterial'], 1.5, 0.4], 16, ['match', ['get', 'class'], ['expressway', 'arterial'], 7, 3]] }));
      return out;
    case 'buildings':
      out.push(L('fill', 'fill', { 'fill-color': COLOR.buildings, 'fill-outline-color': '#a99f93' }));
      return out;
    case 'hazards': {
      const od = overdueExpr(today);
      out.push(L('point', 'circle', {
        'circle-color': c,
        'circle-radius': ['case', ['==', ['get', 'major'], true], 7, 5],
        'circle-stroke-color': ['case', ['==', ['get', 'listed_supervision'], true], '#6a1b9a', od, '#7f0000', '#ffffff'],
        'circle-stroke-width': ['case', ['==', ['get', 'listed_supervision'], true], 3.5, od, 2.5, 1],
      }, { filter: point }));
      return out;
    }
    case 'fire_stations':
      out.push(L('point', 'circle', { 'circle-color': c, 'circle-radius': ['interpolate', ['linear'], ['zoom'], 9, 5, 15, 9],
        'circle-stroke-color': '#fff', 'circle-stroke-width': 2 }, { filter: point }));
      return out;
    case 'risk_cells':
      out.push(L('fill', 'fill', { 'fill-color': c, 'fill-opacity': ['interpolate', ['linear'], ['zoom'], 10, 0.5, 14, 0.3, 16, 0.12],
        'fill-outline-color': 'rgba(255,255,255,0.5)' }));
      return out;
    case 'station_areas':
      out.push(L('line', 'line', { 'line-color': c, 'line-width': 2, 'line-dasharray': [2, 1] }));
      out.push(L('fill', 'fill', { 'fill-color': c, 'fill-opacity': 0.04 }));
      return out;
  }
  // generic: by geometry type
  const derived = col.derived;
  if (geoms.includes('Polygon')) {
    out.push(L('fill', 'fill', { 'fill-color': c, 'fill-opacity': derived ? 0.5 : 0.35, 'fill-outline-color': c }, { filter: poly }));
  }
  if (geoms.includes('LineString')) {
    out.push(L('line', 'line', { 'line-color': c, 'line-width': derived ? 3 : 2, ...(id === 'hydrant_spacing' || id === 'pipelines' ? { 'line-dasharray': [2, 1] } : {}) }, { filter: line }));
  }
  if (geoms.includes('Point')) {
    out.push(L('point', 'circle', { 'circle-color': c, 'circle-radius': ['interpolate', ['linear'], ['zoom'], 10, 3, 16, 6],
      'circle-stroke-color': '#fff', 'circle-stroke-width': 1 }, { filter: point }));
  }
  return out;
}

// source is the vector tile source of a collection: its tiles, with the
// points from zoom 0 (the H3 heat), other layers from their minzoom (so a
// layer drawn only when zoomed in asks for no tile at district zoom), and
// the layer's extent, so that no tile is asked for outside it.
export function source(col, origin) {
  const point = (col.geometry || []).length === 1 && col.geometry[0] === 'Point';
  const src = { type: 'vector', tiles: [`${origin}/tiles/${col.id}/{z}/{x}/{y}.mvt`], minzoom: point ? 0 : Math.min(col.minzoom || 0, 14), maxzoom: 16 };
  const bb = col.extent && col.extent.spatial.bbox[0];
  if (bb) src.bounds = [bb[0] - 0.01, bb[1] - 0.01, bb[2] + 0.01, bb[3] + 0.01];
  return src;
}

// The overlay: what the page draws itself (what-if gaps, dispatch lines),
// on top of every layer.
const OVERLAY = [
  { id: 'overlay:fill', type: 'fill', source: 'overlay', filter: ['==', ['geometry-type'], 'Polygon'],
    paint: { 'fill-color': ['coalesce', ['get', 'color'], '#6a1b9a'], 'fill-opacity': 0.55, 'fill-outline-color': '#4a148c' } },
  { id: 'overlay:line', type: 'line', source: 'overlay', filter: ['==', ['geometry-type'], 'LineString'],
    paint: { 'line-color': ['coalesce', ['get', 'color'], '#333'], 'line-width': 2.5, 'line-dasharray': [2, 1] } },
  { id: 'overlay:point', type: 'circle', source: 'overlay', filter: ['==', ['geometry-type'], 'Point'],
    paint: { 'circle-color': ['coalesce', ['get', 'color'], '#000'], 'circle-radius': ['coalesce', ['get', 'r'], 6], 'circle-stroke-color': '#fff', 'circle-stroke-width': 2 } },
];

// mapStyle returns the map's whole style at once: a source and the
// layers of every collection in drawing order (those of the ids in `on`
// visible, the others hidden) and the overlay, so that the map asks for
// the first view's tiles as soon as it is created, not after a first
// frame of an empty style. byCol lists each collection's layer ids. On a
// basemap style the page adds these sources and layers when the basemap
// has loaded. No background layer: the map's container has the colour
// (app.css), and the first frame has no shader to compile, which in a
// software renderer (SwiftShader) takes as long as the tiles.
export function mapStyle(cols, on, today, origin) {
  const style = { version: 8, sources: {}, layers: [] };
  const byCol = {};
  for (const c of [...cols].sort((a, b) => order(a.id) - order(b.id))) {
    style.sources['s:' + c.id] = source(c, origin);
    byCol[c.id] = [];
    for (const l of styleLayers(c, today)) {
      if (on.has(c.id)) l.layout = { ...l.layout, visibility: 'visible' };
      style.layers.push(l);
      byCol[c.id].push(l.id);
    }
  }
  style.sources.overlay = { type: 'geojson', data: { type: 'FeatureCollection', features: [] } };
  style.layers.push(...OVERLAY.map((l) => ({ ...l })));
  return { style, byCol };
}

// legend returns [{color, label, shape}] for a collection in lang ('zh'
// or 'en'): one entry per coloured enum value, or the layer's colour.
export function legend(col, lang, extra = {}) {
  const shape = (col.geometry || []).includes('Point') ? 'circle' : (col.geometry || []).includes('Polygon') ? 'fill' : 'line';
  const f = COLOR_FIELD[col.id];
  const out = [];
  if (f) {
    const fd = (col.fields || []).find((x) => x.name === f);
    for (const v of (fd && fd.values) || []) {
      if (ENUM_COLORS[f][v.code]) out.push({ color: ENUM_COLORS[f][v.code], label: v[lang] || v.zh, shape });
    }
  }
  if (!out.length) out.push({ color: COLOR[col.id] || '#555', label: lang === 'en' ? col.title_en : col.title_zh, shape });
  if (col.id === 'hazards') {
    out.push({ color: '#fff', stroke: '#7f0000', label: extra.overdue || 'overdue', shape: 'circle' });
    out.push({ color: '#fff', stroke: '#6a1b9a', label: extra.supervised || 'supervised', shape: 'circle' });
  }
  return out;
}

export { RISK_RANK };
