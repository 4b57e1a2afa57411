/**
 * `ragsync audit DIR`: compares a directory with its index, document by document (the one
 * comparison, `core/compare.ts`, with every file hashed and every row ID read), and with
 * `--repair` fixes the drift through the normal sync path.
 */
import type { Config } from '../config/index.js';
import { errorMessage } from '../core/errors.js';
import { type Drift, compareSource } from '../core/compare.js';
import type { PlanSummary } from '../core/dry-run.js';
import type { Logger } from '../core/log.js';
import type { SyncDeps } from '../core/sync-document.js';
import type { SyncSummary } from '../core/sync-source.js';
import { type IndexHooks, indexDirectory, planDirectory } from './index-dir.js';
import { recordAudit } from './audit-record.js';
import { openReader, openRuntime } from './runtime.js';

export interface AuditReport {
  source: string;
  documents: number;
  rows: number;
  drift: Drift[];
  /** Documents the audit could not check (unreadable files), with the cause. */
  unchecked: Array<{ path: string; error: string }>;
  durationMs: number;
}

export interface AuditResult {
  report: AuditReport;
  /** With `repair`: the report before the repair, and the repair pass's summary. */
  before?: AuditReport;
  /** With `repair`, the repair pass's summary; with `dryRun` too, its plan (and `report` is the only audit). */
  repair?: SyncSummary | PlanSummary;
}

/** The audit of one source against one collection. */
export async function auditSource(deps: SyncDeps, opts: { concurrency?: number } = {}): Promise<AuditReport> {
  const started = performance.now();
  const c = await compareSource(deps, { hash: 'every-file', rows: 'always', ids: true, concurrency: opts.concurrency });
  const { documents, drift, unchecked } = c;
  return { source: deps.source.name, documents, rows: c.rows ?? 0, drift, unchecked, durationMs: Math.round(performance.now() - started) };
}

/**
 * Audits the index of a directory against its files; with `repair`, fixes the drift through the
 * normal sync path (documents with foreign row IDs are first cleared) and audits
 * again; with `repair` and `dryRun`, plans that repair and writes nothing. An audit writes
 * nothing and creates no store.
 */
export async function auditDirectory(
  config: Config,
  dir: string,
  opts: { repair?: boolean; dryRun?: boolean; hooks?: IndexHooks } = {},
): Promise<AuditResult> {
  const first = await auditOnce(config, dir, opts.hooks?.log);
  if (!opts.repair || (first.drift.length === 0 && first.unchecked.length === 0)) return { report: first };
  // (Duplicate rows and records need no clearing: the pass's record check rewrites those
  // documents, reusing their vectors, and a rewrite writes each ID and record once.)
  const clear = new Set(first.drift.filter((d) => d.kind === 'malformed-id').map((d) => d.docId));
  // A `stale` document may have kept its size, mtime and ctime (a store restored from a backup, a
  // write racing its record): stat would not show it, so the repair pass hashes those documents.
  // (Through the queue, only this process's own worker does: jobs carry no rehash.)
  const stale = new Set(first.drift.filter((d) => d.kind === 'stale').map((d) => d.docId));
  const hooks = { ...opts.hooks, ...(stale.size > 0 ? { rehash: stale } : {}) };
  if (opts.dryRun) {
    const plan = await planDirectory(config, dir, hooks, async (c) => {
      for (const id of clear) await c.deleteDoc(id);
    });
    return { report: first, repair: plan };
  }
  if (clear.size > 0) {
    const rt = await openRuntime(config, dir, opts.hooks?.log);
    try {
      for (const id of clear) await rt.live.collection.deleteDoc(id);
    } finally {
      await rt.close();
    }
  }
  const repair = await indexDirectory(config, dir, hooks);
  return { before: first, repair, report: await auditOnce(config, dir, opts.hooks?.log) };
}

async function auditOnce(config: Config, dir: string, log?: Logger): Promise<AuditReport> {
  const rt = await openReader(config, dir, log);
  let report: AuditReport;
  try {
    report = await auditSource(rt.live);
  } finally {
    await rt.close();
  }
  await recordAudit(config, report).catch((err: unknown) => log?.warn({ stage: 'audit' }, `cannot record the audit: ${errorMessage(err)}`));
  return report;
}
