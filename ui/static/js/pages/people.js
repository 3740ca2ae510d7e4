// Users, groups and usage per group.
import * as api from '../api.js';
import { h, replace, fmtNum, fmtTime, errorBox } from '../dom.js';

function aclOffNote(ctx) {
  return ctx.me && ctx.me.acl_disabled
    ? h('p', { class: 'muted' }, 'This cluster runs without ACLs: there are no users or groups, and jobs carry the submitting account’s name.')
    : null;
}

export async function usersPage(ctx) {
  replace(ctx.main, h('h1', {}, 'Users'));
  const off = aclOffNote(ctx);
  if (off) { ctx.main.append(off); return; }
  try {
    const users = (await api.get('/v1/acl/users', { signal: ctx.signal })).data;
    users.sort((a, b) => a.name.localeCompare(b.name));
    ctx.main.append(h('table', { id: 'users-table' },
      h('thead', {}, h('tr', {}, ['Name', 'Unix account', 'Created'].map((c) => h('th', {}, c)))),
      h('tbody', {}, users.map((u) => h('tr', {}, h('td', {}, u.name), h('td', {}, u.unix_account || ''), h('td', {}, fmtTime(u.create_time)))))));
  } catch (e) {
    ctx.main.append(errorBox(e, 'list the users'));
  }
}

export async function groupsPage(ctx) {
  replace(ctx.main, h('h1', {}, 'Groups'));
  const off = aclOffNote(ctx);
  if (off) { ctx.main.append(off); return; }
  try {
    const groups = (await api.get('/v1/acl/groups', { signal: ctx.signal })).data;
    groups.sort((a, b) => a.name.localeCompare(b.name));
    ctx.main.append(h('table', { id: 'groups-table' },
      h('thead', {}, h('tr', {}, ['Group', 'Members (role)', 'Description'].map((c) => h('th', {}, c)))),
      h('tbody', {}, groups.map((g) => h('tr', {}, h('td', {}, g.name, g.personal ? h('span', { class: 'muted' }, ' (personal)') : ''),
        h('td', {}, (g.members || []).map((m) => `${m.user} (${m.role})`).sort().join(', ') || '—'),
        h('td', {}, g.description || ''))))));
  } catch (e) {
    ctx.main.append(errorBox(e, 'list the groups'));
  }
}

// usagePage shows GET /v1/usage (GPU-hours per group) where the cluster
// serves it, and the fair-share report every cluster has.
export async function usagePage(ctx) {
  replace(ctx.main, h('h1', {}, 'Usage'));
  const usage = h('section', { id: 'usage' });
  const share = h('section', { id: 'share' });
  ctx.main.append(usage, share);
  try {
    const u = (await api.get('/v1/usage', { signal: ctx.signal })).data;
    replace(usage, h('h2', {}, 'Usage per group'), renderUsage(u));
  } catch (e) {
    if (e.status === 404 && /no such API route/.test(e.message)) {
      replace(usage, h('h2', {}, 'Usage per group'), h('p', { class: 'muted', id: 'usage-missing' },
        'This cluster does not serve usage accounting (GET /v1/usage) yet. The fair-share figures below come from the scheduler.'));
    } else {
      replace(usage, errorBox(e, 'read the usage'));
    }
  }
  try {
    const rows = (await api.get('/v1/share', { signal: ctx.signal })).data || [];
    replace(share, h('h2', {}, 'Fair share'), h('p', { class: 'muted' }, 'As nai share prints it: decayed GPU-hours against each account’s shares.'),
      h('table', { id: 'share-table' },
        h('thead', {}, h('tr', {}, ['Kind', 'Account', 'Shares', 'Norm. shares', 'Usage (GPU-h)', 'Effective usage', 'Fair share'].map((c) => h('th', {}, c)))),
        h('tbody', {}, rows.map((r) => h('tr', {}, h('td', {}, r.kind), h('td', {}, r.name),
          [r.shares, r.norm_shares, r.usage_gpu_hours, r.effective_usage, r.fair_share].map((v) => h('td', { class: 'num' }, fmtNum(v ?? 0))))))));
  } catch (e) {
    replace(share, errorBox(e, 'read the fair share'));
  }
}

// renderUsage draws whatever shape /v1/usage answers: a list of rows, or
// an object holding one, as a table of its fields.
function renderUsage(u) {
  const rows = Array.isArray(u) ? u : (Object.values(u || {}).find(Array.isArray) || []);
  if (rows.length === 0) return h('p', { class: 'muted' }, 'No usage recorded.');
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((c) => typeof rows[0][c] !== 'object');
  return h('table', { id: 'usage-table' }, h('thead', {}, h('tr', {}, cols.map((c) => h('th', {}, c.replaceAll('_', ' '))))),
    h('tbody', {}, rows.map((r) => h('tr', {}, cols.map((c) => h('td', { class: typeof r[c] === 'number' ? 'num' : '' }, typeof r[c] === 'number' ? fmtNum(r[c]) : (r[c] ?? '')))))));
}
