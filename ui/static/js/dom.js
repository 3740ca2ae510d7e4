// Small DOM and formatting helpers shared by the pages.

// h builds an element: h('a', {href: '#/x', class: 'y'}, 'text', child...).
// Attributes starting with "on" are listeners; text is never parsed as HTML.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

// svg builds an SVG element.
export function svg(tag, attrs, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// replace puts children in place of el's content.
export function replace(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function fmtBytes(n) {
  if (n === undefined || n === null) return '—';
  let i = 0;
  let v = Number(n);
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (i === 0 ? String(v) : v.toFixed(v < 10 ? 1 : 0)) + ' ' + units[i];
}

export function isZeroTime(t) {
  return !t || t.startsWith('0001-01-01');
}

export function fmtTime(t) {
  if (isZeroTime(t)) return '—';
  const d = new Date(t);
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function fmtDuration(ms) {
  if (ms < 0) ms = -ms;
  const s = Math.round(ms / 1000);
  if (s < 60) return s + 's';
  const m = Math.floor(s / 60);
  if (m < 60) return m + 'm' + (s % 60 ? ' ' + (s % 60) + 's' : '');
  const hr = Math.floor(m / 60);
  if (hr < 48) return hr + 'h' + (m % 60 ? ' ' + (m % 60) + 'm' : '');
  return Math.floor(hr / 24) + 'd ' + (hr % 24) + 'h';
}

// fmtRel says how far a time is from now: "in 5m", "3m ago".
export function fmtRel(t, now = Date.now()) {
  if (isZeroTime(t)) return '—';
  const d = new Date(t).getTime() - now;
  return d >= 0 ? 'in ' + fmtDuration(d) : fmtDuration(d) + ' ago';
}

export function fmtNum(v) {
  if (typeof v !== 'number') return String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 0.001 || a >= 1e6)) return v.toExponential(3);
  return v.toFixed(4).replace(/0+$/, '').replace(/\.$/, '');
}

export function statusBadge(status) {
  return h('span', { class: 'badge st-' + status }, status);
}

// jobColor is a stable colour per job id, the same on every page.
export function jobColor(id, light = 46) {
  let x = 0;
  for (const c of String(id)) x = (x * 31 + c.charCodeAt(0)) >>> 0;
  const hue = (x * 137.508) % 360;
  return `hsl(${hue.toFixed(0)} 62% ${light}%)`;
}

// errorBox shows an API error the way every page does.
export function errorBox(err, what) {
  return h('div', { class: 'error', role: 'alert' },
    h('strong', {}, what ? `Cannot ${what}: ` : 'Error: '), err && err.message ? err.message : String(err));
}
