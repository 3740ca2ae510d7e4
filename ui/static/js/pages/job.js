// One job: its state history, live log, metric charts, attempts, GPU
// usage, outputs, job file and, for a sweep, its members side by side.
// Live through GET /v1/jobs/{id}'s blocking query: every report of the
// job's node moves the job's index, and the page fetches what changed.
import * as api from '../api.js';
import { h, replace, fmtTime, fmtRel, fmtBytes, fmtDuration, fmtNum, statusBadge, errorBox, isZeroTime, jobColor } from '../dom.js';
import { MetricCharts } from '../charts.js';
import { LogView } from '../logview.js';
import { canManage, gpusOf, jobRef, jobLabel } from './queue.js';

const terminal = new Set(['complete', 'failed', 'cancelled', 'lost']);

export async function jobPage(ctx, rawID) {
  const id = decodeURIComponent(rawID);
  const path = '/v1/jobs/' + encodeURIComponent(id);
  let first;
  try {
    first = await api.get(path, { signal: ctx.signal });
  } catch (e) {
    if (ctx.signal.aborted) return;
    if (e.status === 404 || e.status === 403) {
      replace(ctx.main, h('div', { class: 'notfound', id: 'job-not-found' },
        h('h1', {}, `Job ${id} does not exist`),
        h('p', {}, e.status === 404 ? `The cluster has no job with the id "${id}". ` : `You may not see job "${id}": ${e.message}. `,
          'Job ids are numbers such as 12, or 12_3 for a member of a sweep. ',
          h('a', { href: '#/queue' }, 'Back to the queue'), '.')));
      return;
    }
    throw e;
  }

  const el = {
    head: h('div', { class: 'job-head', id: 'job-head' }),
    err: h('div'),
    facts: h('dl', { class: 'facts', id: 'job-facts' }),
    timeline: h('ol', { class: 'timeline', id: 'job-timeline' }),
    charts: h('div', { class: 'charts', id: 'job-charts' }),
    log: h('div', { id: 'job-log' }),
    attempts: h('div', { id: 'job-attempts' }),
    outputs: h('div', { id: 'job-outputs' }),
    sweep: h('div', { id: 'job-sweep' }),
    hcl: h('pre', { class: 'hcl', id: 'job-hcl' }, 'loading…'),
  };
  replace(ctx.main, el.head, el.err,
    h('div', { class: 'cols' },
      h('section', {}, h('h2', {}, 'Job'), el.facts),
      h('section', {}, h('h2', {}, 'State history'), el.timeline)),
    h('section', {}, h('h2', {}, 'Metrics'), el.charts),
    h('section', {}, h('h2', {}, 'Log'), el.log),
    h('section', {}, h('h2', {}, 'Attempts and GPU usage'), el.attempts),
    el.sweep,
    h('section', {}, h('h2', {}, 'Outputs'), el.outputs),
    h('section', {}, h('h2', {}, 'Job file'), h('p', { class: 'muted' }, 'As ', h('code', {}, `nai job inspect -hcl ${id}`), ' prints it.'), el.hcl));

  const charts = new MetricCharts(el.charts);
  const logs = new LogView(el.log, id);
  ctx.signal.addEventListener('abort', () => logs.stop());
  api.text(path + '/hcl', { signal: ctx.signal }).then((t) => replace(el.hcl, t), (e) => replace(el.hcl, errorBox(e, 'read the job file')));

  let logAlloc = null;
  let logFollow = null;
  let metricsBusy = false;
  let metricsAgain = false;
  const fetchMetrics = async () => {
    if (metricsBusy) { metricsAgain = true; return; }
    metricsBusy = true;
    try {
      do {
        metricsAgain = false;
        const m = (await api.get(`${path}/metrics?all=true&from=${charts.count}`, { signal: ctx.signal })).data;
        if (m.history && m.history.length && (m.from || 0) === charts.count) charts.add(m.history);
        else if (charts.count === 0) charts.draw();
      } while (metricsAgain && !ctx.signal.aborted);
    } catch (e) {
      if (!ctx.signal.aborted) replace(el.charts, errorBox(e, 'read the metrics'));
    } finally {
      metricsBusy = false;
    }
  };

  const update = async ({ data: j }) => {
    // Each panel is drawn on its own (panel): one that throws on what a
    // job wrote shows its error and leaves the log, the metrics and the
    // state history to be drawn.
    panel(el.head, 'show the job', () => renderHead(ctx, el, j));
    panel(el.facts, 'show the job', () => renderFacts(el.facts, j));
    panel(el.outputs, 'show the outputs', () => renderOutputs(el.outputs, j));
    const running = !terminal.has(j.status);
    if (j.alloc_id && (j.alloc_id !== logAlloc || (logFollow && !running))) {
      // A new attempt (or the end of a followed one, whose final log now
      // comes from the servers).
      if (j.alloc_id !== logAlloc || !logFollow) logs.start(j.alloc_id, running);
      logAlloc = j.alloc_id;
      logFollow = running;
    } else if (!j.alloc_id && logAlloc === null) {
      replace(el.log, h('p', { class: 'muted' }, j.status === 'pending' ? 'The job has not started: its log appears here when it runs.' : 'The job never ran.'));
    }
    fetchMetrics();
    let allocs;
    try {
      allocs = (await api.get(path + '/allocations', { signal: ctx.signal })).data;
    } catch (e) {
      if (!ctx.signal.aborted) replace(el.attempts, errorBox(e, 'read the attempts'));
    }
    if (allocs) {
      panel(el.timeline, 'show the state history', () => renderTimeline(el.timeline, j, allocs));
      panel(el.attempts, 'show the attempts', () => renderAttempts(el.attempts, allocs));
    }
    if (j.array_id) {
      try {
        const members = (await api.get('/v1/jobs?array=' + encodeURIComponent(j.array_id), { signal: ctx.signal })).data;
        panel(el.sweep, 'show the sweep', () => renderSweep(el.sweep, j, members));
      } catch (e) {
        if (!ctx.signal.aborted) replace(el.sweep, errorBox(e, 'read the sweep'));
      }
    }
  };
  await update(first);
  api.watch(path, update, ctx.signal, (e) => replace(el.err, errorBox(e, 'follow the job')));
}

// panel draws one part of the page; if drawing throws, the part shows
// the error instead and the rest of the page is drawn as usual.
function panel(box, what, draw) {
  try {
    draw();
  } catch (e) {
    console.error(e);
    replace(box, errorBox(e, what));
  }
}

function renderHead(ctx, el, j) {
  const actions = [];
  if (!terminal.has(j.status) && canManage(ctx.me, j)) {
    actions.push(h('button', { id: 'cancel', onclick: async (e) => {
      if (!confirm(`Cancel job ${j.id} (${j.name})?`)) return;
      e.target.disabled = true;
      try { await api.del('/v1/jobs/' + encodeURIComponent(j.id)); } catch (ex) { replace(el.err, errorBox(ex, 'cancel the job')); e.target.disabled = false; }
    } }, 'Cancel job'));
  }
  replace(el.head,
    h('h1', {}, h('span', { class: 'swatch big', style: { background: jobColor(j.id) } }), `Job ${jobLabel(j)} `, h('span', { class: 'muted' }, j.name), ' ', statusBadge(j.status)),
    h('p', { class: 'muted' }, j.status === 'pending' ? (j.reason || 'waiting for the scheduler') + (isZeroTime(j.estimated_start) ? '' : ` · estimated start ${fmtRel(j.estimated_start)}`)
      : j.status === 'running' ? `running on ${j.node_name} since ${fmtRel(j.start_time)}`
        : `${j.status}${j.exit_reason ? ' (' + j.exit_reason + ')' : ''}${j.exit_code !== null && j.exit_code !== undefined ? ', exit code ' + j.exit_code : ''}`),
    actions);
}

function renderFacts(dl, j) {
  const r = j.resources || {};
  const gpu = r.gpu || {};
  const rows = [
    ['Owner', `${j.user}${j.group ? ' (' + j.group + ')' : ''}`],
    ['Queue', `${j.queue || 'default'} · priority ${j.priority}`],
    ['Asks for', `${r.nodes > 1 ? r.nodes + ' nodes × ' : ''}${gpu.count || 0} GPU${gpu.count === 1 ? '' : 's'}${gpu.model ? ' ' + gpu.model : ''} · ${r.cpu} CPU · ${fmtBytes(r.memory_bytes)}`],
    ['Time limit', j.time_limit && j.time_limit !== '0s' ? j.time_limit : 'none'],
    ['Node', j.node_name ? `${j.node_name}${j.gpus && j.gpus.length ? ' · GPUs ' + j.gpus.join(', ') : ''}` : '—'],
    ['Attempt', String(j.attempt || 0)],
  ];
  if (j.array_id) rows.push(['Sweep', h('span', {}, `member ${jobRef(j)} of `, h('a', { href: '#/jobs/' + encodeURIComponent(j.array_id) }, j.array_id))]);
  if (j.depends_on && j.depends_on.length) rows.push(['Depends on', j.depends_on.map((d) => `${d.type}:${d.job_id}`).join(', ')]);
  for (const d of j.datasets || []) rows.push(['Dataset', h('a', { href: '#/datasets/' + encodeURIComponent(d.name) }, `${d.name}:${d.version}`)]);
  for (const m of j.models || []) rows.push(['Model', h('a', { href: '#/models/' + encodeURIComponent(m.name) }, `${m.name}:${m.version}`)]);
  if (j.output && j.output.model) rows.push(['Registers', h('a', { href: '#/models/' + encodeURIComponent(j.output.model) }, 'model ' + j.output.model)]);
  replace(dl, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

// renderTimeline draws the job's life from its own times and those of its
// attempts (allocations).
function renderTimeline(ol, j, allocs) {
  const ev = [];
  ev.push([j.submit_time, 'submitted', 'pending', '']);
  for (const a of allocs) {
    const c = a.client || {};
    ev.push([a.create_time, `attempt ${a.attempt} placed on ${a.node_name}`, 'placed', a.gpus && a.gpus.length ? 'GPUs ' + a.gpus.join(', ') : '']);
    if (!isZeroTime(c.start_time)) ev.push([c.start_time, `attempt ${a.attempt} started`, 'running', '']);
    if (!isZeroTime(c.end_time)) {
      ev.push([c.end_time, `attempt ${a.attempt} ${c.status}`, c.status,
        [c.exit_reason, c.exit_code !== null && c.exit_code !== undefined ? 'exit ' + c.exit_code : '', c.message].filter(Boolean).join(' · ')]);
    }
  }
  if (terminal.has(j.status) && !isZeroTime(j.end_time)) ev.push([j.end_time, 'job ' + j.status, j.status, j.exit_reason || '']);
  const valid = ev.filter((e) => !isZeroTime(e[0])).sort((a, b) => new Date(a[0]) - new Date(b[0]));
  const t0 = valid.length ? new Date(valid[0][0]).getTime() : 0;
  replace(ol, valid.map(([t, what, st, note]) => h('li', { class: 'st-' + st },
    h('time', { datetime: t, title: t }, fmtTime(t)), ' ',
    h('span', { class: 'muted' }, '+' + fmtDuration(new Date(t).getTime() - t0)), ' ',
    h('strong', {}, what), note ? h('span', { class: 'muted' }, ' · ' + note) : '')));
}

function renderAttempts(div, allocs) {
  if (allocs.length === 0) { replace(div, h('p', { class: 'muted' }, 'No attempt yet.')); return; }
  replace(div, h('table', { class: 'attempts' },
    h('thead', {}, h('tr', {}, ['Attempt', 'Allocation', 'Node', 'Status', 'Started', 'Ended', 'CPU time', 'Peak memory', 'GPUs: utilisation (mean) · memory (peak)'].map((c) => h('th', {}, c)))),
    h('tbody', {}, allocs.map((a) => {
      const c = a.client || {};
      const u = c.usage || {};
      const gpus = (c.gpu_usage || []).map((g) => h('div', { class: 'gpu-usage' },
        `GPU ${g.index}: ${g.utilization_percent}% (${fmtNum(g.mean_utilization_percent || 0)}%) · ${fmtBytes(g.memory_used_bytes)} (${fmtBytes(g.peak_memory_bytes)})`));
      return h('tr', {},
        h('td', { class: 'num' }, a.attempt), h('td', {}, a.id + (a.rank ? ` (rank ${a.rank})` : '')), h('td', {}, a.node_name + (a.gpus && a.gpus.length ? ' · GPUs ' + a.gpus.join(',') : '')),
        h('td', {}, statusBadge(c.status || 'pending'), c.exit_reason ? ' ' + c.exit_reason : ''),
        h('td', {}, fmtTime(c.start_time)), h('td', {}, fmtTime(c.end_time)),
        h('td', { class: 'num' }, u.cpu_seconds !== undefined ? fmtNum(u.cpu_seconds) + ' s' : '—'),
        h('td', { class: 'num' }, u.max_memory_bytes ? fmtBytes(u.max_memory_bytes) : '—'),
        h('td', {}, gpus.length ? gpus : h('span', { class: 'muted' }, a.gpus && a.gpus.length ? 'no samples yet' : 'no GPUs')));
    }))));
}

function renderOutputs(div, j) {
  if (j.output_digest) {
    replace(div, h('button', { id: 'download-outputs', onclick: () => api.download(`/v1/jobs/${encodeURIComponent(j.id)}/outputs`, `job-${j.id}-outputs.tar.gz`).catch((e) => div.append(errorBox(e, 'download the outputs'))) },
      `Download outputs (${fmtBytes(j.output_size)}, tar.gz)`),
      j.output && j.output.model ? h('span', { class: 'muted' }, ' · registered as ', h('a', { href: '#/models/' + encodeURIComponent(j.output.model) }, 'model ' + j.output.model)) : '');
  } else {
    replace(div, h('p', { class: 'muted' }, terminal.has(j.status) ? 'The job left no outputs in $NAI_OUTPUT_DIR.' : 'What the job leaves in $NAI_OUTPUT_DIR is kept when it ends.'));
  }
}

// lowerIsBetter guesses a metric's direction from its name.
export function lowerIsBetter(key) {
  return /loss|err|perplex|mse|mae|rmse|wer|cer|time|latency/i.test(key);
}

function renderSweep(div, j, members) {
  members.sort((a, b) => (a.array_index || 0) - (b.array_index || 0));
  const params = [...new Set(members.flatMap((m) => Object.keys(m.sweep_values || {})))].sort();
  // A member whose metric became NaN or ±Infinity has it in
  // non_finite_metrics, not metrics: it shows as such, never as a best.
  const keys = [...new Set(members.flatMap((m) => [...Object.keys(m.metrics || {}), ...Object.keys(m.non_finite_metrics || {})]))].filter((k) => k !== 'step').sort((a, b) => (a === 'loss' ? -1 : b === 'loss' ? 1 : a.localeCompare(b)));
  const best = {};
  for (const k of keys) {
    let bi = null;
    for (const m of members) {
      const v = (m.metrics || {})[k];
      if (typeof v !== 'number') continue;
      if (bi === null || (lowerIsBetter(k) ? v < bi.v : v > bi.v)) bi = { id: m.id, v };
    }
    if (bi) best[k] = bi.id;
  }
  const lead = keys[0];
  replace(div, h('section', {}, h('h2', {}, `Sweep ${j.array_id}: ${members.length} members`),
    lead ? h('p', { class: 'muted' }, `Best by ${lead}: `, h('a', { href: '#/jobs/' + encodeURIComponent(best[lead]) }, 'job ' + best[lead]), ` (${lowerIsBetter(lead) ? 'lowest' : 'highest'}); ★ marks the best of each column.`) : '',
    h('table', { class: 'sweep', id: 'sweep-table' },
      h('thead', {}, h('tr', {}, ['#', 'Member', 'State', ...params, ...keys].map((c) => h('th', {}, c)))),
      h('tbody', {}, members.map((m) => h('tr', { class: (m.id === j.id ? 'self ' : '') + (lead && best[lead] === m.id ? 'best' : ''), dataset: { jobId: m.id } },
        h('td', { class: 'num' }, m.array_index || 0),
        h('td', {}, h('a', { href: '#/jobs/' + encodeURIComponent(m.id) }, jobLabel(m))),
        h('td', {}, statusBadge(m.status)),
        params.map((p) => h('td', {}, (m.sweep_values || {})[p] ?? '')),
        keys.map((k) => {
          const v = (m.metrics || {})[k];
          const nf = (m.non_finite_metrics || {})[k];
          return h('td', { class: 'num' + (best[k] === m.id ? ' best' : '') }, v === undefined ? (nf ? nf.value : '—') : fmtNum(v), best[k] === m.id ? ' ★' : '');
        })))))));
}

export { gpusOf };
