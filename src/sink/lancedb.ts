/**
 * The embedded sink: a LanceDB directory, no server. A store directory holds one physical table
 * pair per embedder fingerprint (`chunks_<fp>`, `docs_<fp>`) and a manifest (`ragsync.json`)
 * whose `live` entry points at the pair queries use; the manifest is replaced atomically.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import { Field, FixedSizeList, Float32, Float64, Int32, Schema, Utf8 } from 'apache-arrow';
import { RagsyncError, errorMessage } from '../core/errors.js';
import type { ChunkRow, CollectionInfo, DocChange, DocRecord, Fingerprint, Lease, SearchFilter, SearchHit, SearchQuery, Sink, StoreLayout } from '../core/types.js';
import { checkDims, checkPending, fingerprintKey, fingerprintMismatch, physicalName } from './fingerprint.js';
import { acquireLease, fileLease } from './lease.js';
import { addChunksByDoc, recordToRow, rowToRecord } from './records.js';
import { BusyBatcher, Coalescer, SerialWriter } from './serial.js';
import { sqlEq, sqlIn } from './sql.js';

const MANIFEST = 'ragsync.json';
const IN_BATCH = 500;
/**
 * Every commit adds a fragment and reads scan every unindexed fragment, so read latency grows
 * with the number of commits (measured: 2 ms after compaction, 100 ms after 800 small commits).
 * The sink compacts after this many commits.
 */
const COMPACT_EVERY = 64;
const INDEX_CACHE_BYTES = 32n << 20n;
const METADATA_CACHE_BYTES = 16n << 20n;

interface Manifest {
  version: 1;
  live: string | null;
  /** The target of a re-embed in progress. */
  pending?: string | null;
  /** The live collection before the last swap, kept for rollback. */
  previous?: string | null;
  collections: Record<string, { fingerprint: Fingerprint; embedder?: Record<string, unknown> | null; createdAt: string }>;
}

export class LanceDbSink implements Sink {
  readonly kind = 'lancedb';
  private db: lancedb.Connection | undefined;
  private chunks: lancedb.Table | undefined;
  private dim = 0;
  private docs: lancedb.Table | undefined;
  private readonly writer = new SerialWriter();
  private readonly rowWrites = new Coalescer<ChunkRow>(this.writer, (rows) => this.mergeRows(rows));
  private readonly recordWrites = new Coalescer<DocRecord>(this.writer, (recs) => this.mergeRecords(recs));
  // Whole documents (rows, stale IDs, record) queued while a write runs go out together: one
  // commit of rows, one delete, one commit of records for all of them, so a document waits for
  // one write cycle and the commits (the store's bottleneck) carry many documents each.
  private readonly docWrites = new Coalescer<DocChange>(this.writer, (changes) => this.writeDocuments(changes));
  private readonly schemas = new Map<lancedb.Table, Promise<Schema>>();
  // Reads of documents in flight go out together: a query has a fixed cost (latest version,
  // plan, a scan of the fragments not yet indexed) that one `IN (...)` pays once for many.
  private readonly docChunks = new BusyBatcher<string, Array<{ id: string; hash: string }>>((ids) => this.fetchDocChunks(ids), () => []);
  private readonly vectors = new BusyBatcher<string, number[] | undefined>((hashes) => this.fetchVectors(hashes), () => undefined);
  private readonly records = new BusyBatcher<string, DocRecord | null>((ids) => this.fetchRecords(ids), () => null);
  private commits = 0;

  constructor(readonly location: string) {}

  async open(fingerprint: Fingerprint, embedder?: Record<string, unknown>): Promise<void> {
    await mkdir(this.location, { recursive: true });
    const manifest = await this.readManifest();
    if (manifest.live) {
      const stored = manifest.collections[manifest.live]!.fingerprint;
      if (fingerprintKey(stored) !== fingerprintKey(fingerprint)) throw fingerprintMismatch(stored, fingerprint, this.location);
      return this.openTables(manifest.live);
    }
    const name = physicalName(fingerprint);
    await this.createTables(name, fingerprint.dim);
    manifest.collections[name] = { fingerprint, embedder: embedder ?? null, createdAt: new Date().toISOString() };
    manifest.live = name;
    await this.writeManifest(manifest);
    await this.openTables(name);
  }

  async openExisting(): Promise<Fingerprint | null> {
    const manifest = await this.readManifest();
    if (!manifest.live) return null;
    await this.openTables(manifest.live);
    return manifest.collections[manifest.live]!.fingerprint;
  }

  async openCollection(fingerprint: Fingerprint): Promise<void> {
    const name = physicalName(fingerprint);
    const entry = (await this.readManifest()).collections[name];
    if (!entry || fingerprintKey(entry.fingerprint) !== fingerprintKey(fingerprint)) {
      throw new RagsyncError('SINK', `${this.location} has no collection for ${fingerprintKey(fingerprint)}`, { stage: 'sink' });
    }
    await this.openTables(name);
  }

  async layout(): Promise<StoreLayout> {
    const m = await this.readManifest();
    const info = (name: string | null | undefined): CollectionInfo | null => {
      const entry = name ? m.collections[name] : undefined;
      return entry ? { name: name!, fingerprint: entry.fingerprint, embedder: entry.embedder ?? null } : null;
    };
    return {
      live: info(m.live),
      pending: info(m.pending),
      previous: info(m.previous),
      all: Object.keys(m.collections).map((n) => info(n)!),
    };
  }

  async preparePending(fingerprint: Fingerprint, embedder: Record<string, unknown>): Promise<CollectionInfo> {
    await mkdir(this.location, { recursive: true });
    const m = await this.readManifest();
    const name = physicalName(fingerprint);
    checkPending(m.live ? m.collections[m.live]!.fingerprint : null, m.pending ? m.collections[m.pending]!.fingerprint : null, fingerprint, this.location);
    if (!m.collections[name]) {
      await this.createTables(name, fingerprint.dim);
      m.collections[name] = { fingerprint, embedder, createdAt: new Date().toISOString() };
    } else {
      m.collections[name]!.embedder = embedder;
    }
    m.pending = name;
    await this.writeManifest(m);
    return { name, fingerprint, embedder };
  }

  async promotePending(): Promise<void> {
    const m = await this.readManifest();
    if (!m.pending) throw new RagsyncError('USAGE', `${this.location}: no re-embed is pending`, { stage: 'sink' });
    m.previous = m.live;
    m.live = m.pending;
    m.pending = null;
    // One rename: readers see the old manifest or the new one, never a mix.
    await this.writeManifest(m);
  }

  async abortPending(): Promise<void> {
    const m = await this.readManifest();
    const name = m.pending;
    if (!name) return;
    m.pending = null;
    await this.writeManifest(m);
    if (name !== m.previous && name !== m.live) await this.dropCollection(name);
  }

  async dropCollection(name: string): Promise<void> {
    const m = await this.readManifest();
    if (name === m.live || name === m.pending) {
      throw new RagsyncError('USAGE', `${this.location}: collection ${name} is ${name === m.live ? 'live' : 'pending'} and cannot be dropped`, { stage: 'sink' });
    }
    await this.connect();
    const existing = new Set(await this.db!.tableNames());
    for (const t of [`chunks_${name}`, `docs_${name}`]) if (existing.has(t)) await guard('drop a table', () => this.db!.dropTable(t));
    delete m.collections[name];
    if (m.previous === name) m.previous = null;
    await this.writeManifest(m);
  }

  async acquireLease(waitMs?: number): Promise<Lease> {
    await mkdir(this.location, { recursive: true });
    return acquireLease(fileLease(path.join(this.location, 'reembed.lease')), `a re-embed of ${this.location}`, waitMs);
  }

  /**
   * Creates the table pair `name` and its indexes, completing whatever an earlier attempt that
   * stopped half-way left out (a table without its full-text index cannot serve keyword search).
   */
  private async createTables(name: string, dim: number): Promise<void> {
    await this.connect();
    const existing = new Set(await this.db!.tableNames());
    const want: Array<[string, () => Schema, Array<[string, lancedb.Index]>]> = [
      [`chunks_${name}`, () => chunkSchema(dim), [['text', lancedb.Index.fts()], ['id', lancedb.Index.btree()], ['doc_id', lancedb.Index.btree()], ['hash', lancedb.Index.btree()]]],
      [`docs_${name}`, docSchema, [['doc_id', lancedb.Index.btree()]]],
    ];
    for (const [table, schema, indexes] of want) {
      const t = existing.has(table) ? await this.db!.openTable(table) : await this.db!.createEmptyTable(table, schema());
      try {
        const have = new Set((await t.listIndices()).flatMap((i) => i.columns));
        for (const [column, config] of indexes) if (!have.has(column)) await t.createIndex(column, { config });
      } finally {
        t.close();
      }
    }
  }

  upsert(rows: ChunkRow[]): Promise<void> {
    return this.rowWrites.add(rows);
  }

  async deleteIds(ids: string[]): Promise<void> {
    if (ids.length > 0) await this.writer.run(() => this.deleteRows(ids));
  }

  /** Deletes rows by ID, `IN_BATCH` a commit; runs inside the write chain. */
  private async deleteRows(ids: string[]): Promise<void> {
    const table = this.chunkTable();
    for (let i = 0; i < ids.length; i += IN_BATCH) {
      const batch = ids.slice(i, i + IN_BATCH);
      await this.commit('delete rows', () => table.delete(sqlIn('id', batch)));
    }
  }

  async deleteDoc(docId: string): Promise<void> {
    const chunks = this.chunkTable();
    const docs = this.docTable();
    await this.writer.run(() => this.commit('delete a document', () => chunks.delete(sqlEq('doc_id', docId))));
    await this.writer.run(() => this.commit('delete a document record', () => docs.delete(sqlEq('doc_id', docId))));
  }

  async listDocChunks(docId: string): Promise<Array<{ id: string; hash: string }>> {
    const [rows] = await this.docChunks.load([docId]);
    return [...rows!];
  }

  private async fetchDocChunks(docIds: string[]): Promise<Map<string, Array<{ id: string; hash: string }>>> {
    const table = this.chunkTable();
    const out = new Map<string, Array<{ id: string; hash: string }>>();
    for (let i = 0; i < docIds.length; i += IN_BATCH) {
      const batch = docIds.slice(i, i + IN_BATCH);
      const rows = await guard('list chunks', () => table.query().where(sqlIn('doc_id', batch)).select(['id', 'hash', 'doc_id']).toArray());
      addChunksByDoc(out, rows);
    }
    return out;
  }

  findVectorsByHash(hashes: string[]): Promise<Map<string, number[]>> {
    return this.vectors.loadFound(hashes);
  }

  private async fetchVectors(hashes: string[]): Promise<Map<string, number[]>> {
    const table = this.chunkTable();
    const found = new Map<string, number[]>();
    for (let i = 0; i < hashes.length; i += IN_BATCH) {
      const batch = hashes.slice(i, i + IN_BATCH);
      const rows = await guard('find vectors', () => table.query().where(sqlIn('hash', batch)).select(['hash', 'vector']).toArray());
      for (const r of rows) if (!found.has(String(r.hash))) found.set(String(r.hash), Array.from(r.vector as Float32Array));
    }
    return found;
  }

  countChunks(source: string): Promise<number> {
    return guard('count rows', () => this.chunkTable().countRows(sqlEq('source', source)));
  }

  async countRowsByDoc(source: string): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const query = this.chunkTable().query().where(sqlEq('source', source)).select(['doc_id']);
    await guard('list documents', async () => {
      for await (const batch of query) {
        for (const v of batch.getChild('doc_id')!) out.set(String(v), (out.get(String(v)) ?? 0) + 1);
      }
    });
    return out;
  }

  async getDocRecord(docId: string): Promise<DocRecord | null> {
    const [record] = await this.records.load([docId]);
    return record ?? null;
  }

  private async fetchRecords(docIds: string[]): Promise<Map<string, DocRecord>> {
    const table = this.docTable();
    const out = new Map<string, DocRecord>();
    for (let i = 0; i < docIds.length; i += IN_BATCH) {
      const batch = docIds.slice(i, i + IN_BATCH);
      const rows = await guard('read document records', () => table.query().where(sqlIn('doc_id', batch)).toArray());
      for (const r of rows) out.set(String(r.doc_id), rowToRecord(r));
    }
    return out;
  }

  async listDocRecords(source: string): Promise<Map<string, DocRecord>> {
    const rows = await guard('read document records', () =>
      this.docTable().query().where(sqlEq('source', source)).toArray(),
    );
    return new Map(rows.map((r) => [String(r.doc_id), rowToRecord(r)]));
  }

  putDocRecord(record: DocRecord): Promise<void> {
    return this.recordWrites.add([record]);
  }

  commitDocument(change: DocChange): Promise<void> {
    return this.docWrites.add([change]);
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

  async search(q: SearchQuery): Promise<SearchHit[]> {
    const table = this.chunkTable();
    const cols = ['id', 'doc_id', 'path', 'section', 'modality', 'text'];
    const where = searchWhere(q.filter);
    const rows = await guard('search', async () => {
      if (q.mode === 'keyword') {
        const query = table.query().fullTextSearch(q.text ?? '').select([...cols, '_score']).limit(q.k);
        return (where ? query.where(where) : query).toArray();
      }
      if (q.mode === 'dense') {
        const query = table.vectorSearch(q.vector!).distanceType('cosine').select([...cols, '_distance']).limit(q.k);
        return (where ? query.where(where) : query).toArray();
      }
      // Fuse more candidates than asked for, so a hit ranked low by one side can still rise.
      const reranker = await lancedb.rerankers.RRFReranker.create();
      const query = table.vectorSearch(q.vector!);
      return (where ? query.where(where) : query)
        .distanceType('cosine')
        .select(cols)
        .fullTextSearch(q.text ?? '')
        .limit(Math.max(q.k * 4, 20))
        .rerank(reranker)
        .toArray();
    });
    return rows.slice(0, q.k).map((r) => ({
      id: String(r.id),
      docId: String(r.doc_id),
      path: String(r.path),
      section: String(r.section),
      modality: r.modality === 'image' ? 'image' : 'text',
      text: String(r.text),
      score: q.mode === 'dense' ? 1 - Number(r._distance) : Number(r._relevance_score ?? r._score),
    }));
  }

  async stats(): Promise<{ docs: number; chunks: number }> {
    const [chunks, docs] = await Promise.all([this.chunkTable().countRows(), this.docTable().countRows()]);
    return { docs, chunks };
  }

  async optimize(): Promise<void> {
    await this.writer.run(() => this.compact());
  }

  /** Compacts both tables and refreshes their indexes; runs inside the write chain. */
  private async compact(): Promise<void> {
    this.commits = 0;
    for (const t of [this.chunkTable(), this.docTable()]) {
      await guard('optimize', () => t.optimize({ cleanupOlderThan: new Date(Date.now() - 60_000) }));
    }
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

  async close(): Promise<void> {
    await this.writer.run(async () => undefined);
    this.chunks?.close();
    this.docs?.close();
    this.db?.close();
    this.db = this.chunks = this.docs = undefined;
  }

  private async mergeRows(rows: ChunkRow[]): Promise<void> {
    const table = this.chunkTable();
    checkDims(rows, this.dim);
    const latest = new Map(rows.map((r) => [r.id, r]));
    const data = lancedb.makeArrowTable([...latest.values()].map(toArrowRow), { schema: await this.schemaOf(table) });
    await this.commit('upsert rows', () => table.mergeInsert('id').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(data));
  }

  private async mergeRecords(records: DocRecord[]): Promise<void> {
    const table = this.docTable();
    const latest = new Map(records.map((r) => [r.docId, r]));
    const data = lancedb.makeArrowTable([...latest.values()].map(recordToRow), { schema: await this.schemaOf(table) });
    await this.commit('write document records', () =>
      table.mergeInsert('doc_id').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(data),
    );
  }

  /** A table's schema, read once per opened table (it does not change). */
  private schemaOf(table: lancedb.Table): Promise<Schema> {
    let schema = this.schemas.get(table);
    if (!schema) {
      schema = table.schema();
      schema.catch(() => this.schemas.delete(table));
      this.schemas.set(table, schema);
    }
    return schema;
  }

  private async connect(): Promise<void> {
    // readConsistencyInterval 0: every read sees the latest commit, also those of other processes.
    // A bounded cache: LanceDB's default session keeps up to 6 GiB of index pages and 1 GiB of
    // metadata per process, and every commit's new index and manifest versions fill it (a 100k-file
    // index reached 7.5 GB of RSS). Recent versions are what reads touch; old ones are evicted.
    this.db ??= await guard('open the store', () =>
      // (The session goes in the options: connect()'s third argument is accepted and ignored.)
      lancedb.connect(this.location, { readConsistencyInterval: 0, session: new lancedb.Session(INDEX_CACHE_BYTES, METADATA_CACHE_BYTES) }),
    );
  }

  private async openTables(name: string): Promise<void> {
    await this.connect();
    this.chunks?.close();
    this.docs?.close();
    this.schemas.clear();
    this.dim = (await this.readManifest()).collections[name]!.fingerprint.dim;
    this.chunks = await guard('open the chunk table', () => this.db!.openTable(`chunks_${name}`));
    this.docs = await guard('open the document table', () => this.db!.openTable(`docs_${name}`));
  }

  private chunkTable(): lancedb.Table {
    if (!this.chunks) throw new RagsyncError('SINK', 'the LanceDB store is not open', { stage: 'sink' });
    return this.chunks;
  }

  private docTable(): lancedb.Table {
    if (!this.docs) throw new RagsyncError('SINK', 'the LanceDB store is not open', { stage: 'sink' });
    return this.docs;
  }

  private async readManifest(): Promise<Manifest> {
    try {
      return JSON.parse(await readFile(path.join(this.location, MANIFEST), 'utf8')) as Manifest;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, live: null, collections: {} };
      throw new RagsyncError('SINK', `cannot read ${path.join(this.location, MANIFEST)}: ${errorMessage(err)}`, {
        stage: 'sink',
        cause: err,
      });
    }
  }

  private async writeManifest(manifest: Manifest): Promise<void> {
    const file = path.join(this.location, MANIFEST);
    await writeFile(`${file}.tmp`, `${JSON.stringify(manifest, null, 2)}\n`);
    await rename(`${file}.tmp`, file);
  }
}

/** The SQL condition of a search filter, every value escaped; undefined for none. */
function searchWhere(f: SearchFilter | undefined): string | undefined {
  if (!f) return undefined;
  const parts = [
    f.source !== undefined ? sqlEq('source', f.source) : '',
    f.modality !== undefined ? sqlEq('modality', f.modality) : '',
    f.docId !== undefined ? sqlEq('doc_id', f.docId) : '',
    f.path !== undefined ? sqlEq('path', f.path) : '',
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(' AND ') : undefined;
}

function chunkSchema(dim: number): Schema {
  const str = (name: string) => new Field(name, new Utf8(), false);
  return new Schema([
    str('id'),
    str('doc_id'),
    str('source'),
    str('path'),
    str('section'),
    new Field('chunk_index', new Int32(), false),
    str('modality'),
    str('hash'),
    str('text'),
    new Field('vector', new FixedSizeList(dim, new Field('item', new Float32(), true)), false),
    str('metadata'),
    new Field('updated_at', new Float64(), false),
  ]);
}

function docSchema(): Schema {
  const str = (name: string) => new Field(name, new Utf8(), false);
  const num = (name: string) => new Field(name, new Float64(), false);
  return new Schema([
    str('doc_id'),
    str('source'),
    str('path'),
    num('size'),
    num('mtime_ms'),
    str('file_hash'),
    str('meta_hash'),
    num('chunk_count'),
    str('chunking'),
    str('fingerprint'),
    num('updated_at'),
  ]);
}

function toArrowRow(r: ChunkRow): Record<string, unknown> {
  return {
    id: r.id,
    doc_id: r.docId,
    source: r.source,
    path: r.path,
    section: r.section,
    chunk_index: r.chunkIndex,
    modality: r.modality,
    hash: r.hash,
    text: r.text,
    vector: r.vector,
    metadata: r.metadata,
    updated_at: r.updatedAt,
  };
}



/** Runs a LanceDB call; its failure becomes a retryable sink error saying what was being done. */
async function guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof RagsyncError) throw err;
    throw new RagsyncError('SINK', `LanceDB: cannot ${what}: ${errorMessage(err)}`, {
      stage: 'sink',
      retryable: true,
      cause: err,
    });
  }
}
