/**
 * The sync queue's contract, kept by both implementations: the local queue (`queue/local.ts`,
 * in one process, the default of `watch`) and the BullMQ queue in Redis (`queue/bullmq.ts`, for
 * many workers on many machines). The conformance suite (`test/queue/conformance.ts`) runs on both.
 *
 * A job is a reference to one document (source, path, event time), never its content: a worker
 * reads the document as it is when the job runs. At most one job per document is pending: a
 * change while its job waits adds nothing (the job will read the latest version), a change while
 * it runs makes exactly one follow-up job, which starts after the running one ends. No two
 * workers ever work on one document at once.
 *
 * A job that throws a `RagsyncError` with `retryable` false (bad content) fails at once; any
 * other error is retried after `retryDelay` until `attempts` tries are spent. Failed jobs are
 * kept, listed, and retried on demand. (The local queue keeps the last failure per document and
 * forgets it when a later job of the document succeeds; Redis keeps the last 10 000.)
 */
import type { DocRef } from './types.js';

export interface SyncJob extends DocRef {
  /** When the change happened (ms since the epoch): the start of the freshness measurement. */
  at: number;
}

/**
 * What a worker runs for one job (`attempt` counts from 1); it throws to fail or retry (see the
 * header). Its result is the job's result: a pass that waits for its jobs on Redis reads it.
 */
export type JobProcessor = (job: SyncJob, attempt: number) => Promise<unknown>;

export interface FailedJob {
  id: string;
  path: string;
  reason: string;
  /** Tries made. */
  attempts: number;
  failedAt: string | null;
}

/** Jobs by state: waiting, active, delayed (a retry's backoff), failed, and more on Redis. */
export type JobCounts = Record<string, number>;

export interface JobQueue {
  /** `local` or `redis`. */
  readonly kind: string;
  /** Where the queue is, for people: the Redis URL without credentials, or the local state file. */
  readonly location: string;
  /**
   * Whether queued jobs outlive the process. The local queue's do not: its daemon rebuilds them
   * at start with a reconcile (the store is the truth); its failed jobs are kept on disk.
   */
  readonly durable: boolean;
  /** Queues a sync of one document (at most one pending per document, see the header). */
  enqueue(ref: DocRef, at?: number): Promise<void>;
  /** Starts this process's worker: up to `concurrency` jobs at once. Once per queue. */
  work(processor: JobProcessor, opts: { concurrency: number }): void;
  /**
   * Stops taking jobs and waits up to `waitMs` for the active ones; `timeout` when some did not
   * finish (the Redis queue hands them back to other workers; the local queue abandons them).
   */
  drain(waitMs: number): Promise<'drained' | 'timeout'>;
  counts(): Promise<JobCounts>;
  /** The failed jobs, most recent first, at most `limit`. */
  failed(limit?: number): Promise<FailedJob[]>;
  /** Queues every failed job again, or only those of `ids` (unknown IDs are skipped); returns how many. */
  retryFailed(ids?: readonly string[]): Promise<number>;
  /** False when the queue cannot take or hand out jobs now (Redis unreachable). */
  healthy(): Promise<boolean>;
  /** Releases everything (after `drain`, or at once: a crash-like stop). */
  close(): Promise<void>;
}
