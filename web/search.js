// The search box: text (or an image file) to `/api/search`, hits with where they are, their
// snippet and, for image hits, a thumbnail of the indexed image.
import { api, el, fill, num } from './dom.js';

function where(hit) {
  if (hit.lines) {
    const [from, to] = hit.lines;
    return to > from ? `${hit.path}:${from} (lines ${from}–${to})` : `${hit.path}:${from}`;
  }
  if (hit.page !== undefined && hit.page !== null) return `${hit.path} · page ${hit.page}`;
  return hit.path;
}

function hitItem(hit) {
  const heading = hit.heading || hit.title || hit.path;
  const thumb =
    hit.modality === 'image'
      ? el('img', {
          class: 'thumb',
          src: `/api/thumbnail?doc=${encodeURIComponent(hit.docId)}&size=128`,
          alt: `Thumbnail of ${hit.path}`,
          width: 128,
          height: 128,
          loading: 'lazy',
        })
      : null;
  return el(
    'li',
    { class: `hit ${hit.modality}`, dataset: { path: hit.path, doc: hit.docId } },
    thumb,
    el(
      'div',
      { class: 'hit-body' },
      el('h3', {}, el('span', { class: 'rank' }, `${hit.rank}.`), ' ', heading),
      el(
        'p',
        { class: 'where' },
        el('code', {}, where(hit)),
        el('span', { class: 'score', title: 'score' }, ` score ${hit.score.toFixed(3)}`),
      ),
      hit.snippet ? el('p', { class: 'snippet' }, hit.snippet) : null,
    ),
  );
}

function show(res) {
  const what = res.query === null ? 'the image' : `“${res.query}”`;
  fill('search-summary', `${num(res.hits.length)} hits for ${what} (${res.mode}, ${num(res.tookMs)} ms)`);
  fill('hits', res.hits.length === 0 ? el('li', { class: 'muted' }, 'No hit.') : res.hits.map(hitItem));
}

function fail(err) {
  const field = err.field ? ` (field ${err.field})` : '';
  fill('search-summary', el('span', { class: 'error', role: 'alert' }, `Search failed${field}: ${err.message}`));
  fill('hits');
}

/** Wires the search form. */
export function initSearch() {
  const form = document.getElementById('search-form');
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const image = document.getElementById('search-image').files[0];
    const params = new URLSearchParams({ mode: data.get('mode'), k: data.get('k') });
    const q = String(data.get('q') ?? '').trim();
    if (!image && !q) return fail({ message: 'type a query, or choose an image' });
    if (q) params.set('q', q);
    if (image) params.delete('mode');
    fill('search-summary', 'Searching…');
    form.setAttribute('aria-busy', 'true');
    try {
      const res = image
        ? await api(`/api/search?${params}`, { method: 'POST', body: image, type: image.type || 'application/octet-stream' })
        : await api(`/api/search?${params}`);
      show(res);
    } catch (err) {
      fail(err);
    } finally {
      form.removeAttribute('aria-busy');
    }
  });
  document.getElementById('search-image-clear').addEventListener('click', () => {
    document.getElementById('search-image').value = '';
  });
}
