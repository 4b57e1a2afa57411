// The status sections of the page: at a glance, sources, store, queue and failed jobs, last
// syncs, last audit. Each render replaces its section's content from one API response.
import { bytes, el, fill, model, num, text, time } from './dom.js';

/** Renders `/api/status`. */
export function renderStatus(s) {
  text('store-location', s.store);
  text('store-sink', s.sink);
  text('version', s.version ? `ragsync ${s.version}` : 'ragsync');
  text('glance-docs', num(s.docs));
  text('glance-chunks', num(s.chunks));
  text('glance-sources', num(s.sources.length));
  text('glance-model', model(s.fingerprint));
  const failed = (s.queues ?? []).reduce((n, q) => n + (q.counts.failed ?? q.failed.length), 0);
  text('glance-failed', num(failed));
  document.getElementById('glance-failed-card').classList.toggle('bad', failed > 0);
  renderSources(s.sources);
  renderStore(s);
  renderAudit(s.lastAudit);
}

function renderSources(sources) {
  if (sources.length === 0) {
    fill(
      'sources-body',
      el('tr', {}, el('td', { colspan: 5, class: 'muted' }, 'No source indexed yet: run ragsync index DIR or ragsync watch DIR.')),
    );
    return;
  }
  fill(
    'sources-body',
    sources.map((src) =>
      el(
        'tr',
        { dataset: { source: src.name } },
        el('th', { scope: 'row' }, src.name),
        el('td', { class: 'path' }, src.root ?? el('span', { class: 'muted' }, 'not recorded')),
        el('td', { class: 'num', dataset: { field: 'documents' } }, num(src.documents)),
        el('td', { class: 'num', dataset: { field: 'chunks' } }, num(src.chunks)),
        el('td', {}, time(src.lastSyncAt)),
      ),
    ),
  );
}

function collection(c) {
  if (!c) return el('span', { class: 'muted' }, 'none');
  return `${c.name} (${model(c.fingerprint)}): ${num(c.docs)} documents, ${num(c.chunks)} chunks`;
}

function pending(p, live) {
  if (!p) return el('span', { class: 'muted' }, 'none');
  return `to ${model(p.fingerprint)}: ${num(p.docs)} of ${num(live)} documents backfilled into ${p.name} (${num(p.chunks)} chunks)`;
}

function renderStore(s) {
  const rows = [
    ['Store', s.store],
    ['Sink', s.sink],
    ['Model fingerprint', model(s.fingerprint)],
    ['Pending re-embed', pending(s.pending, s.docs)],
    ['Kept for rollback', collection(s.previous)],
    ['Vector cache', s.vectorCache ? `${num(s.vectorCache.entries)} vectors, about ${bytes(s.vectorCache.bytes)}` : '—'],
    ['Daemon', s.daemon ? `watching ${s.daemon.dir} (source ${s.daemon.source})` : 'no daemon in this process'],
  ];
  fill(
    'store-body',
    rows.map(([k, v]) => el('div', {}, el('dt', {}, k), el('dd', {}, v ?? '—'))),
  );
}

/** Renders `/api/jobs`: the counts of each queue and its failed jobs, each with a Retry button. */
export function renderJobs(view, onRetry) {
  const queues = view.queues ?? [];
  fill(
    'queue-body',
    queues.length === 0
      ? el('tr', {}, el('td', { colspan: 6, class: 'muted' }, 'No queue: nothing runs through a queue for this store.'))
      : queues.map((q) =>
          el(
            'tr',
            { dataset: { source: q.source } },
            el('th', { scope: 'row' }, q.source),
            el(
              'td',
              { title: q.location },
              q.queue,
              q.running === false ? el('span', { class: 'muted' }, ' (no watch runs: retries wait for its start)') : null,
            ),
            ...['waiting', 'active', 'delayed', 'failed'].map((k) =>
              el('td', { class: `num${k === 'failed' && q.counts[k] > 0 ? ' bad' : ''}`, dataset: { count: k } }, num(q.counts[k] ?? 0)),
            ),
          ),
        ),
  );
  const failed = queues.flatMap((q) => q.failed.map((f) => ({ ...f, source: q.source })));
  document.getElementById('retry-all').disabled = failed.length === 0;
  text('failed-count', failed.length === 0 ? 'none' : num(failed.length));
  fill(
    'failed-body',
    failed.length === 0
      ? el('tr', {}, el('td', { colspan: 5, class: 'muted' }, 'No failed job.'))
      : failed.map((f) =>
          el(
            'tr',
            { dataset: { job: f.id } },
            el('td', { class: 'path' }, f.path),
            el('td', { class: 'reason' }, f.reason),
            el('td', { class: 'num' }, num(f.attempts)),
            el('td', {}, time(f.failedAt)),
            el(
              'td',
              {},
              el(
                'button',
                { type: 'button', class: 'retry', 'aria-label': `Retry ${f.path}`, onclick: (e) => onRetry(f, e.currentTarget) },
                'Retry',
              ),
            ),
          ),
        ),
  );
}

function syncRow(e) {
  const ok = !e.error && e.status !== 'failed';
  return el(
    'tr',
    { class: ok ? '' : 'bad', dataset: { path: e.path } },
    el('td', {}, time(e.at)),
    el('td', { class: 'path' }, e.path),
    el('td', {}, el('span', { class: `badge ${ok ? 'ok' : 'bad'}` }, e.status), e.error ? el('div', { class: 'reason' }, e.error) : null),
    el('td', { class: 'num' }, `+${num(e.added)} ~${num(e.updated)} −${num(e.deleted)}`),
    el('td', { class: 'num' }, `${num(e.embedded)} / ${num(e.reused)}`),
    el('td', { class: 'num' }, `${num(e.ms)} ms`),
  );
}

/** Renders the last syncs, newest first (`null`: no daemon runs in the server's process). */
export function renderSyncs(events) {
  if (events === null) {
    fill(
      'syncs-body',
      el(
        'tr',
        {},
        el('td', { colspan: 6, class: 'muted' }, 'No daemon in this process: start ragsync watch DIR --serve to see syncs live.'),
      ),
    );
    return;
  }
  fill(
    'syncs-body',
    events.length === 0
      ? el('tr', {}, el('td', { colspan: 6, class: 'muted' }, 'No sync yet: waiting for file changes.'))
      : events.map(syncRow),
  );
}

function auditLine(a) {
  const drift = Array.isArray(a.drift) ? a.drift.length : a.drift;
  const unchecked = Array.isArray(a.unchecked) ? a.unchecked.length : a.unchecked;
  const clean = drift === 0 && !unchecked;
  const kinds = Object.entries(a.kinds ?? {})
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${kind} ${num(n)}`);
  return el(
    'li',
    { class: clean ? 'ok' : 'bad', dataset: { source: a.source } },
    el('span', { class: `badge ${clean ? 'ok' : 'bad'}` }, clean ? 'in sync' : 'drift'),
    ` ${a.source}: ${num(a.documents)} documents`,
    a.rows !== undefined ? ` and ${num(a.rows)} rows` : '',
    ` checked, ${num(drift)} drifting`,
    kinds.length > 0 ? ` (${kinds.join(', ')})` : '',
    unchecked ? `, ${num(unchecked)} unreadable` : '',
    a.at ? [', ', time(a.at)] : '',
  );
}

function renderAudit(audits) {
  const list = Array.isArray(audits) ? audits : audits ? [audits] : [];
  fill(
    'audit-body',
    list.length === 0
      ? el('p', { class: 'muted' }, 'No audit recorded: ragsync audit DIR compares a folder with its index.')
      : el('ul', {}, list.map(auditLine)),
  );
}
