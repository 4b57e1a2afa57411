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
      if (result.status === 'unchanged') o.log.debug(rec, 'document synced');
      else o.log.info(rec, 'document synced');
      return result;
    } catch (err) {
      const e = asRagsyncError(err, 'IO', 'source', undefined, true);
      o.metrics?.jobs.inc({ result: e.retryable ? 'retry' : 'failed' });
      o.log.warn({ stage: e.stage, docId: e.docId, doc: job.path, path: job.path, attempt, err: e.message }, 'sync job failed');
      throw e;
    }
  };
}

/** The `synced` record: the document (relative to its source root), its row counts and the time taken. */
function syncedRecord(r: DocSyncResult, doc: string, ms: number) {
  const written = r.added + r.updated;
  return { stage: 'sync', docId: r.docId, doc, status: r.status, written, embedded: r.embedded, reused: r.reused, deleted: r.deleted, ms };
}
