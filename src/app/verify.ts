/**
 * A re-embed's verification: the new collection against the sources (the one comparison,
 * `core/compare.ts`: every document present with a record that matches the file now, made by
 * this embedder and chunking, with as many rows as the record says; nothing the source no longer
 * has), and no fewer documents of other sources than the live collection holds.
 */
import type { Collection } from '../core/store.js';
import { type Drift, compareSource } from '../core/compare.js';
import type { RagsyncError } from '../core/errors.js';
import type { SyncDeps } from '../core/sync-document.js';
import { LAYOUT_REFRESH_MS } from '../core/targets.js';
import type { DocRecord } from '../core/types.js';

export interface VerifyReport {
  /** Source documents checked (stat, content hash, record, row count). */
  checked: number;
  chunks: number;
  /** Drift that blocks the swap. */
  problems: Array<{ path: string; problem: string }>;
  /** Documents neither collection holds because they cannot be indexed (bad content). */
  skipped: Array<{ path: string; reason: string }>;
}

/** What a drift found by the comparison means for the swap. */
function problemOf(d: Drift, record: DocRecord | undefined): string {
  switch (d.kind) {
    case 'fingerprint':
      return `written by ${record?.fingerprint}`;
    case 'chunking':
      return `chunked as ${record?.chunking}`;
    case 'changed':
      return 'changed since it was embedded';
    case 'stale':
      return 'content differs from what was embedded';
    case 'orphaned':
      return 'indexed, but the source no longer has it';
    default:
      return d.detail;
  }
}

/** A document the new collection lacks: skipped when it cannot be indexed at all (bad content), else a problem. */
function missing(d: Drift, failed: RagsyncError | undefined, liveHas: boolean, report: VerifyReport): void {
  if (failed && !failed.retryable && !liveHas) {
    report.skipped.push({ path: d.path, reason: failed.message });
    return;
  }
  const hint = failed?.code === 'UNSUPPORTED' ? '; leave such files out (--exclude) or choose a model that embeds them' : '';
  const why = failed ? `: ${failed.message}` : '';
  report.problems.push({
    path: d.path,
    problem: `missing from the new collection${why}${liveHas ? ' (the live collection has it)' : ''}${hint}`,
  });
}

/** Verifies the new collection (`deps`) against the source; `failures` are the backfill's, by path. */
export async function verifyCollection(deps: SyncDeps, live: Collection, failures: Map<string, RagsyncError>): Promise<VerifyReport> {
  const { source, collection } = deps;
  const [records, liveRecords] = await Promise.all([collection.listDocRecords(source.name), live.listDocRecords(source.name)]);
  const c = await compareSource(deps, {
    records,
    hash: 'if-stat-agrees',
    rows: 'if-totals-differ',
    chunking: true,
    // A file that cannot be read now was read by the backfill; its record decides.
    readErrors: 'ignore',
    concurrency: 8,
  });
  const report: VerifyReport = { checked: c.documents, chunks: 0, problems: [], skipped: [] };
  const gone = new Set(c.drift.filter((d) => d.kind === 'orphaned').map((d) => d.docId));
  for (const [id, r] of records) if (!gone.has(id)) report.chunks += r.chunkCount;
  for (const d of c.drift) {
    // Rows without a record are named by their doc ID.
    const rowsOnly = { path: d.docId, problem: 'rows without a document record' };
    if (d.kind === 'missing') {
      if (d.rows) report.problems.push(rowsOnly);
      missing(d, failures.get(d.path), liveRecords.has(d.docId), report);
    } else if (d.kind === 'orphaned' && !records.has(d.docId)) report.problems.push(rowsOnly);
    else report.problems.push({ path: d.path, problem: problemOf(d, records.get(d.docId)) });
  }
  for (const u of c.unchecked) report.problems.push({ path: u.path, problem: `unreadable: ${u.error}` });
  const others = await otherSources(live, collection, source.name);
  if (others.new < others.live) {
    const problem = `the live collection holds ${others.live} documents of other sources, the new one ${others.new}: re-embed each source (ragsync reembed DIR --source NAME); the last one swaps`;
    report.problems.push({ path: '(other sources)', problem });
  }
  report.problems.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return report;
}

/**
 * Documents of other sources in the live and in the new collection, each counted at one moment
 * (a writer of this source adding documents meanwhile changes neither). A shortfall is read again
 * after a writer's dual write has had time to reach the new collection (live is written first).
 */
async function otherSources(live: Collection, next: Collection, source: string): Promise<{ live: number; new: number }> {
  const read = async () => {
    const [liveAll, liveOwn, newAll, newOwn] = await Promise.all([
      live.stats(),
      live.countDocs(source),
      next.stats(),
      next.countDocs(source),
    ]);
    return { live: liveAll.docs - liveOwn, new: newAll.docs - newOwn };
  };
  const first = await read();
  if (first.new >= first.live) return first;
  await new Promise((r) => setTimeout(r, 2 * LAYOUT_REFRESH_MS));
  return read();
}
