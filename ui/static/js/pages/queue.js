// The queue: running jobs, then pending ones in the order the scheduler
// will consider them, with why each waits and when it may start. Paged on
// the server (GET /v1/queue?offset=&limit=), so 10,000 pending jobs cost
// one page; live through the route's blocking query.
import * as api from '../api.js';
import { h, replace, fmtRel, statusBadge, errorBox, jobColor } from '../dom.js';

export const PAGE_SIZE = 100;

// jobRef is how every command names a job: a member of array A as A_N,
// N its Slurm task id (a converted --array) or its index in the sweep, as
// structs.Job.ArrayRef does; any other job by its id.
export function jobRef(j) {
  if (!j.array_id) return j.id;
  const task = (j.sweep_values || {}).SLURM_ARRAY_TASK_ID;
  return `${j.array_id}_${task !== undefined && /^\d+$/.test(task) ? Number(task) : (j.array_index || 0)}`;
}

// jobLabel is the id, and the member's A_N beside it.
export function jobLabel(j) {
  return j.array_id ? `${j.id} (${jobRef(j)})` : j.id;
}

// canManage says whether the UI offers to cancel a job: the API decides
// in the end (and says why not).
export function canManage(me, job) {
  if (!me || me.acl_disabled) return true;
  const pol = (me.token && me.token.policies) || [];
  if (pol.includes('management')) return true;
  if (me.user && job.user === me.user.name) return true;
  return !!(me.groups && job.group && me.groups[job.group] === 'admin');
}

export function gpusOf(j) {
  const r = j.resources || {};
  const per = (r.gpu && r.gpu.count) || 0;
  return per * (r.nodes || 1);
}

export async function queuePage(ctx) {
  const q = ctx.query;
  const page = Math.max(0, Number(q.get('page') || 0) | 0);
  const filters = { state: q.get('state') || '', user: q.get('user') || '', group: q.get('group') || '', queue: q.get('queue') || '' };

  const setFilter = (k, v) => {
    const nq = new URLSearchParams(q);
    if (v) nq.set(k, v); else nq.delete(k);
    nq.delete('page');
    ctx.navigate('#/queue' + (nq.toString() ? '?' + nq : ''));
  };
  const field = (k, label, el) => h('label', {}, label, ' ', el);
  const text = (k) => h('input', { type: 'search', name: k, id: 'filter-' + k, value: filters[k], size: 10, placeholder: 'any', onchange: (e) => setFilter(k, e.target.value.trim()) });
  const stateSel = h('select', { name: 'state', id: 'filter-state', onchange: (e) => setFilter('state', e.target.value) },
    ['', 'running', 'pending'].map((s) => h('option', { value: s, selected: s === filters.state }, s || 'running and pending')));
  const bar = h('form', { class: 'filters', onsubmit: (e) => e.preventDefault() },
    field('state', 'State', stateSel), field('user', 'User', text('user')), field('group', 'Group', text('group')), field('queue', 'Queue', text('queue')));

  const summary = h('div', { class: 'summary', id: 'queue-summary' });
  const table = h('table', { class: 'jobs', id: 'queue-table' });
  const pager = h('div', { class: 'pager' });
  const err = h('div');
  replace(ctx.main, h('h1', {}, 'Queue'), bar, err, summary, table, pager);

  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(filters)) if (v) params.set(k, v);
  params.set('offset', String(page * PAGE_SIZE));
  params.set('limit', String(PAGE_SIZE));

  let painted = false;
  const render = ({ data: jobs, headers }) => {
    const total = Number(headers.get('X-Nai-Total')) || jobs.length;
    replace(err);
    const now = Date.now();
    const first = page * PAGE_SIZE;
    replace(summary, total === 0
      ? 'No running or pending jobs' + (Object.values(filters).some(Boolean) ? ' match these filters.' : '.')
      : `Jobs ${first + 1}–${first + jobs.length} of ${total.toLocaleString()}`);
    replace(table,
      h('thead', {}, h('tr', {}, ['#', 'Job', 'Name', 'User', 'Group', 'Queue', 'State', 'GPUs', 'Why / where', 'Start', ''].map((c) => h('th', {}, c)))),
      h('tbody', {}, jobs.map((j, i) => row(ctx, j, first + i + 1, now, err))));
    replace(pager,
      page > 0 ? h('a', { href: hashFor(q, page - 1), id: 'prev' }, '← previous') : '',
      ' ',
      first + jobs.length < total ? h('a', { href: hashFor(q, page + 1), id: 'next' }, 'next →') : '');
    if (!painted) {
      painted = true;
      // For the browser test: when the first page was on screen.
      performance.mark('nai-queue-painted');
      document.body.dataset.queuePainted = String(performance.now());
    }
  };
  api.watch('/v1/queue?' + params, render, ctx.signal, (e) => replace(err, errorBox(e, 'read the queue')));
}

function hashFor(q, page) {
  const nq = new URLSearchParams(q);
  if (page > 0) nq.set('page', String(page)); else nq.delete('page');
  return '#/queue' + (nq.toString() ? '?' + nq : '');
}

function row(ctx, j, n, now, err) {
  const running = j.status === 'running';
  const why = running
    ? [h('a', { href: '#/nodes' }, j.node_name || j.node_id || ''), (j.gpus && j.gpus.length) ? ' GPUs ' + j.gpus.join(',') : '']
    : (j.reason || 'waiting for the scheduler');
  const start = running ? 'started ' + fmtRel(j.start_time, now) : (j.estimated_start ? 'est. ' + fmtRel(j.estimated_start, now) : '—');
  const cancel = canManage(ctx.me, j)
    ? h('button', { class: 'small', title: 'cancel job ' + j.id, onclick: async (e) => {
      if (!confirm(`Cancel job ${j.id} (${j.name})?`)) return;
      e.target.disabled = true;
      try { await api.del('/v1/jobs/' + encodeURIComponent(j.id)); } catch (ex) { replace(err, errorBox(ex, 'cancel job ' + j.id)); e.target.disabled = false; }
    } }, 'cancel')
    : '';
  return h('tr', { dataset: { jobId: j.id, status: j.status } },
    h('td', { class: 'num muted' }, n),
    h('td', {}, h('span', { class: 'swatch', style: { background: jobColor(j.id) } }), h('a', { href: '#/jobs/' + encodeURIComponent(j.id) }, jobLabel(j))),
    h('td', {}, j.name),
    h('td', {}, j.user),
    h('td', {}, j.group || ''),
    h('td', {}, j.queue || 'default'),
    h('td', {}, statusBadge(j.status)),
    h('td', { class: 'num' }, gpusOf(j)),
    h('td', { class: 'why' }, why),
    h('td', {}, start),
    h('td', {}, cancel));
}
