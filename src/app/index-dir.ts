/** `ragsync index DIR`: one full pass of a directory into the store, in-process or through the queue; or its plan. */
import { statSync } from 'node:fs';
import type { Config } from '../config/index.js';
import { type PlanSummary, planSource } from '../core/dry-run.js';
import { RagsyncError, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { Collection } from '../core/store.js';
import { type SyncSourceOptions, type SyncSummary, syncSource } from '../core/sync-source.js';
import { syncToTargets } from '../core/targets.js';
import { dropWaitingParses } from './parsing.js';
import { type Runtime, deleteGuardOf, openReader, openRuntime } from './runtime.js';
import { recordSource } from './sources.js';

export type IndexHooks = Omit<SyncSourceOptions, 'concurrency' | 'execute' | 'deleteGuard'> & {
  /** With Redis: only enqueue and wait; other workers do the work. */
  noWorker?: boolean;
  log?: Logger;
  /** Only plan the pass (in-process, also when Redis is configured): write nothing, embed nothing. */
  dryRun?: boolean;
  /** Documents to hash whatever stat says (those an audit found stale), besides `--rehash`. */
  rehash?: ReadonlySet<string>;
};

/**
 * One full pass of the directory into the store, in-process; or, with a Redis URL, through the
 * queue (its own worker and any others), waiting for every job. Every change goes to the live
 * collection and, while a re-embed runs (one may start during the pass), to its collection too.
 * With `dryRun`, the plan of that pass (`planDirectory`).
 */
export async function indexDirectory(config: Config, dir: string, hooks: IndexHooks = {}): Promise<SyncSummary | PlanSummary> {
  checkDirectory('index', dir);
  if (hooks.dryRun) return planDirectory(config, dir, hooks);
  const rt = await openRuntime(config, dir, hooks.log);
  if (hooks.rehash && !config.rehash) rt.live.rehash = hooks.rehash;
  const unstop = stopBatchesOn(rt, hooks.signal);
  try {
    const summary = await syncPass(config, rt, hooks);
    if (!summary.interrupted && !summary.held && !hooks.signal?.aborted) await recordSource(rt.store, config, rt.identity, true, hooks.log);
    if (summary.docs.changed + summary.docs.deleted > 0 && !summary.interrupted && !hooks.signal?.aborted) {
      // Pruning and compaction only bound the cache and make later reads faster; a failure here loses nothing.
      const warn = (what: string) => (err: unknown) => hooks.onWarning?.(`cannot ${what}: ${errorMessage(err)}`);
      await pruneVectorCache(config, rt.live.collection).catch(warn('prune the vector cache'));
      await rt.live.collection.optimize().catch(warn('optimize the store'));
    }
    return summary;
  } finally {
    unstop();
    await rt.close();
  }
}

/** The directory argument of `command`, checked before anything is opened or created: a usage error (exit 2) when it is not one. */
export function checkDirectory(command: string, dir: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw new RagsyncError('USAGE', `ragsync ${command}: no such directory: ${dir}`, { stage: 'config' });
  }
  if (!isDir)
    throw new RagsyncError('USAGE', `ragsync ${command}: ${dir} is not a directory (give the folder that holds it)`, { stage: 'config' });
}

/**
 * On the stop signal no new embedding batch starts and no waiting document is parsed: the
 * documents in flight that wait for either end at once (synced next run); returns the remover.
 */
export function stopBatchesOn(rt: Runtime, signal: AbortSignal | undefined): () => void {
  if (!signal) return () => undefined;
  const stop = () => {
    dropWaitingParses();
    (rt.live.embedder as { stop?: () => void }).stop?.();
  };
  if (signal.aborted) stop();
  signal.addEventListener('abort', stop, { once: true });
  return () => signal.removeEventListener('abort', stop);
}

/**
 * The plan of an `index` pass over the store as it is: the same pass, every write recorded and
 * every embedding counted instead (`core/dry-run.ts`). Nothing is written; a store that does not
 * exist is not created. `prepare` runs on the recording collection first.
 */
export async function planDirectory(
  config: Config,
  dir: string,
  hooks: IndexHooks,
  prepare?: (collection: Collection) => Promise<void>,
): Promise<PlanSummary> {
  const rt = await openReader(config, dir, hooks.log);
  if (hooks.rehash && !config.rehash) rt.live.rehash = hooks.rehash;
  try {
    return await planSource(rt.live, { ...hooks, concurrency: config.concurrency, deleteGuard: deleteGuardOf(config) }, prepare);
  } finally {
    await rt.close();
  }
}

/** The pass of a writer runtime: in-process, or through the queue when Redis is configured. */
export async function syncPass(config: Config, rt: Runtime, hooks: IndexHooks): Promise<SyncSummary> {
  const deleteGuard = deleteGuardOf(config);
  if (!config.redis.url) {
    const execute: SyncSourceOptions['execute'] = (ref, known) => syncToTargets(ref, rt.targets, { known, of: rt.live });
    return syncSource(rt.live, { ...hooks, concurrency: config.concurrency, execute, deleteGuard });
  }
  // BullMQ and ioredis load only for a pass through Redis.
  const { queuePass } = await import('./through-queue.js');
  return queuePass(config, rt.live, {
    ...hooks,
    deleteGuard,
    worker: hooks.noWorker ? undefined : rt.targets,
    pick: (result) => result,
    refused: (ref) => new RagsyncError('SINK', `${ref.path}: no job result`, { stage: 'sink', retryable: true }),
  });
}

/**
 * Bounds the collection's vector cache by the configured age and size (`vectorCache.days`,
 * `vectorCache.mb`; an entry takes about its vector's bytes and its key).
 */
export function pruneVectorCache(config: Config, collection: Collection): Promise<{ dropped: number; entries: number }> {
  const entryBytes = collection.info.fingerprint.dim * 4 + 80;
  return collection.pruneVectors({
    maxAgeMs: config.vectorCache.days * 86_400_000,
    maxEntries: Math.floor((config.vectorCache.mb * 1024 * 1024) / entryBytes),
  });
}
