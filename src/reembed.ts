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
import pLimit from 'p-limit';
import { openSource } from './app.js';
import { chunkingSignature } from './chunking/index.js';
import type { Config } from './config.js';
import { RagsyncError, errorMessage } from './core/errors.js';
import { type SyncSummary, syncSource } from './core/sync-source.js';
import type { SyncDeps } from './core/sync.js';
import type { CollectionInfo, Embedder, Fingerprint, Lease, Sink } from './core/types.js';
import { chunkLimits, createEmbedder, embedderDescriptor } from './embed/index.js';
import { sha256 } from './ids/index.js';
import { type Logger, createLogger } from './log.js';
import { fingerprintKey } from './sink/fingerprint.js';
import { createSink } from './sink/index.js';
import type { FilesystemSource } from './sources/filesystem.js';
import { LAYOUT_REFRESH_MS, SyncTargets, embedderFor } from './targets.js';
import { SyncQueue } from './workers/queue.js';
import { checkRedis, redisConnection } from './workers/redis.js';
import { type JobResult, startWorker } from './workers/worker.js';

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
  onFailure?: (path: string, err: RagsyncError) => void;
  onWarning?: (message: string) => void;
}

export interface VerifyReport {
  /** Source documents checked (stat, content hash, record, row count). */
  checked: number;
  chunks: number;
  /** Drift that blocks the swap. */
  problems: Array<{ path: string; problem: string }>;
  /** Documents neither collection holds because they cannot be indexed (bad content). */
  skipped: Array<{ path: string; reason: string }>;
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

/** The backfill, verification and swap. Throws only when it cannot run at all. */
export async function reembed(config: Config, dir: string, hooks: ReembedHooks = {}): Promise<ReembedReport> {
  const started = performance.now();
  const log = hooks.log ?? createLogger('silent');
  const admin = createSink(config.sink);
  const opened: Array<{ close(): Promise<unknown> }> = [admin];
  let lease: Lease | undefined;
  try {
    const liveFp = await admin.openExisting();
    if (!liveFp) throw new RagsyncError('USAGE', `${admin.location} holds no index yet: run \`ragsync index DIR\` first`, { stage: 'sink' });
    const source = openSource(config, dir, admin);
    lease = await admin.acquireLease();
    const before = await admin.layout();
    const live = before.live!;
    const liveEmbedder = () => embedderFor(live, config);

    // The target: the configured embedder, or (rollback) the previous collection's own.
    let target: Embedder;
    let descriptor: Record<string, unknown>;
    if (hooks.rollback) {
      const prev = before.pending && before.pending.name === before.previous?.name ? before.pending : before.previous;
      if (!prev) throw new RagsyncError('USAGE', `${admin.location} has no previous collection to roll back to`, { stage: 'sink' });
      target = await embedderFor(prev, config);
      descriptor = prev.embedder ?? embedderDescriptor(config.embedder);
    } else {
      target = await createEmbedder(config.embedder);
      descriptor = embedderDescriptor(config.embedder);
    }
    if (fingerprintKey(target.fingerprint) === fingerprintKey(live.fingerprint)) {
      throw new RagsyncError('USAGE', `${admin.location} already uses ${fingerprintKey(live.fingerprint)}: nothing to re-embed`, { stage: 'config' });
    }
    // One embedding before anything is created: a model or an API that cannot work at all fails
    // here, in a second, with nothing changed (not once per document after a long backfill).
    await target.embedTexts(['ragsync']).catch((err: unknown) => {
      throw new RagsyncError('MODEL_UNAVAILABLE', `cannot embed with ${fingerprintKey(target.fingerprint)}: ${errorMessage(err)}; nothing was changed`, {
        stage: 'model',
        cause: err,
      });
    });
    const resumed = before.pending !== null && fingerprintKey(before.pending.fingerprint) === fingerprintKey(target.fingerprint);
    const info = await admin.preparePending(target.fingerprint, descriptor);
    hooks.onStart?.({ from: live.fingerprint, to: target.fingerprint, collection: info.name, resumed });
    log.info({ stage: 'reembed', from: fingerprintKey(live.fingerprint), to: fingerprintKey(target.fingerprint), collection: info.name, resumed }, 're-embed started');
    // Writers notice the pending collection within LAYOUT_REFRESH_MS; from then on they write both.
    await sleep(LAYOUT_REFRESH_MS + 250);

    const sink = createSink(config.sink);
    opened.push(sink);
    await sink.openCollection(target.fingerprint);
    const deps: SyncDeps = { source, sink, embedder: target, limits: chunkLimits(target, config.chunkTokens) };
    const pass = await backfillPass(config, deps, admin, liveEmbedder, hooks, log, opened);
    const backfill = pass.summary;
    await sink.optimize().catch((err: unknown) => hooks.onWarning?.(`cannot optimize the new collection: ${errorMessage(err)}`));

    hooks.onPhase?.('verify');
    let verify = await verifyCollection(deps, admin, pass.failures);
    if (verify.problems.length > 0) {
      // Changes racing the backfill, or a writer that had not seen the pending collection yet.
      hooks.onPhase?.('repair');
      log.info({ stage: 'reembed', problems: verify.problems.length }, 'verification found drift: one more pass');
      const again = await backfillPass(config, deps, admin, liveEmbedder, hooks, log, opened);
      mergeSummary(backfill, again.summary);
      hooks.onPhase?.('verify');
      verify = await verifyCollection(deps, admin, again.failures);
    }
    let swapped = false;
    if (verify.problems.length === 0) {
      hooks.onPhase?.('swap');
      await lease.check();
      await admin.promotePending();
      swapped = true;
      log.info({ stage: 'reembed', live: fingerprintKey(target.fingerprint), previous: fingerprintKey(live.fingerprint) }, 're-embed swapped in');
    }
    return {
      from: live.fingerprint,
      to: target.fingerprint,
      collection: info.name,
      resumed,
      backfill,
      verify,
      swapped,
      durationMs: Math.round(performance.now() - started),
    };
  } finally {
    await lease?.release().catch(() => undefined);
    for (const o of opened.reverse()) await o.close().catch(() => undefined);
  }
}

/** One pass of the new collection over the source: in-process, or through the queue. */
async function backfillPass(
  config: Config,
  deps: SyncDeps,
  liveSink: Sink,
  liveEmbedder: () => Promise<Embedder>,
  hooks: ReembedHooks,
  log: Logger,
  opened: Array<{ close(): Promise<unknown> }>,
): Promise<{ summary: SyncSummary; failures: Map<string, RagsyncError> }> {
  hooks.onPhase?.('backfill');
  const failures = new Map<string, RagsyncError>();
  const common = {
    onProgress: (done: number, found: number, last: { path: string } | null) => hooks.onProgress?.(done, found, last?.path ?? null),
    onFailure: (path: string, err: RagsyncError) => {
      failures.set(path, err);
      hooks.onFailure?.(path, err);
    },
    onWarning: hooks.onWarning,
  };
  if (!config.redis.url) return { summary: await syncSource(deps, { concurrency: config.concurrency, ...common }), failures };

  // Through the queue: the same sync jobs as the daemon's; every worker writes live and pending.
  const source = deps.source as FilesystemSource;
  const conn = redisConnection(config.redis.url, log, 'ragsync-reembed');
  try {
    await checkRedis(conn, config.redis.url);
  } catch (err) {
    conn.disconnect();
    throw err;
  }
  const queue = new SyncQueue(source.name, conn, config.redis.prefix, config.worker.attempts);
  let targets: SyncTargets | undefined;
  let worker: ReturnType<typeof startWorker> | undefined;
  try {
    if (!hooks.noWorker) {
      const embedder = await liveEmbedder();
      targets = new SyncTargets(config, { source, sink: liveSink, embedder, limits: chunkLimits(embedder, config.chunkTokens) }, log);
      worker = startWorker({ source: source.name, targets, connection: conn, prefix: config.redis.prefix, concurrency: config.worker.concurrency, lockMs: config.worker.lockMs, log });
    }
    const summary = await syncSource(deps, {
      ...common,
      concurrency: 1024,
      execute: async (ref) => {
        // A job that was already running when the re-embed began (or deduplicated into one) may
        // have written only the live collection: then the document is enqueued once more.
        for (let attempt = 1; ; attempt++) {
          const result = await queue.waitFor<JobResult>(await queue.enqueue(ref));
          if (result?.next) return result.next;
          if (attempt === 3) {
            throw new RagsyncError('SINK', `${ref.path}: the workers that ran its jobs did not write the new collection (do they run an older ragsync?)`, {
              stage: 'sink',
              retryable: true,
            });
          }
        }
      },
    });
    return { summary, failures };
  } finally {
    await worker?.close();
    if (targets) opened.push(targets);
    await queue.close();
    conn.disconnect();
  }
}

/**
 * Checks the new collection against the sources: every document present with a record that
 * matches the file now (size, mtime and content hash), made by this embedder and chunking, with
 * as many rows as the record says; no record of a document that is gone; and no fewer documents
 * of other sources than the live collection holds.
 */
export async function verifyCollection(deps: SyncDeps, live: Sink, failures: Map<string, RagsyncError>): Promise<VerifyReport> {
  const { source, sink } = deps;
  const report: VerifyReport = { checked: 0, chunks: 0, problems: [], skipped: [] };
  const [records, liveRecords] = await Promise.all([sink.listDocRecords(source.name), live.listDocRecords(source.name)]);
  const fp = fingerprintKey(deps.embedder.fingerprint);
  const limit = pLimit(8);
  const seen = new Set<string>();
  const checks: Array<Promise<void>> = [];
  const problem = (path: string, text: string) => report.problems.push({ path, problem: text });
  for await (const entry of source.scan()) {
    report.checked++;
    seen.add(entry.docId);
    const rec = records.get(entry.docId);
    if (!rec) {
      const failed = failures.get(entry.path);
      if (failed && !failed.retryable && !liveRecords.has(entry.docId)) report.skipped.push({ path: entry.path, reason: failed.message });
      else {
        const hint = failed?.code === 'UNSUPPORTED' ? '; leave such files out (--exclude) or choose a model that embeds them' : '';
        problem(entry.path, `missing from the new collection${failed ? `: ${failed.message}` : ''}${liveRecords.has(entry.docId) ? ' (the live collection has it)' : ''}${hint}`);
      }
      continue;
    }
    report.chunks += rec.chunkCount;
    if (rec.fingerprint !== fp) problem(entry.path, `written by ${rec.fingerprint}`);
    else if (rec.chunking !== chunkingSignature(entry.contentType, deps.limits)) problem(entry.path, `chunked as ${rec.chunking}`);
    else if (rec.size !== entry.size || rec.mtimeMs !== entry.mtimeMs) problem(entry.path, 'changed since it was embedded');
    else {
      checks.push(
        limit(async () => {
          const doc = await source.read(entry).catch(() => null);
          if (doc && sha256(doc.bytes) !== rec.fileHash) problem(entry.path, 'content differs from what was embedded');
        }),
      );
    }
  }
  await Promise.all(checks);
  for (const u of source.unreadable()) problem(u.path || '.', `unreadable: ${u.error}`);
  for (const [id, rec] of records) if (!seen.has(id)) problem(rec.path, 'indexed, but the source no longer has it');
  const expected = [...records.values()].reduce((n, r) => n + r.chunkCount, 0);
  if ((await sink.countChunks(source.name)) !== expected) {
    const counts = await sink.countRowsByDoc(source.name);
    for (const [id, rec] of records) {
      const n = counts.get(id) ?? 0;
      if (n !== rec.chunkCount) problem(rec.path, `${n} rows, the record says ${rec.chunkCount}`);
    }
    for (const id of counts.keys()) if (!records.has(id)) problem(id, 'rows without a document record');
  }
  const [liveAll, newAll] = await Promise.all([live.stats(), sink.stats()]);
  const liveOthers = liveAll.docs - liveRecords.size;
  const newOthers = newAll.docs - records.size;
  if (newOthers < liveOthers) {
    problem('(other sources)', `the live collection holds ${liveOthers} documents of other sources, the new one ${newOthers}: re-embed each source (ragsync reembed DIR --source NAME); the last one swaps`);
  }
  report.problems.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return report;
}

/** `reembed --abort`: forgets the pending re-embed and drops its collection (unless it is the previous one). */
export async function abortReembed(config: Config): Promise<CollectionInfo | null> {
  const sink = createSink(config.sink);
  let lease: Lease | undefined;
  try {
    lease = await sink.acquireLease();
    const { pending } = await sink.layout();
    if (pending) await sink.abortPending();
    return pending;
  } finally {
    await lease?.release().catch(() => undefined);
    await sink.close();
  }
}

/** `reembed --drop-old`: drops every collection that is neither live nor pending. */
export async function dropOld(config: Config): Promise<CollectionInfo[]> {
  const sink = createSink(config.sink);
  let lease: Lease | undefined;
  try {
    lease = await sink.acquireLease();
    const layout = await sink.layout();
    const old = layout.all.filter((c) => c.name !== layout.live?.name && c.name !== layout.pending?.name);
    for (const c of old) await sink.dropCollection(c.name);
    return old;
  } finally {
    await lease?.release().catch(() => undefined);
    await sink.close();
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
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
