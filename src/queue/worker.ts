/**
 * The BullMQ worker: runs a `JobProcessor` (`core/job-queue.ts`) on the jobs of a source's queue.
 * A non-retryable RagsyncError (bad content) becomes `UnrecoverableError` (no retries); anything
 * else is retried with the capped backoff. The processor's result is the job's result (a pass
 * that waits for its jobs reads it).
 */
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { asRagsyncError } from '../core/errors.js';
import type { JobProcessor, SyncJob } from '../core/job-queue.js';
import type { Logger } from '../core/log.js';
import { queueName, retryDelay } from './queue.js';
import { duplicateConnection, redisWarnings } from './redis.js';

export interface WorkerOptions {
  source: string;
  processor: JobProcessor;
  connection: Redis;
  prefix: string;
  concurrency: number;
  /** Lock duration; a killed worker's jobs are taken over after about this long. */
  lockMs: number;
  log: Logger;
  /** The delay before retry number `attempts` (default `retryDelay`). */
  backoff?: (attempts: number) => number;
}

/** Starts a worker on its own connection (a duplicate of `o.connection`), closed with the worker. */
export function startWorker(o: WorkerOptions): Worker<SyncJob> {
  const connection = duplicateConnection(o.connection, o.log);
  const processor = async (job: Job<SyncJob>): Promise<unknown> => {
    try {
      return await o.processor(job.data, job.attemptsMade + 1);
    } catch (err) {
      const e = asRagsyncError(err, 'IO', 'source', undefined, true);
      if (!e.retryable) throw new UnrecoverableError(e.message);
      throw e;
    }
  };
  const backoff = o.backoff ?? retryDelay;
  const worker = new Worker<SyncJob>(queueName(o.source), processor, {
    connection,
    prefix: o.prefix,
    concurrency: o.concurrency,
    lockDuration: o.lockMs,
    stalledInterval: o.lockMs,
    maxStalledCount: 3,
    autorun: true,
    settings: { backoffStrategy: (attemptsMade: number) => backoff(attemptsMade) },
  });
  // Connection errors: one warning, then one a minute while Redis stays away (redis.ts).
  worker.on('error', (err) => redisWarnings(o.connection, o.log).error(err.message));
  worker.on('closed', () => connection.disconnect());
  return worker;
}
