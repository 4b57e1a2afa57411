/**
 * `ragsync worker DIR`, and what both daemons share: the runtime, the queue, this process's
 * worker, metrics, and the graceful stop (intake stops, active jobs get `drainSeconds` to finish,
 * then their locks lapse and another worker takes them over; every connection closes).
 */
import type { Worker } from 'bullmq';
import type { Config } from '../config/index.js';
import type { Logger } from '../core/log.js';
import { Metrics, serveMetrics } from '../queue/metrics.js';
import { redactRedis } from '../queue/redis.js';
import { startWorker } from '../queue/worker.js';
import { openRuntime } from './runtime.js';
import { openQueue, workerOptions } from './through-queue.js';

export interface Daemon {
  /** The queue's Redis URL, credentials hidden. */
  queue: string;
  metricsPort?: number;
  /** Stops intake, drains, closes everything. Safe to call twice. */
  stop(): Promise<void>;
}

/** Opens what a daemon runs on; `close` drains its worker and closes everything it opened. */
export async function startDaemon(config: Config, dir: string, log: Logger, withWorker: boolean) {
  const rt = await openRuntime(config, dir, log);
  const q = await openQueue(config, rt.source.name, log, 'ragsync', 'until-ready').catch(async (err: unknown) => {
    await rt.close();
    throw err;
  });
  const metrics = new Metrics();
  await rt.targets.current();
  const requeue = (ref: { source: string; path: string }, at: number) => q.queue.enqueue(ref, at);
  const worker = withWorker
    ? startWorker({ ...workerOptions(config, rt.source.name, rt.targets, q.conn, log), metrics, requeue })
    : undefined;
  const server =
    config.metrics.port === undefined
      ? undefined
      : await serveMetrics(metrics, {
          port: config.metrics.port,
          host: config.metrics.host,
          healthy: async () => (await q.conn.ping().catch(() => '')) === 'PONG',
          refresh: async () => {
            const counts = await q.queue.queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized');
            for (const [state, n] of Object.entries(counts)) metrics.queueDepth.set({ state }, n);
          },
        });
  const close = async () => {
    await drain(worker, config.worker.drainSeconds, log);
    await q.close();
    await server?.close();
    await rt.close();
  };
  return { rt, q, worker, server, metrics, close, queueUrl: redactRedis(config.redis.url ?? '') };
}

/** `ragsync worker DIR`. */
export async function runWorker(config: Config, dir: string, opts: { log: Logger }): Promise<Daemon> {
  const d = await startDaemon(config, dir, opts.log, true);
  const fields = { stage: 'worker', source: d.rt.source.name, concurrency: config.worker.concurrency, metricsPort: d.server?.port };
  opts.log.info(fields, 'worker started');
  let stopping: Promise<void> | undefined;
  return { queue: d.queueUrl, metricsPort: d.server?.port, stop: () => (stopping ??= d.close()) };
}

async function drain(worker: Worker | undefined, seconds: number, log: Logger): Promise<void> {
  if (!worker) return;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), seconds * 1000)));
  const outcome = await Promise.race([worker.close().then(() => 'drained' as const), timeout]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    log.warn({ stage: 'queue' }, `active jobs did not finish within ${seconds} s: handing them back`);
    await worker.close(true);
  }
}
