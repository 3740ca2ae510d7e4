// The nodes: each node a row of GPU tiles, coloured by the job holding
// each GPU, filled to its utilisation; unhealthy GPUs and draining or
// down nodes marked. Live through GET /v1/nodes's blocking query.
import * as api from '../api.js';
import { h, replace, fmtBytes, jobColor, errorBox, isZeroTime, fmtRel } from '../dom.js';

export async function nodesPage(ctx) {
  const list = h('div', { id: 'nodes' });
  const legend = h('div', { class: 'legend', id: 'legend' });
  const err = h('div');
  replace(ctx.main, h('h1', {}, 'Nodes'), err, legend, list);
  api.watch('/v1/nodes', ({ data: nodes }) => {
    nodes.sort((a, b) => a.name.localeCompare(b.name));
    const jobs = new Map();
    for (const n of nodes) for (const g of n.gpus || []) if (g.job_id) jobs.set(g.job_id, (jobs.get(g.job_id) || 0) + 1);
    replace(legend, jobs.size === 0 ? h('span', { class: 'muted' }, 'No GPU is held by a job.') :
      [...jobs].map(([id, k]) => h('a', { class: 'chip', href: '#/jobs/' + encodeURIComponent(id) },
        h('span', { class: 'swatch', style: { background: jobColor(id) } }), `job ${id} · ${k} GPU${k > 1 ? 's' : ''}`)));
    replace(list, nodes.length === 0 ? h('p', { class: 'muted' }, 'No client node has registered.') : nodes.map(nodeRow));
  }, ctx.signal, (e) => replace(err, errorBox(e, 'read the nodes')));
}

function nodeState(n) {
  if (n.status !== 'ready') return n.status;
  if (n.drain) return 'draining';
  if (!n.eligible) return 'ineligible';
  return 'ready';
}

function nodeRow(n) {
  const st = nodeState(n);
  const gpus = n.gpus || [];
  const held = gpus.filter((g) => g.job_id).length;
  const model = gpus.length ? gpus[0].model : '';
  const notes = [];
  if (n.drain && !isZeroTime(n.drain_deadline)) notes.push('drain deadline ' + fmtRel(n.drain_deadline));
  return h('section', { class: 'node st-' + st, dataset: { node: n.name, nodeId: n.id, state: st } },
    h('div', { class: 'node-head' },
      h('strong', {}, n.name), ' ', h('span', { class: 'badge st-' + st }, st),
      h('span', { class: 'muted' }, ` ${n.cpu} CPUs · ${fmtBytes(n.memory_bytes)} · ${held}/${gpus.length} GPUs held${model ? ' · ' + model : ''}`),
      notes.length ? h('span', { class: 'muted' }, ' · ' + notes.join(', ')) : ''),
    h('div', { class: 'tiles' }, gpus.length ? gpus.map((g) => tile(n, g)) : h('span', { class: 'muted' }, 'no GPUs')));
}

function tile(n, g) {
  const state = !g.healthy ? 'unhealthy' : (g.job_id ? 'held' : 'free');
  const util = g.utilization_percent || 0;
  const title = [`GPU ${g.index} · ${g.model}`, g.uuid,
    state === 'unhealthy' ? 'unhealthy: ' + (g.unhealthy_reason || 'withdrawn') : '',
    g.job_id ? `held by job ${g.job_id} (allocation ${g.alloc_id})` : 'free',
    g.job_id ? `utilisation ${util}% · memory ${fmtBytes(g.memory_used_bytes || 0)} of ${fmtBytes(g.memory_bytes)}` : `memory ${fmtBytes(g.memory_bytes)}`]
    .filter(Boolean).join('\n');
  const style = g.job_id ? { borderColor: jobColor(g.job_id), background: jobColor(g.job_id, 88) } : {};
  const inner = [
    h('div', { class: 'fill', style: { height: util + '%', background: g.job_id ? jobColor(g.job_id) : '' } }),
    h('div', { class: 'label' },
      h('span', { class: 'idx' }, 'GPU ' + g.index),
      g.job_id ? h('span', { class: 'job' }, 'job ' + g.job_id) : h('span', { class: 'muted' }, state === 'unhealthy' ? 'unhealthy' : 'free'),
      g.job_id ? h('span', { class: 'util' }, util + '%') : ''),
  ];
  const attrs = { class: 'gpu ' + state, title, style, dataset: { gpu: g.index, state, jobId: g.job_id || '' } };
  return g.job_id ? h('a', Object.assign(attrs, { href: '#/jobs/' + encodeURIComponent(g.job_id) }), inner) : h('div', attrs, inner);
}
