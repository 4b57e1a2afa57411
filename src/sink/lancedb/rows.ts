/**
 * One collection of a LanceDB store: its chunk and document tables, written through one serial
 * chain, read in batches.
 */
import * as lancedb from '@lancedb/lancedb';
import type { Schema } from 'apache-arrow';
import { checkDims } from '../../core/fingerprint.js';
import type { Collection } from '../../core/store.js';
import type { ChunkRow, CollectionInfo, DocChange, DocRecord, SearchHit, SearchQuery } from '../../core/types.js';
import { BatchedReads, type ChunkRefs, Coalescer, SerialWriter } from '../batch.js';
import { addChunksByDoc, recordToRow, rowToRecord } from '../records.js';
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
  private readonly docWrites = new Coalescer<DocChange>(this.writer, (changes) => this.writeDocuments(changes));
  private readonly schemas = new Map<lancedb.Table, Promise<Schema>>();
  private commits = 0;

  private constructor(
    readonly info: CollectionInfo,
    private readonly chunks: lancedb.Table,
    private readonly docs: lancedb.Table,
  ) {
    super();
  }

  static async open(db: lancedb.Connection, info: CollectionInfo): Promise<LanceDbCollection> {
    const chunks = await guard('open the chunk table', () => db.openTable(chunkTable(info.name)));
    const docs = await guard('open the document table', () => db.openTable(docTable(info.name))).catch((err: unknown) => {
      chunks.close();
      throw err;
    });
    return new LanceDbCollection(info, chunks, docs);
  }

  commitDocument(change: DocChange): Promise<void> {
    return this.docWrites.add([change]);
  }

  async deleteDoc(docId: string): Promise<void> {
    await this.writer.run(() => this.commit('delete a document', () => this.chunks.delete(sqlEq('doc_id', docId))));
    await this.writer.run(() => this.commit('delete a document record', () => this.docs.delete(sqlEq('doc_id', docId))));
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
    await this.writer.run(() => this.commit('delete a source', () => this.chunks.delete(sqlEq('source', source))));
    await this.writer.run(() => this.commit("delete a source's records", () => this.docs.delete(sqlEq('source', source))));
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

  async listDocRecords(source: string): Promise<Map<string, DocRecord>> {
    const rows = await guard('read document records', () => this.docs.query().where(sqlEq('source', source)).toArray());
    return new Map(rows.map((r) => [String(r.doc_id), rowToRecord(r)]));
  }

  search(q: SearchQuery): Promise<SearchHit[]> {
    return searchTable(this.chunks, q);
  }

  async stats(): Promise<{ docs: number; chunks: number }> {
    const [chunks, docs] = await Promise.all([this.chunks.countRows(), this.docs.countRows()]);
    return { docs, chunks };
  }

  async optimize(): Promise<void> {
    await this.writer.run(() => this.compact());
  }

  /** Waits for the writes queued, then closes both tables. */
  async close(): Promise<void> {
    await this.writer.run(async () => undefined);
    this.chunks.close();
    this.docs.close();
  }

  /** Runs inside the write chain: rows of every document, then their stale rows, then their records. */
  private async writeDocuments(changes: DocChange[]): Promise<void> {
    const rows = changes.flatMap((c) => c.rows);
    if (rows.length > 0) await this.mergeRows(rows);
    // A row one change drops and a later change of the same document writes again stays.
    const last = new Map<string, 'row' | 'stale'>();
    for (const c of changes) {
      for (const r of c.rows) last.set(r.id, 'row');
      for (const id of c.staleIds) last.set(id, 'stale');
    }
    await this.deleteRows([...last].filter(([, what]) => what === 'stale').map(([id]) => id));
    await this.mergeRecords(changes.map((c) => c.record));
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
