// One chart per metric key, step on the x axis, drawn with uPlot, and a
// table of every key's latest value.
//
// A job writes its metric lines itself, so a value can be anything JSON
// holds: a string ("loss": "high"), null, an object, or a number too
// large for a double (1e999 parses to Infinity). Charts take only finite
// numbers -- uPlot draws no line at all once a series or its x axis holds
// Infinity or runs backwards -- and the latest-values table shows the
// rest as text, so nothing a job writes can blank the panel.
import uPlot from '../vendor/uplot/uPlot.esm.js';
import { h, replace, fmtNum } from './dom.js';

const finite = (v) => typeof v === 'number' && Number.isFinite(v);

// MetricCharts keeps the history a job wrote and one chart per key.
export class MetricCharts {
  constructor(container) {
    this.el = container;
    this.rows = []; // parsed history lines
    this.charts = new Map(); // key -> {plot, box, cap}
    this.box = h('div', { class: 'chart-boxes' });
    this.latest = h('div', { class: 'metrics-latest' });
    this.errors = h('div');
  }

  // count is how many history lines are held (the next ?from=).
  get count() { return this.rows.length; }

  // add appends history lines and redraws.
  add(lines) {
    for (const l of lines) if (l && typeof l === 'object' && !Array.isArray(l)) this.rows.push(l);
    this.draw();
  }

  // keys are the metrics that have at least one number to chart.
  keys() {
    const ks = new Set();
    for (const r of this.rows) for (const [k, v] of Object.entries(r)) if (finite(v) && k !== 'step') ks.add(k);
    return [...ks].sort(byName);
  }

  // series is [steps, values] of one key, in step order: a line's step
  // when it has a numeric one, else its place in the history.
  series(key) {
    const pts = [];
    this.rows.forEach((r, i) => {
      const v = r[key];
      if (finite(v)) pts.push([finite(r.step) ? r.step : i, v]);
    });
    // uPlot wants x ascending; a job that restarted from a checkpoint
    // writes its steps again. The sort is stable: the later write of a
    // step is drawn last.
    pts.sort((a, b) => a[0] - b[0]);
    return [pts.map((p) => p[0]), pts.map((p) => p[1])];
  }

  // latestValues is every key but step with the last value a line gave
  // it, whatever its type, and that line's step.
  latestValues() {
    const m = new Map();
    this.rows.forEach((r, i) => {
      for (const [k, v] of Object.entries(r)) if (k !== 'step') m.set(k, { v, step: finite(r.step) ? r.step : i });
    });
    return [...m.entries()].sort((a, b) => byName(a[0], b[0]));
  }

  draw() {
    if (this.rows.length === 0) {
      if (!this.el.firstChild) replace(this.el, h('p', { class: 'muted' }, 'No metrics yet: a job reports them by appending JSON lines such as {"step": 10, "loss": 0.31} to $NAI_METRICS_FILE.'));
      return;
    }
    if (this.box.parentNode !== this.el) replace(this.el, this.errors, this.box, this.latest);
    const width = Math.max(280, Math.min(560, (this.el.clientWidth || 900) / 2 - 24));
    const failed = [];
    for (const key of this.keys()) {
      // One chart that fails is reported; the other charts and the table
      // are still drawn.
      try {
        this.drawChart(key, width);
      } catch (e) {
        failed.push(`${key}: ${e && e.message ? e.message : e}`);
      }
    }
    replace(this.errors, failed.length ? h('div', { class: 'error', role: 'alert' }, 'Cannot draw the chart of ' + failed.join('; ')) : '');
    if (this.charts.size === 0) replace(this.box, h('p', { class: 'muted' }, 'No metric has a numeric value to chart yet.'));
    this.drawLatest();
  }

  drawChart(key, width) {
    const data = this.series(key);
    let c = this.charts.get(key);
    if (!c) {
      if (this.charts.size === 0) replace(this.box);
      const box = h('figure', { class: 'chart', dataset: { metric: key } });
      const cap = h('figcaption', {});
      box.append(cap);
      this.box.append(box);
      const plot = new uPlot({
        width, height: 200,
        scales: { x: { time: false } },
        legend: { show: false },
        cursor: { drag: { x: true, y: false } },
        axes: [{ label: 'step', size: 40 }, { size: 60, values: (u, vals) => vals.map(fmtNum) }],
        series: [{ label: 'step' }, { label: key, stroke: 'hsl(212 70% 45%)', width: 1.5, points: { show: data[0].length < 60 } }],
      }, data, box);
      c = { plot, box, cap };
      this.charts.set(key, c);
    } else {
      c.plot.setData(data);
    }
    const ys = data[1];
    const last = ys.length ? ys[ys.length - 1] : undefined;
    replace(c.cap, h('strong', {}, key), ` · ${ys.length} point${ys.length === 1 ? '' : 's'} · last ${last === undefined ? '—' : fmtNum(last)}`);
    c.box.dataset.points = String(ys.length);
  }

  drawLatest() {
    const rows = this.latestValues();
    if (rows.length === 0) { replace(this.latest); return; }
    replace(this.latest, h('table', { class: 'metrics-latest', id: 'metrics-latest' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Metric'), h('th', {}, 'Latest value'), h('th', {}, 'At step'))),
      h('tbody', {}, rows.map(([k, { v, step }]) => h('tr', { dataset: { metric: k } },
        h('td', {}, k),
        h('td', { class: 'value' + (finite(v) ? ' num' : ' text') }, finite(v) ? fmtNum(v) : valueText(v)),
        h('td', { class: 'num' }, fmtNum(step)))))));
  }
}

// valueText is a value that is not a finite number, as text: a string as
// it is, anything else as JSON (1e999 arrives as Infinity).
function valueText(v) {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  try { return JSON.stringify(v); } catch (_) { return String(v); }
}

function byName(a, b) {
  return a === 'loss' ? -1 : b === 'loss' ? 1 : a.localeCompare(b);
}
