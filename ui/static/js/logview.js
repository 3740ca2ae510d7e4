// A job's log: the tail of stdout and stderr (stderr marked), followed
// while the job runs, and earlier parts fetched when the reader scrolls
// to the top. A 100 MB log costs only the bytes on screen: the log route
// takes ?offset= (negative: from the end) and ?limit=, and answers where
// it started (X-Nai-Offset).
//
// The two streams are on tabs. While the job runs, "both" shows lines as
// they arrive, near enough the order the job wrote them (as `nai job run`
// prints them). A finished job's streams can only be read whole, one
// after the other: the node keeps each in its own file, without times, so
// nothing can put them back in time order. Shown together, one stream
// would sit above the other as if written first; so a finished log opens
// on stdout, and "both" says that it is not in time order.
import * as api from './api.js';
import { h, replace } from './dom.js';

export const CHUNK = 64 * 1024; // bytes per fetch
const MAX_LINES = 20000; // lines kept on screen while following

const enc = new TextEncoder();

export class LogView {
  constructor(container, jobID) {
    this.job = jobID;
    this.lines = h('div', { class: 'log-lines', id: 'log-lines' });
    this.status = h('div', { class: 'log-status muted', id: 'log-status' });
    this.box = h('div', { class: 'log', id: 'log', tabindex: 0 }, this.status, this.lines);
    this.box.addEventListener('scroll', () => this.onScroll());
    this.tabs = {};
    for (const tab of ['both', 'stdout', 'stderr']) {
      this.tabs[tab] = h('button', { type: 'button', class: 'log-tab', id: 'log-tab-' + tab, role: 'tab', onclick: () => { this.picked = tab; this.show(tab); } }, tab);
    }
    this.note = h('span', { class: 'muted', id: 'log-note' });
    replace(container, h('div', { class: 'log-tools', role: 'tablist' }, this.tabs.both, this.tabs.stdout, this.tabs.stderr, this.note), this.box);
    this.counts = { stdout: 0, stderr: 0 };
    this.picked = null; // the tab the reader chose, kept across attempts
    this.follow = false;
    this.show('both');
    this.streams = {};
    this.ctrl = null;
    this.loadingEarlier = false;
  }

  // start shows the tail of both streams of the current attempt and, when
  // follow is true, keeps appending.
  async start(allocID, follow) {
    try {
      await this.load(allocID, follow);
    } catch (e) {
      // What went wrong shows in the log panel; the page goes on.
      replace(this.status, h('span', { class: 'error' }, 'Cannot show the log: ' + (e && e.message ? e.message : e)));
    }
  }

  // show selects a tab: both streams, or one of them.
  show(tab) {
    this.tab = tab;
    this.box.classList.toggle('hide-stdout', tab === 'stderr');
    this.box.classList.toggle('hide-stderr', tab === 'stdout');
    for (const [t, b] of Object.entries(this.tabs)) {
      b.classList.toggle('active', t === tab);
      b.setAttribute('aria-selected', String(t === tab));
    }
    this.describe();
  }

  // describe says what the tab shows and, for a finished job's two
  // streams together, that they are not in time order.
  describe() {
    for (const typ of ['stdout', 'stderr']) replace(this.tabs[typ], `${typ} (${this.counts[typ]})`);
    let note;
    if (this.follow) note = this.tab === 'both' ? ['as the lines arrive; stderr lines are marked ', h('span', { class: 'err-mark' }, 'err')] : [];
    else if (this.tab === 'both') note = ['stdout, then stderr: not in time order (the node keeps the two streams in separate files, without times)'];
    else note = ['a finished job\'s streams are shown apart: the node keeps them in separate files, without times, so they cannot be put back in time order'];
    replace(this.note, ...note);
  }

  async load(allocID, follow) {
    if (this.ctrl) this.ctrl.abort();
    this.ctrl = new AbortController();
    this.alloc = allocID;
    replace(this.lines);
    this.streams = {
      stdout: { start: 0, head: new Uint8Array(0), pending: '' },
      stderr: { start: 0, head: new Uint8Array(0), pending: '' },
    };
    this.stick = true;
    this.counts = { stdout: 0, stderr: 0 };
    this.follow = follow;
    this.show(this.picked || (follow ? 'both' : 'stdout'));
    const signal = this.ctrl.signal;
    replace(this.status, follow ? 'following…' : '');
    if (follow) await Promise.all(['stdout', 'stderr'].map((typ) => this.tail(typ, follow, signal)));
    else for (const typ of ['stdout', 'stderr']) await this.tail(typ, follow, signal); // whole streams: stdout, then stderr
    if (signal.aborted) return;
    if (this.hasEarlier()) replace(this.status, 'scroll up for earlier lines');
    else replace(this.status, this.lines.childElementCount === 0 ? 'The job wrote nothing to stdout or stderr.' : '');
  }

  stop() { if (this.ctrl) this.ctrl.abort(); }

  hasEarlier() { return Object.values(this.streams).some((s) => s.start > 0 || s.head.length > 0); }

  async tail(typ, follow, signal) {
    const st = this.streams[typ];
    const q = `type=${typ}&offset=-${CHUNK}` + (follow ? '&follow=true' : '');
    let resp;
    try {
      resp = await api.request(`/v1/jobs/${encodeURIComponent(this.job)}/logs?${q}`, { signal });
    } catch (e) {
      if (!signal.aborted) replace(this.status, h('span', { class: 'error' }, `Cannot read ${typ}: ${e.message}`));
      return;
    }
    st.start = Number(resp.headers.get('X-Nai-Offset')) || 0;
    let dropHead = st.start > 0; // the first line of the window is cut
    const reader = resp.body.getReader();
    const dec = new TextDecoder();
    for (;;) {
      let r;
      try { r = await reader.read(); } catch (_) { return; }
      if (r.done || signal.aborted) break;
      let bytes = r.value;
      if (dropHead) {
        const nl = bytes.indexOf(10);
        if (nl < 0) { st.head = concat(st.head, bytes.slice()); continue; }
        st.head = concat(st.head, bytes.slice(0, nl + 1));
        bytes = bytes.subarray(nl + 1);
        dropHead = false;
      }
      const text = st.pending + dec.decode(bytes, { stream: true });
      const parts = text.split('\n');
      st.pending = parts.pop();
      this.append(typ, parts);
    }
    if (st.pending) { this.append(typ, [st.pending]); st.pending = ''; }
  }

  append(typ, lines) {
    if (lines.length === 0) return;
    const atBottom = this.box.scrollTop + this.box.clientHeight >= this.box.scrollHeight - 8;
    const frag = document.createDocumentFragment();
    for (const l of lines) frag.append(line(typ, l));
    this.lines.append(frag);
    this.counts[typ] += lines.length;
    this.trim();
    this.describe();
    if (atBottom || this.stick) this.box.scrollTop = this.box.scrollHeight;
    this.stick = false;
  }

  // trim keeps a followed log's screen bounded; what leaves the top can be
  // fetched again by scrolling up.
  trim() {
    const extra = this.lines.childElementCount - MAX_LINES;
    if (extra <= 0) return;
    const byType = { stdout: 0, stderr: 0 };
    for (let i = 0; i < extra; i++) {
      const el = this.lines.firstElementChild;
      byType[el.dataset.stream] += enc.encode(el.textContent).length + 1;
      this.counts[el.dataset.stream]--;
      el.remove();
    }
    for (const [typ, n] of Object.entries(byType)) {
      const st = this.streams[typ];
      if (n === 0) continue;
      st.start += st.head.length + n;
      st.head = new Uint8Array(0);
    }
  }

  onScroll() {
    if (this.box.scrollTop < 40 && !this.loadingEarlier && this.hasEarlier()) this.earlier();
  }

  // earlier fetches the CHUNK before what is shown, of each stream.
  async earlier() {
    this.loadingEarlier = true;
    const signal = this.ctrl.signal;
    replace(this.status, 'loading earlier lines…');
    try {
      for (const typ of ['stderr', 'stdout']) {
        const st = this.streams[typ];
        if (st.start === 0 && st.head.length === 0) continue;
        const from = Math.max(0, st.start - CHUNK);
        const n = st.start - from;
        let bytes = new Uint8Array(0);
        if (n > 0) {
          const resp = await api.request(`/v1/jobs/${encodeURIComponent(this.job)}/logs?type=${typ}&offset=${from}&limit=${n}`, { signal });
          bytes = new Uint8Array(await resp.arrayBuffer());
        }
        let all = concat(bytes, st.head);
        st.head = new Uint8Array(0);
        if (from > 0) {
          const nl = all.indexOf(10);
          if (nl >= 0) {
            st.head = all.slice(0, nl + 1);
            all = all.subarray(nl + 1);
          } else {
            st.head = all;
            all = new Uint8Array(0);
          }
        }
        st.start = from;
        let text = new TextDecoder().decode(all);
        if (text.endsWith('\n')) text = text.slice(0, -1);
        if (!text) continue;
        const before = this.box.scrollHeight;
        const frag = document.createDocumentFragment();
        const got = text.split('\n');
        for (const l of got) frag.append(line(typ, l));
        this.lines.prepend(frag);
        this.counts[typ] += got.length;
        this.describe();
        this.box.scrollTop += this.box.scrollHeight - before;
      }
      replace(this.status, this.hasEarlier() ? 'scroll up for earlier lines' : 'start of the log');
    } catch (e) {
      if (!signal.aborted) replace(this.status, h('span', { class: 'error' }, 'Cannot read earlier lines: ' + e.message));
    } finally {
      this.loadingEarlier = false;
    }
  }
}

function line(typ, text) {
  const el = document.createElement('div');
  el.className = 'll ' + typ;
  el.dataset.stream = typ;
  el.textContent = text;
  return el;
}

function concat(a, b) {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
