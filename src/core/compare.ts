/**
 * The one comparison of a source with a collection, used by `audit`, by a re-embed's verify and
 * by every sync pass (its record check). It yields findings by drift kind; each caller decides
 * what a kind means to it. Memory grows with the number of documents (their records and row
 * counts), never with the number of rows: rows are read a batch of documents at a time.
 */
import pMap from 'p-map';
import { belongsTo, sha256 } from '../ids/index.js';
import { errorMessage } from './errors.js';
import { fingerprintKey } from './fingerprint.js';
import type { Collection } from './store.js';
import type { DocRecord, DocRecords, SourceEntry } from './types.js';
import type { SyncDeps } from './sync-document.js';

export type DriftKind =
  /** In the source, not indexed (no record). */
  | 'missing'
  /** Indexed (record or rows), the source no longer has it. */
  | 'orphaned'
  /** The file's content differs from what was indexed. */
  | 'stale'
  /** Size or mtime differ from the record (only when files are hashed only if those agree). */
  | 'changed'
  /** Indexed with another embedder than the collection's. */
  | 'fingerprint'
  /** Chunked with another chunker version or token limit than this build's. */
  | 'chunking'
  /** The number of rows differs from the record's chunk count (a crash, or lost writes). */
  | 'rows'
  /** Two or more rows share one ID. */
  | 'duplicate-id'
  /** The store holds two or more records of one document. */
  | 'duplicate-record'
  /** A row ID that does not belong to its document, or breaks the ID grammar. */
  | 'malformed-id';

export interface Drift {
  docId: string;
  path: string;
  kind: DriftKind;
  detail: string;
  /** The document's rows, for `missing` and `orphaned` when rows were counted. */
  rows?: number;
}

export interface Comparison {
  /** Documents the source holds now. */
  documents: number;
  /** Rows of the source, when they were counted per document. */
  rows: number | null;
  drift: Drift[];
  /** Files and folders that could not be read (so not compared), with the cause. */
  unchecked: Array<{ path: string; error: string }>;
}

export interface CompareOptions {
  /** The source's records, when the caller has read them already. */
  records?: DocRecords;
  /**
   * `every-file`: hash every file and report every difference (an audit proves the content: a
   * file rewritten within one mtime tick keeps size and mtime); `if-stat-agrees`: report only the
   * first difference of a document, in the order fingerprint, chunking, `changed` (size or mtime
   * moved), `stale`, and hash a file only when its record agrees otherwise.
   */
  hash: 'every-file' | 'if-stat-agrees';
  /** A file that cannot be read for its hash: `unchecked` (the default), or `ignore`d. */
  readErrors?: 'unchecked' | 'ignore';
  /** `always` counts rows per document; `if-totals-differ` only when the source's total is off. */
  rows: 'always' | 'if-totals-differ';
  /** Also report `chunking` (a re-embed must have every document chunked by this build). */
  chunking?: boolean;
  /** Also read every row's ID (duplicates, IDs not of their document). */
  ids?: boolean;
  concurrency?: number;
}

/** Documents whose rows are read in one go by the ID check. */
const ROW_BATCH = 256;

/** Compares every document of the source with the collection. */
export async function compareSource(deps: SyncDeps, opts: CompareOptions): Promise<Comparison> {
  const { source, collection } = deps;
  const records = opts.records ?? (await collection.listDocRecords(source.name));
  const counts = await rowCounts(collection, source.name, records, opts.rows);
  const drift: Drift[] = [];
  const unchecked: Comparison['unchecked'] = [];
  const seen = new Set<string>();
  const add: AddDrift = (docId, path, kind, detail, rows) =>
    drift.push({ docId, path, kind, detail, ...(rows === undefined ? {} : { rows }) });
  for (const [id, n] of records.duplicates ?? []) add(id, records.get(id)!.path, 'duplicate-record', `${n} records of one document`);
  const hashes: Array<{ entry: SourceEntry; record: DocRecord }> = [];
  for await (const entry of source.scan()) {
    seen.add(entry.docId);
    const record = records.get(entry.docId);
    if (!record) {
      add(entry.docId, entry.path, 'missing', missingDetail(entry, counts, source.maxFileBytes), counts?.get(entry.docId));
      continue;
    }
    const rows = counts?.get(entry.docId) ?? 0;
    if (counts && rows !== record.chunkCount) add(entry.docId, entry.path, 'rows', `${rows} rows, the record says ${record.chunkCount}`);
    if (compareRecord(entry, record, deps, opts, add)) hashes.push({ entry, record });
  }
  const readErrors = opts.readErrors === 'ignore' ? [] : unchecked;
  await pMap(hashes, ({ entry, record }) => compareContent(deps, entry, record, add, readErrors), { concurrency: opts.concurrency ?? 16 });
  const blocked = source.unreadable();
  for (const u of blocked) unchecked.push({ path: u.path || '.', error: u.error });
  for (const id of new Set([...records.keys(), ...(counts?.keys() ?? [])])) {
    if (seen.has(id)) continue;
    const path = records.get(id)?.path ?? id.slice(source.name.length + 1);
    if (isUnder(blocked, path)) continue;
    add(id, path, 'orphaned', `${counts?.get(id) ?? 0} rows${records.has(id) ? ' and a record' : ''}, no file`, counts?.get(id) ?? 0);
  }
  if (opts.ids && counts) await checkIds([...counts.keys()], records, deps, add);
  drift.sort((a, b) => compareStrings(a.path, b.path) || compareStrings(a.kind, b.kind));
  const rows = counts ? [...counts.values()].reduce((n, c) => n + c, 0) : null;
  return { documents: seen.size, rows, drift, unchecked };
}

/** Findings stat and the record can tell; true when the file's content must still be compared. */
function compareRecord(entry: SourceEntry, record: DocRecord, deps: SyncDeps, opts: CompareOptions, add: AddDrift): boolean {
  const firstOnly = opts.hash === 'if-stat-agrees';
  const fp = fingerprintKey(deps.embedder.fingerprint);
  if (record.fingerprint !== fp) {
    add(entry.docId, entry.path, 'fingerprint', `indexed with ${record.fingerprint}, the collection is ${fp}`);
    if (firstOnly) return false;
  }
  const signature = deps.chunking.signature(entry.contentType, deps.limits);
  if (opts.chunking && record.chunking !== signature) {
    add(entry.docId, entry.path, 'chunking', `chunked as ${record.chunking}, this build chunks as ${signature}`);
    if (firstOnly) return false;
  }
  const statSame = record.size === entry.size && record.mtimeMs === entry.mtimeMs;
  if (firstOnly && !statSame) {
    add(entry.docId, entry.path, 'changed', 'size or mtime changed since it was indexed');
    return false;
  }
  return true;
}

async function compareContent(
  deps: SyncDeps,
  entry: SourceEntry,
  record: DocRecord,
  add: AddDrift,
  unchecked: Array<{ path: string; error: string }>,
): Promise<void> {
  try {
    const doc = await deps.source.read(entry);
    if (!doc || sha256(doc.bytes) === record.fileHash) return;
    const statSame = record.size === entry.size && record.mtimeMs === entry.mtimeMs;
    add(entry.docId, entry.path, 'stale', `the file changed since it was indexed${statSame ? ' (size and mtime unchanged)' : ''}`);
  } catch (err) {
    unchecked.push({ path: entry.path, error: errorMessage(err) });
  }
}

type AddDrift = (docId: string, path: string, kind: DriftKind, detail: string, rows?: number) => void;

function missingDetail(entry: SourceEntry, counts: Map<string, number> | null, max: number | undefined): string {
  const rows = counts?.get(entry.docId);
  if (rows !== undefined) return `${rows} rows but no record`;
  // A file over the size limit is never indexed: say so, or a repair looks like it failed.
  return max !== undefined && entry.size > max
    ? `not indexed: ${entry.size} bytes is over the limit of ${max} (maxFileBytes)`
    : 'not indexed';
}

/** The counted rows of the records' documents vs their chunk counts. */
export interface RowCheck {
  /** Documents whose record disagrees with their rows, or that have more than one record. */
  disagree: string[];
  /** Documents with rows but no record. */
  orphans: string[];
}

/**
 * Rows per document of a source: always, or only when the source's row total differs from the
 * sum of its records' chunk counts (a crash before a record was written, a store that lost
 * acknowledged writes); null when the totals agree.
 */
export async function rowCounts(
  collection: Collection,
  source: string,
  records: Map<string, DocRecord>,
  when: 'always' | 'if-totals-differ',
): Promise<Map<string, number> | null> {
  if (when === 'if-totals-differ') {
    const expected = [...records.values()].reduce((n, r) => n + r.chunkCount, 0);
    if ((await collection.countChunks(source)) === expected) return null;
  }
  return collection.countRowsByDoc(source);
}

/** The record check of a sync pass: which records disagree with their rows, which rows have no record. */
export async function checkRows(collection: Collection, source: string, records: DocRecords): Promise<RowCheck> {
  const twice = records.duplicates ?? new Map<string, number>();
  const counts = await rowCounts(collection, source, records, 'if-totals-differ');
  if (!counts) return { disagree: [...twice.keys()], orphans: [] };
  const disagree = [...records].filter(([id, r]) => twice.has(id) || (counts.get(id) ?? 0) !== r.chunkCount).map(([id]) => id);
  const orphans = [...counts.keys()].filter((id) => !records.has(id));
  return { disagree, orphans };
}

/** True when `path` is one of `blocked` (unreadable files and folders) or under one of them. */
export function isUnder(blocked: ReadonlyArray<{ path: string }>, path: string): boolean {
  return blocked.some(({ path: b }) => b === '' || b === path || path.startsWith(`${b}/`));
}

/** Reads the rows of every document, a batch at a time: duplicate IDs, IDs not of their document. */
async function checkIds(docIds: string[], records: Map<string, DocRecord>, deps: SyncDeps, add: AddDrift): Promise<void> {
  for (let i = 0; i < docIds.length; i += ROW_BATCH) {
    const batch = docIds.slice(i, i + ROW_BATCH);
    const rows = await Promise.all(batch.map((d) => deps.collection.listDocChunks(d)));
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

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
