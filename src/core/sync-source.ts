/**
 * A full pass over one source: scan, sync each document that stat shows may have changed (over
 * a bounded pool), and delete the documents of this source that no longer exist. This is the
 * one-shot `ragsync index` and the daemon's reconcile.
 */
import pLimit from 'p-limit';
import { errorMessage, RagsyncError } from './errors.js';
import type { DocRecord, DocRef } from './types.js';
import { type DocSyncResult, type SyncDeps, deleteDocument, isCurrent, syncDocument } from './sync.js';

export interface SyncSummary {
  docs: { scanned: number; changed: number; unchanged: number; deleted: number; failed: number };
  chunks: { upserted: number; deleted: number; unchanged: number };
  embeddings: { computed: number; reused: number };
  failures: Array<{ path: string; error: string }>;
  durationMs: number;
  /**
   * Set when the pass was stopped (`signal`): documents not reached are not counted; stopped
   * during the scan, nothing was deleted (an unfinished scan cannot tell a gone file from an unseen
   * one); stopped after it, the deletions not started were left for the next run.
   */
  interrupted?: true;
}

export interface SyncSourceOptions {
  concurrency: number;
  /** Called after each document with the counts so far and how many documents were found. */
  onProgress?: (done: number, found: number, last: DocSyncResult | null) => void;
  /** Called for each failed document (for logging). */
  onFailure?: (path: string, err: RagsyncError) => void;
  /** Called for a problem that fails no document (for logging). */
  onWarning?: (message: string) => void;
  /**
   * Runs the sync of one document that may have changed or be gone (default: `syncDocument`
   * in-process). The queue mode enqueues a job and resolves with its result.
   */
  execute?: (ref: DocRef, record: DocRecord | null) => Promise<DocSyncResult>;
  /**
   * Stops the pass: no document or deletion starts after it fires, those already started finish
   * (a record is written after its rows, so even a hard stop loses nothing), and no deletion runs
   * at all when it fires during the scan.
   */
  signal?: AbortSignal;
}

export function emptySummary(): SyncSummary {
  return {
    docs: { scanned: 0, changed: 0, unchanged: 0, deleted: 0, failed: 0 },
    chunks: { upserted: 0, deleted: 0, unchanged: 0 },
    embeddings: { computed: 0, reused: 0 },
    failures: [],
    durationMs: 0,
  };
}

/** Adds one document's result to a summary. */
export function addResult(sum: SyncSummary, r: DocSyncResult): void {
  if (r.status === 'changed') sum.docs.changed++;
  else if (r.status === 'deleted') sum.docs.deleted++;
  else sum.docs.unchanged++;
  sum.chunks.upserted += r.added + r.updated;
  sum.chunks.deleted += r.deleted;
  sum.chunks.unchanged += r.unchanged;
  sum.embeddings.computed += r.embedded;
  sum.embeddings.reused += r.reused;
}

/**
 * Syncs every document of the source. A document that fails is counted and listed in
 * `failures` and keeps its rows; the pass goes on. Throws only when the source itself cannot be
 * read, before anything was deleted.
 */
export async function syncSource(deps: SyncDeps, opts: SyncSourceOptions): Promise<SyncSummary> {
  const started = performance.now();
  const sum = emptySummary();
  const { source } = deps;
  const { records, orphans } = await checkedRecords(deps, opts);
  const limit = pLimit(Math.max(1, opts.concurrency));
  const execute = opts.execute ?? ((ref: DocRef, record: DocRecord | null) => syncDocument(ref, deps, record));
  const seen = new Set<string>();
  // The scan runs at most a pool's worth ahead of the work: a tree of 100 000 files must not
  // become 100 000 queued tasks (and their entries) in memory.
  const ahead = 2 * Math.max(1, opts.concurrency);
  let active = 0;
  let wake: (() => void) | null = null;
  const running = new Set<Promise<void>>();
  const track = (task: Promise<void>): void => {
    active++;
    running.add(task);
    void task.then(() => {
      active--;
      running.delete(task);
      wake?.();
      wake = null;
    });
  };
  let done = 0;
  const finish = (r: DocSyncResult | null): void => {
    if (r) addResult(sum, r);
    opts.onProgress?.(++done, sum.docs.scanned, r);
  };
  const fail = (path: string, err: unknown): void => {
    const e = err instanceof RagsyncError ? err : new RagsyncError('IO', errorMessage(err), { stage: 'source', cause: err });
    sum.docs.failed++;
    sum.failures.push({ path, error: e.message.startsWith(path) ? e.message : `${path}: ${e.message}` });
    opts.onFailure?.(path, e);
    opts.onProgress?.(++done, sum.docs.scanned, null);
  };

  const stopped = () => opts.signal?.aborted === true;
  const onAbort = () => {
    wake?.();
    wake = null;
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  // A document queued in the pool but not started when the pass is stopped is skipped, uncounted.
  const start = (entry: DocRef, record: DocRecord | null) => async () => {
    if (stopped()) {
      sum.docs.scanned--;
      return;
    }
    await execute(entry, record).then(finish, (err) => (stopped() && isAbort(err) ? void sum.docs.scanned-- : fail(entry.path, err)));
  };

  try {
    for await (const entry of source.scan()) {
      if (stopped()) break;
      sum.docs.scanned++;
      seen.add(entry.docId);
      const record = records.get(entry.docId) ?? null;
      if (record && isCurrent(record, entry, deps)) {
        finish({ docId: entry.docId, path: entry.path, status: 'unchanged', added: 0, updated: 0, deleted: 0, unchanged: record.chunkCount, embedded: 0, reused: 0 });
        continue;
      }
      while (active >= ahead && !stopped()) await new Promise<void>((resolve) => (wake = resolve));
      if (stopped()) break;
      track(limit(start(entry, record)));
    }
  } finally {
    // Documents already started finish (or fail) before anything else happens, even on a throw.
    await Promise.all(running);
    opts.signal?.removeEventListener('abort', onAbort);
  }
  if (stopped()) return ended(sum, started, true);

  const unreadable = source.unreadable();
  for (const u of unreadable) fail(u.path || '.', new RagsyncError('IO', `${u.path || '.'}: ${u.error}`, { stage: 'source', retryable: true }));
  const blocked = unreadable.map((u) => u.path);
  const candidates = new Set([...records.keys(), ...orphans]);
  const gone = [...candidates].filter((id) => !seen.has(id));
  await Promise.all(
    gone.map((id) =>
      limit(async () => {
        // The scan was complete: stopping here leaves the deletions not yet started to the next run.
        if (stopped()) return;
        const path = records.get(id)?.path ?? id.slice(source.name.length + 1);
        if (blocked.some((p) => p === '' || p === path || path.startsWith(`${p}/`))) return;
        const run = opts.execute ? opts.execute({ source: source.name, path }, records.get(id) ?? null) : deleteDocument(id, path, deps);
        await run.then(finish, (err) => (stopped() && isAbort(err) ? undefined : fail(path, err)));
      }),
    ),
  );
  return ended(sum, started, stopped());
}

function ended(sum: SyncSummary, started: number, interrupted: boolean): SyncSummary {
  if (interrupted) sum.interrupted = true;
  sum.failures.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  sum.durationMs = Math.round(performance.now() - started);
  return sum;
}

/** An `execute` that gave up waiting because the pass was stopped (its work may still be done elsewhere). */
function isAbort(err: unknown): boolean {
  return (err as { name?: string } | null)?.name === 'AbortError';
}

/**
 * The source's document records, checked against the rows: when the row count differs from the
 * sum of the records' chunk counts (a crash before a record was written, or a store that lost
 * acknowledged writes), rows are counted per document, a record that disagrees with its rows is
 * dropped (the document is synced again), and documents with rows but no record are returned as
 * orphans (deleted unless the scan finds them).
 */
async function checkedRecords(deps: SyncDeps, opts: SyncSourceOptions) {
  const { sink, source } = deps;
  const records = await sink.listDocRecords(source.name);
  const orphans = new Set<string>();
  const expected = [...records.values()].reduce((n, r) => n + r.chunkCount, 0);
  if ((await sink.countChunks(source.name)) === expected) return { records, orphans };
  const counts = await sink.countRowsByDoc(source.name);
  let dropped = 0;
  for (const [id, record] of records) {
    if ((counts.get(id) ?? 0) !== record.chunkCount) {
      records.delete(id);
      orphans.add(id);
      dropped++;
    }
  }
  for (const id of counts.keys()) if (!records.has(id)) orphans.add(id);
  if (dropped > 0) opts.onWarning?.(`${dropped} document records disagree with the rows in the store: those documents are synced again`);
  return { records, orphans };
}
