/** The one mapping between a DocRecord and its stored row (snake_case columns), for every sink. */
import type { ChunkRef, ChunkRow, DocRecord, DocRecords, SearchHit } from '../core/types.js';

export function recordToRow(r: DocRecord): Record<string, unknown> {
  return {
    doc_id: r.docId,
    source: r.source,
    path: r.path,
    size: r.size,
    mtime_ms: r.mtimeMs,
    file_hash: r.fileHash,
    meta_hash: r.metaHash,
    chunk_count: r.chunkCount,
    chunking: r.chunking,
    fingerprint: r.fingerprint,
    updated_at: r.updatedAt,
  };
}

export function rowToRecord(r: Record<string, unknown>): DocRecord {
  return {
    docId: String(r.doc_id),
    source: String(r.source),
    path: String(r.path),
    size: Number(r.size),
    mtimeMs: Number(r.mtime_ms),
    fileHash: String(r.file_hash),
    metaHash: String(r.meta_hash),
    chunkCount: Number(r.chunk_count),
    chunking: String(r.chunking),
    fingerprint: String(r.fingerprint),
    updatedAt: Number(r.updated_at),
  };
}

/** Adds rows read back with `doc_id`, `id`, `hash` and `key` (absent in an older table) to a map of each document's refs. */
export function addChunksByDoc(out: Map<string, ChunkRef[]>, rows: Iterable<Record<string, unknown>>): void {
  for (const r of rows) {
    const doc = String(r.doc_id);
    if (!out.has(doc)) out.set(doc, []);
    out.get(doc)!.push({ id: String(r.id), hash: String(r.hash), key: String(r.key ?? '') });
  }
}

/**
 * A row's location columns (`line_start`, `line_end`, `page`: 0 for none; `heading`: '' for
 * none), the same in every sink.
 */
export function locationColumns(r: ChunkRow): { heading: string; line_start: number; line_end: number; page: number } {
  return { heading: r.heading ?? '', line_start: r.lines?.[0] ?? 0, line_end: r.lines?.[1] ?? 0, page: r.page ?? 0 };
}

/** The location of a hit from its stored columns (absent in a table written before they were). */
export function locationOf(r: Record<string, unknown>): Pick<SearchHit, 'lines' | 'page' | 'heading'> {
  const start = Number(r.line_start ?? 0);
  const end = Number(r.line_end ?? 0);
  const page = Number(r.page ?? 0);
  const heading = r.heading ? String(r.heading) : '';
  return {
    ...(start > 0 ? { lines: [start, Math.max(start, end)] as const } : {}),
    ...(page > 0 ? { page } : {}),
    ...(heading ? { heading } : {}),
  };
}

/** The records of rows read back, by doc ID; a doc ID read more than once is counted in `duplicates`. */
export function recordsOf(rows: Iterable<Record<string, unknown>>): DocRecords {
  const out: DocRecords = new Map();
  const twice = new Map<string, number>();
  for (const r of rows) {
    const record = rowToRecord(r);
    if (out.has(record.docId)) twice.set(record.docId, (twice.get(record.docId) ?? 1) + 1);
    out.set(record.docId, record);
  }
  if (twice.size > 0) out.duplicates = twice;
  return out;
}
