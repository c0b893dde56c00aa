// What a popup says about a feature: its fields with their Chinese (or
// English) titles from /api/collections, and for a derived feature the
// rule it breaks with the evidence and the standard, e.g.
// "最近水源 186 m，超出 150 m 保护半径 · GB 50974-2014 §7.2.5".
// Pure functions (tested by web/jstest).

const RULE_FIELDS = ['rule', 'rule_value', 'rule_unit', 'standard'];

export function fmtNum(v) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 100) return String(Math.round(v));
  return String(Math.round(v * 10) / 10);
}

// value formats one field value: enum codes as titles, booleans as 是/否,
// numbers with their unit.
export function value(fd, v, lang) {
  if (v === null || v === undefined || v === '') return '';
  if (fd && fd.type === 'enum') {
    const e = (fd.values || []).find((x) => x.code === v);
    return e ? (e[lang] || e.zh) : String(v);
  }
  if (typeof v === 'boolean' || (fd && fd.type === 'bool')) {
    const yes = v === true || v === 'true' || v === 1;
    return lang === 'en' ? (yes ? 'yes' : 'no') : (yes ? '是' : '否');
  }
  if (typeof v === 'number') return fmtNum(v) + (fd && fd.unit ? ' ' + fd.unit : '');
  return String(v);
}

// Per derived layer: the measured field and how to say it against the
// rule value rv.
const EVIDENCE = {
  water_gaps: (p, rv, u) => p.nearest_m != null
    ? [`最近水源 ${fmtNum(p.nearest_m)} m，超出 ${fmtNum(rv)} ${u} 保护半径`, `nearest water source ${fmtNum(p.nearest_m)} m, beyond the ${fmtNum(rv)} ${u} protection radius`]
    : [`1 km 内无可用水源，超出 ${fmtNum(rv)} ${u} 保护半径`, `no usable water source within 1 km (radius ${fmtNum(rv)} ${u})`],
  hydrant_spacing: (p, rv, u) => [`消火栓间距 ${fmtNum(p.spacing_m)} m，超过 ${fmtNum(rv)} ${u}`, `hydrant spacing ${fmtNum(p.spacing_m)} m, over ${fmtNum(rv)} ${u}`],
  reach_gaps: (p, rv, u) => p.best_time_s != null
    ? [`最快行车 ${fmtNum(p.best_time_s / 60)} 分钟，超过 ${fmtNum(rv)} 分钟`, `fastest drive ${fmtNum(p.best_time_s / 60)} min, over ${fmtNum(rv)} min`]
    : [`路网不可达（限 ${fmtNum(rv)} 分钟）`, `unreachable by road (limit ${fmtNum(rv)} min)`],
  buildings_without_lane: (p, rv, u) => p.nearest_lane_m != null
    ? [`最近消防车道 ${fmtNum(p.nearest_lane_m)} m（${p.nearest_lane_status || ''}），须 ${fmtNum(rv)} ${u} 内有畅通车道`, `nearest fire lane ${fmtNum(p.nearest_lane_m)} m (${p.nearest_lane_status || ''}); a clear lane is needed within ${fmtNum(rv)} ${u}`]
    : [`${fmtNum(rv)} ${u} 内无消防车道`, `no fire lane within ${fmtNum(rv)} ${u}`],
  pipeline_occupations: (p, rv, u) => [`距管道 ${fmtNum(p.distance_m)} m，位于 ${fmtNum(rv)} ${u} 保护范围内`, `${fmtNum(p.distance_m)} m from the pipeline, inside its ${fmtNum(rv)} ${u} zone`],
  mine_pipeline_conflicts: (p, rv, u) => [`距长输管道 ${fmtNum(p.distance_m)} m，不足 ${fmtNum(rv)} ${u}`, `${fmtNum(p.distance_m)} m from a long-distance pipeline, under ${fmtNum(rv)} ${u}`],
  distance_violations: (p, rv, u) => [`距离 ${fmtNum(p.distance_m)} m，不足 ${fmtNum(rv)} ${u}`, `${fmtNum(p.distance_m)} m, under ${fmtNum(rv)} ${u}`],
  flood_exposure: (p, rv, u) => [`积水深 ${fmtNum(p.depth_cm)} cm，超过 ${fmtNum(rv)} ${u}`, `water ${fmtNum(p.depth_cm)} cm deep, over ${fmtNum(rv)} ${u}`],
  station_areas: (p, rv, u) => [`辖区 ${fmtNum(p.area_km2)} km²，限值 ${fmtNum(rv)} ${u}`, `area ${fmtNum(p.area_km2)} km², limit ${fmtNum(rv)} ${u}`],
  risk_cells: (p) => [`风险分值 ${fmtNum(p.score)}`, `risk score ${fmtNum(p.score)}`],
};
EVIDENCE.uncovered_buildings = EVIDENCE.water_gaps;

// evidence returns the rule line of a derived feature, or '' when it has
// no rule. rules maps rule ids to {title: {zh, en}}.
export function evidence(layerID, p, rules, lang) {
  if (!p || !p.rule) return '';
  const i = lang === 'en' ? 1 : 0;
  const rv = p.rule_value, u = p.rule_unit || '';
  const f = EVIDENCE[layerID];
  let text = f ? f(p, rv, u)[i] : '';
  const r = rules && rules[p.rule];
  const title = r ? (r.title[lang] || r.title.zh) : p.rule;
  if (!text) text = title + (rv != null && rv !== 0 ? `${lang === 'en' ? ': limit' : '：限值'} ${fmtNum(rv)} ${u}`.trimEnd() : '');
  else if (r) text = `${text}${lang === 'en' ? ' — ' : '（'}${title}${lang === 'en' ? '' : '）'}`;
  return p.standard ? `${text} · ${p.standard}` : text;
}

// describe returns {title, rows: [[label, text]], evidence} of a feature
// of collection col (null for an unknown layer). An H3 cell (from an
// "h3:{id}" tile layer) lists its count and status counts.
export function describe(col, props, rules, lang, h3 = false) {
  const name = lang === 'en' ? col.title_en : col.title_zh;
  const rows = [];
  if (h3) {
    rows.push([lang === 'en' ? 'Features in cell' : '格网内要素', String(props.count)]);
    const st = (col.fields || []).find((f) => f.name === 'status');
    for (const [k, v] of Object.entries(props)) {
      if (k.startsWith('status_') && v) rows.push([value(st, k.slice(7), lang), String(v)]);
    }
    if (props.risk_max) rows.push([lang === 'en' ? 'Highest risk' : '最高风险', value((col.fields || []).find((f) => f.name === 'risk_level'), props.risk_max, lang)]);
    return { title: `${name} · ${lang === 'en' ? 'H3 cell' : 'H3 格网'}`, rows, evidence: '' };
  }
  for (const fd of col.fields || []) {
    if (RULE_FIELDS.includes(fd.name)) continue;
    const v = value(fd, props[fd.name], lang);
    if (v !== '') rows.push([fd.title[lang] || fd.title.zh, v]);
  }
  for (const k of ['overdue']) {
    if (props[k] != null && !(col.fields || []).some((f) => f.name === k)) rows.push([lang === 'en' ? 'Overdue' : '逾期', value({ type: 'bool' }, props[k], lang)]);
  }
  const head = props.name || props.title || '';
  return { title: head ? `${name} · ${head}` : name, rows, evidence: col.derived ? evidence(col.id, props, rules, lang) : '' };
}
