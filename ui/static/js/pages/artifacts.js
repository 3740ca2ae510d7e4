// Datasets and models: their versions, sizes and owners, and the lineage
// graph: dataset version -> job -> model version (-> service, once the
// cluster serves models).
import * as api from '../api.js';
import { h, svg, replace, fmtBytes, fmtTime, fmtNum, errorBox } from '../dom.js';

const singular = { datasets: 'dataset', models: 'model' };

export async function artifactsPage(ctx, kind) {
  const err = h('div');
  const table = h('table', { class: 'artifacts', id: kind + '-table' });
  replace(ctx.main, h('h1', {}, kind === 'datasets' ? 'Datasets' : 'Models'), err, table);
  api.watch('/v1/' + kind, ({ data }) => {
    data.sort((a, b) => a.name.localeCompare(b.name));
    if (data.length === 0) {
      replace(table, h('tr', {}, h('td', { class: 'muted' }, kind === 'datasets'
        ? 'No dataset yet: nai dataset push NAME DIR makes one.'
        : 'No model yet: a job with output { model = "NAME" } registers one when it ends, or nai model push NAME DIR.')));
      return;
    }
    replace(table,
      h('thead', {}, h('tr', {}, ['Name', 'Owner', 'Group', 'Versions', 'Latest', 'Size of latest', 'All versions', 'Changed'].map((c) => h('th', {}, c)))),
      h('tbody', {}, data.map((a) => {
        const vs = a.versions || [];
        const last = vs[vs.length - 1];
        return h('tr', { dataset: { name: a.name } },
          h('td', {}, h('a', { href: `#/${kind}/${encodeURIComponent(a.name)}` }, a.name)),
          h('td', {}, a.user), h('td', {}, a.group || ''),
          h('td', { class: 'num' }, vs.length), h('td', { class: 'num' }, last ? 'v' + last.version : '—'),
          h('td', { class: 'num' }, last ? (last.path ? 'path' : fmtBytes(last.size)) : '—'),
          h('td', { class: 'num' }, fmtBytes(vs.reduce((s, v) => s + (v.size || 0), 0))),
          h('td', {}, fmtTime(a.modify_time)));
      })));
  }, ctx.signal, (e) => replace(err, errorBox(e, 'read the ' + kind)));
}

export async function artifactPage(ctx, kind, rawName) {
  const name = decodeURIComponent(rawName);
  let a;
  try {
    a = (await api.get(`/v1/${kind}/${encodeURIComponent(name)}`, { signal: ctx.signal })).data;
  } catch (e) {
    if (e.status === 404) {
      replace(ctx.main, h('div', { class: 'notfound' }, h('h1', {}, `No ${singular[kind]} named ${name}`),
        h('p', {}, e.message, '. ', h('a', { href: '#/' + kind }, 'All ' + kind), '.')));
      return;
    }
    throw e;
  }
  const vs = a.versions || [];
  const mkeys = [...new Set(vs.flatMap((v) => [...Object.keys(v.metrics || {}), ...Object.keys(v.non_finite_metrics || {})]))].sort();
  const graph = h('div', { class: 'lineage', id: 'lineage' });
  replace(ctx.main,
    h('h1', {}, `${singular[kind]} ${a.name}`),
    h('p', { class: 'muted' }, `owned by ${a.user}${a.group ? ' (group ' + a.group + ')' : ''}`, a.description ? ' · ' + a.description : ''),
    h('table', { class: 'versions', id: 'versions' },
      h('thead', {}, h('tr', {}, ['Version', 'Size', 'Files', 'Created', 'By', 'Made by job', 'Read', 'Read by jobs', ...mkeys, 'Description'].map((c) => h('th', {}, c)))),
      h('tbody', {}, vs.slice().reverse().map((v) => {
        const lin = v.lineage || {};
        const read = [...(lin.datasets || []).map((d) => ['datasets', d]), ...(lin.models || []).map((m) => ['models', m])];
        return h('tr', {},
          h('td', { class: 'num' }, 'v' + v.version),
          h('td', { class: 'num' }, v.path ? h('code', {}, v.path) : fmtBytes(v.size)),
          h('td', { class: 'num' }, v.files || '—'),
          h('td', {}, fmtTime(v.create_time)), h('td', {}, v.created_by || ''),
          h('td', {}, lin.job_id ? h('a', { href: '#/jobs/' + encodeURIComponent(lin.job_id) }, `job ${lin.job_id}${lin.job_name ? ' (' + lin.job_name + ')' : ''}`) : '—'),
          h('td', {}, read.length ? read.map(([k, r], i) => [i ? ', ' : '', h('a', { href: `#/${k}/${encodeURIComponent(r.name)}` }, `${r.name}:${r.version}`)]) : '—'),
          h('td', {}, (v.used_by || []).length ? v.used_by.map((id, i) => [i ? ', ' : '', h('a', { href: '#/jobs/' + encodeURIComponent(id) }, id)]) : '—'),
          mkeys.map((k) => h('td', { class: 'num' }, v.metrics && v.metrics[k] !== undefined ? fmtNum(v.metrics[k])
            : (v.non_finite_metrics || {})[k] ? v.non_finite_metrics[k].value : '—')), // a run that diverged: NaN
          h('td', {}, v.description || ''));
      }))),
    h('h2', {}, 'Lineage'), graph);
  drawLineage(graph, await lineageOf(ctx.signal), kind === 'datasets' ? 'd:' + a.name : 'm:' + a.name);
}

export async function lineagePage(ctx) {
  const graph = h('div', { class: 'lineage', id: 'lineage' });
  replace(ctx.main, h('h1', {}, 'Lineage'),
    h('p', { class: 'muted' }, 'Which dataset versions each job read and which model versions it made. Services appear here once the cluster serves models.'), graph);
  drawLineage(graph, await lineageOf(ctx.signal));
}

// lineageOf builds the graph from every dataset and model the caller may
// see: nodes by column, edges from reader to read and from job to made.
async function lineageOf(signal) {
  const [ds, ms] = await Promise.all(['datasets', 'models'].map((k) => api.get('/v1/' + k, { signal }).then((r) => r.data)));
  // The lists hold versions; who read each version comes with one
  // artifact's own answer.
  const details = await Promise.all([...ds.map((a) => ['datasets', a]), ...ms.map((a) => ['models', a])].slice(0, 200)
    .map(([k, a]) => api.get(`/v1/${k}/${encodeURIComponent(a.name)}`, { signal }).then((r) => [k, r.data], () => [k, a])));
  const nodes = new Map();
  const edges = [];
  const node = (id, col, label, href, group) => {
    if (!nodes.has(id)) nodes.set(id, { id, col, label, href, group });
    return id;
  };
  for (const [k, a] of details) {
    for (const v of a.versions || []) {
      const vid = `${k === 'datasets' ? 'd' : 'm'}:${a.name}:${v.version}`;
      node(vid, k === 'datasets' ? 0 : 2, `${a.name}:${v.version}`, `#/${k}/${encodeURIComponent(a.name)}`, `${k === 'datasets' ? 'd' : 'm'}:${a.name}`);
      for (const j of v.used_by || []) {
        edges.push([vid, node('j:' + j, 1, 'job ' + j, '#/jobs/' + encodeURIComponent(j), 'j')]);
      }
      const lin = v.lineage;
      if (lin && lin.job_id) {
        const jid = node('j:' + lin.job_id, 1, `job ${lin.job_id}${lin.job_name ? ' ' + lin.job_name : ''}`, '#/jobs/' + encodeURIComponent(lin.job_id), 'j');
        nodes.get(jid).label = `job ${lin.job_id}${lin.job_name ? ' ' + lin.job_name : ''}`;
        edges.push([jid, vid]);
        for (const d of lin.datasets || []) edges.push([node(`d:${d.name}:${d.version}`, 0, `${d.name}:${d.version}`, '#/datasets/' + encodeURIComponent(d.name), 'd:' + d.name), jid]);
      }
    }
  }
  const seen = new Set();
  return { nodes: [...nodes.values()], edges: edges.filter(([a, b]) => { const k = a + '>' + b; if (seen.has(k)) return false; seen.add(k); return true; }) };
}

// drawLineage lays the graph out in columns (datasets, jobs, models) and
// draws it as SVG; focus (a dataset or model name) keeps only what is
// joined to it.
function drawLineage(div, g, focus) {
  let { nodes, edges } = g;
  if (focus) {
    const keep = new Set(nodes.filter((n) => n.group === focus).map((n) => n.id));
    for (let changed = true; changed;) {
      changed = false;
      // Everything joined to the focus, through any number of steps.
      for (const [a, b] of edges) {
        if (keep.has(a) !== keep.has(b)) {
          keep.add(keep.has(a) ? b : a);
          changed = true;
        }
      }
    }
    nodes = nodes.filter((n) => keep.has(n.id));
    edges = edges.filter(([a, b]) => keep.has(a) && keep.has(b));
  }
  if (nodes.length === 0) { replace(div, h('p', { class: 'muted' }, 'Nothing to draw yet: lineage appears when a job reads a dataset or registers a model.')); return; }
  const cols = [[], [], []];
  for (const n of nodes) cols[n.col].push(n);
  for (const c of cols) c.sort((a, b) => a.label.localeCompare(b.label, undefined, { numeric: true }));
  const W = 240, RH = 34, BW = 190, BH = 24, PAD = 30;
  const rows = Math.max(...cols.map((c) => c.length));
  const pos = new Map();
  cols.forEach((c, ci) => c.forEach((n, ri) => pos.set(n.id, { x: PAD + ci * W, y: PAD + 20 + ri * RH + (rows - c.length) * RH / 2 })));
  const width = PAD * 2 + 2 * W + BW, height = PAD * 2 + 20 + rows * RH;
  const s = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'lineage graph' });
  ['Dataset versions', 'Jobs', 'Model versions'].forEach((t, i) => s.append(svg('text', { x: PAD + i * W, y: PAD, class: 'col-title' }, t)));
  for (const [a, b] of edges) {
    const p = pos.get(a), q = pos.get(b);
    if (!p || !q) continue;
    const x1 = p.x + BW, y1 = p.y + BH / 2, x2 = q.x, y2 = q.y + BH / 2;
    s.append(svg('path', { d: `M${x1},${y1} C${x1 + 40},${y1} ${x2 - 40},${y2} ${x2},${y2}`, class: 'edge', 'marker-end': 'url(#arrow)' }));
  }
  s.prepend(svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: 'auto-start-reverse' }, svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrow' }))));
  for (const n of nodes) {
    const p = pos.get(n.id);
    const a = svg('a', { href: n.href, class: 'gnode col' + n.col + (focus && n.group === focus ? ' focus' : '') });
    a.append(svg('rect', { x: p.x, y: p.y, width: BW, height: BH, rx: 5 }), svg('text', { x: p.x + 8, y: p.y + 16 }, n.label.length > 26 ? n.label.slice(0, 25) + '…' : n.label));
    s.append(a);
  }
  replace(div, s);
}
