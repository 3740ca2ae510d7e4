// The services (nai serve): each with its model, version, how many
// replicas serve, the gateway's address and, replica by replica, where it
// runs and why one is not healthy. Live through GET /v1/services's
// blocking query.
import * as api from '../api.js';
import { h, replace, errorBox, fmtRel, statusBadge, isZeroTime } from '../dom.js';

export async function servicesPage(ctx) {
  const list = h('div', { id: 'services' });
  const err = h('div');
  replace(ctx.main, h('h1', {}, 'Services'), err, list);
  api.watch('/v1/services', ({ data: services }) => {
    services.sort((a, b) => a.name.localeCompare(b.name));
    replace(list, services.length === 0
      ? h('p', { class: 'muted' }, 'No service runs. Serve a model with nai serve MODEL:VERSION.')
      : services.map((s) => serviceBlock(s, ctx.me)));
  }, ctx.signal, (e) => replace(err, errorBox(e, 'read the services')));
}

// serving counts what the gateway sends calls to: healthy replicas of any
// version that are not being stopped.
function serving(s) {
  return (s.replicas || []).filter((r) => r.healthy && !r.stopping).length;
}

function serviceBlock(s, me) {
  const n = serving(s);
  const older = (s.replicas || []).filter((r) => r.healthy && !r.stopping && r.version !== s.version).length;
  const head = `${s.healthy} of ${s.desired} replica${s.desired === 1 ? '' : 's'} of version ${s.version} healthy` +
    (older ? `; ${older} of an earlier version serving` : '');
  return h('section', { class: 'service', dataset: { service: s.name, serving: String(n) } },
    h('h2', {}, s.name, ' ', statusBadge(s.status), s.public ? h('span', { class: 'badge' }, 'public') : ''),
    h('p', { class: 'muted' },
      h('a', { href: '#/jobs/' + encodeURIComponent(s.job_id) }, 'job ' + s.job_id),
      ` · ${s.user}${s.group ? ' (' + s.group + ')' : ''}`,
      s.model ? [' · model ', h('a', { href: '#/models/' + encodeURIComponent(s.model.split(':')[0]) }, s.model)] : '',
      ` · ${head}`,
      isZeroTime(s.start_time) ? '' : ` · since ${fmtRel(s.start_time)}`),
    h('p', {}, 'Call it at ', h('code', { class: 'path' }, location.origin + s.path),
      s.public || (me && me.acl_disabled) ? '' : h('span', { class: 'muted' }, ' (with a token that may read its group)')),
    s.reason ? h('p', { class: 'why' }, s.reason) : '',
    s.rollout && s.rollout.status && s.rollout.status !== 'complete'
      ? h('p', { class: 'muted' }, `rollout ${s.rollout.from_model || 'version ' + s.rollout.from_version} → ${s.rollout.to_model || 'version ' + s.rollout.to_version}: ${s.rollout.status}${s.rollout.reason ? ' (' + s.rollout.reason + ')' : ''}`) : '',
    h('table', { class: 'replicas' },
      h('thead', {}, h('tr', {}, ['Replica', 'Allocation', 'Node', 'Address', 'Version', 'Healthy', 'Restarts', 'Note'].map((c) => h('th', {}, c)))),
      h('tbody', {}, (s.replicas || []).map((r) => h('tr', { dataset: { alloc: r.alloc_id, healthy: String(r.healthy) } },
        h('td', { class: 'num' }, r.replica),
        h('td', {}, r.alloc_id),
        h('td', {}, r.node || '—'),
        h('td', {}, r.address || '—'),
        h('td', { class: 'num' }, r.version),
        h('td', {}, r.stopping ? 'stopping' : (r.healthy ? 'yes' : 'no')),
        h('td', { class: 'num' }, r.restarts),
        h('td', { class: 'why' }, note(r)))))));
}

// note says why a replica does not serve, as nai service status does.
function note(r) {
  const parts = [];
  if (r.last_exit && !r.healthy) parts.push(`last run: ${r.last_exit}`);
  if (r.health_error) parts.push(`unhealthy: ${r.health_error}`);
  if (!parts.length && r.message) parts.push(r.message);
  return parts.join('; ');
}
