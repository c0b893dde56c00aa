import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describe, evidence, value, fmtNum } from '../static/js/popup.js';
import { barChart } from '../static/js/chart.js';
import { styleLayers, legend, overdueExpr } from '../static/js/style.js';

const rules = { 'water.hydrant_radius_m': { title: { zh: '市政消火栓保护半径', en: 'Municipal hydrant protection radius' } } };
const gap = { rule: 'water.hydrant_radius_m', rule_value: 150, rule_unit: 'm', standard: 'GB 50974-2014 §7.2.5', nearest_m: 186.4, town: '鱼洞街道', cell: '8a4019000107fff' };

test('evidence of a water gap', () => {
  assert.equal(evidence('water_gaps', gap, rules, 'zh'), '最近水源 186 m，超出 150 m 保护半径（市政消火栓保护半径） · GB 50974-2014 §7.2.5');
  assert.equal(evidence('water_gaps', gap, rules, 'en'), 'nearest water source 186 m, beyond the 150 m protection radius — Municipal hydrant protection radius · GB 50974-2014 §7.2.5');
  assert.match(evidence('water_gaps', { ...gap, nearest_m: undefined }, {}, 'zh'), /^1 km 内无可用水源/);
  assert.equal(evidence('water_gaps', { town: 'x' }, rules, 'zh'), '');
});

test('evidence of a layer without a template names the rule and its limit', () => {
  const r = { 'x.y': { title: { zh: '某规则', en: 'Some rule' } } };
  assert.equal(evidence('other', { rule: 'x.y', rule_value: 4, rule_unit: 'm', standard: 'GB 1' }, r, 'zh'), '某规则：限值 4 m · GB 1');
  assert.equal(evidence('other', { rule: 'x.y', rule_value: 0, rule_unit: '' }, r, 'en'), 'Some rule');
});

const col = {
  id: 'water_sources', title_zh: '消防水源', title_en: 'Fire water sources', derived: false, geometry: ['Point'],
  fields: [
    { name: 'name', type: 'string', title: { zh: '名称', en: 'Name' } },
    { name: 'status', type: 'enum', title: { zh: '状态', en: 'Status' }, values: [{ code: 'in_service', zh: '在用', en: 'in service' }, { code: 'faulty', zh: '故障', en: 'faulty' }] },
    { name: 'flow_lps', type: 'float', unit: 'L/s', title: { zh: '流量', en: 'Flow' } },
    { name: 'key_area', type: 'bool', title: { zh: '重点区域', en: 'Key area' } },
  ],
};

test('describe uses field titles, enum titles, units and 是/否', () => {
  const d = describe(col, { name: '一号栓', status: 'faulty', flow_lps: 15, key_area: true }, rules, 'zh');
  assert.equal(d.title, '消防水源 · 一号栓');
  assert.deepEqual(d.rows, [['名称', '一号栓'], ['状态', '故障'], ['流量', '15 L/s'], ['重点区域', '是']]);
  assert.equal(d.evidence, '');
  const e = describe(col, { status: 'in_service', key_area: false }, rules, 'en');
  assert.deepEqual(e.rows, [['Status', 'in service'], ['Key area', 'no']]);
  const h = describe(col, { count: 12, status_in_service: 10, status_faulty: 2, cell: 'x' }, rules, 'zh', true);
  assert.deepEqual(h.rows, [['格网内要素', '12'], ['在用', '10'], ['故障', '2']]);
});

test('value and fmtNum', () => {
  assert.equal(fmtNum(186.4), '186');
  assert.equal(fmtNum(12.345), '12.3');
  assert.equal(value(undefined, null, 'zh'), '');
  assert.equal(value({ type: 'enum', values: [] }, 'zzz', 'zh'), 'zzz');
});

test('barChart colours bars by the target and marks it', () => {
  const svg = barChart({ rows: [{ label: '鱼洞街道', value: 94.2 }, { label: 'A<B', value: 100 }], target: { value: 100, op: '>=' }, unit: '%', targetLabel: '目标' });
  assert.equal((svg.match(/class="bar"/g) || []).length, 2);
  assert.match(svg, /fill="#e53935"/); // 94.2 misses 100
  assert.match(svg, /fill="#43a047"/); // 100 meets it
  assert.match(svg, /目标 100%/);
  assert.match(svg, /A&lt;B/); // escaped
  const le = barChart({ rows: [{ label: 'x', value: 2 }], target: { value: 0, op: '<=' } });
  assert.match(le, /fill="#e53935"/);
});

test('style: every collection gets hidden layers on its own source; legends come from enum titles', () => {
  const ls = styleLayers(col, '2026-11-29');
  assert.deepEqual(ls.map((l) => l.id), ['water_sources:heat', 'water_sources:point']);
  assert.equal(ls[0]['source-layer'], 'h3:water_sources');
  assert.ok(ls.every((l) => l.source === 's:water_sources' && l.layout.visibility === 'none'));
  assert.deepEqual(legend(col, 'zh').map((e) => e.label), ['在用', '故障']);
  const ex = JSON.stringify(overdueExpr('2026-11-29'));
  assert.match(ex, /"overdue"/);
  assert.match(ex, /2026-11-29/);
});
