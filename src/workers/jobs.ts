/** `ragsync jobs`: what the queue of a source holds, its failed jobs, and retrying them. */
import type { Config } from '../config.js';
import { SyncQueue } from './queue.js';
import { redisConnection } from './redis.js';

export interface JobsReport {
  source: string;
  counts: Record<string, number>;
  failed: Array<{ id: string; path: string; reason: string; attempts: number; failedAt: string | null }>;
  retried: number;
}

export async function jobsReport(config: Config, source: string, opts: { retry: boolean; limit?: number }): Promise<JobsReport> {
  const conn = redisConnection(config.redis.url!, undefined, 'ragsync-jobs');
  const queue = new SyncQueue(source, conn, config.redis.prefix, config.worker.attempts);
  try {
    const failedJobs = await queue.queue.getFailed(0, (opts.limit ?? 100) - 1);
    let retried = 0;
    if (opts.retry) {
      for (const job of await queue.queue.getFailed(0, -1)) {
        await job.retry('failed');
        retried++;
      }
    }
    const counts = await queue.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed');
    return {
      source,
      counts,
      failed: failedJobs.map((j) => ({
        id: String(j.id),
        path: j.data.path,
        reason: j.failedReason ?? '',
        attempts: j.attemptsMade,
        failedAt: j.finishedOn ? new Date(j.finishedOn).toISOString() : null,
      })),
      retried,
    };
  } finally {
    await queue.close();
    conn.disconnect();
  }
}
