/**
 * What a worker does with one sync job, on either queue: sync the document into every target
 * (live, and a re-embed's pending collection), count it, and enqueue a follow-up when the file
 * changed again while the job ran. Failures are logged here and thrown for the queue to retry or
 * keep (`core/job-queue.ts`).
 */
import { asRagsyncError } from '../core/errors.js';
import type { JobProcessor } from '../core/job-queue.js';
import type { Logger } from '../core/log.js';
import { type TargetProvider, syncToTargets } from '../core/targets.js';
import type { DocSyncResult } from '../core/sync-document.js';
import type { DocRef } from '../core/types.js';
import { docId } from '../ids/index.js';
import type { Metrics } from '../queue/metrics.js';

export interface SyncJobOptions {
  targets: TargetProvider;
  log: Logger;
  metrics?: Metrics;
  /**
   * Enqueues a follow-up when the file is not the version the job saw (a change event can be
   * coalesced away by the watcher); without it, the next reconcile catches the change.
   */
  requeue?: (ref: DocRef, at: number) => Promise<unknown>;
  /** Told of every job's end, for a live view (`/api/events`): what it did, or why it failed. */
  report?: (e: SyncEvent) => void;
}

/** One finished sync job, as a live view shows it. */
export interface SyncEvent {
  /** ISO time it ended. */
  at: string;
  path: string;
  docId: string;
  /** The document's result (`added`, `updated`, `unchanged`, `deleted`...), or `failed` (`error` says why; `retryable` whether another try may succeed). */
  status: string;
  added: number;
  updated: number;
  deleted: number;
  embedded: number;
  reused: number;
  ms: number;
  error?: string;
  retryable?: boolean;
}

export function syncJob(o: SyncJobOptions): JobProcessor {
  return async (job, attempt) => {
    const ref = { source: job.source, path: job.path };
    const started = Date.now();
    try {
      const result = await syncToTargets(ref, o.targets);
      o.metrics?.observe(result, job.at);
      if (o.requeue && result.seen) {
        const { live } = await o.targets.current();
        const now = await live.source.stat(ref).catch(() => null);
        if (!now || now.size !== result.seen.size || now.mtimeMs !== result.seen.mtimeMs) await o.requeue(ref, Date.now());
      }
      const rec = syncedRecord(result, job.path, Date.now() - started);
      o.report?.({ at: new Date().toISOString(), path: job.path, ...pick(result), ms: rec.ms });
      if (result.status === 'unchanged') o.log.debug(rec, 'document synced');
      else o.log.info(rec, 'document synced');
      return result;
    } catch (err) {
      const e = asRagsyncError(err, 'IO', 'source', undefined, true);
      o.metrics?.jobs.inc({ result: e.retryable ? 'retry' : 'failed' });
      o.log.warn({ stage: e.stage, docId: e.docId, doc: job.path, path: job.path, attempt, err: e.message }, 'sync job failed');
      const none = { added: 0, updated: 0, deleted: 0, embedded: 0, reused: 0 };
      const failed = { at: new Date().toISOString(), path: job.path, docId: e.docId ?? docId(job.source, job.path), status: 'failed' };
      o.report?.({ ...failed, ...none, ms: Date.now() - started, error: e.message, retryable: e.retryable });
      throw e;
    }
  };
}

function pick(r: DocSyncResult) {
  return {
    docId: r.docId,
    status: r.status,
    added: r.added,
    updated: r.updated,
    deleted: r.deleted,
    embedded: r.embedded,
    reused: r.reused,
  };
}

/** The `synced` record: the document (relative to its source root), its row counts and the time taken. */
function syncedRecord(r: DocSyncResult, doc: string, ms: number) {
  const written = r.added + r.updated;
  return { stage: 'sync', docId: r.docId, doc, status: r.status, written, embedded: r.embedded, reused: r.reused, deleted: r.deleted, ms };
}
