/**
 * What each command does, as plain functions over a resolved config: `cli.ts` only parses
 * arguments, calls these and prints. Every function closes what it opened.
 */
import { existsSync } from 'node:fs';
import { setMaxListeners } from 'node:events';
import path from 'node:path';
import type { Config } from './config.js';
import { type AuditReport, auditSource } from './core/audit.js';
import { RagsyncError, errorMessage } from './core/errors.js';
import { type SyncSourceOptions, type SyncSummary, syncSource } from './core/sync-source.js';
import { type DocSyncResult, type SyncDeps, syncDocument } from './core/sync.js';
import type { CollectionInfo, Embedder, Fingerprint, SearchFilter, SearchHit, SearchMode, Sink } from './core/types.js';
import { type Logger, createLogger } from './log.js';
import { SyncQueue } from './workers/queue.js';
import { checkRedis, redisConnection } from './workers/redis.js';
import { startWorker } from './workers/worker.js';
import { chunkLimits, createEmbedder, embedderDescriptor } from './embed/index.js';
import { SyncTargets, embedderFor } from './targets.js';
import { fingerprintMismatch, fingerprintKey } from './sink/fingerprint.js';
import { createSink } from './sink/index.js';
import { FilesystemSource } from './sources/filesystem.js';

/** The default source name for a directory: its base name, made a valid source name. */
export function defaultSourceName(dir: string): string {
  const base = path.basename(path.resolve(dir)).replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return base.slice(0, 64) || 'fs';
}

/** What every command that syncs needs: the source, an open sink, the embedder, the limits. */
export interface Runtime {
  source: FilesystemSource;
  sink: Sink;
  embedder: Embedder;
  deps: SyncDeps;
  close(): Promise<void>;
}

/** Loads the model and opens the sink for writing (refusing another model's store). */
export async function openRuntime(config: Config, dir: string): Promise<Runtime> {
  const sink = createSink(config.sink);
  const source = openSource(config, dir, sink);
  const embedder = await createEmbedder(config.embedder);
  await sink.open(embedder.fingerprint, embedderDescriptor(config.embedder)).catch(async (err: unknown) => {
    await sink.close();
    throw err;
  });
  const deps: SyncDeps = { source, sink, embedder, limits: chunkLimits(embedder, config.chunkTokens) };
  return { source, sink, embedder, deps, close: () => sink.close() };
}

/** The filesystem source of a directory (the store excluded when it lives inside it). */
export function openSource(config: Config, dir: string, sink: Sink): FilesystemSource {
  if (!existsSync(dir)) throw new RagsyncError('USAGE', `no such directory: ${dir}`, { stage: 'source' });
  return new FilesystemSource(
    {
      name: config.source ?? defaultSourceName(dir),
      root: dir,
      include: config.include,
      exclude: config.exclude,
      maxFileBytes: config.maxFileBytes,
    },
    storeExclude(dir, sink.location),
  );
}

export type IndexHooks = Omit<SyncSourceOptions, 'concurrency' | 'execute'> & {
  /** With Redis: only enqueue and wait; other workers do the work. */
  noWorker?: boolean;
  log?: Logger;
};

/**
 * `ragsync index DIR`: one full pass of the directory into the store, in-process; or, with a
 * Redis URL, through the queue (its own worker and any others), waiting for every job.
 */
export async function indexDirectory(config: Config, dir: string, hooks: IndexHooks = {}): Promise<SyncSummary> {
  const rt = await openRuntime(config, dir);
  const targets = new SyncTargets(config, rt.deps, hooks.log);
  try {
    const { live } = await targets.current();
    const summary = config.redis.url
      ? await indexThroughQueue(config, config.redis.url, rt, targets, hooks)
      : await syncSource(live, {
          concurrency: config.concurrency,
          ...hooks,
          // While a re-embed runs (one may start during this pass), its collection gets every change too.
          execute: async (ref, record) => {
            const { pending } = await targets.current();
            const result = await syncDocument(ref, live, record);
            if (pending) await syncDocument(ref, pending);
            return result;
          },
        });
    if (summary.docs.changed + summary.docs.deleted > 0 && !summary.interrupted && !hooks.signal?.aborted) {
      // Compaction only makes later reads faster; a failure here loses nothing.
      await rt.sink.optimize().catch((err: unknown) => hooks.onWarning?.(`cannot optimize the store: ${errorMessage(err)}`));
    }
    return summary;
  } finally {
    await targets.close();
    await rt.close();
  }
}

async function indexThroughQueue(config: Config, url: string, rt: Runtime, targets: SyncTargets, hooks: IndexHooks): Promise<SyncSummary> {
  const log = hooks.log ?? createLogger('silent');
  const conn = redisConnection(url, log, 'ragsync-index');
  try {
    await checkRedis(conn, url);
  } catch (err) {
    conn.disconnect();
    throw err;
  }
  const queue = new SyncQueue(rt.source.name, conn, config.redis.prefix, config.worker.attempts);
  const worker = hooks.noWorker
    ? undefined
    : startWorker({ source: rt.source.name, targets, connection: conn, prefix: config.redis.prefix, concurrency: config.worker.concurrency, lockMs: config.worker.lockMs, log });
  // Every job waited for listens for the stop: a thousand at once is normal, not a leak.
  if (hooks.signal) setMaxListeners(0, hooks.signal);
  try {
    return await syncSource(rt.deps, {
      ...hooks,
      concurrency: 1024,
      execute: async (ref) => {
        // A job whose result was removed before it was read is simply run again (a no-op then).
        for (;;) {
          const job = await queue.enqueue(ref);
          // Stopped (SIGINT/SIGTERM): waiting ends; the job stays queued and workers do it (this
          // process's own worker finishes its active jobs when it closes).
          const result = await queue.waitFor<DocSyncResult>(job, hooks.signal);
          if (result) return result;
          log.warn({ stage: 'queue', path: ref.path, job: job.id }, 'the result of a finished job was removed before it was read: running it again');
        }
      },
    });
  } finally {
    await worker?.close();
    await queue.close();
    conn.disconnect();
  }
}

export interface AuditResult {
  report: AuditReport;
  /** With `repair`: the report before the repair, and the repair pass's summary. */
  before?: AuditReport;
  repair?: SyncSummary;
}

/**
 * Audits the index of a directory against its files; with `repair`, fixes the drift through the
 * normal sync path (documents with duplicate or foreign row IDs are first cleared) and audits
 * again.
 */
export async function auditDirectory(config: Config, dir: string, opts: { repair?: boolean; hooks?: IndexHooks } = {}): Promise<AuditResult> {
  const first = await auditOnce(config, dir);
  if (!opts.repair || (first.drift.length === 0 && first.unchecked.length === 0)) return { report: first };
  const rt = await openRuntime(config, dir);
  try {
    const clear = new Set(first.drift.filter((d) => d.kind === 'duplicate-id' || d.kind === 'malformed-id').map((d) => d.docId));
    for (const id of clear) await rt.sink.deleteDoc(id);
  } finally {
    await rt.close();
  }
  const repair = await indexDirectory(config, dir, opts.hooks);
  return { before: first, repair, report: await auditOnce(config, dir) };
}

async function auditOnce(config: Config, dir: string): Promise<AuditReport> {
  const rt = await openRuntime(config, dir);
  const targets = new SyncTargets(config, rt.deps);
  try {
    const { live } = await targets.current();
    return await auditSource(live);
  } finally {
    await targets.close();
    await rt.close();
  }
}

export interface SearchOptions {
  mode: SearchMode;
  k: number;
  filter?: SearchFilter;
  text?: string;
  image?: Buffer;
}

/** `ragsync search`: dense and hybrid queries embed the query with the store's own model. */
export async function search(config: Config, opts: SearchOptions): Promise<SearchHit[]> {
  const sink = createSink(config.sink);
  try {
    const stored = await sink.openExisting();
    if (!stored) throw new RagsyncError('USAGE', `${sink.location} holds no index yet: run \`ragsync index DIR\` first`, { stage: 'sink' });
    if (opts.mode === 'keyword') {
      if (!opts.text) throw new RagsyncError('USAGE', 'keyword search needs a text query', { stage: 'config' });
      return await sink.search({ mode: 'keyword', k: opts.k, text: opts.text, filter: opts.filter });
    }
    const embedder = await queryEmbedder(config, sink, stored);
    let vector: number[];
    if (opts.image) {
      if (!embedder.embedImages) throw new RagsyncError('USAGE', 'this embedder cannot embed images', { stage: 'embed' });
      [vector] = (await embedder.embedImages([opts.image])) as [number[]];
    } else {
      [vector] = (await embedder.embedTexts([opts.text ?? ''])) as [number[]];
    }
    const mode = opts.mode === 'hybrid' && !opts.text ? 'dense' : opts.mode;
    return await sink.search({ mode, k: opts.k, vector, text: opts.text, filter: opts.filter });
  } finally {
    await sink.close();
  }
}

/**
 * The embedder for queries: the configured one when it gives the store's live fingerprint, else
 * the one the store recorded for its live collection (after a re-embed, search follows the store).
 */
async function queryEmbedder(config: Config, sink: Sink, live: Fingerprint): Promise<Embedder> {
  const configured = await createEmbedder(config.embedder).catch((err: unknown) => err as Error);
  if (!(configured instanceof Error) && fingerprintKey(configured.fingerprint) === fingerprintKey(live)) return configured;
  const info = (await sink.layout()).live;
  if (info?.embedder) {
    const stored = await embedderFor(info, config).catch(() => undefined);
    if (stored) return stored;
  }
  if (configured instanceof Error) throw configured;
  throw fingerprintMismatch(live, configured.fingerprint, sink.location);
}

export interface CollectionStatus {
  name: string;
  fingerprint: Fingerprint;
  docs: number;
  chunks: number;
}

export interface StoreStatus {
  store: string;
  sink: string;
  fingerprint: Fingerprint | null;
  docs: number;
  chunks: number;
  /** A re-embed in progress: its target and how far its backfill got (documents vs live). */
  pending: CollectionStatus | null;
  /** The collection before the last swap, kept for `reembed --rollback` until `--drop-old`. */
  previous: CollectionStatus | null;
}

/** `ragsync status`: what the store holds. */
export async function status(config: Config): Promise<StoreStatus> {
  const sink = createSink(config.sink);
  try {
    const fingerprint = await sink.openExisting();
    const counts = fingerprint ? await sink.stats() : { docs: 0, chunks: 0 };
    const layout = fingerprint ? await sink.layout() : null;
    const describe = async (info: CollectionInfo | null | undefined): Promise<CollectionStatus | null> => {
      if (!info) return null;
      const other = createSink(config.sink);
      try {
        await other.openCollection(info.fingerprint);
        return { name: info.name, fingerprint: info.fingerprint, ...(await other.stats()) };
      } finally {
        await other.close();
      }
    };
    return {
      store: sink.location,
      sink: sink.kind,
      fingerprint,
      ...counts,
      pending: await describe(layout?.pending),
      previous: await describe(layout?.previous),
    };
  } finally {
    await sink.close();
  }
}

/** A glob that keeps the store out of the scan when it lives inside the indexed directory. */
function storeExclude(dir: string, store: string): string[] {
  const rel = path.relative(path.resolve(dir), store);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return [];
  const posix = rel.split(path.sep).join('/');
  return [`${posix}/**`];
}
