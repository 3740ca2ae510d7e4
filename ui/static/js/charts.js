// One chart per metric key, step on the x axis, drawn with uPlot.
import uPlot from '../vendor/uplot/uPlot.esm.js';
import { h, replace, fmtNum } from './dom.js';

// MetricCharts keeps the history a job wrote and one chart per key.
export class MetricCharts {
  constructor(container) {
    this.el = container;
    this.rows = []; // parsed history lines
    this.charts = new Map(); // key -> {plot, box}
    this.width = 0;
  }

  // count is how many history lines are held (the next ?from=).
  get count() { return this.rows.length; }

  // add appends history lines and redraws.
  add(lines) {
    for (const l of lines) if (l && typeof l === 'object') this.rows.push(l);
    this.draw();
  }

  keys() {
    const ks = new Set();
    for (const r of this.rows) for (const [k, v] of Object.entries(r)) if (typeof v === 'number' && k !== 'step') ks.add(k);
    return [...ks].sort((a, b) => (a === 'loss' ? -1 : b === 'loss' ? 1 : a.localeCompare(b)));
  }

  series(key) {
    const xs = [];
    const ys = [];
    this.rows.forEach((r, i) => {
      const v = r[key];
      if (typeof v !== 'number') return;
      xs.push(typeof r.step === 'number' ? r.step : i);
      ys.push(v);
    });
    return [xs, ys];
  }

  draw() {
    if (this.rows.length === 0) {
      if (!this.el.firstChild) replace(this.el, h('p', { class: 'muted' }, 'No metrics yet: a job reports them by appending JSON lines such as {"step": 10, "loss": 0.31} to $NAI_METRICS_FILE.'));
      return;
    }
    if (this.charts.size === 0) replace(this.el);
    const width = Math.max(280, Math.min(560, (this.el.clientWidth || 900) / 2 - 24));
    for (const key of this.keys()) {
      const data = this.series(key);
      let c = this.charts.get(key);
      if (!c) {
        const box = h('figure', { class: 'chart', dataset: { metric: key } });
        const cap = h('figcaption', {});
        box.append(cap);
        this.el.append(box);
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
  }
}
