/**
 * The reads of a LanceDB collection by key lists (`IN (...)`, `IN_BATCH` keys a query), and rows
 * read by column: an Arrow row proxy per row costs more than the query (10 000 records: 150 ms).
 */
import type * as lancedb from '@lancedb/lancedb';
import type { RecordBatch } from 'apache-arrow';
import type { DocRecord } from '../../core/types.js';
import type { ChunkRefs } from '../batch.js';
import { addChunksByDoc, rowToRecord } from '../records.js';
import { sqlEq, sqlIn } from './sql.js';
import { guard } from './tables.js';

const IN_BATCH = 500;

/** The `{id, hash, key}` of every row of these documents, by doc ID (documents without rows absent). */
export async function docChunks(chunks: lancedb.Table, docIds: string[]): Promise<Map<string, ChunkRefs>> {
  const out = new Map<string, ChunkRefs>();
  for (let i = 0; i < docIds.length; i += IN_BATCH) {
    const where = sqlIn('doc_id', docIds.slice(i, i + IN_BATCH));
    addChunksByDoc(out, await guard('list chunks', () => readRows(chunks.query().where(where).select(['id', 'hash', 'doc_id', 'key']))));
  }
  return out;
}

/** A vector for each of these keys that some row holds. */
export async function rowVectors(chunks: lancedb.Table, keys: string[]): Promise<Map<string, number[]>> {
  const found = new Map<string, number[]>();
  for (let i = 0; i < keys.length; i += IN_BATCH) {
    const where = sqlIn('key', keys.slice(i, i + IN_BATCH));
    const rows = await guard('find vectors', () => chunks.query().where(where).select(['key', 'vector']).toArray());
    for (const r of rows) if (!found.has(String(r.key))) found.set(String(r.key), Array.from(r.vector as Float32Array));
  }
  return found;
}

/** The records of these documents, by doc ID. */
export async function recordsById(docs: lancedb.Table, docIds: string[]): Promise<Map<string, DocRecord>> {
  const out = new Map<string, DocRecord>();
  for (let i = 0; i < docIds.length; i += IN_BATCH) {
    const where = sqlIn('doc_id', docIds.slice(i, i + IN_BATCH));
    for (const r of await guard('read document records', () => readRows(docs.query().where(where))))
      out.set(String(r.doc_id), rowToRecord(r));
  }
  return out;
}

/** How many records the store holds of each of these documents (absent: none). */
export async function recordCounts(docs: lancedb.Table, docIds: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (let i = 0; i < docIds.length; i += IN_BATCH) {
    const where = sqlIn('doc_id', docIds.slice(i, i + IN_BATCH));
    for (const r of await guard('read document records', () => readRows(docs.query().where(where).select(['doc_id']))))
      out.set(String(r.doc_id), (out.get(String(r.doc_id)) ?? 0) + 1);
  }
  return out;
}

/** The sources of a record table, one query per source found (`NOT IN` the ones found so far). */
export async function sourcesOf(docs: lancedb.Table): Promise<string[]> {
  const found: string[] = [];
  for (;;) {
    const where = `NOT (${sqlIn('source', found)})`;
    const rows = await guard('list sources', () => docs.query().where(where).select(['source']).limit(1).toArray());
    if (rows.length === 0) return found;
    found.push(String(rows[0].source));
  }
}

/** How many rows each document of a source has, by doc ID. */
export async function rowsByDoc(chunks: lancedb.Table, source: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const query = chunks.query().where(sqlEq('source', source)).select(['doc_id']);
  await guard('list documents', async () => {
    for await (const batch of query) for (const v of batch.getChild('doc_id')!) out.set(String(v), (out.get(String(v)) ?? 0) + 1);
  });
  return out;
}

/** Every row a query returns, as plain objects read column by column, a record batch at a time. */
export async function readRows(query: lancedb.Query): Promise<Array<Record<string, unknown>>> {
  const rows: Array<Record<string, unknown>> = [];
  for await (const batch of query) for (const row of columnRows(batch)) rows.push(row);
  return rows;
}

function columnRows(batch: RecordBatch): Array<Record<string, unknown>> {
  const columns = batch.schema.fields.map((f) => [f.name, batch.getChild(f.name)!.toArray() as ArrayLike<unknown>] as const);
  const out: Array<Record<string, unknown>> = new Array(batch.numRows);
  for (let i = 0; i < batch.numRows; i++) {
    const row: Record<string, unknown> = {};
    for (const [name, values] of columns) row[name] = values[i];
    out[i] = row;
  }
  return out;
}
