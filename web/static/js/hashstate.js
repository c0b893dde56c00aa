// URL state in the hash: the view, the layers on, the mode and its
// selection, the language and an optional basemap style, so a view can be
// shared. Pure functions (tested by web/jstest).

// Banan District at district zoom.
export const DEFAULT_VIEW = { zoom: 10.4, lat: 29.44, lon: 106.71 };
export const MODES = ['layers', 'analyses', 'dispatch', 'hazards'];

export function parseHash(hash) {
  const p = new URLSearchParams(String(hash || '').replace(/^#/, ''));
  const s = { view: { ...DEFAULT_VIEW }, layers: null, mode: 'layers', analysis: '', town: '', lang: 'zh', basemap: '' };
  const m = (p.get('map') || '').split('/').map(Number);
  if (m.length === 3 && m.every(Number.isFinite) && m[0] >= 0 && m[0] <= 22 && Math.abs(m[1]) <= 85 && Math.abs(m[2]) <= 180) {
    s.view = { zoom: m[0], lat: m[1], lon: m[2] };
  }
  if (p.has('layers')) s.layers = p.get('layers').split(',').filter(Boolean);
  if (MODES.includes(p.get('mode'))) s.mode = p.get('mode');
  s.analysis = p.get('analysis') || '';
  s.town = p.get('town') || '';
  if (p.get('lang') === 'en') s.lang = 'en';
  s.basemap = p.get('basemap') || '';
  return s;
}

export function formatHash(s) {
  const enc = (v) => encodeURIComponent(v).replace(/%2C/g, ',').replace(/%2F/g, '/').replace(/%3A/g, ':');
  const parts = [`map=${s.view.zoom.toFixed(2)}/${s.view.lat.toFixed(5)}/${s.view.lon.toFixed(5)}`];
  if (s.layers) parts.push('layers=' + enc(s.layers.join(',')));
  if (s.mode && s.mode !== 'layers') parts.push('mode=' + s.mode);
  if (s.analysis) parts.push('analysis=' + enc(s.analysis));
  if (s.town) parts.push('town=' + enc(s.town));
  if (s.lang === 'en') parts.push('lang=en');
  if (s.basemap) parts.push('basemap=' + enc(s.basemap));
  return '#' + parts.join('&');
}
