/**
 * `ragsync jobs`: what the queue of a source holds, its failed jobs, and retrying them. On Redis it
 * asks the queue; for the local queue it reads the state file the `watch` of that source writes,
 * and asks it to retry through a request file (see `queue/local.ts`).
 */
import type { Config } from '../config/index.js';
import type { FailedJob, JobCounts } from '../core/job-queue.js';
import { createLogger } from '../core/log.js';
import { readLocalQueue, requestRetry } from '../queue/local-state.js';
import { localQueueFile } from './queues.js';

export interface JobsReport {
  source: string;
  /** `redis` or `local`. */
  queue: string;
  /** The Redis URL (credentials hidden) or the local queue's state file. */
  location: string;
  counts: JobCounts;
  failed: FailedJob[];
  retried: number;
  /**
   * Local queue only: whether a `watch` of the source runs (its counts are live), and when it
   * last wrote them; a retry asked while none runs happens at its next start.
   */
  running?: boolean;
  updatedAt?: string | null;
  /** Local queue only: failed jobs a retry was asked for while no `watch` ran (its next start runs them). */
  deferred?: number;
}

/** The queue of `source`; with `retry`, its failed jobs are queued again (only those of `ids`, when given). */
export async function jobsReport(
  config: Config,
  source: string,
  opts: { retry: boolean; limit?: number; ids?: readonly string[] },
): Promise<JobsReport> {
  const limit = opts.limit ?? 100;
  if (!config.redis.url) return localJobs(config, source, opts.retry, limit, opts.ids);
  const { openRedisQueue } = await import('./through-queue.js');
  const q = await openRedisQueue(config, source, createLogger('silent'), 'ragsync-jobs');
  try {
    const failed = await q.failed(limit);
    const retried = opts.retry ? await q.retryFailed(opts.ids) : 0;
    return { source, queue: q.kind, location: q.location, counts: await q.counts(), failed, retried };
  } finally {
    await q.close();
  }
}

async function localJobs(config: Config, source: string, retry: boolean, limit: number, ids?: readonly string[]): Promise<JobsReport> {
  const file = localQueueFile(config, source);
  const before = await readLocalQueue(file);
  const failed = before?.failed.slice(0, limit) ?? [];
  const n = before?.failed.filter((f) => !ids || ids.includes(f.id)).length ?? 0;
  const taken = retry && n > 0 ? await requestRetry(file, 5000, ids) : false;
  const state = (await readLocalQueue(file)) ?? before;
  const counts = state?.counts ?? { waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0 };
  const report: JobsReport = { source, queue: 'local', location: file, counts, failed, retried: taken ? n : 0 };
  Object.assign(report, { running: state?.running ?? false, updatedAt: state?.updatedAt ?? null });
  return retry && n > 0 && !taken ? { ...report, deferred: n } : report;
}
