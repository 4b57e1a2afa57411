/**
 * `ragsync worker DIR`, and what both daemons share: the runtime, the queue (local or Redis,
 * `queues.ts`), this process's worker, metrics, and the graceful stop (intake stops, active jobs
 * get `drainSeconds` to finish; on Redis the rest are handed back to other workers, locally the
 * next start's reconcile finds them; every connection closes).
 */
import type { Config } from '../config/index.js';
import type { JobQueue } from '../core/job-queue.js';
import type { Logger } from '../core/log.js';
import type { DocRef } from '../core/types.js';
import { Metrics, serveMetrics } from '../queue/metrics.js';
import { openJobQueue } from './queues.js';
import { openRuntime } from './runtime.js';
import { syncJob } from './sync-job.js';

export interface Daemon {
  /** Where the queue is, for people: the Redis URL (credentials hidden), or `local`. */
  queue: string;
  metricsPort?: number;
  /** Stops intake, drains, closes everything. Safe to call twice. */
  stop(): Promise<void>;
}

/** Opens what a daemon runs on; `close` drains its worker and closes everything it opened. */
export async function startDaemon(config: Config, dir: string, log: Logger, withWorker: boolean) {
  const rt = await openRuntime(config, dir, log);
  const queue: JobQueue = await openJobQueue(config, rt.source.name, log).catch(async (err: unknown) => {
    await rt.close();
    throw err;
  });
  const metrics = new Metrics();
  await rt.targets.current();
  const requeue = (ref: DocRef, at: number) => queue.enqueue(ref, at);
  if (withWorker) queue.work(syncJob({ targets: rt.targets, log, metrics, requeue }), { concurrency: config.worker.concurrency });
  const server =
    config.metrics.port === undefined
      ? undefined
      : await serveMetrics(metrics, {
          port: config.metrics.port,
          host: config.metrics.host,
          healthy: () => queue.healthy(),
          refresh: async () => {
            for (const [state, n] of Object.entries(await queue.counts())) metrics.queueDepth.set({ state }, n);
          },
        });
  const close = async () => {
    if ((await queue.drain(config.worker.drainSeconds * 1000)) === 'timeout') {
      const rest = queue.durable ? 'handing them back' : 'the next start reconciles them';
      log.warn({ stage: 'queue' }, `active jobs did not finish within ${config.worker.drainSeconds} s: ${rest}`);
    }
    await queue.close();
    await server?.close();
    await rt.close();
  };
  return { rt, queue, server, metrics, close, queueUrl: queue.kind === 'local' ? 'local' : queue.location };
}

/** `ragsync worker DIR`. */
export async function runWorker(config: Config, dir: string, opts: { log: Logger }): Promise<Daemon> {
  const d = await startDaemon(config, dir, opts.log, true);
  const fields = { stage: 'worker', source: d.rt.source.name, concurrency: config.worker.concurrency, metricsPort: d.server?.port };
  opts.log.info(fields, 'worker started');
  let stopping: Promise<void> | undefined;
  return { queue: d.queueUrl, metricsPort: d.server?.port, stop: () => (stopping ??= d.close()) };
}
