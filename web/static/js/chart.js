// Small SVG bar charts drawn by hand (no chart library): one bar per town
// with the campaign target as a line. Returns SVG text; pure (tested by
// web/jstest).

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));

// barChart draws rows [{label, value}] as horizontal bars. target
// {value, op} draws a dashed line and colours each bar by whether it meets
// it (op ">=" or "<="). selected names a row drawn in bold.
export function barChart({ rows, target = null, unit = '', width = 300, selected = '', targetLabel = 'target' }) {
  const rowH = 16, left = 86, right = 44, top = target ? 16 : 4;
  const h = top + rows.length * rowH + 4;
  const max = Math.max(1e-9, ...rows.map((r) => r.value || 0), target ? target.value : 0);
  const x = (v) => left + (width - left - right) * (Math.max(0, v) / max);
  const meets = (v) => !target || (target.op === '<=' ? v <= target.value : v >= target.value);
  let s = `<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="${width}" height="${h}" viewBox="0 0 ${width} ${h}" role="img">`;
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    const v = r.value || 0;
    const bold = r.label === selected ? ' font-weight="bold"' : '';
    s += `<g class="bar" data-town="${esc(r.label)}"><rect x="0" y="${y}" width="${width}" height="${rowH}" fill="transparent"/>`;
    s += `<text x="${left - 4}" y="${y + 12}" text-anchor="end" font-size="11"${bold}>${esc(r.label)}</text>`;
    s += `<rect x="${left}" y="${y + 3}" width="${Math.max(1, x(v) - left).toFixed(1)}" height="${rowH - 6}" fill="${meets(v) ? '#43a047' : '#e53935'}"/>`;
    s += `<text x="${(x(v) + 3).toFixed(1)}" y="${y + 12}" font-size="10">${esc(fmt(v))}${esc(unit)}</text></g>`;
  });
  if (target) {
    const tx = x(target.value).toFixed(1);
    s += `<line x1="${tx}" y1="${top - 4}" x2="${tx}" y2="${h}" stroke="#333" stroke-dasharray="3,2"/>`;
    s += `<text x="${tx}" y="${top - 6}" font-size="10" text-anchor="middle">${esc(targetLabel)} ${esc(fmt(target.value))}${esc(unit)}</text>`;
  }
  return s + '</svg>';
}

function fmt(v) { return Math.abs(v) >= 100 ? String(Math.round(v)) : String(Math.round(v * 10) / 10); }
