// Small helpers of the status page: building elements (text always through text nodes, never
// parsed as HTML: paths, reasons and snippets are user data), calling the API, formatting.

/**
 * An element with attributes and children. A child string becomes a text node; `null`,
 * `undefined` and `false` children are skipped. Attributes starting with `on` are listeners.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces the children of the element with id `id`; returns the element. */
export function fill(id, ...children) {
  const node = document.getElementById(id);
  node.replaceChildren();
  append(node, children);
  return node;
}

/** Sets the text of the element with id `id`. */
export function text(id, value) {
  document.getElementById(id).textContent = value === null || value === undefined ? '—' : String(value);
}

/** An error of the API: its HTTP status, its message and, for a bad parameter, the field. */
export class ApiError extends Error {
  constructor(status, message, field) {
    super(message);
    this.status = status;
    this.field = field;
  }
}

/**
 * Calls the API and returns its JSON. POSTs carry `x-ragsync: 1` (the server refuses a POST
 * without it, which a cross-origin form cannot send). A failure throws an `ApiError` that says
 * what the server said.
 */
export async function api(url, { method = 'GET', body, type } = {}) {
  const headers = { accept: 'application/json' };
  if (method !== 'GET') headers['x-ragsync'] = '1';
  if (type) headers['content-type'] = type;
  let res;
  try {
    res = await fetch(url, { method, headers, body, credentials: 'same-origin', cache: 'no-store' });
  } catch (err) {
    throw new ApiError(0, `${method} ${url.split('?')[0]}: the server cannot be reached (${err.message})`);
  }
  const raw = await res.text();
  let data = null;
  try {
    data = raw ? JSON.parse(raw) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const message = (data && (data.error || data.message)) || raw.slice(0, 200) || res.statusText;
    throw new ApiError(res.status, `${method} ${url.split('?')[0]}: ${res.status} ${message}`, data && data.field);
  }
  return data;
}

/** A count with thousands separators. */
export function num(n) {
  return typeof n === 'number' ? n.toLocaleString('en-US') : '—';
}

/** `12 s ago`, `3 min ago`, … for an ISO time (null: never). */
export function ago(iso) {
  if (!iso) return 'never';
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (!Number.isFinite(s)) return String(iso);
  if (s < 5) return 'just now';
  if (s < 90) return `${s} s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}

/** A `<time>` element showing how long ago, the exact time on hover. */
export function time(iso) {
  if (!iso) return el('span', { class: 'muted' }, 'never');
  return el('time', { datetime: iso, title: new Date(iso).toLocaleString() }, ago(iso));
}

/** Bytes as B, KB, MB, GB. */
export function bytes(n) {
  if (typeof n !== 'number') return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** The model of a fingerprint, in one line: `jinaai/jina-clip-v1 · 768 dims · fp32`. */
export function model(fp) {
  if (!fp) return 'none yet';
  return [fp.model, fp.revision && fp.revision !== 'main' ? `@${fp.revision}` : null, fp.dim && `${fp.dim} dims`, fp.dtype, fp.pooling]
    .filter(Boolean)
    .join(' · ');
}
