/**
 * A full pass through the Redis job queue, for every command that has one (`index --redis`,
 * `reembed --redis`, `audit --repair --redis`), and the queue connection the daemons share: one
 * place for connecting (an unreachable Redis is one line, exit 3), the process's own worker,
 * waiting for each job, stopping, and closing.
 */
import { setMaxListeners } from 'node:events';
import type { Redis } from 'ioredis';
import type { Config } from '../config/index.js';
import { RagsyncError, errorMessage } from '../core/errors.js';
import { type Logger, createLogger } from '../core/log.js';
import { type SyncSourceOptions, type SyncSummary, syncSource } from '../core/sync-source.js';
import type { DocSyncResult, SyncDeps } from '../core/sync-document.js';
import type { TargetProvider, TargetsResult } from '../core/targets.js';
import type { DocRef } from '../core/types.js';
import { RedisQueue } from '../queue/bullmq.js';
import { SyncQueue } from '../queue/queue.js';
import { checkRedis, redactRedis, redisConnection } from '../queue/redis.js';
import { startWorker } from '../queue/worker.js';
import { syncJob } from './sync-job.js';

/** Results of one document's jobs that may be lost (removed before they were read) before the document fails. */
const LOST_RESULTS = 10;
/** Jobs one pass keeps queued and waited for at once. */
const QUEUED_AT_ONCE = 1024;

export interface QueueHandle {
  conn: Redis;
  queue: SyncQueue;
  close(): Promise<void>;
}

/**
 * Connects to the configured Redis and opens a source's queue. Redis must answer within seconds,
 * for every command and daemon: an unreachable or refusing server is one line (exit 3), not a
 * process that retries in silence. Once connected, a daemon rides out a Redis that goes away.
 */
export async function openQueue(config: Config, source: string, log: Logger, name: string): Promise<QueueHandle> {
  const url = config.redis.url;
  if (!url)
    throw new RagsyncError('USAGE', 'this needs a job queue: pass --redis redis://host:port or set RAGSYNC_REDIS_URL', { stage: 'config' });
  const conn = redisConnection(url, log, name);
  try {
    await checkRedis(conn, url);
  } catch (err) {
    conn.disconnect();
    if (err instanceof RagsyncError) throw err;
    throw new RagsyncError('SINK', `cannot reach Redis at ${redactRedis(url)}: ${redactRedis(errorMessage(err))}`, {
      stage: 'sink',
      cause: err,
    });
  }
  const queue = new SyncQueue(source, conn, config.redis.prefix, config.worker.attempts);
  return {
    conn,
    queue,
    close: async () => {
      await queue.close();
      conn.disconnect();
    },
  };
}

/** The source's queue on the configured Redis as a `JobQueue` (what the daemons work with). */
export async function openRedisQueue(config: Config, source: string, log: Logger, name: string): Promise<RedisQueue> {
  const q = await openQueue(config, source, log, name);
  return new RedisQueue(q.queue, q.conn, { url: config.redis.url!, lockMs: config.worker.lockMs, log });
}

export interface QueuePassOptions extends Omit<SyncSourceOptions, 'concurrency' | 'execute'> {
  log?: Logger;
  /** The targets this process's own worker writes; absent: only enqueue and wait, other workers do the work. */
  worker?: TargetProvider;
  /** The part of a job's result the pass counts; undefined: the job did not do what this pass needs. */
  pick: (result: TargetsResult) => DocSyncResult | undefined;
  /** The error when `attempts` jobs of one document all gave results `pick` refused. */
  refused: (ref: DocRef) => RagsyncError;
  attempts?: number;
}

/** Scans the source and runs every document that may have changed as a queue job, waiting for each. */
export async function queuePass(config: Config, deps: SyncDeps, opts: QueuePassOptions): Promise<SyncSummary> {
  const log = opts.log ?? createLogger('silent');
  const q = await openQueue(config, deps.source.name, log, 'ragsync-pass');
  const worker = opts.worker ? startWorker(workerOptions(config, deps.source.name, opts.worker, q.conn, log)) : undefined;
  // Every job waited for listens for the stop: a thousand at once is normal, not a leak.
  if (opts.signal) setMaxListeners(0, opts.signal);
  try {
    return await syncSource(deps, { ...opts, concurrency: QUEUED_AT_ONCE, execute: (ref) => runJob(q.queue, ref, opts, log) });
  } finally {
    await worker?.close();
    await q.close();
  }
}

/** The options of this process's worker on the source's queue, writing `targets`. */
function workerOptions(config: Config, source: string, targets: TargetProvider, connection: Redis, log: Logger) {
  const { concurrency, lockMs } = config.worker;
  return { source, processor: syncJob({ targets, log }), connection, prefix: config.redis.prefix, concurrency, lockMs, log };
}

async function runJob(queue: SyncQueue, ref: DocRef, opts: QueuePassOptions, log: Logger): Promise<DocSyncResult> {
  for (let refused = 0, lost = 0; refused < (opts.attempts ?? 3);) {
    const job = await queue.enqueue(ref);
    // Stopped (SIGINT/SIGTERM): waiting ends; the job stays queued and workers do it (this
    // process's own worker finishes its active jobs when it closes).
    const result = await queue.waitFor<TargetsResult>(job, opts.signal);
    if (!result) {
      // A job whose result was removed before it was read is simply run again (a no-op then).
      if (++lost > LOST_RESULTS) {
        throw new RagsyncError('SINK', `${ref.path}: ${LOST_RESULTS} job results were removed before they were read`, {
          stage: 'sink',
          retryable: true,
        });
      }
      log.warn(
        { stage: 'queue', path: ref.path, job: job.id },
        'the result of a finished job was removed before it was read: running it again',
      );
      continue;
    }
    const picked = opts.pick(result);
    if (picked) return picked;
    refused++;
  }
  throw opts.refused(ref);
}
