/**
 * A long-lived reader of one store, for `serve`, `watch --serve` and `mcp`: the store is opened
 * once and the live collection's embedder loaded once (per model: after a re-embed's swap the next
 * query loads the new one), so a query costs a vector and a search, not a process start and a
 * model load. It writes nothing to the store; under `watch --serve` it also shows the daemon's
 * queue, freshness and live syncs, and a retry goes to the daemon's own queue.
 */
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/index.js';
import { RagsyncError } from '../core/errors.js';
import { fingerprintKey } from '../core/fingerprint.js';
import { type HitJson, hitsJson } from '../core/hits.js';
import type { Logger } from '../core/log.js';
import type { Store } from '../core/store.js';
import type { DocRef, Embedder, SearchFilter, SearchMode } from '../core/types.js';
import { type AuditSummary, lastAudits } from './audit-record.js';
import { liveEmbedder } from './embedders.js';
import { type FreshResult, waitFresh } from './fresh.js';
import { type JobsReport, jobsReport } from './jobs.js';
import { noIndex, searchLive } from './search.js';
import { type StoreStatus, storeStatus } from './status.js';
import { openStore } from './store.js';
import type { SyncEvent } from './sync-job.js';
import type { DaemonView } from './worker.js';

export interface SearchRequest {
  text?: string;
  image?: Buffer;
  mode: SearchMode;
  k: number;
  /** At most this many hits of one document; 0: no limit. */
  perDoc: number;
  filter?: SearchFilter;
  /** Wait first until this file's current version is indexed (`fresh.ts`), up to `freshTimeoutMs` (bounded by `serve.freshTimeoutMs`). */
  fresh?: string;
  freshTimeoutMs?: number;
  /** Ends a fresh wait early (the client went away). */
  signal?: AbortSignal;
}

export interface SearchResponse {
  query: string | null;
  mode: SearchMode;
  /** Exactly as `ragsync search --json` prints them. */
  hits: HitJson[];
  tookMs: number;
  /** How the `fresh` wait ended, when one was asked for. */
  fresh?: FreshResult;
}

/** Freshness as the status page charts it: each bucket's own count (not cumulative), `le` in seconds. */
export interface FreshnessView {
  buckets: Array<{ le: number; count: number }>;
  count: number;
  sum: number;
}

export interface ServiceStatus extends StoreStatus {
  version: string;
  /** The queues of the store's sources: counts and failed jobs (`jobs`). */
  queues: JobsReport[];
  lastAudit: AuditSummary[];
  /** The daemon of this process (`watch --serve`); null under `serve`. */
  daemon: { source: string; dir: string; freshness: FreshnessView; recent: SyncEvent[] } | null;
}

/** See the header. */
export interface Service {
  readonly store: Store;
  search(req: SearchRequest): Promise<SearchResponse>;
  status(): Promise<ServiceStatus>;
  /** The queue of every source of the store (the daemon's own, live, under `watch --serve`). */
  jobs(limit?: number): Promise<JobsReport[]>;
  /**
   * Queues a failed job again (`id`), or every failed job (null), in the queue of its source;
   * `retried`: how many were queued, `deferred`: how many wait for their source's `watch` to start.
   */
  retry(id: string | null): Promise<{ retried: number; deferred: number }>;
  /** A small image of an indexed image document (never of another path); null when `docId` is not one. */
  thumbnail(docId: string, size: number): Promise<{ type: string; bytes: Buffer } | null>;
  /** Live syncs of this process's daemon; returns the unsubscribe (a no-op without a daemon). */
  onSync(listener: (e: SyncEvent) => void): () => void;
  readonly daemon: DaemonView | null;
  close(): Promise<void>;
}

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp']);

/** Opens the store of `config` for serving (see the header). */
export async function openService(config: Config, opts: { log: Logger; daemon?: DaemonView; version: string }): Promise<Service> {
  const store = await openStore(config.sink);
  const daemon = opts.daemon ?? null;
  const models = new Map<string, Promise<Embedder>>();
  const embedderOf = (info: Parameters<typeof liveEmbedder>[1] & object) => {
    const key = fingerprintKey(info.fingerprint);
    let model = models.get(key);
    if (!model) {
      model = liveEmbedder(config, info, store.location);
      // A model that failed to load is tried again by the next query, not remembered.
      model.catch(() => models.delete(key));
      models.set(key, model);
    }
    return model;
  };
  const jobs = (limit = 100) => queuesOf(config, store, daemon, limit);
  // Under `watch --serve`, a file of the daemon's own source is queued at once, not after the watcher's settle delay.
  const nudge = daemon ? (ref: DocRef) => (ref.source === daemon.source ? daemon.nudge(ref) : undefined) : undefined;
  const freshFor = (req: SearchRequest) => {
    const timeoutMs = Math.min(req.freshTimeoutMs ?? config.serve.freshTimeoutMs, config.serve.freshTimeoutMs);
    return waitFresh(store, req.fresh!, { timeoutMs, nudge, signal: req.signal });
  };
  return {
    store,
    daemon,
    async search(req) {
      const started = performance.now();
      const fresh = req.fresh === undefined ? undefined : await freshFor(req);
      const live = await store.live();
      if (!live) throw noIndex(store.location);
      const hits = await searchLive(live, () => embedderOf(live.info), req, config);
      const tookMs = Math.round(performance.now() - started);
      return { query: req.text ?? null, mode: req.mode, hits: hitsJson(hits, req.text), tookMs, ...(fresh ? { fresh } : {}) };
    },
    async status() {
      const [base, queues, audits] = await Promise.all([storeStatus(store), jobs(), lastAudits(config)]);
      // (A removed source's last audit stays on disk: not shown.)
      const lastAudit = audits.filter((a) => base.sources.some((src) => src.name === a.source));
      const view = daemon && { source: daemon.source, dir: daemon.dir, freshness: await freshnessOf(daemon), recent: daemon.recent() };
      return { ...base, version: opts.version, queues, lastAudit, daemon: view };
    },
    jobs,
    retry: async (id) => retryJobs(config, daemon, await jobs(10_000), id),
    thumbnail: (docId, size) => thumbnailOf(config, store, docId, size),
    onSync: (listener) => daemon?.onSync(listener) ?? (() => undefined),
    close: () => store.close(),
  };
}

/** `retry` of the header: each failed job in the queue of its source (the daemon's own one directly). */
async function retryJobs(config: Config, daemon: DaemonView | null, queues: JobsReport[], id: string | null) {
  const ids = id === null ? undefined : [id];
  let retried = 0;
  let deferred = 0;
  for (const q of queues) {
    if (!q.failed.some((f) => !ids || ids.includes(f.id))) continue;
    if (daemon && q.source === daemon.source) {
      retried += await daemon.queue.retryFailed(ids);
      continue;
    }
    // Another source's queue: its own watch (or Redis's workers) runs the retry, as `ragsync jobs --retry` asks it.
    const report = await jobsReport(config, q.source, { retry: true, ids });
    retried += report.retried;
    deferred += report.deferred ?? 0;
  }
  return { retried, deferred };
}

/** Every source's queue: the daemon's own from its process, the others as `ragsync jobs` reads them. */
async function queuesOf(config: Config, store: Store, daemon: DaemonView | null, limit: number): Promise<JobsReport[]> {
  const names = new Set((await store.sources()).map((s) => s.name));
  if (daemon) names.delete(daemon.source);
  const others = await Promise.all([...names].sort().map((source) => jobsReport(config, source, { retry: false, limit })));
  if (!daemon) return others;
  const q = daemon.queue;
  const own: JobsReport = {
    source: daemon.source,
    queue: q.kind,
    location: q.location,
    counts: await q.counts(),
    failed: await q.failed(limit),
    retried: 0,
  };
  return [{ ...own, running: true }, ...others];
}

/** The daemon's freshness histogram, bucket by bucket (prom-client's buckets are cumulative). */
async function freshnessOf(daemon: DaemonView): Promise<FreshnessView> {
  const { values } = await daemon.metrics.freshness.get();
  let before = 0;
  const buckets: FreshnessView['buckets'] = [];
  let count = 0;
  let sum = 0;
  for (const v of values) {
    if (v.metricName?.endsWith('_bucket')) {
      const le = v.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(v.labels.le);
      buckets.push({ le, count: v.value - before });
      before = v.value;
    } else if (v.metricName?.endsWith('_count')) count = v.value;
    else if (v.metricName?.endsWith('_sum')) sum = v.value;
  }
  return { buckets: buckets.filter((b) => Number.isFinite(b.le) || b.count > 0), count, sum };
}

/**
 * A thumbnail of an indexed image document: its record in the live collection names the file,
 * under its source's recorded root; a file whose real path leaves that root (a symlink swapped in
 * since) is refused. The decode is bounded as indexing bounds it (`maxImagePixels`).
 */
async function thumbnailOf(config: Config, store: Store, docId: string, size: number): Promise<{ type: string; bytes: Buffer } | null> {
  const live = await store.live();
  const record = live ? await live.getDocRecord(docId) : null;
  if (!record || !IMAGE_EXTENSIONS.has(path.posix.extname(record.path).toLowerCase())) return null;
  const source = (await store.sources()).find((s) => s.name === record.source);
  if (!source) return null;
  const root = await realpath(source.root).catch(() => null);
  const file = root && (await realpath(path.join(root, ...record.path.split('/'))).catch(() => null));
  if (!root || !file || !file.startsWith(root + path.sep)) return null;
  const sharp = (await import('sharp')).default;
  try {
    const bytes = await sharp(file, { limitInputPixels: config.maxImagePixels })
      .rotate()
      .resize({ width: size, height: size, fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 80 })
      .toBuffer();
    return { type: 'image/webp', bytes };
  } catch (err) {
    throw new RagsyncError('PARSE', `${record.path}: cannot make a thumbnail: ${(err as Error).message}`, { stage: 'parse', docId });
  }
}
