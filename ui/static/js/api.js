// The API client of the UI: the same HTTP API the CLI uses, with the
// token the user logged in with. The token lives in sessionStorage (gone
// when the tab closes) and travels only in the Authorization header,
// never in a URL.

const KEY = 'nai.token';

export function token() {
  return sessionStorage.getItem(KEY) || '';
}

export function setToken(t) {
  if (t) sessionStorage.setItem(KEY, t);
  else sessionStorage.removeItem(KEY);
}

export class APIError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let unauthorized = () => {};

// onUnauthorized sets what happens when the API answers 401.
export function onUnauthorized(fn) {
  unauthorized = fn;
}

function headers(extra) {
  const hd = Object.assign({}, extra);
  const t = token();
  if (t) hd.Authorization = 'Bearer ' + t;
  return hd;
}

// request sends one request and returns the Response, or throws an
// APIError built from the API's {"error": {code, message}} body.
export async function request(path, { method = 'GET', body, signal, accept } = {}) {
  const init = { method, signal, headers: headers(accept ? { Accept: accept } : {}), cache: 'no-store' };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (e) {
    if (signal && signal.aborted) throw e;
    throw new APIError(0, 'unreachable', 'the nai server cannot be reached (' + e.message + ')');
  }
  if (!resp.ok) {
    let code = '';
    let msg = resp.status + ' ' + resp.statusText;
    try {
      const b = await resp.json();
      if (b && b.error) { code = b.error.code; msg = b.error.message; }
    } catch (_) { /* not JSON */ }
    const err = new APIError(resp.status, code, msg);
    if (resp.status === 401) unauthorized(err);
    throw err;
  }
  return resp;
}

// get answers {data, index, headers} for a JSON route.
export async function get(path, opts) {
  const r = await request(path, opts);
  return { data: await r.json(), index: Number(r.headers.get('X-Nai-Index')) || 0, headers: r.headers };
}

export async function text(path, opts) {
  const r = await request(path, opts);
  return r.text();
}

export function del(path) {
  return request(path, { method: 'DELETE' });
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    if (signal) signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });
}

// watch follows a route with the API's blocking queries: it calls fn with
// the first answer, then asks again with ?index=<last index>&wait=, which
// the server answers only when the state behind the route changes (or the
// wait ends). It never polls on a timer; after a failure (a restarting
// server) it retries with backoff. Errors that a retry cannot fix (401,
// 403, 404, 400) go to onError and end the watch. A route that does not
// block (it answers at once with the same index) is read once.
export async function watch(path, fn, signal, onError) {
  let index = 0;
  let backoff = 250;
  const sep = path.includes('?') ? '&' : '?';
  while (!signal.aborted) {
    const started = performance.now();
    try {
      const url = index ? `${path}${sep}index=${index}&wait=60s` : path;
      const res = await get(url, { signal });
      if (signal.aborted) return;
      backoff = 250;
      if (index === 0 || res.index !== index) fn(res);
      if (!res.index) return;
      if (res.index === index && performance.now() - started < 200) return; // does not block
      // A restarted cluster may count from lower again: start over.
      index = res.index < index ? 0 : res.index;
    } catch (e) {
      if (signal.aborted) return;
      if ([400, 401, 403, 404].includes(e.status)) {
        if (onError) onError(e);
        return;
      }
      await sleep(backoff, signal);
      backoff = Math.min(backoff * 2, 10000);
    }
  }
}

// download fetches a file with the token and hands it to the browser.
export async function download(path, filename) {
  const r = await request(path);
  const blob = await r.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}
