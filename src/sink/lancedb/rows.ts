/**
 * One collection of a LanceDB store: its chunk and document tables, written through one serial
 * chain, read in batches.
 */
import * as lancedb from '@lancedb/lancedb';
import type { Schema } from 'apache-arrow';
import { checkDims } from '../../core/fingerprint.js';
import type { Collection } from '../../core/store.js';
import type { CachedVector, ChunkRow, CollectionInfo, DocChange, DocRecord, DocRecords, SearchHit, SearchQuery } from '../../core/types.js';
import { BatchedReads, type ChunkRefs, Coalescer, SerialWriter } from '../batch.js';
import { recordToRow, recordsOf } from '../records.js';
import { docChunks, readRows, recordCounts, recordsById, rowVectors, rowsByDoc, sourcesOf } from './reads.js';
import type { WriteLock } from './lock.js';
import { searchTable } from './search.js';
import { sqlEq, sqlIn } from './sql.js';
import { chunkTable, createTables, docTable, guard, tablesComplete, toArrowRow, vectorTable } from './tables.js';
import { VectorCache } from './vectors.js';
import { duplicates, staleIds } from './stale.js';

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
  private readonly docWrites = new Coalescer<DocChange>(this.writer, (changes) => this.locked(() => this.writeDocuments(changes)));
  private readonly schemas = new Map<lancedb.Table, Promise<Schema>>();
  private commits = 0;
  /** The table versions as this process opened them or left them after its last write (null: unknown). */
  private left: string | null = null;
  /** No other process has written the collection's tables since this one opened them. */
  private solo = true;

  private constructor(
    readonly info: CollectionInfo,
    private readonly chunks: lancedb.Table,
    private readonly docs: lancedb.Table,
    private readonly cache: VectorCache,
    /** The store's write lock: every write below runs inside it. */
    private readonly lock: WriteLock,
  ) {
    super();
  }

  /** Opens the collection's tables, first completing those an older build made (`createTables`). */
  static async open(db: lancedb.Connection, info: CollectionInfo, lock: WriteLock): Promise<LanceDbCollection> {
    if (!(await guard('open the chunk table', () => tablesComplete(db, info.name)))) {
      await lock.run(() => guard('upgrade the tables', () => createTables(db, info.name, info.fingerprint.dim)));
    }
    const opened: lancedb.Table[] = [];
    try {
      for (const [what, name] of [
        ['chunk', chunkTable(info.name)],
        ['document', docTable(info.name)],
        ['vector cache', vectorTable(info.name)],
      ] as const) {
        opened.push(await guard(`open the ${what} table`, () => db.openTable(name)));
      }
    } catch (err) {
      for (const t of opened) t.close();
      throw err;
    }
    const [chunks, docs, vectors] = opened as [lancedb.Table, lancedb.Table, lancedb.Table];
    const collection = new LanceDbCollection(info, chunks, docs, new VectorCache(vectors), lock);
    collection.left = await collection.versions().catch(() => null);
    return collection;
  }

  commitDocument(change: DocChange): Promise<void> {
    return this.docWrites.add([change]);
  }

  async deleteDoc(docId: string, retired: CachedVector[] = []): Promise<void> {
    await this.write(async () => {
      await this.cache.put(retired, Date.now());
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

  listSources(): Promise<string[]> {
    return sourcesOf(this.docs);
  }

  async deleteSource(source: string): Promise<void> {
    await this.write(async () => {
      await this.commit('delete a source', () => this.chunks.delete(sqlEq('source', source)));
      await this.commit("delete a source's records", () => this.docs.delete(sqlEq('source', source)));
    });
  }

  countRowsByDoc(source: string): Promise<Map<string, number>> {
    return rowsByDoc(this.chunks, source);
  }

  async listDocRecords(source: string): Promise<DocRecords> {
    return recordsOf(await guard('read document records', () => readRows(this.docs.query().where(sqlEq('source', source)))));
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

  pruneVectors(limits: { maxAgeMs: number; maxEntries: number; now?: number }): Promise<{ dropped: number; entries: number }> {
    return this.write(() => this.cache.prune(limits));
  }

  countCachedVectors(): Promise<number> {
    return this.cache.count();
  }

  /** Runs a write after this collection's earlier ones, inside the store's write lock. */
  private write<T>(fn: () => Promise<T>): Promise<T> {
    return this.writer.run(() => this.locked(fn));
  }

  /**
   * Runs `fn` inside the write lock, and tells whether this process is still the store's only
   * writer since the collection was opened (`solo`): the table versions found on taking the lock
   * are those it left after its own last write.
   */
  private async locked<T>(fn: () => Promise<T>): Promise<T> {
    return this.lock.run(async () => {
      // (Once not solo, never again: the versions are not read any more.)
      if (this.solo && (await this.versions()) !== this.left) this.solo = false;
      try {
        return await fn();
      } catch (err) {
        // A write that failed half-way may have committed some of its tables: what this process
        // wrote is no longer known, so every later write reads what the store holds (a retried
        // batch then merges what the failed one appended).
        this.solo = false;
        throw err;
      } finally {
        if (this.solo) this.left = await this.versions().catch(() => null);
      }
    });
  }

  private async versions(): Promise<string> {
    return `${await this.chunks.version()}/${await this.docs.version()}`;
  }

  /** Waits for the writes queued, then closes both tables. */
  async close(): Promise<void> {
    await this.writer.run(async () => undefined);
    this.chunks.close();
    this.docs.close();
    this.cache.close();
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
    const retiredKeys = [...new Set(changes.flatMap((c) => c.retiredKeys ?? []))];
    // The three reads at once; the vectors of retired keys are read from the rows before they are
    // overwritten. Documents their pass found new, while no other process has written since this
    // one opened the collection, hold nothing: not read (the bulk path).
    const unread = this.solo && changes.every((c) => c.fresh);
    const [held, heldRecords, retiring] = await Promise.all([
      unread ? new Map<string, ChunkRefs>() : this.fetchDocChunks(docIds),
      unread ? new Map<string, number>() : recordCounts(this.docs, docIds),
      rowVectors(this.chunks, retiredKeys),
    ]);
    const rows = changes.flatMap((c) => c.rows);
    const writing = new Set(rows.map((r) => r.id));
    // (A duplicated ID is deleted, then written once; one this write does not rewrite is left for the record check.)
    await this.deleteRows(duplicates([...held.values()].flatMap((refs) => refs.map((r) => r.id))).filter((id) => writing.has(id)));
    const retired = [...retiring].map(([key, vector]) => ({ key, vector }));
    // Rows and the vector cache are two tables: written at once (no compaction between), both
    // before any deletion and the records.
    await settled([rows.length > 0 ? this.writeRows(rows, held) : Promise.resolve(), this.cache.put(retired, Date.now())]);
    if (rows.length > 0) await this.committed();
    await this.deleteRows(staleIds(changes, held));
    const twice = docIds.filter((id) => (heldRecords.get(id) ?? 0) > 1);
    if (twice.length > 0) await this.commit('delete duplicate records', () => this.docs.delete(sqlIn('doc_id', twice)));
    await this.writeRecords(
      changes.map((c) => c.record),
      heldRecords,
    );
  }

  /**
   * The bulk path: when the store holds no row of any document of the batch (read under the lock,
   * so no other writer can have added one since), its rows are appended, without the join on `id`
   * that a merge-insert makes against the whole table (a chunk ID belongs to its document, so none
   * can be held already); otherwise they are merge-inserted. One commit either way.
   */
  private async writeRows(rows: ChunkRow[], held: Map<string, ChunkRefs>): Promise<void> {
    checkDims(rows, this.info.fingerprint.dim);
    const latest = [...new Map(rows.map((r) => [r.id, r])).values()];
    const data = lancedb.makeArrowTable(latest.map(toArrowRow), { schema: await this.schemaOf(this.chunks) });
    if (held.size === 0) await guard('add rows', () => this.chunks.add(data));
    else await guard('upsert rows', () => this.chunks.mergeInsert('id').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(data));
  }

  /** Deletes rows by ID, `IN_BATCH` a commit; runs inside the write chain. */
  private async deleteRows(ids: string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += IN_BATCH) {
      const batch = ids.slice(i, i + IN_BATCH);
      await this.commit('delete rows', () => this.chunks.delete(sqlIn('id', batch)));
    }
  }

  /** Records last: appended when the store holds none of the batch's documents (read under the lock), else merge-inserted. */
  private async writeRecords(records: DocRecord[], held: Map<string, number>): Promise<void> {
    const latest = [...new Map(records.map((r) => [r.docId, r])).values()];
    const data = lancedb.makeArrowTable(latest.map(recordToRow), { schema: await this.schemaOf(this.docs) });
    await this.commit('write document records', () =>
      held.size === 0
        ? this.docs.add(data)
        : this.docs.mergeInsert('doc_id').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(data),
    );
  }

  /** Runs one write (already inside the write chain) and compacts every `COMPACT_EVERY` commits. */
  private async commit<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const out = await guard(what, fn);
    await this.committed();
    return out;
  }

  /** Counts a commit made in the write chain; compacts every `COMPACT_EVERY`. */
  private async committed(): Promise<void> {
    // Compaction only speeds up reads, and another process's commit can preempt it ("Retryable
    // commit conflict"): it must not fail the write that already committed (the job would be run
    // again). It is tried again after the next COMPACT_EVERY commits.
    if (++this.commits >= COMPACT_EVERY) await this.compact().catch(() => undefined);
  }

  /** Compacts both tables and refreshes their indexes; runs inside the write chain. */
  private async compact(): Promise<void> {
    this.commits = 0;
    for (const t of [this.chunks, this.docs])
      await guard('optimize', () => t.optimize({ cleanupOlderThan: new Date(Date.now() - 60_000) }));
    await this.cache.optimize();
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

  protected fetchDocChunks(docIds: string[]): Promise<Map<string, ChunkRefs>> {
    return docChunks(this.chunks, docIds);
  }

  /** Vectors by key: from the rows, else from the vector cache (both read at once). */
  protected async fetchVectors(keys: string[]): Promise<Map<string, number[]>> {
    const [found, cached] = await Promise.all([rowVectors(this.chunks, keys), this.cache.find(keys)]);
    for (const [k, v] of cached) if (!found.has(k)) found.set(k, v);
    return found;
  }

  protected fetchRecords(docIds: string[]): Promise<Map<string, DocRecord>> {
    return recordsById(this.docs, docIds);
  }
}

/** Waits for every write (none may still run once the lock is released), then throws the first failure. */
async function settled(writes: Array<Promise<void>>): Promise<void> {
  const failed = (await Promise.allSettled(writes)).find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}
