/**
 * `ragsync watch DIR`: chokidar events and a periodic reconcile (scan vs store) enqueue document
 * references; this process's worker (unless disabled) and, on Redis, any other workers process
 * them. Without Redis the queue is local (`queues.ts`). The first reconcile, at start, queues
 * whatever the store does not match, so a crash loses nothing (the store is the truth). An edited
 * `.gitignore` or `.ragsyncignore` runs a reconcile at once.
 */
import type { Redis } from 'ioredis';
import { type Config, DEFAULT_POLL_MS } from '../config/index.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { DeleteGuard } from '../core/delete-guard.js';
import { noChange, syncSource } from '../core/sync-source.js';
import type { SyncTargets } from '../core/targets.js';
import type { DocRef } from '../core/types.js';
import type { Metrics } from '../queue/metrics.js';
import { RedisQueue } from '../queue/bullmq.js';
import { redactRedis, redisEpoch } from '../queue/redis.js';
import { watchModeOf } from '../sources/fs-type.js';
import { watchSource } from '../sources/watcher.js';
import { deleteGuardOf } from './runtime.js';
import { recordSource } from './sources.js';
import { pruneVectorCache } from './index-dir.js';
import { type Daemon, startDaemon } from './worker.js';

/** `ragsync watch DIR`. */
export async function runWatch(config: Config, dir: string, opts: { worker: boolean; log: Logger }): Promise<Daemon> {
  const { log } = opts;
  const d = await startDaemon(config, dir, log, opts.worker);
  const source = d.rt.source.name;
  const enqueue = (ref: DocRef, at: number) =>
    d.queue.enqueue(ref, at).catch((err: unknown) => log.warn({ stage: 'queue', path: ref.path }, `cannot enqueue: ${errorMessage(err)}`));
  const synced = async () => {
    await recordSource(d.rt.store, config, d.rt.identity, true, log);
    await pruneVectorCache(config, d.rt.live.collection).catch((err: unknown) =>
      log.warn(`cannot prune the vector cache: ${errorMessage(err)}`),
    );
  };
  const reconciler = new Reconciler(d.rt.targets, enqueue, log, { guard: deleteGuardOf(config), metrics: d.metrics, synced });
  const mode = await watchModeOf(d.rt.source.location, config.watch.pollMs, DEFAULT_POLL_MS);
  const watcher = await watchSource(d.rt.source, {
    settleMs: config.watch.settleMs,
    pollMs: mode.pollMs,
    onError: (err) => log.warn({ stage: 'source' }, `watcher: ${err.message}`),
    onEvent: (e) => {
      if (e.kind === 'file') return void enqueue({ source, path: e.path }, e.at);
      if (e.kind === 'rules') {
        // What is a document may have changed anywhere below it: the scan finds what to add and delete.
        log.info({ stage: 'reconcile', path: e.path }, 'an ignore file changed: reconciling');
        return void reconciler.run(true);
      }
      void removedDir(d.rt.targets, e.path).then((paths) => paths.forEach((p) => void enqueue({ source, path: p }, e.at)));
    },
  });
  // pollMs as chokidar runs it (its CHOKIDAR_USEPOLLING variable may differ from what was decided).
  if (mode.why) log.info({ stage: 'watch', pollMs: watcher.options.usePolling ? watcher.options.interval : 0 }, mode.why);
  const epochs = d.queue instanceof RedisQueue ? onDataLoss(d.queue.conn, config.redis.prefix, log, () => void reconciler.run(true)) : null;
  await epochs?.ready;
  await reconciler.run();
  const every = config.watch.reconcileSeconds * 1000;
  const timer = every > 0 ? setInterval(() => void reconciler.run(false), every) : undefined;
  const fields = {
    stage: 'watch',
    dir: d.rt.source.location,
    source,
    queue: d.queue.kind,
    worker: opts.worker,
    metricsPort: d.server?.port,
  };
  log.info(fields, 'watching');
  let stopping: Promise<void> | undefined;
  const stop = async () => {
    if (timer) clearInterval(timer);
    epochs?.stop();
    await watcher.close();
    await reconciler.stop();
    await d.close();
  };
  return { queue: d.queueUrl, metricsPort: d.server?.port, view: d.view, stop: () => (stopping ??= stop()) };
}

/**
 * Full scans against the store that enqueue every document the store does not match; one at a
 * time. A scan that would delete more than the mass-deletion guard allows enqueues its other
 * changes and no deletion: an error is logged and `ragsync_deletions_held` says how many wait,
 * and each later reconcile decides again (the files came back, or the daemon runs with
 * `--allow-delete`). Deletions the watcher reports (events, not a scan) are not held.
 */
class Reconciler {
  private running: Promise<void> | undefined;
  // A reconcile asked for after a Redis data loss while one runs (whose enqueues may have been
  // lost) runs once more after it; a periodic tick that finds one running is skipped.
  private again = false;
  private stopped = false;

  constructor(
    private readonly targets: SyncTargets,
    private readonly enqueue: (ref: DocRef, at: number) => Promise<unknown>,
    private readonly log: Logger,
    /** `synced` records the end of a reconcile that held nothing in the store's source registry. */
    private readonly held: { guard: DeleteGuard | null; metrics: Metrics; synced: () => Promise<void> },
  ) {}

  run(rerun = false): Promise<void> {
    if (this.running) {
      this.again ||= rerun;
      return this.running;
    }
    this.running = this.pass()
      .catch((err: unknown) => this.log.warn({ stage: 'reconcile' }, `reconcile failed: ${errorMessage(err)}`))
      .finally(() => {
        this.running = undefined;
        if (this.again && !this.stopped) {
          this.again = false;
          void this.run(true);
        }
      });
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async pass(): Promise<void> {
    let queued = 0;
    const execute = async (ref: DocRef) => {
      await this.enqueue(ref, Date.now());
      queued++;
      return noChange(`${ref.source}:${ref.path}`, ref.path);
    };
    const deleteGuard = this.held.guard;
    const summary = await syncSource((await this.targets.current()).live, { concurrency: 64, execute, deleteGuard });
    const { held } = summary;
    this.held.metrics.heldDeletions.set(held?.deletions ?? 0);
    if (held) {
      this.held.metrics.heldReconciles.inc();
      this.log.error({ stage: 'reconcile', held: held.deletions, indexed: held.indexed, found: held.found }, held.reason);
    }
    // (It logs a store it cannot reach itself, and does not throw.)
    if (!held && !summary.interrupted) await this.held.synced();
    this.log.info({ stage: 'reconcile', scanned: summary.docs.scanned, queued, failed: summary.docs.failed }, 'reconcile done');
  }
}

/**
 * Jobs live in Redis: a Redis that restarted (without persistence, from an older snapshot) or
 * failed over may have lost the changes queued in it. When the connection comes back and
 * `redisEpoch` changed, `lost` runs (a reconcile enqueues again every file the store does not
 * match); a dropped connection to the same server, an idle timeout, costs no scan. Listening
 * starts before the first reconcile (`ready`): a loss during it must not go unnoticed. When the
 * epoch cannot be read, the next reconnect counts as a loss.
 */
function onDataLoss(conn: Redis, prefix: string, log: Logger, lost: () => void) {
  const readEpoch = () =>
    redisEpoch(conn, prefix).catch((err: unknown) => {
      log.warn({ stage: 'queue' }, `cannot read Redis's epoch marker: ${redactRedis(errorMessage(err))}`);
      return '';
    });
  let epoch = '';
  let down = false;
  let stopped = false;
  const onClose = () => (down = true);
  const onReady = () => {
    if (!down || stopped) return;
    down = false;
    void (async () => {
      const now = await readEpoch();
      if (now !== '' && now === epoch) return log.info({ stage: 'queue' }, 'Redis is reachable again, the same server with its data');
      epoch = now;
      if (stopped) return;
      log.info({ stage: 'reconcile' }, 'Redis is reachable again but restarted or lost its data: reconciling');
      lost();
    })();
  };
  const ready = readEpoch().then((e) => void (epoch = e));
  conn.on('close', onClose);
  conn.on('ready', onReady);
  return {
    ready,
    stop: () => {
      stopped = true;
      conn.off('close', onClose);
      conn.off('ready', onReady);
    },
  };
}

/** Paths of the recorded documents under a removed directory. */
async function removedDir(targets: SyncTargets, dir: string): Promise<string[]> {
  const { live } = await targets.current();
  const records = await live.collection.listDocRecords(live.source.name);
  return [...records.values()].map((r) => r.path).filter((p) => dir === '' || p.startsWith(`${dir}/`));
}
