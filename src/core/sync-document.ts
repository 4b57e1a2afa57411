/**
 * The shared core. `syncDocument` is the unit of work: the CLI runs it over a bounded in-process
 * pool, queue workers run the very same function. Writes are ordered so that a crash at any
 * point converges on the next pass: changed rows first, stale rows next, the document record last.
 */
import { docId, embedKey, sha256 } from '../ids/index.js';
import { fingerprintKey } from './fingerprint.js';
import { RagsyncError, asRagsyncError } from './errors.js';
import type { Collection } from './store.js';
import type {
  CachedVector,
  Chunk,
  ChunkLimits,
  ChunkRef,
  ChunkRow,
  Chunking,
  DocRecord,
  DocRef,
  Document,
  Embedder,
  Source,
  SourceEntry,
} from './types.js';

/** What `syncDocument` works with: one source, one collection and the embedder of that collection. */
export interface SyncDeps {
  source: Source;
  collection: Collection;
  embedder: Embedder;
  limits: ChunkLimits;
  chunking: Chunking;
  now?: () => number;
  /** Hash every document (`--rehash`), or these doc IDs, not only those stat shows may have changed. */
  rehash?: boolean | ReadonlySet<string>;
}

/**
 * What a pass read already of one document: its record (null: none), the scan's stat of it, and
 * whether the collection held no rows of it when the pass began (`noRows`). The commit is told
 * (`DocChange.fresh`): LanceDB reads the document's rows again under its write lock unless no
 * other process has written since; on Milvus, rows another writer added meanwhile are found by
 * the next pass's record check.
 */
export interface Known {
  record: DocRecord | null;
  entry?: SourceEntry;
  noRows?: boolean;
}

export type DocStatus = 'changed' | 'unchanged' | 'deleted';

export interface DocSyncResult {
  docId: string;
  path: string;
  status: DocStatus;
  added: number;
  updated: number;
  deleted: number;
  unchanged: number;
  embedded: number;
  reused: number;
  /** Set for a PDF chunked with no extractable text (likely a scan). */
  textless?: true;
  /** Size and mtime of the file version this result reflects (absent for a deletion). */
  seen?: { size: number; mtimeMs: number };
}

/**
 * Brings the collection's rows of one document in line with the document as it is now. Idempotent:
 * a second call with nothing changed reads but writes nothing. A document that no longer exists
 * loses all its rows. Throws `RagsyncError` (`retryable` false for bad content, true for a sink or
 * I/O failure); on a throw the document's existing rows are unchanged or partly updated in a way
 * the next call completes.
 *
 * `known` is what the caller (a pass) already read of the document: each read it answers is skipped.
 */
export async function syncDocument(ref: DocRef, deps: SyncDeps, known?: Known): Promise<DocSyncResult> {
  const { source, collection } = deps;
  const entry = known?.entry ?? (await source.stat(ref));
  const record = known ? known.record : await collection.getDocRecord(entry?.docId ?? docId(source.name, ref.path));
  if (!entry) return deleteDocument(record?.docId ?? docId(source.name, ref.path), ref.path, deps);
  const base = { ...result(entry.docId, entry.path, 'unchanged'), seen: { size: entry.size, mtimeMs: entry.mtimeMs } };
  if (record && isCurrent(record, entry, deps)) return { ...base, unchanged: record.chunkCount };

  const doc = await source.read(ref);
  if (!doc) return deleteDocument(entry.docId, ref.path, deps);
  const newRecord = recordOf(doc, deps);
  if (
    record &&
    record.fileHash === newRecord.fileHash &&
    record.chunking === newRecord.chunking &&
    record.fingerprint === newRecord.fingerprint
  ) {
    // Only hashed because of `rehash`, and stat still clears it: the record stays as it is.
    if (statClean(record, entry, deps) && record.size === doc.size && record.mtimeMs === doc.mtimeMs) {
      return { ...base, unchanged: record.chunkCount };
    }
    // Same content: the refreshed record (its `updatedAt` now past the file's ctime) makes the
    // next pass a stat-only no-op again.
    const same = { ...newRecord, metaHash: record.metaHash, chunkCount: record.chunkCount };
    await collection.commitDocument({ rows: [], staleIds: [], record: same });
    return { ...base, unchanged: record.chunkCount };
  }
  return { ...base, ...(await rewrite(doc, record, newRecord, deps, known)), seen: { size: doc.size, mtimeMs: doc.mtimeMs } };
}

/** The record of a document as read now (its chunk count and metadata hash filled in later). */
function recordOf(doc: Document, deps: SyncDeps): DocRecord {
  return {
    docId: doc.docId,
    source: doc.source,
    path: doc.path,
    size: doc.size,
    mtimeMs: doc.mtimeMs,
    fileHash: sha256(doc.bytes),
    metaHash: '',
    chunkCount: 0,
    chunking: deps.chunking.signature(doc.contentType, deps.limits),
    fingerprint: fingerprintKey(deps.embedder.fingerprint),
    updatedAt: deps.now?.() ?? Date.now(),
  };
}

/** Chunks a document whose content changed and commits the chunks whose ID or hash moved. */
async function rewrite(doc: Document, record: DocRecord | null, newRecord: DocRecord, deps: SyncDeps, known?: Known) {
  const { chunks, metadata, textless } = await chunk(doc, deps);
  const keys = new Map(chunks.map((c) => [c, keyOf(c)]));
  const meta = JSON.stringify(metadata);
  const metaHash = sha256(meta);
  // Both reads at once (one round trip of latency): the document's rows, and stored vectors for
  // every key it now has (those of unchanged chunks are simply not used). The rows of a document
  // the pass found new are not read (the bulk path).
  const [current, cached] = await Promise.all([
    known?.noRows ? [] : deps.collection.listDocChunks(doc.docId),
    deps.collection.findVectors([...new Set(keys.values())]),
  ]);
  const existing = new Map(current.map((r) => [r.id, r.hash]));
  const wanted = new Set(chunks.map((c) => c.id));
  // Metadata lives on every row: when it changed (or is unknown), every row is rewritten, with
  // its vector reused.
  const metaChanged = !record || record.metaHash !== metaHash;
  const changed = chunks.filter((c) => metaChanged || existing.get(c.id) !== c.hash);
  const stale = [...existing.keys()].filter((id) => !wanted.has(id));
  const { vectors, embedded, reused } = await vectorsFor(changed, keys, doc, deps, cached);
  const rows = changed.map((c) => rowOf(c, keys.get(c)!, doc, vectors.get(keys.get(c)!)!, meta, newRecord.updatedAt));
  // The replaced rows' vectors are read by the collection as it commits: no read of its own here.
  const retiredKeys = goneKeys(current, new Set(keys.values()));
  const written = { ...newRecord, metaHash, chunkCount: chunks.length };
  const change = { rows, staleIds: stale, record: written, ids: [...wanted], retiredKeys };
  await deps.collection.commitDocument(known?.noRows ? { ...change, fresh: true } : change);
  const updated = changed.filter((c) => existing.has(c.id)).length;
  const unchanged = chunks.length - changed.length;
  const result = {
    status: 'changed' as const,
    added: changed.length - updated,
    updated,
    deleted: stale.length,
    unchanged,
    embedded,
    reused,
  };
  return textless ? { ...result, textless } : result;
}

function keyOf(c: Chunk): string {
  return embedKey(c.modality, c.modality === 'image' ? c.image! : c.text);
}

/**
 * The vectors of a document's rows whose key its new version no longer has, for the vector cache:
 * a revert, a restore or a move embeds nothing. Rows written before keys were stored have none.
 */
async function retiredVectors(rows: ChunkRef[], keep: ReadonlySet<string>, deps: SyncDeps): Promise<CachedVector[]> {
  const gone = goneKeys(rows, keep);
  if (gone.length === 0) return [];
  const found = await deps.collection.findVectors(gone);
  return [...found].map(([key, vector]) => ({ key, vector }));
}

/** The keys of these rows that are not in `keep` (rows written before keys were stored have none). */
function goneKeys(rows: ChunkRef[], keep: ReadonlySet<string>): string[] {
  return [...new Set(rows.map((r) => r.key).filter((k) => k !== '' && !keep.has(k)))];
}

function rowOf(c: Chunk, key: string, doc: Document, vector: number[], metadata: string, updatedAt: number): ChunkRow {
  const { id, section, index: chunkIndex, modality, hash, text, lines, page, heading } = c;
  return {
    id,
    docId: doc.docId,
    source: doc.source,
    path: doc.path,
    section,
    chunkIndex,
    modality,
    hash,
    key,
    text,
    vector,
    metadata,
    updatedAt,
    ...(lines ? { lines } : {}),
    ...(page !== undefined ? { page } : {}),
    ...(heading ? { heading } : {}),
  };
}

/** Deletes every row and the record of a document; returns how many rows it had. */
export async function deleteDocument(docId: string, path: string, deps: SyncDeps): Promise<DocSyncResult> {
  const rows = await deps.collection.listDocChunks(docId);
  const record = await deps.collection.getDocRecord(docId);
  if (rows.length === 0 && !record) return result(docId, path, 'unchanged');
  await deps.collection.deleteDoc(docId, await retiredVectors(rows, new Set(), deps));
  return { ...result(docId, path, 'deleted'), deleted: rows.length };
}

/**
 * A file modified less than this long before it was read may be modified again within the same
 * mtime tick without changing size or mtime ("racily clean", as Git calls it): stat alone does
 * not clear it; its content is hashed again on the next pass.
 */
const RACY_MS = 2000;

/**
 * True when stat alone shows the document is as recorded, so it is not read: same size, mtime,
 * chunking and model, not racily clean, no inode change since the record was written (`ctime`
 * after the record's `updatedAt`: a `chmod`, a `touch`, or a same-size edit whose mtime was put
 * back, as `touch -r`, `rsync -t` and tar do), and the pass does not `rehash`. The one check:
 * the scan (`syncSource`) and `syncDocument` both ask it.
 */
export function isCurrent(record: DocRecord, entry: SourceEntry, deps: SyncDeps): boolean {
  const rehash = deps.rehash === true || (deps.rehash instanceof Set && deps.rehash.has(record.docId));
  return !rehash && statClean(record, entry, deps);
}

/** `isCurrent` without `rehash`: what stat says. */
function statClean(record: DocRecord, entry: SourceEntry, deps: SyncDeps): boolean {
  return (
    record.updatedAt - record.mtimeMs >= RACY_MS &&
    record.size === entry.size &&
    record.mtimeMs === entry.mtimeMs &&
    (entry.ctimeMs === undefined || entry.ctimeMs <= record.updatedAt) &&
    record.fingerprint === fingerprintKey(deps.embedder.fingerprint) &&
    record.chunking === deps.chunking.signature(entry.contentType, deps.limits)
  );
}

async function chunk(doc: Document, deps: SyncDeps) {
  let out;
  try {
    out = await deps.chunking.chunk(doc, deps.limits);
  } catch (err) {
    throw asRagsyncError(err, 'PARSE', 'parse', doc.docId);
  }
  const ids = new Set<string>();
  for (const c of out.chunks) {
    if (ids.has(c.id)) throw new RagsyncError('PARSE', `${doc.path}: two chunks got the ID ${c.id}`, { stage: 'parse', docId: doc.docId });
    ids.add(c.id);
  }
  return out;
}

/** Vectors for these chunks, by key: reused from rows or the vector cache that hold the key, else embedded once. */
async function vectorsFor(chunks: Chunk[], keys: Map<Chunk, string>, doc: Document, deps: SyncDeps, cached: Map<string, number[]>) {
  const needed = new Set(chunks.map((c) => keys.get(c)!));
  const vectors = new Map([...cached].filter(([key, v]) => needed.has(key) && v.length === deps.embedder.dim));
  const todo = new Map<string, Chunk>();
  for (const c of chunks) if (!vectors.has(keys.get(c)!)) todo.set(keys.get(c)!, c);
  const texts = [...todo].filter(([, c]) => c.modality === 'text');
  const images = [...todo].filter(([, c]) => c.modality === 'image');
  try {
    const tv = texts.length > 0 ? await deps.embedder.embedTexts(texts.map(([, c]) => c.text)) : [];
    texts.forEach(([key], i) => vectors.set(key, tv[i]!));
    if (images.length > 0) {
      if (!deps.embedder.embedImages) {
        throw new RagsyncError('UNSUPPORTED', `${doc.path}: the embedder ${deps.embedder.fingerprint.model} cannot embed images`, {
          stage: 'embed',
          docId: doc.docId,
        });
      }
      const iv = await deps.embedder.embedImages(images.map(([, c]) => c.image!));
      images.forEach(([key], i) => vectors.set(key, iv[i]!));
    }
  } catch (err) {
    const e = asRagsyncError(err, 'EMBED', 'embed', doc.docId, true);
    if (e.code === 'PARSE' && !e.message.startsWith(doc.path)) {
      throw new RagsyncError('PARSE', `${doc.path}: ${e.message}`, { stage: e.stage, docId: doc.docId, cause: err });
    }
    throw e;
  }
  // Every row written has a vector that was either embedded now or reused (a key repeated within
  // the document is embedded once and reused by its other rows): written = embedded + reused.
  return { vectors, embedded: todo.size, reused: chunks.length - todo.size };
}

function result(docId: string, path: string, status: DocStatus): DocSyncResult {
  return { docId, path, status, added: 0, updated: 0, deleted: 0, unchanged: 0, embedded: 0, reused: 0 };
}
