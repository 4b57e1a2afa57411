/**
 * `ragsync reembed`: moves a store to another embedder with no downtime (blue/green). The new
 * collection is created beside the live one and marked pending; every writer (daemon, workers,
 * `index`) then writes both; the backfill re-chunks and embeds every document into the new
 * collection (in-process, or through the queue so other workers share it); the result is verified
 * against the sources; then one atomic swap makes it live. The old collection stays for
 * `--rollback` (itself a re-embed back to it: only what changed since is embedded) until
 * `--drop-old`. Killed and run again, it resumes: documents already committed to the new
 * collection are skipped, and vectors already written are reused.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config/index.js';
import { RagsyncError, errorMessage } from '../core/errors.js';
import { fingerprintKey } from '../core/fingerprint.js';
import { type Logger, createLogger } from '../core/log.js';
import type { Collection, Store } from '../core/store.js';
import type { SyncDeps } from '../core/sync-document.js';
import { type SyncSummary, syncSource } from '../core/sync-source.js';
import { LAYOUT_REFRESH_MS } from '../core/targets.js';
import type { CollectionInfo, Embedder, Fingerprint, Lease } from '../core/types.js';
import { embedderDescriptor, embedderFor, loadEmbedder } from './embedders.js';
import { stopParsing } from './parsing.js';
import { deleteGuardOf, openSource, syncDeps, writerRuntime } from './runtime.js';
import { openStore } from './store.js';
import { queuePass } from './through-queue.js';
import { checkSource, recordSource } from './sources.js';
import { type VerifyReport, verifyCollection } from './verify.js';

export type ReembedPhase = 'backfill' | 'verify' | 'repair' | 'swap';

export interface ReembedHooks {
  log?: Logger;
  /** With Redis: only enqueue and wait; other workers do the work. */
  noWorker?: boolean;
  /** Return to the previous collection instead of moving to the configured embedder. */
  rollback?: boolean;
  onStart?: (info: { from: Fingerprint; to: Fingerprint; collection: string; resumed: boolean }) => void;
  onPhase?: (phase: ReembedPhase) => void;
  onProgress?: (done: number, found: number, path: string | null) => void;
  /** A backfill pass ended (before the verification starts). */
  onBackfilled?: (summary: SyncSummary) => void;
  /** The backfill's scan ended: `found` documents in all. */
  onScanned?: (found: number) => void;
  onFailure?: (path: string, err: RagsyncError) => void;
  onWarning?: (message: string) => void;
}

export interface ReembedReport {
  from: Fingerprint;
  to: Fingerprint;
  collection: string;
  resumed: boolean;
  backfill: SyncSummary;
  verify: VerifyReport;
  swapped: boolean;
  durationMs: number;
}

/** The re-embed in progress: the store, its live collection, and the new collection's deps. */
interface Move {
  config: Config;
  store: Store;
  live: Collection;
  /** The new collection, written with the target embedder. */
  next: SyncDeps;
  hooks: ReembedHooks;
  log: Logger;
}

/** The backfill, verification and swap. Throws only when it cannot run at all. */
export async function reembed(config: Config, dir: string, hooks: ReembedHooks = {}): Promise<ReembedReport> {
  const started = performance.now();
  const log = hooks.log ?? createLogger('silent');
  const store = await openStore(config.sink);
  let lease: Lease | undefined;
  try {
    const live = await store.live();
    if (!live) throw new RagsyncError('USAGE', `${store.location} holds no index yet: run \`ragsync index DIR\` first`, { stage: 'sink' });
    const source = openSource(config, dir, store);
    await recordSource(store, config, await checkSource(store, source, log));
    lease = await store.acquireLease();
    const { target, descriptor, resumed } = await chooseTarget(config, store, live.info, hooks.rollback === true);
    const info = await store.preparePending(target.fingerprint, descriptor);
    const from = live.info.fingerprint;
    hooks.onStart?.({ from, to: target.fingerprint, collection: info.name, resumed });
    log.info(
      { stage: 'reembed', from: fingerprintKey(from), to: fingerprintKey(target.fingerprint), collection: info.name, resumed },
      're-embed started',
    );
    // Writers notice the pending collection within LAYOUT_REFRESH_MS; from then on they write both.
    await sleep(LAYOUT_REFRESH_MS + 250);
    const next = syncDeps(config, source, await store.collection(target.fingerprint), target);
    const { backfill, verify } = await backfillAndVerify({ config, store, live, next, hooks, log });
    let swapped = false;
    if (verify.problems.length === 0) {
      hooks.onPhase?.('swap');
      await lease.check();
      await store.promotePending();
      swapped = true;
      log.info({ stage: 'reembed', live: fingerprintKey(target.fingerprint), previous: fingerprintKey(from) }, 're-embed swapped in');
    }
    const durationMs = Math.round(performance.now() - started);
    return { from, to: target.fingerprint, collection: info.name, resumed, backfill, verify, swapped, durationMs };
  } finally {
    await lease?.release().catch(() => undefined);
    await store.close().catch(() => undefined);
    await stopParsing();
  }
}

/**
 * The target: the configured embedder, or (rollback) the previous collection's own. One
 * embedding is made before anything is created: a model or an API that cannot work at all fails
 * here, in a second, with nothing changed (not once per document after a long backfill).
 */
async function chooseTarget(config: Config, store: Store, live: CollectionInfo, rollback: boolean) {
  const before = await store.layout();
  let target: Embedder;
  let descriptor: Record<string, unknown>;
  if (rollback) {
    const prev = before.pending && before.pending.name === before.previous?.name ? before.pending : before.previous;
    if (!prev) throw new RagsyncError('USAGE', `${store.location} has no previous collection to roll back to`, { stage: 'sink' });
    target = await embedderFor(prev, config);
    descriptor = prev.embedder ?? embedderDescriptor(config.embedder);
  } else {
    target = await loadEmbedder(config.embedder);
    descriptor = embedderDescriptor(config.embedder);
  }
  if (fingerprintKey(target.fingerprint) === fingerprintKey(live.fingerprint)) {
    throw new RagsyncError('USAGE', `${store.location} already uses ${fingerprintKey(live.fingerprint)}: nothing to re-embed`, {
      stage: 'config',
    });
  }
  await target.embedTexts(['ragsync']).catch((err: unknown) => {
    const why = `cannot embed with ${fingerprintKey(target.fingerprint)}: ${errorMessage(err)}; nothing was changed`;
    throw new RagsyncError('MODEL_UNAVAILABLE', why, { stage: 'model', cause: err });
  });
  const resumed = before.pending !== null && fingerprintKey(before.pending.fingerprint) === fingerprintKey(target.fingerprint);
  return { target, descriptor, resumed };
}

/** The backfill and its verification; drift found (changes racing the backfill) gets one more pass. */
async function backfillAndVerify(move: Move): Promise<{ backfill: SyncSummary; verify: VerifyReport }> {
  const { hooks, log, next, live } = move;
  const pass = await backfillPass(move);
  const backfill = pass.summary;
  hooks.onBackfilled?.(backfill);
  await next.collection.optimize().catch((err: unknown) => hooks.onWarning?.(`cannot optimize the new collection: ${errorMessage(err)}`));
  hooks.onPhase?.('verify');
  let verify = await verifyCollection(next, live, pass.failures);
  if (verify.problems.length > 0) {
    // Changes racing the backfill, or a writer that had not seen the pending collection yet.
    hooks.onPhase?.('repair');
    log.info({ stage: 'reembed', problems: verify.problems.length }, 'verification found drift: one more pass');
    const again = await backfillPass(move);
    mergeSummary(backfill, again.summary);
    hooks.onBackfilled?.(again.summary);
    hooks.onPhase?.('verify');
    verify = await verifyCollection(next, live, again.failures);
  }
  return { backfill, verify };
}

/** One pass of the new collection over the source: in-process, or through the queue. */
async function backfillPass(move: Move): Promise<{ summary: SyncSummary; failures: Map<string, RagsyncError> }> {
  const { config, hooks, next } = move;
  hooks.onPhase?.('backfill');
  const failures = new Map<string, RagsyncError>();
  const common = {
    onProgress: (done: number, found: number, last: { path: string } | null) => hooks.onProgress?.(done, found, last?.path ?? null),
    onScanned: hooks.onScanned,
    onFailure: (path: string, err: RagsyncError) => {
      failures.set(path, err);
      hooks.onFailure?.(path, err);
    },
    onWarning: hooks.onWarning,
    // A rollback catches up a collection that holds documents: an emptied folder must not wipe it.
    deleteGuard: deleteGuardOf(config),
  };
  if (!config.redis.url) return { summary: await syncSource(next, { concurrency: config.concurrency, ...common }), failures };
  // Through the queue: the same sync jobs as the daemon's; every worker writes live and pending.
  // A job that was already running when the re-embed began (or deduplicated into one) may have
  // written only the live collection: then the document is enqueued once more.
  const worker = hooks.noWorker ? undefined : await liveWriter(move);
  const summary = await queuePass(config, next, {
    ...common,
    log: move.log,
    worker: worker?.targets,
    pick: (result) => result.next,
    refused: (ref) =>
      new RagsyncError(
        'SINK',
        `${ref.path}: the workers that ran its jobs did not write the new collection (do they run an older ragsync?)`,
        {
          stage: 'sink',
          retryable: true,
        },
      ),
  });
  return { summary, failures };
}

/** This process's writer of the live collection (with its own embedder) and, through its targets, of the new one. */
async function liveWriter(move: Move) {
  const embedder = await embedderFor(move.live.info, move.config, [move.next.embedder]);
  const liveDeps = syncDeps(move.config, move.next.source, move.live, embedder);
  return writerRuntime(move.config, move.store, liveDeps, move.log);
}

/** `reembed --abort`: forgets the pending re-embed and drops its collection (unless it is the previous one). */
export async function abortReembed(config: Config): Promise<CollectionInfo | null> {
  return withLease(config, async (store) => {
    const { pending } = await store.layout();
    if (pending) await store.abortPending();
    return pending;
  });
}

/** `reembed --drop-old`: drops every collection that is neither live nor pending. */
export async function dropOld(config: Config): Promise<CollectionInfo[]> {
  return withLease(config, async (store) => {
    const layout = await store.layout();
    const old = layout.all.filter((c) => c.name !== layout.live?.name && c.name !== layout.pending?.name);
    for (const c of old) await store.dropCollection(c.name);
    return old;
  });
}

async function withLease<T>(config: Config, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(config.sink);
  let lease: Lease | undefined;
  try {
    lease = await store.acquireLease();
    return await fn(store);
  } finally {
    await lease?.release().catch(() => undefined);
    await store.close().finally(stopParsing);
  }
}

function mergeSummary(into: SyncSummary, more: SyncSummary): void {
  into.docs.changed += more.docs.changed;
  into.docs.deleted += more.docs.deleted;
  into.docs.failed = more.docs.failed;
  into.failures = more.failures;
  into.chunks.upserted += more.chunks.upserted;
  into.chunks.deleted += more.chunks.deleted;
  into.embeddings.computed += more.embeddings.computed;
  into.embeddings.reused += more.embeddings.reused;
  into.durationMs += more.durationMs;
  if (more.held) into.held = more.held;
}
