// The UI's shell: who is logged in, the router (pages live in the part of
// the address after '#', so the server serves one file), and the nav.
import * as api from './api.js';
import { h, replace, errorBox } from './dom.js';
import { loginPage } from './pages/login.js';
import { queuePage } from './pages/queue.js';
import { nodesPage } from './pages/nodes.js';
import { servicesPage } from './pages/services.js';
import { jobPage } from './pages/job.js';
import { artifactsPage, artifactPage, lineagePage } from './pages/artifacts.js';
import { usersPage, groupsPage, usagePage } from './pages/people.js';

const routes = [
  [/^\/queue$/, queuePage, 'queue'],
  [/^\/nodes$/, nodesPage, 'nodes'],
  [/^\/services$/, servicesPage, 'services'],
  [/^\/jobs\/([^/]+)$/, jobPage, 'queue'],
  [/^\/(datasets|models)$/, artifactsPage, null],
  [/^\/(datasets|models)\/([^/]+)$/, artifactPage, null],
  [/^\/lineage$/, lineagePage, 'lineage'],
  [/^\/users$/, usersPage, 'users'],
  [/^\/groups$/, groupsPage, 'groups'],
  [/^\/usage$/, usagePage, 'usage'],
  [/^\/login$/, loginPage, null],
];

const main = document.getElementById('app');
let current = null; // the AbortController of the page on screen
let me = null; // the answer of /v1/acl/token/self

// whoami asks the API who the token is; null when it needs a login.
async function whoami() {
  try {
    return (await api.get('/v1/acl/token/self')).data;
  } catch (e) {
    if (e.status === 401 || e.status === 403) return null;
    throw e;
  }
}

function showWho() {
  const who = document.getElementById('who');
  if (!me) { replace(who); return; }
  if (me.acl_disabled) { replace(who, h('span', { class: 'muted', title: 'this cluster runs without ACLs: everyone may do everything' }, 'ACLs off')); return; }
  const name = me.user ? me.user.name : (me.token && me.token.name) || 'token';
  replace(who, h('span', {}, name), ' ', h('button', { class: 'link', id: 'logout', onclick: logout }, 'log out'));
}

function logout() {
  api.setToken('');
  me = null;
  showWho();
  location.hash = '#/login';
}

function parseHash() {
  const raw = decodeURIComponent(location.hash.replace(/^#/, '')) || '/queue';
  const [path, qs] = raw.split('?');
  return { path: path || '/queue', query: new URLSearchParams(qs || '') };
}

async function route() {
  if (current) current.abort();
  current = new AbortController();
  const ctx = { main, signal: current.signal, me, navigate };
  const { path, query } = parseHash();
  ctx.query = query;
  if (path !== '/login' && !me) {
    try {
      me = await whoami();
    } catch (e) {
      replace(main, errorBox(e, 'reach the nai API'));
      return;
    }
    ctx.me = me;
    showWho();
    if (!me) {
      location.replace('#/login?next=' + encodeURIComponent(path));
      return;
    }
  }
  for (const [re, page, nav] of routes) {
    const m = path.match(re);
    if (!m) continue;
    for (const a of document.querySelectorAll('#nav a')) {
      a.classList.toggle('active', a.dataset.nav === (nav || m[1]));
    }
    replace(main, h('p', { class: 'muted' }, 'Loading…'));
    try {
      await page(ctx, ...m.slice(1));
    } catch (e) {
      if (!ctx.signal.aborted) replace(main, errorBox(e));
    }
    return;
  }
  replace(main, h('div', { class: 'notfound' }, h('h1', {}, 'No such page'),
    h('p', {}, 'There is no page at ', h('code', {}, path), '. ', h('a', { href: '#/queue' }, 'Go to the queue'), '.')));
}

function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

// A 401 from any call means the token is missing, expired or revoked.
api.onUnauthorized(() => {
  me = null;
  showWho();
  const { path } = parseHash();
  if (path !== '/login') location.replace('#/login?next=' + encodeURIComponent(path));
});

// loggedIn is called by the login page with the new identity.
export function loggedIn(who) {
  me = who;
  showWho();
}

window.addEventListener('hashchange', route);
route();
