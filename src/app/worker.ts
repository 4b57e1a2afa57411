/**
 * `ragsync worker DIR`, and what both daemons share: the runtime, the queue (local or Redis,
 * `queues.ts`), this process's worker, metrics, and the graceful stop (intake stops, active jobs
 * get `drainSeconds` to finish; on Redis the rest are handed back to other workers, locally the
 * next start's reconcile finds them; every connection closes).
 */
import { EventEmitter } from 'node:events';
import type { Config } from '../config/index.js';
import type { JobQueue } from '../core/job-queue.js';
import type { Logger } from '../core/log.js';
import type { DocRef } from '../core/types.js';
import { Metrics, serveMetrics } from '../queue/metrics.js';
import { openJobQueue } from './queues.js';
import { openRuntime } from './runtime.js';
import { type SyncEvent, syncJob } from './sync-job.js';

export interface Daemon {
  /** Where the queue is, for people: the Redis URL (credentials hidden), or `local`. */
  queue: string;
  metricsPort?: number;
  /** What a server in the same process shows and drives (`watch --serve`). */
  view: DaemonView;
  /** Stops intake, drains, closes everything. Safe to call twice. */
  stop(): Promise<void>;
}

/** A running daemon as a server in its process sees it: its queue, metrics and live syncs. */
export interface DaemonView {
  source: string;
  dir: string;
  queue: JobQueue;
  metrics: Metrics;
  /** The last syncs that changed something or failed, newest last (at most `RECENT_SYNCS`). */
  recent(): SyncEvent[];
  /** Calls `listener` at the end of every sync job of this process's worker that changed something or failed; returns the unsubscribe. */
  onSync(listener: (e: SyncEvent) => void): () => void;
  /** Queues a sync of one document now (a read-your-writes wait need not wait for the watcher). */
  nudge(ref: DocRef): Promise<void>;
}

/** How many of the last syncs a daemon keeps for its view. */
const RECENT_SYNCS = 50;

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
  const syncs = new EventEmitter<{ sync: [SyncEvent] }>();
  // One listener for each open page (the server caps them).
  syncs.setMaxListeners(0);
  const recent: SyncEvent[] = [];
  const report = (e: SyncEvent) => {
    // A reconcile queues every document and most are unchanged: the view shows what changed or failed.
    if (e.status === 'unchanged') return;
    recent.push(e);
    if (recent.length > RECENT_SYNCS) recent.shift();
    syncs.emit('sync', e);
  };
  if (withWorker) queue.work(syncJob({ targets: rt.targets, log, metrics, requeue, report }), { concurrency: config.worker.concurrency });
  const view: DaemonView = {
    source: rt.source.name,
    dir: rt.source.location,
    queue,
    metrics,
    recent: () => [...recent],
    onSync: (listener) => {
      syncs.on('sync', listener);
      return () => void syncs.off('sync', listener);
    },
    nudge: (ref) => queue.enqueue(ref, Date.now()),
  };
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
  return { rt, queue, server, metrics, view, close, queueUrl: queue.kind === 'local' ? 'local' : queue.location };
}

/** `ragsync worker DIR`. */
export async function runWorker(config: Config, dir: string, opts: { log: Logger }): Promise<Daemon> {
  const d = await startDaemon(config, dir, opts.log, true);
  const fields = { stage: 'worker', source: d.rt.source.name, concurrency: config.worker.concurrency, metricsPort: d.server?.port };
  opts.log.info(fields, 'worker started');
  let stopping: Promise<void> | undefined;
  return { queue: d.queueUrl, metricsPort: d.server?.port, view: d.view, stop: () => (stopping ??= d.close()) };
}
