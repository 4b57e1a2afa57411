/**
 * `ragsync audit`: compares a source with the index, document by document, and says where they
 * drift. Memory grows with the number of documents (their records and row counts), never with
 * the number of rows: rows are read a batch of documents at a time.
 */
import pLimit from 'p-limit';
import { fingerprintKey } from '../sink/fingerprint.js';
import { MAX_CHUNK_ID_BYTES, sha256 } from '../ids/index.js';
import { errorMessage } from './errors.js';
import type { DocRecord } from './types.js';
import type { SyncDeps } from './sync.js';

export type DriftKind =
  /** In the source, not indexed (no record). */
  | 'missing'
  /** Indexed (record or rows), the source no longer has it. */
  | 'orphaned'
  /** The file's content differs from what was indexed. */
  | 'stale'
  /** Indexed with another embedder than the collection's. */
  | 'fingerprint'
  /** The number of rows differs from the record's chunk count (a crash, or lost writes). */
  | 'rows'
  /** Two or more rows share one ID. */
  | 'duplicate-id'
  /** A row ID that does not belong to its document, or breaks the ID grammar. */
  | 'malformed-id';

export interface Drift {
  docId: string;
  path: string;
  kind: DriftKind;
  detail: string;
}

export interface AuditReport {
  source: string;
  documents: number;
  rows: number;
  drift: Drift[];
  /** Documents the audit could not check (unreadable files), with the cause. */
  unchecked: Array<{ path: string; error: string }>;
  durationMs: number;
}

/** Documents whose rows are read in one go. */
const ROW_BATCH = 256;

export async function auditSource(deps: SyncDeps, opts: { concurrency?: number } = {}): Promise<AuditReport> {
  const started = performance.now();
  const { source, sink } = deps;
  const fp = fingerprintKey(deps.embedder.fingerprint);
  const [records, counts] = await Promise.all([sink.listDocRecords(source.name), sink.countRowsByDoc(source.name)]);
  const drift: Drift[] = [];
  const unchecked: AuditReport['unchecked'] = [];
  const seen = new Set<string>();
  const limit = pLimit(Math.max(1, opts.concurrency ?? 16));
  const checks: Array<Promise<void>> = [];
  const add = (docId: string, path: string, kind: DriftKind, detail: string) => drift.push({ docId, path, kind, detail });

  for await (const entry of source.scan()) {
    seen.add(entry.docId);
    const record = records.get(entry.docId);
    if (!record) {
      // A file over the size limit is never indexed: say so, or a repair looks like it failed.
      const max = source.maxFileBytes;
      const why = max !== undefined && entry.size > max ? `not indexed: ${entry.size} bytes is over the limit of ${max} (maxFileBytes)` : 'not indexed';
      add(entry.docId, entry.path, 'missing', counts.has(entry.docId) ? `${counts.get(entry.docId)} rows but no record` : why);
      continue;
    }
    if (record.fingerprint !== fp) add(entry.docId, entry.path, 'fingerprint', `indexed with ${record.fingerprint}, the collection is ${fp}`);
    const rows = counts.get(entry.docId) ?? 0;
    if (rows !== record.chunkCount) add(entry.docId, entry.path, 'rows', `${rows} rows, the record says ${record.chunkCount}`);
    // Every file is hashed: an audit proves the content, it does not trust size and mtime (a
    // file rewritten within one mtime tick keeps both). A touched file is not stale.
    const statSame = record.size === entry.size && record.mtimeMs === entry.mtimeMs;
    checks.push(
      limit(async () => {
        try {
          const doc = await source.read(entry);
          if (!doc) return;
          if (sha256(doc.bytes) !== record.fileHash) {
            add(entry.docId, entry.path, 'stale', `the file changed since it was indexed${statSame ? ' (size and mtime unchanged)' : ''}`);
          }
        } catch (err) {
          unchecked.push({ path: entry.path, error: errorMessage(err) });
        }
      }),
    );
  }
  await Promise.all(checks);
  for (const u of source.unreadable()) unchecked.push({ path: u.path || '.', error: u.error });
  const blocked = source.unreadable().map((u) => u.path);
  const under = (p: string) => blocked.some((b) => b === '' || b === p || p.startsWith(`${b}/`));

  for (const id of new Set([...records.keys(), ...counts.keys()])) {
    if (seen.has(id)) continue;
    const path = records.get(id)?.path ?? id.slice(source.name.length + 1);
    if (under(path)) continue;
    add(id, path, 'orphaned', `${counts.get(id) ?? 0} rows${records.has(id) ? ' and a record' : ''}, no file`);
  }

  await checkIds([...counts.keys()], records, deps, add);
  drift.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0));
  return {
    source: source.name,
    documents: seen.size,
    rows: [...counts.values()].reduce((n, c) => n + c, 0),
    drift,
    unchecked,
    durationMs: Math.round(performance.now() - started),
  };
}

/** Reads the rows of every document, a batch at a time: duplicate IDs, IDs not of their document. */
async function checkIds(
  docIds: string[],
  records: Map<string, DocRecord>,
  deps: SyncDeps,
  add: (docId: string, path: string, kind: DriftKind, detail: string) => void,
): Promise<void> {
  for (let i = 0; i < docIds.length; i += ROW_BATCH) {
    const batch = docIds.slice(i, i + ROW_BATCH);
    const rows = await Promise.all(batch.map((d) => deps.sink.listDocChunks(d)));
    batch.forEach((docId, j) => {
      const path = records.get(docId)?.path ?? docId.slice(deps.source.name.length + 1);
      const ids = new Map<string, number>();
      for (const r of rows[j]!) ids.set(r.id, (ids.get(r.id) ?? 0) + 1);
      const dup = [...ids].filter(([, n]) => n > 1);
      if (dup.length > 0) add(docId, path, 'duplicate-id', dup.map(([id, n]) => `${id} x${n}`).join(', '));
      const bad = [...ids.keys()].filter((id) => !belongsTo(id, docId));
      if (bad.length > 0) add(docId, path, 'malformed-id', bad.join(', '));
    });
  }
}

/** True when a chunk ID is one `chunkId(docId, …)` could have made (bounded IDs keep a prefix + `~hash`). */
export function belongsTo(id: string, docId: string): boolean {
  if (Buffer.byteLength(id, 'utf8') > MAX_CHUNK_ID_BYTES || /\p{Surrogate}/u.test(id)) return false;
  const own = `${docId}#`;
  if (id.startsWith(own)) return id.length > own.length;
  const bounded = /^(.*)~[0-9a-f]{16}$/s.exec(id);
  return bounded !== null && own.startsWith(bounded[1]!) && Buffer.byteLength(id, 'utf8') > MAX_CHUNK_ID_BYTES - 64;
}
