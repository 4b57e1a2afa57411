/**
 * The sync queue on Redis (BullMQ): the `JobQueue` contract over `SyncQueue` (jobs) and
 * `startWorker` (this process's worker), for many workers on many machines. Jobs outlive every
 * process; a killed worker's jobs are taken over by another after their lock lapses.
 */
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { FailedJob, JobCounts, JobProcessor, JobQueue } from '../core/job-queue.js';
import type { Logger } from '../core/log.js';
import type { DocRef } from '../core/types.js';
import type { SyncQueue } from './queue.js';
import { redactRedis } from './redis.js';
import { startWorker } from './worker.js';

export interface RedisQueueOptions {
  url: string;
  lockMs: number;
  log: Logger;
  backoff?: (attempts: number) => number;
}

export class RedisQueue implements JobQueue {
  readonly kind = 'redis';
  readonly durable = true;
  readonly location: string;
  private worker: Worker | undefined;

  /** `close` closes `jobs` and `conn` too. */
  constructor(
    readonly jobs: SyncQueue,
    readonly conn: Redis,
    private readonly o: RedisQueueOptions,
  ) {
    this.location = redactRedis(o.url);
  }

  async enqueue(ref: DocRef, at = Date.now()): Promise<void> {
    await this.jobs.enqueue(ref, at);
  }

  work(processor: JobProcessor, opts: { concurrency: number }): void {
    if (this.worker) throw new Error('this queue already has a worker');
    const { source, prefix } = this.jobs;
    const { lockMs, log, backoff } = this.o;
    this.worker = startWorker({ source, prefix, processor, connection: this.conn, concurrency: opts.concurrency, lockMs, log, backoff });
  }

  async drain(waitMs: number): Promise<'drained' | 'timeout'> {
    const worker = this.worker;
    if (!worker) return 'drained';
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), waitMs)));
    // Paused first (no new job, waits for the active ones): a graceful `close()` still running
    // when the wait is over would make the forced one wait for the active jobs too.
    const outcome = await Promise.race([worker.pause().then(() => 'drained' as const), timeout]);
    clearTimeout(timer);
    // Active jobs that did not finish are handed back: their locks lapse, another worker takes them.
    await worker.close(outcome === 'timeout');
    return outcome;
  }

  counts(): Promise<JobCounts> {
    return this.jobs.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed');
  }

  async failed(limit = 100): Promise<FailedJob[]> {
    const jobs = await this.jobs.queue.getFailed(0, limit - 1);
    return jobs.map((j) => ({
      id: String(j.id),
      path: j.data.path,
      reason: j.failedReason ?? '',
      attempts: j.attemptsMade,
      failedAt: j.finishedOn ? new Date(j.finishedOn).toISOString() : null,
    }));
  }

  async retryFailed(ids?: readonly string[]): Promise<number> {
    let retried = 0;
    const jobs = ids ? await Promise.all(ids.map((id) => this.jobs.queue.getJob(id))) : await this.jobs.queue.getFailed(0, -1);
    for (const job of jobs) {
      if (!job || (ids && !(await job.isFailed()))) continue;
      await job.retry('failed');
      retried++;
    }
    return retried;
  }

  async healthy(): Promise<boolean> {
    return (await this.conn.ping().catch(() => '')) === 'PONG';
  }

  async close(): Promise<void> {
    await this.worker?.close(true);
    await this.jobs.close();
    this.conn.disconnect();
  }
}
