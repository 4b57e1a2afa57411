// The status page: reads /api/status and /api/jobs every few seconds, follows /api/events for
// live syncs, retries failed jobs, and shows every API error in the banner at the top.
import { api, el, fill, text } from './dom.js';
import { renderFreshness } from './freshness.js';
import { initSearch } from './search.js';
import { renderJobs, renderStatus, renderSyncs } from './status.js';

const REFRESH_MS = 3000;
const SYNCS_KEPT = 50;

/** The last syncs, newest first; null while the server runs no daemon. */
let syncs = null;
const errors = new Map();
let timer = null;

function setError(key, err) {
  if (err) errors.set(key, err.message ?? String(err));
  else errors.delete(key);
  const banner = document.getElementById('errors');
  banner.hidden = errors.size === 0;
  fill(
    'errors',
    [...errors.values()].map((m) => el('p', {}, m)),
  );
}

function setLive(state, label) {
  const node = document.getElementById('live');
  node.dataset.state = state;
  node.textContent = label;
}

function mergeSyncs(events) {
  const key = (e) => `${e.at}|${e.docId}|${e.status}`;
  const seen = new Set();
  syncs = [...events, ...(syncs ?? [])]
    .filter((e) => !seen.has(key(e)) && seen.add(key(e)))
    .sort((a, b) => Date.parse(b.at) - Date.parse(a.at))
    .slice(0, SYNCS_KEPT);
}

async function refreshStatus() {
  try {
    const status = await api('/api/status');
    renderStatus(status);
    renderFreshness(status.daemon);
    if (status.daemon) mergeSyncs(status.daemon.recent ?? []);
    else syncs = null;
    renderSyncs(syncs);
    setError('status', null);
    return true;
  } catch (err) {
    setError('status', err);
    return false;
  }
}

async function refreshJobs() {
  try {
    renderJobs(await api('/api/jobs'), retryOne);
    setError('jobs', null);
    return true;
  } catch (err) {
    setError('jobs', err);
    return false;
  }
}

/** Refreshes everything now, then again every REFRESH_MS (one refresh at a time). */
async function refresh() {
  clearTimeout(timer);
  const ok = await Promise.all([refreshStatus(), refreshJobs()]);
  if (ok.every(Boolean)) text('updated', new Date().toLocaleTimeString());
  document.getElementById('updated').classList.toggle('error', !ok.every(Boolean));
  timer = setTimeout(refresh, REFRESH_MS);
}

async function retry(url, button, what) {
  button.disabled = true;
  try {
    const res = await api(url, { method: 'POST' });
    const jobs = (n) => `${n} job${n === 1 ? '' : 's'}`;
    const later = res.deferred ? ` ${jobs(res.deferred)} will run when the source's watch starts.` : '';
    fill('retry-note', `${what}: ${jobs(res.retried)} queued again.${later}`);
    setError('retry', null);
  } catch (err) {
    setError('retry', err);
    fill('retry-note', '');
    button.disabled = false;
  }
  await refresh();
}

function retryOne(job, button) {
  return retry(`/api/jobs/${encodeURIComponent(job.id)}/retry`, button, `Retry ${job.path}`);
}

function follow() {
  if (!window.EventSource) {
    setLive('polling', `polling every ${REFRESH_MS / 1000} s`);
    return;
  }
  const events = new EventSource('/api/events');
  events.addEventListener('open', () => setLive('live', 'live'));
  events.addEventListener('error', () => {
    if (events.readyState === EventSource.CLOSED) setLive('down', `live updates stopped; polling every ${REFRESH_MS / 1000} s`);
    else setLive('down', 'reconnecting…');
  });
  events.addEventListener('sync', (e) => {
    try {
      mergeSyncs([JSON.parse(e.data)]);
      renderSyncs(syncs);
    } catch (err) {
      setError('events', err);
    }
    void refresh();
  });
}

document.getElementById('retry-all').addEventListener('click', (e) => retry('/api/jobs/retry', e.currentTarget, 'Retry all'));
initSearch();
follow();
void refresh();
