/**
 * The sync queue: BullMQ jobs that carry a document reference (source, path, event time), never
 * content. One queue per source. At most one pending job per document: jobs are deduplicated by
 * doc ID with `keepLastIfActive`, so a change that arrives while its document is being processed
 * makes exactly one follow-up job, which starts after the active one ends (the last saved version
 * wins, and no two workers ever process one document at once).
 */
import { Job, Queue, QueueEvents, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { SyncJob } from '../core/job-queue.js';
import type { DocRef } from '../core/types.js';
import { docId } from '../ids/index.js';
import { duplicateConnection } from './redis.js';

export const JOB_NAME = 'sync';
const POLL_MS = 2000;

export function queueName(source: string): string {
  return `sync.${source}`;
}

/** The retry backoff of sync jobs (the workers' `settings.backoffStrategy` computes it). */
export const BACKOFF = 'ragsync-capped';
const BACKOFF_BASE_MS = 1000;
const BACKOFF_CAP_MS = 30_000;

/**
 * The delay before retry number `attemptsMade`: doubling from 1 s, capped at 30 s, minus up to a
 * quarter at random (so jobs failed together do not retry together). The cap keeps retrying
 * through a long store or model outage without waiting minutes once it is over: with the default
 * 12 attempts a job rides out about 3 minutes and starts again at most 30 s after the store is back.
 */
export function retryDelay(attemptsMade: number, random = Math.random()): number {
  const full = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attemptsMade - 1));
  return Math.round(full * (1 - 0.25 * random));
}

/** Retries with capped exponential backoff and jitter; finished jobs kept, bounded, for inspection. */
export function jobOptions(ref: DocRef, attempts: number): JobsOptions {
  return {
    deduplication: { id: docId(ref.source, ref.path), keepLastIfActive: true },
    attempts,
    backoff: { type: BACKOFF },
    removeOnComplete: { count: 1000, age: 24 * 3600 },
    removeOnFail: { count: 10_000 },
  };
}

export class SyncQueue {
  readonly queue: Queue<SyncJob>;
  private events: QueueEvents | undefined;
  private eventsConn: Redis | undefined;

  constructor(
    readonly source: string,
    private readonly connection: Redis,
    readonly prefix: string,
    private readonly attempts: number,
  ) {
    this.queue = new Queue<SyncJob>(queueName(source), { connection, prefix });
    // Connection errors are logged by the connection itself (redis.ts); without a listener here
    // BullMQ prints each one as a raw stack on stderr.
    this.queue.on('error', () => undefined);
    // Every job waited for (waitUntilFinished) listens for the queue closing: many at once is normal.
    this.queue.setMaxListeners(0);
  }

  /** Enqueues a sync of one document (deduplicated per document); returns its job. */
  enqueue(ref: DocRef, at = Date.now()): Promise<Job<SyncJob>> {
    return this.queue.add(JOB_NAME, { source: ref.source, path: ref.path, at }, jobOptions(ref, this.attempts));
  }

  /**
   * Waits for a job to finish; resolves with its result, rejects with its failure reason. The
   * completion event is the fast path; the job's state is also polled every `POLL_MS`, because an
   * event can be missed (seen about once in six runs of a re-embed started while the daemon was
   * busy: the job was completed, the waiter never heard). Resolves `undefined` when the job is gone
   * (removed after completion) and its result with it: callers enqueue the document again.
   */
  async waitFor<T>(job: Job<SyncJob>, signal?: AbortSignal): Promise<T | undefined> {
    signal?.throwIfAborted();
    if (!this.events) {
      this.eventsConn = duplicateConnection(this.connection);
      this.events = new QueueEvents(queueName(this.source), { connection: this.eventsConn, prefix: this.prefix });
      this.events.on('error', () => undefined);
    }
    await this.events.waitUntilReady();
    const byEvent = job.waitUntilFinished(this.events) as Promise<T>;
    byEvent.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    // Set once this wait is over: a poll in flight at that moment must not schedule another.
    let over = false;
    const byPoll = new Promise<T | undefined>((resolve, reject) => {
      const poll = async () => {
        try {
          // State first, then the job: a job read before it completed would carry no result yet.
          const state = await this.queue.getJobState(job.id!);
          if (state === 'unknown') return resolve(undefined);
          if (state === 'completed' || state === 'failed') {
            const done = await Job.fromId<SyncJob, T>(this.queue, job.id!);
            if (!done) return resolve(undefined);
            return state === 'completed' ? resolve(done.returnvalue) : reject(new Error(done.failedReason));
          }
        } catch {
          // Redis hiccup: the next poll (or the event) decides.
        }
        if (!over) timer = setTimeout(() => void poll(), POLL_MS);
      };
      timer = setTimeout(() => void poll(), POLL_MS);
    });
    // Stopped: give up waiting (the job stays queued for the workers) and stop polling.
    let onAbort: (() => void) | undefined;
    const byAbort = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal!.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([byEvent, byPoll, byAbort]);
    } finally {
      over = true;
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Closes the queue and the connections it made (not the one it was given). */
  async close(): Promise<void> {
    await this.events?.close();
    this.eventsConn?.disconnect();
    await this.queue.close();
  }
}
