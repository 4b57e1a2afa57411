/** `ragsync jobs`: what the queue of a source holds, its failed jobs, and retrying them. */
import type { Config } from '../config/index.js';
import { createLogger } from '../core/log.js';
import { openQueue } from './through-queue.js';

export interface JobsReport {
  source: string;
  counts: Record<string, number>;
  failed: Array<{ id: string; path: string; reason: string; attempts: number; failedAt: string | null }>;
  retried: number;
}

export async function jobsReport(config: Config, source: string, opts: { retry: boolean; limit?: number }): Promise<JobsReport> {
  const q = await openQueue(config, source, createLogger('silent'), 'ragsync-jobs');
  const { queue } = q.queue;
  try {
    const failedJobs = await queue.getFailed(0, (opts.limit ?? 100) - 1);
    let retried = 0;
    if (opts.retry) {
      for (const job of await queue.getFailed(0, -1)) {
        await job.retry('failed');
        retried++;
      }
    }
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed');
    const failed = failedJobs.map((j) => ({
      id: String(j.id),
      path: j.data.path,
      reason: j.failedReason ?? '',
      attempts: j.attemptsMade,
      failedAt: j.finishedOn ? new Date(j.finishedOn).toISOString() : null,
    }));
    return { source, counts, failed, retried };
  } finally {
    await q.close();
  }
}
