/**
 * The BullMQ worker: a thin adapter around `syncDocument`. A non-retryable RagsyncError (bad
 * content) becomes `UnrecoverableError` (no retries); anything else is retried with backoff.
 */
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { asRagsyncError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { type TargetProvider, type TargetsResult, syncToTargets } from '../core/targets.js';
import type { Metrics } from './metrics.js';
import { type SyncJobData, queueName, retryDelay } from './queue.js';
import { duplicateConnection, redactRedis } from './redis.js';

export interface WorkerOptions {
  source: string;
  /** The collections to write: live, and a re-embed's pending one while it runs. */
  targets: TargetProvider;
  connection: Redis;
  prefix: string;
  concurrency: number;
  /** Lock duration; a killed worker's jobs are taken over after about this long. */
  lockMs: number;
  metrics?: Metrics;
  log: Logger;
  /**
   * Enqueues a follow-up when the file changed again, or was deleted, while its job ran (a change
   * event can be coalesced away by the watcher); without it, the next reconcile catches the change.
   */
  requeue?: (ref: { source: string; path: string }, at: number) => Promise<unknown>;
}

/** A job's result: the live collection's, and the pending collection's while a re-embed runs. */
export type JobResult = TargetsResult;

/** Starts a worker on its own connection (a duplicate of `o.connection`), closed with the worker. */
export function startWorker(o: WorkerOptions): Worker<SyncJobData, JobResult> {
  const connection = duplicateConnection(o.connection, o.log);
  const processor = async (job: Job<SyncJobData>): Promise<JobResult> => {
    try {
      const ref = { source: job.data.source, path: job.data.path };
      const result = await syncToTargets(ref, o.targets);
      o.metrics?.observe(result, job.data.at);
      if (o.requeue && result.seen) {
        const { live } = await o.targets.current();
        const now = await live.source.stat(ref).catch(() => null);
        // Deleted while the job ran counts as changed: the rows the job wrote have no file now.
        if (!now || now.size !== result.seen.size || now.mtimeMs !== result.seen.mtimeMs) await o.requeue(ref, Date.now());
      }
      o.log.debug({ stage: 'sync', docId: result.docId, status: result.status, embedded: result.embedded }, 'document synced');
      return result;
    } catch (err) {
      const e = asRagsyncError(err, 'IO', 'source', undefined, true);
      o.metrics?.jobs.inc({ result: e.retryable ? 'retry' : 'failed' });
      o.log.warn({ stage: e.stage, docId: e.docId, path: job.data.path, attempt: job.attemptsMade + 1, err: e.message }, 'sync job failed');
      if (!e.retryable) throw new UnrecoverableError(e.message);
      throw e;
    }
  };
  const worker = new Worker<SyncJobData, JobResult>(queueName(o.source), processor, {
    connection,
    prefix: o.prefix,
    concurrency: o.concurrency,
    lockDuration: o.lockMs,
    stalledInterval: o.lockMs,
    maxStalledCount: 3,
    autorun: true,
    settings: { backoffStrategy: (attemptsMade: number) => retryDelay(attemptsMade) },
  });
  worker.on('error', (err) => o.log.warn({ stage: 'queue' }, `worker: ${redactRedis(err.message)}`));
  worker.on('closed', () => connection.disconnect());
  return worker;
}
