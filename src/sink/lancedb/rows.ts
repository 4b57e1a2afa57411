/**
 * One collection of a LanceDB store: its chunk and document tables, written through one serial
 * chain, read in batches.
 */
import * as lancedb from '@lancedb/lancedb';
import type { Schema } from 'apache-arrow';
import { checkDims } from '../../core/fingerprint.js';
import type { Collection } from '../../core/store.js';
import type { ChunkRow, CollectionInfo, DocChange, DocRecord, DocRecords, SearchHit, SearchQuery } from '../../core/types.js';
import { BatchedReads, type ChunkRefs, Coalescer, SerialWriter } from '../batch.js';
import { addChunksByDoc, recordToRow, recordsOf, rowToRecord } from '../records.js';
import type { WriteLock } from './lock.js';
import { searchTable } from './search.js';
import { sqlEq, sqlIn } from './sql.js';
import { chunkTable, docTable, guard, toArrowRow } from './tables.js';

const IN_BATCH = 500;
/**
 * Every commit adds a fragment and reads scan every unindexed fragment, so read latency grows
 * with the number of commits (measured: 2 ms after compaction, 100 ms after 800 small commits).
 * The collection compacts after this many commits.
 */
const COMPACT_EVERY = 64;

export class LanceDbCollection extends BatchedReads implements Collection {
  private readonly writer = new SerialWriter();
  // Whole documents (rows, stale IDs, record) queued while a write runs go out together: one
  // commit of rows, one delete, one commit of records for all of them, so a document waits for
  // one write cycle and the commits (the store's bottleneck) carry many documents each.
  private readonly docWrites = new Coalescer<DocChange>(this.writer, (changes) => this.lock.run(() => this.writeDocuments(changes)));
  private readonly schemas = new Map<lancedb.Table, Promise<Schema>>();
  private commits = 0;

  private constructor(
    readonly info: CollectionInfo,
    private readonly chunks: lancedb.Table,
    private readonly docs: lancedb.Table,
    /** The store's write lock: every write below runs inside it. */
    private readonly lock: WriteLock,
  ) {
    super();
  }

  static async open(db: lancedb.Connection, info: CollectionInfo, lock: WriteLock): Promise<LanceDbCollection> {
    const chunks = await guard('open the chunk table', () => db.openTable(chunkTable(info.name)));
    const docs = await guard('open the document table', () => db.openTable(docTable(info.name))).catch((err: unknown) => {
      chunks.close();
      throw err;
    });
    return new LanceDbCollection(info, chunks, docs, lock);
  }

  commitDocument(change: DocChange): Promise<void> {
    return this.docWrites.add([change]);
  }

  async deleteDoc(docId: string): Promise<void> {
    await this.write(async () => {
      await this.commit('delete a document', () => this.chunks.delete(sqlEq('doc_id', docId)));
      await this.commit('delete a document record', () => this.docs.delete(sqlEq('doc_id', docId)));
    });
  }

  countChunks(source: string): Promise<number> {
    return guard('count rows', () => this.chunks.countRows(sqlEq('source', source)));
  }

  countDocs(source: string): Promise<number> {
    return guard('count document records', () => this.docs.countRows(sqlEq('source', source)));
  }

  async listSources(): Promise<string[]> {
    const found: string[] = [];
    for (;;) {
      const where = `NOT (${sqlIn('source', found)})`;
      const rows = await guard('list sources', () => this.docs.query().where(where).select(['source']).limit(1).toArray());
      if (rows.length === 0) return found;
      found.push(String(rows[0].source));
    }
  }

  async deleteSource(source: string): Promise<void> {
    await this.write(async () => {
      await this.commit('delete a source', () => this.chunks.delete(sqlEq('source', source)));
      await this.commit("delete a source's records", () => this.docs.delete(sqlEq('source', source)));
    });
  }

  async countRowsByDoc(source: string): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const query = this.chunks.query().where(sqlEq('source', source)).select(['doc_id']);
    await guard('list documents', async () => {
      for await (const batch of query) {
        for (const v of batch.getChild('doc_id')!) out.set(String(v), (out.get(String(v)) ?? 0) + 1);
      }
    });
    return out;
  }

  async listDocRecords(source: string): Promise<DocRecords> {
    return recordsOf(await guard('read document records', () => this.docs.query().where(sqlEq('source', source)).toArray()));
  }

  search(q: SearchQuery): Promise<SearchHit[]> {
    return searchTable(this.chunks, q);
  }

  async stats(): Promise<{ docs: number; chunks: number }> {
    const [chunks, docs] = await Promise.all([this.chunks.countRows(), this.docs.countRows()]);
    return { docs, chunks };
  }

  async optimize(): Promise<void> {
    await this.write(() => this.compact());
  }

  /** Runs a write after this collection's earlier ones, inside the store's write lock. */
  private write<T>(fn: () => Promise<T>): Promise<T> {
    return this.writer.run(() => this.lock.run(fn));
  }

  /** Waits for the writes queued, then closes both tables. */
  async close(): Promise<void> {
    await this.writer.run(async () => undefined);
    this.chunks.close();
    this.docs.close();
  }

  /**
   * Runs inside the write lock: rows of every document, then their stale rows, then their records.
   * What the store holds is read first, inside the lock: a document whose change gives its complete
   * ID set loses every other row found now (also one a concurrent writer added since this process
   * read), and an ID or a record held twice (a store written concurrently by an older version) is
   * written once again.
   */
  private async writeDocuments(changes: DocChange[]): Promise<void> {
    const docIds = [...new Set(changes.map((c) => c.record.docId))];
    const [held, heldRecords] = await Promise.all([this.fetchDocChunks(docIds), this.recordCounts(docIds)]);
    const rows = changes.flatMap((c) => c.rows);
    const writing = new Set(rows.map((r) => r.id));
    // (A duplicated ID is deleted, then written once; one this write does not rewrite is left for the record check.)
    await this.deleteRows(duplicates([...held.values()].flatMap((refs) => refs.map((r) => r.id))).filter((id) => writing.has(id)));
    if (rows.length > 0) await this.mergeRows(rows);
    await this.deleteRows(staleIds(changes, held));
    const twice = docIds.filter((id) => (heldRecords.get(id) ?? 0) > 1);
    if (twice.length > 0) await this.commit('delete duplicate records', () => this.docs.delete(sqlIn('doc_id', twice)));
    await this.mergeRecords(changes.map((c) => c.record));
  }

  /** How many records the store holds of each of these documents. */
  private async recordCounts(docIds: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (let i = 0; i < docIds.length; i += IN_BATCH) {
      const where = sqlIn('doc_id', docIds.slice(i, i + IN_BATCH));
      const rows = await guard('read document records', () => this.docs.query().where(where).select(['doc_id']).toArray());
      for (const r of rows) out.set(String(r.doc_id), (out.get(String(r.doc_id)) ?? 0) + 1);
    }
    return out;
  }

  /** Deletes rows by ID, `IN_BATCH` a commit; runs inside the write chain. */
  private async deleteRows(ids: string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += IN_BATCH) {
      const batch = ids.slice(i, i + IN_BATCH);
      await this.commit('delete rows', () => this.chunks.delete(sqlIn('id', batch)));
    }
  }

  private async mergeRows(rows: ChunkRow[]): Promise<void> {
    checkDims(rows, this.info.fingerprint.dim);
    const latest = new Map(rows.map((r) => [r.id, r]));
    const data = lancedb.makeArrowTable([...latest.values()].map(toArrowRow), { schema: await this.schemaOf(this.chunks) });
    await this.commit('upsert rows', () => this.chunks.mergeInsert('id').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(data));
  }

  private async mergeRecords(records: DocRecord[]): Promise<void> {
    const latest = new Map(records.map((r) => [r.docId, r]));
    const data = lancedb.makeArrowTable([...latest.values()].map(recordToRow), { schema: await this.schemaOf(this.docs) });
    await this.commit('write document records', () =>
      this.docs.mergeInsert('doc_id').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(data),
    );
  }

  /** Runs one write (already inside the write chain) and compacts every `COMPACT_EVERY` commits. */
  private async commit<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const out = await guard(what, fn);
    // Compaction only speeds up reads, and another process's commit can preempt it ("Retryable
    // commit conflict"): it must not fail the write that already committed (the job would be run
    // again). It is tried again after the next COMPACT_EVERY commits.
    if (++this.commits >= COMPACT_EVERY) await this.compact().catch(() => undefined);
    return out;
  }

  /** Compacts both tables and refreshes their indexes; runs inside the write chain. */
  private async compact(): Promise<void> {
    this.commits = 0;
    for (const t of [this.chunks, this.docs])
      await guard('optimize', () => t.optimize({ cleanupOlderThan: new Date(Date.now() - 60_000) }));
  }

  /** A table's schema, read once (it does not change). */
  private schemaOf(table: lancedb.Table): Promise<Schema> {
    let schema = this.schemas.get(table);
    if (!schema) {
      schema = table.schema();
      schema.catch(() => this.schemas.delete(table));
      this.schemas.set(table, schema);
    }
    return schema;
  }

  protected async fetchDocChunks(docIds: string[]): Promise<Map<string, ChunkRefs>> {
    const out = new Map<string, ChunkRefs>();
    for (let i = 0; i < docIds.length; i += IN_BATCH) {
      const where = sqlIn('doc_id', docIds.slice(i, i + IN_BATCH));
      addChunksByDoc(out, await guard('list chunks', () => this.chunks.query().where(where).select(['id', 'hash', 'doc_id']).toArray()));
    }
    return out;
  }

  protected async fetchVectors(hashes: string[]): Promise<Map<string, number[]>> {
    const found = new Map<string, number[]>();
    for (let i = 0; i < hashes.length; i += IN_BATCH) {
      const where = sqlIn('hash', hashes.slice(i, i + IN_BATCH));
      const rows = await guard('find vectors', () => this.chunks.query().where(where).select(['hash', 'vector']).toArray());
      for (const r of rows) if (!found.has(String(r.hash))) found.set(String(r.hash), Array.from(r.vector as Float32Array));
    }
    return found;
  }

  protected async fetchRecords(docIds: string[]): Promise<Map<string, DocRecord>> {
    const out = new Map<string, DocRecord>();
    for (let i = 0; i < docIds.length; i += IN_BATCH) {
      const where = sqlIn('doc_id', docIds.slice(i, i + IN_BATCH));
      const rows = await guard('read document records', () => this.docs.query().where(where).toArray());
      for (const r of rows) out.set(String(r.doc_id), rowToRecord(r));
    }
    return out;
  }
}

/** The IDs that occur more than once. */
function duplicates(ids: string[]): string[] {
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const id of ids) (seen.has(id) ? twice : seen).add(id);
  return [...twice];
}

/**
 * The rows a batch of changes deletes: each change's stale IDs, and, for a document whose change
 * gives its complete ID set, every row of it the store holds outside that set. A row one change
 * drops and a later change of the same document writes again stays.
 */
export function staleIds(changes: DocChange[], held: Map<string, ChunkRefs>): string[] {
  const last = new Map<string, 'row' | 'stale'>();
  const complete = new Map<string, Set<string>>();
  for (const c of changes) {
    for (const r of c.rows) last.set(r.id, 'row');
    for (const id of c.staleIds) last.set(id, 'stale');
    if (c.ids) complete.set(c.record.docId, new Set(c.ids));
  }
  for (const [docId, keep] of complete) {
    for (const { id } of held.get(docId) ?? []) if (!keep.has(id)) last.set(id, 'stale');
  }
  return [...last].filter(([, what]) => what === 'stale').map(([id]) => id);
}
