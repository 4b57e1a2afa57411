/**
 * The long-running modes. `watch`: chokidar events and a periodic reconcile (scan vs store)
 * enqueue document references; an in-process worker (unless disabled) and any other workers
 * process them. `worker`: only processes. Both stop gracefully: intake stops, active jobs get
 * `drainSeconds` to finish (then their locks lapse and another worker takes them over), and
 * every connection closes.
 */
import type { Worker } from 'bullmq';
import type { FSWatcher } from 'chokidar';
import { openRuntime } from '../app.js';
import { SyncTargets } from '../targets.js';
import type { Config } from '../config.js';
import { errorMessage } from '../core/errors.js';
import { syncSource } from '../core/sync-source.js';
import type { DocSyncResult } from '../core/sync.js';
import type { DocRef } from '../core/types.js';
import type { Logger } from '../log.js';
import { watchSource } from '../sources/watcher.js';
import { Metrics, serveMetrics } from './metrics.js';
import { SyncQueue } from './queue.js';
import { redactRedis, redisConnection, redisEpoch, safeRedisUrl } from './redis.js';
import { startWorker } from './worker.js';

export interface Daemon {
  metricsPort?: number;
  /** Stops intake, drains, closes everything. Safe to call twice. */
  stop(): Promise<void>;
}

function requireRedis(config: Config): string {
  if (!config.redis.url) throw new Error('unreachable: the CLI checks --redis');
  return config.redis.url;
}

async function startCommon(config: Config, dir: string, log: Logger, withWorker: boolean) {
  const url = requireRedis(config);
  const rt = await openRuntime(config, dir);
  const conn = redisConnection(url, log, 'ragsync');
  const queue = new SyncQueue(rt.source.name, conn, config.redis.prefix, config.worker.attempts);
  await queue.queue.waitUntilReady().catch(async (err: unknown) => {
    conn.disconnect();
    await rt.close();
    throw new Error(`cannot reach Redis at ${safeRedisUrl(url)}: ${errorMessage(err)}`);
  });
  const metrics = new Metrics();
  const targets = new SyncTargets(config, rt.deps, log);
  await targets.current();
  const worker = withWorker
    ? startWorker({
        source: rt.source.name,
        targets,
        connection: conn,
        prefix: config.redis.prefix,
        concurrency: config.worker.concurrency,
        lockMs: config.worker.lockMs,
        metrics,
        log,
        requeue: (ref, at) => queue.enqueue(ref, at),
      })
    : undefined;
  const server =
    config.metrics.port !== undefined
      ? await serveMetrics(metrics, {
          port: config.metrics.port,
          host: config.metrics.host,
          healthy: async () => (await conn.ping().catch(() => '')) === 'PONG',
          refresh: async () => {
            const counts = await queue.queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized');
            for (const [state, n] of Object.entries(counts)) metrics.queueDepth.set({ state }, n);
          },
        })
      : undefined;
  return { rt, conn, queue, metrics, worker, server, targets };
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

/** `ragsync watch DIR`. */
export async function runWatch(config: Config, dir: string, opts: { worker: boolean; log: Logger }): Promise<Daemon> {
  const { log } = opts;
  const c = await startCommon(config, dir, log, opts.worker);
  const { rt, queue } = c;
  const enqueue = (ref: DocRef, at: number) =>
    queue.enqueue(ref, at).catch((err: unknown) => log.warn({ stage: 'queue', path: ref.path }, `cannot enqueue: ${errorMessage(err)}`));
  const source = rt.source.name;

  const watcher: FSWatcher = await watchSource(rt.source, {
    settleMs: config.watch.settleMs,
    onError: (err) => log.warn({ stage: 'source' }, `watcher: ${err.message}`),
    onEvent: (e) => {
      if (e.kind === 'file') return void enqueue({ source, path: e.path }, e.at);
      void removedDir(c.targets, e.path).then((paths) => paths.forEach((p) => void enqueue({ source, path: p }, e.at)));
    },
  });

  let stopping: Promise<void> | undefined;
  let reconciling: Promise<void> | undefined;
  // `rerun`: a reconcile asked for after a Redis data loss while one runs (whose enqueues may
  // have been lost) runs once more after it; a periodic tick that finds one running is skipped.
  let again = false;
  const reconcile = (rerun = false): Promise<void> => {
    if (reconciling) {
      again ||= rerun;
      return reconciling;
    }
    reconciling = (async () => {
      let queued = 0;
      const summary = await syncSource((await c.targets.current()).live, {
        concurrency: 64,
        execute: async (ref) => {
          await enqueue(ref, Date.now());
          queued++;
          return queuedResult(ref);
        },
      });
      log.info({ stage: 'reconcile', scanned: summary.docs.scanned, queued, failed: summary.docs.failed }, 'reconcile done');
    })()
      .catch((err: unknown) => log.warn({ stage: 'reconcile' }, `reconcile failed: ${errorMessage(err)}`))
      .finally(() => {
        reconciling = undefined;
        if (again && !stopping) {
          again = false;
          void reconcile(true);
        }
      });
    return reconciling;
  };
  // Jobs live in Redis: a Redis that restarted (without persistence, from an older snapshot) or
  // failed over may have lost the changes queued in it. When the connection comes back and
  // `redisEpoch` changed, a reconcile enqueues again every file the store does not match. (A
  // dropped connection to the same server, an idle timeout, costs no scan.) Listening starts
  // before the first reconcile: a loss during it must not go unnoticed. When the epoch cannot be
  // read, the next reconnect reconciles.
  const readEpoch = () =>
    redisEpoch(c.conn, config.redis.prefix).catch((err: unknown) => {
      log.warn({ stage: 'queue' }, `cannot read Redis's epoch marker: ${redactRedis(errorMessage(err))}`);
      return '';
    });
  let epoch = await readEpoch();
  let down = false;
  const onClose = () => (down = true);
  const onReady = () => {
    if (!down || stopping) return;
    down = false;
    void (async () => {
      const now = await readEpoch();
      if (now !== '' && now === epoch) return log.info({ stage: 'queue' }, 'Redis is reachable again, the same server with its data');
      epoch = now;
      if (stopping) return;
      log.info({ stage: 'reconcile' }, 'Redis is reachable again but restarted or lost its data: reconciling');
      void reconcile(true);
    })();
  };
  c.conn.on('close', onClose);
  c.conn.on('ready', onReady);
  await reconcile();
  const timer = config.watch.reconcileSeconds > 0 ? setInterval(() => void reconcile(false), config.watch.reconcileSeconds * 1000) : undefined;
  log.info({ stage: 'watch', dir: rt.source.location, source, worker: opts.worker, metricsPort: c.server?.port }, 'watching');

  return {
    metricsPort: c.server?.port,
    stop: () =>
      (stopping ??= (async () => {
        if (timer) clearInterval(timer);
        c.conn.off('close', onClose);
        c.conn.off('ready', onReady);
        await watcher.close();
        await reconciling;
        await drain(c.worker, config.worker.drainSeconds, log);
        await queue.close();
        c.conn.disconnect();
        await c.server?.close();
        await c.targets.close();
        await rt.close();
      })()),
  };
}

/** `ragsync worker DIR`. */
export async function runWorker(config: Config, dir: string, opts: { log: Logger }): Promise<Daemon> {
  const c = await startCommon(config, dir, opts.log, true);
  opts.log.info({ stage: 'worker', source: c.rt.source.name, concurrency: config.worker.concurrency, metricsPort: c.server?.port }, 'worker started');
  let stopping: Promise<void> | undefined;
  return {
    metricsPort: c.server?.port,
    stop: () =>
      (stopping ??= (async () => {
        await drain(c.worker, config.worker.drainSeconds, opts.log);
        await c.queue.close();
        c.conn.disconnect();
        await c.server?.close();
        await c.targets.close();
        await c.rt.close();
      })()),
  };
}

/** Paths of the recorded documents under a removed directory. */
async function removedDir(targets: SyncTargets, dir: string): Promise<string[]> {
  const { live } = await targets.current();
  const records = await live.sink.listDocRecords(live.source.name);
  return [...records.values()].map((r) => r.path).filter((p) => dir === '' || p.startsWith(`${dir}/`));
}

function queuedResult(ref: DocRef): DocSyncResult {
  return { docId: `${ref.source}:${ref.path}`, path: ref.path, status: 'unchanged', added: 0, updated: 0, deleted: 0, unchanged: 0, embedded: 0, reused: 0 };
}
