/**
 * The Milvus sink (Milvus Standalone / Distributed, Zilliz Cloud, Milvus Lite 3), through
 * @zilliz/milvus2-sdk-node. One physical collection pair per embedder fingerprint
 * (`<prefix>_chunks_<fp>`, `<prefix>_docs_<fp>`) behind the aliases `<prefix>_chunks` and
 * `<prefix>_docs`, which is what users query. The fingerprint is stored in the collection
 * properties. Every read that decides a write uses Strong consistency.
 */
import type { ConsistencyLevelEnum, MilvusClient, RowData } from '@zilliz/milvus2-sdk-node';
import { sizedBatches } from '../core/batches.js';
import { RagsyncError, errorMessage } from '../core/errors.js';
import type { ChunkRow, CollectionInfo, DocChange, DocRecord, Fingerprint, Lease, SearchFilter, SearchHit, SearchQuery, Sink, StoreLayout } from '../core/types.js';
import { MAX_CHUNK_ID_BYTES, MAX_DOC_ID_BYTES, boundId, sha256 } from '../ids/index.js';
import { checkDims, checkPending, fingerprintKey, fingerprintMismatch, physicalName } from './fingerprint.js';
import { type LeaseBackend, type LeaseRecord, acquireLease } from './lease.js';
import { type MilvusFilter, and, filter, render } from './milvus-filter.js';
import { addChunksByDoc, recordToRow, rowToRecord } from './records.js';
import { BusyBatcher, Coalescer, SerialWriter } from './serial.js';

export interface MilvusOptions {
  address: string;
  token?: string;
  username?: string;
  password?: string;
  database?: string;
  ssl?: boolean;
  caPath?: string;
  /** Prefix of collection and alias names. */
  collection: string;
  /** Partition key on `source`: many sources or tenants in one collection. */
  partitionKey: boolean;
  timeoutMs: number;
  /** Rows one query may return (Milvus allows 16 384); lower only in tests of the split path. */
  queryLimit?: number;
}

const FP_PROPERTY = 'ragsync.fingerprint';
const EMBEDDER_PROPERTY = 'ragsync.embedder';
const LEASE_PROPERTY = 'ragsync.lease';
const TEXT_MAX = 65_535;
const SECTION_MAX = 1024;
/** Rows carry `bucket`, 48 bits of the sha-256 of their key, to split large reads. */
const BUCKETS = 2 ** 48;
const bucketOf = (key: string): number => parseInt(sha256(key).slice(0, 12), 16);
const PATH_MAX = 4096;
const IN_BATCH = 256;
/** Rows per upsert are capped by size too, to stay far below gRPC's message limit. */
const WRITE_BATCH_BYTES = 8 * 1024 * 1024;
const QUERY_LIMIT = 16_384;
const LITE_FLUSH_ROWS = 4096;
const STRONG = 0 as ConsistencyLevelEnum.Strong;
/** The SDK, loaded with the first connection: gRPC and protobuf cost ~40 MB a LanceDB-only process does not need. */
let sdk: typeof import('@zilliz/milvus2-sdk-node');
const CHUNK_INDEXES = [
  { field_name: 'vector', index_type: 'AUTOINDEX', metric_type: 'COSINE' },
  { field_name: 'sparse', index_type: 'SPARSE_INVERTED_INDEX', metric_type: 'BM25' },
] as const;
const DOC_INDEXES = [{ field_name: 'unused_vector', index_type: 'AUTOINDEX', metric_type: 'L2' }] as const;
const HIT_FIELDS = ['id', 'doc_id', 'path', 'section', 'modality', 'text'];

interface Status {
  error_code?: string | number;
  code?: number;
  reason?: string;
}

export class MilvusSink implements Sink {
  readonly kind = 'milvus';
  readonly location: string;
  private client: MilvusClient | undefined;
  private chunks = '';
  private docs = '';
  private templates = false;
  private dim = 0;
  /** Milvus Lite keeps unflushed rows in memory and scans them on every query: flush it now and then. */
  private lite = false;
  private unflushed = 0;
  // Concurrent documents share round trips: one call of each kind in flight, the rest batched.
  private readonly docChunks = new BusyBatcher<string, Array<{ id: string; hash: string }>>((ids) => this.fetchDocChunks(ids), () => []);
  private readonly vectors = new BusyBatcher<string, number[] | undefined>((hashes) => this.fetchVectors(hashes), () => undefined);
  private readonly records = new BusyBatcher<string, DocRecord | null>((ids) => this.fetchRecords(ids), () => null);
  private readonly rowWrites = new Coalescer<ChunkRow>(new SerialWriter(), (rows) => this.writeRows(rows));
  private readonly recordWrites = new Coalescer<DocRecord>(new SerialWriter(), (recs) => this.writeRecords(recs));

  constructor(private readonly opts: MilvusOptions) {
    this.location = `milvus://${opts.address}/${opts.database ?? 'default'}/${opts.collection}_chunks`;
  }

  private get chunkAlias(): string {
    return `${this.opts.collection}_chunks`;
  }

  private get docAlias(): string {
    return `${this.opts.collection}_docs`;
  }

  async open(fingerprint: Fingerprint, embedder?: Record<string, unknown>): Promise<void> {
    const stored = await this.openExisting();
    if (stored) {
      if (fingerprintKey(stored) !== fingerprintKey(fingerprint)) throw fingerprintMismatch(stored, fingerprint, this.location);
      return;
    }
    const name = physicalName(fingerprint);
    await this.createPair(name, fingerprint, embedder ?? null);
    await this.setAlias(this.chunkAlias, this.physical('chunks', name));
    await this.setAlias(this.docAlias, this.physical('docs', name));
    await this.use(name, fingerprint);
  }

  async openExisting(): Promise<Fingerprint | null> {
    await this.connect();
    const live = await this.aliasTarget(this.chunkAlias);
    if (!live) return null;
    const info = await this.describe(live);
    await this.use(info.name, info.fingerprint);
    return info.fingerprint;
  }

  async openCollection(fingerprint: Fingerprint): Promise<void> {
    await this.connect();
    const name = physicalName(fingerprint);
    const has = await this.call('look up the collection', (c) => c.hasCollection({ collection_name: this.physical('chunks', name) }));
    const info = has.value ? await this.describe(this.physical('chunks', name)) : null;
    if (!info || fingerprintKey(info.fingerprint) !== fingerprintKey(fingerprint)) {
      throw new RagsyncError('SINK', `${this.location} has no collection for ${fingerprintKey(fingerprint)}`, { stage: 'sink' });
    }
    await this.use(name, fingerprint);
  }

  async layout(): Promise<StoreLayout> {
    const client = await this.connect();
    const [live = null, next = null, prev = null] = await Promise.all([this.chunkAlias, this.nextAlias, this.prevAlias].map((a) => this.aliasTarget(a)));
    const listed = await this.call('list collections', () => client.listCollections());
    const prefix = `${this.opts.collection}_chunks_v`;
    const names = (listed.data ?? []).map((c) => c.name).filter((n) => n.startsWith(prefix) && /^[0-9a-f]+$/.test(n.slice(prefix.length)));
    const all = await Promise.all(names.map((n) => this.describe(n)));
    const byPhysical = (p: string | null) => all.find((c) => p === this.physical('chunks', c.name)) ?? null;
    // A swap that stopped after moving the live alias leaves `next` on the live collection: done.
    return { live: byPhysical(live), pending: next && next !== live ? byPhysical(next) : null, previous: byPhysical(prev), all };
  }

  async preparePending(fingerprint: Fingerprint, embedder: Record<string, unknown>): Promise<CollectionInfo> {
    const layout = await this.layout();
    checkPending(layout.live?.fingerprint ?? null, layout.pending?.fingerprint ?? null, fingerprint, this.location);
    const name = physicalName(fingerprint);
    // (Also completes a pair that an earlier attempt left half-made.)
    await this.createPair(name, fingerprint, embedder);
    if (layout.all.some((c) => c.name === name)) {
      await this.call('record the embedder', (c) =>
        c.alterCollectionProperties({ collection_name: this.physical('chunks', name), properties: { [EMBEDDER_PROPERTY]: JSON.stringify(embedder) } }),
      );
    }
    await this.setAlias(this.nextAlias, this.physical('chunks', name));
    await this.setAlias(this.nextDocAlias, this.physical('docs', name));
    return { name, fingerprint, embedder };
  }

  async promotePending(): Promise<void> {
    const layout = await this.layout();
    if (!layout.pending) throw new RagsyncError('USAGE', `${this.location}: no re-embed is pending`, { stage: 'sink' });
    const to = layout.pending.name;
    if (layout.live) {
      await this.setAlias(this.prevAlias, this.physical('chunks', layout.live.name));
      await this.setAlias(this.prevDocAlias, this.physical('docs', layout.live.name));
    }
    // The document alias first (writers never use it: they find the document collection from the
    // chunk collection's name), then the switch: one alterAlias of the chunk alias moves every
    // query at once, and is what `layout()` reads as live. Stopped before the switch, a re-run
    // promotes again (each step is idempotent); after it, only the `next` aliases are left, and
    // `layout()` already reads the swap as done.
    await this.setAlias(this.docAlias, this.physical('docs', to));
    await this.setAlias(this.chunkAlias, this.physical('chunks', to));
    await this.dropAlias(this.nextAlias);
    await this.dropAlias(this.nextDocAlias);
  }

  async abortPending(): Promise<void> {
    const layout = await this.layout();
    if (!layout.pending) return;
    await this.dropAlias(this.nextAlias);
    await this.dropAlias(this.nextDocAlias);
    if (layout.pending.name !== layout.previous?.name) await this.dropCollection(layout.pending.name);
  }

  async dropCollection(name: string): Promise<void> {
    const layout = await this.layout();
    if (name === layout.live?.name || name === layout.pending?.name) {
      throw new RagsyncError('USAGE', `${this.location}: collection ${name} is ${name === layout.live?.name ? 'live' : 'pending'} and cannot be dropped`, { stage: 'sink' });
    }
    if (name === layout.previous?.name) {
      await this.dropAlias(this.prevAlias);
      await this.dropAlias(this.prevDocAlias);
    }
    for (const kind of ['chunks', 'docs'] as const) {
      const collection = this.physical(kind, name);
      const has = await this.call('look up the collection', (c) => c.hasCollection({ collection_name: collection }));
      if (has.value) await this.call('drop a collection', (c) => c.dropCollection({ collection_name: collection }));
    }
  }

  async acquireLease(waitMs?: number): Promise<Lease> {
    await this.connect();
    return acquireLease(this.leaseBackend(), `a re-embed of ${this.location}`, waitMs);
  }

  /** The lease record: a marker collection, created atomically, the heartbeat in its properties. */
  private leaseBackend(): LeaseBackend {
    const collection = `${this.opts.collection}_reembed_lease`;
    const read = async (): Promise<LeaseRecord | null> => {
      const has = await this.call('look up the lease', (c) => c.hasCollection({ collection_name: collection }));
      if (!has.value) return null;
      const desc = await this.client!.describeCollection({ collection_name: collection });
      const prop = desc.properties?.find((p) => p.key === LEASE_PROPERTY);
      if (!isSuccess(desc.status) || !prop) return { owner: { id: '', host: '', pid: 0, startedAt: '' }, heartbeatAt: 0 };
      return JSON.parse(String(prop.value)) as LeaseRecord;
    };
    return {
      tryCreate: async (record) => {
        // (A server answers a second create with differing properties with an error of its own
        // wording: look first, and count any failure with the collection present as "held".)
        if (await this.exists(collection)) return false;
        try {
          await this.client!.createCollection({
            collection_name: collection,
            fields: [
              { name: 'id', data_type: sdk.DataType.VarChar, max_length: 8, is_primary_key: true },
              { name: 'unused_vector', data_type: sdk.DataType.FloatVector, dim: 2 },
            ],
            properties: { [LEASE_PROPERTY]: JSON.stringify(record) },
          });
          return true;
        } catch (err) {
          if (/already exist|duplicate/i.test(errorMessage(err)) || (await this.exists(collection))) return false;
          throw sinkError('create the lease', this.opts.address, err);
        }
      },
      read,
      heartbeat: async (record) => {
        await this.call('renew the lease', (c) => c.alterCollectionProperties({ collection_name: collection, properties: { [LEASE_PROPERTY]: JSON.stringify(record) } }));
      },
      remove: async () => {
        await this.call('remove the lease', (c) => c.dropCollection({ collection_name: collection }));
      },
    };
  }

  private get nextAlias(): string {
    return `${this.opts.collection}_chunks_next`;
  }

  private get nextDocAlias(): string {
    return `${this.opts.collection}_docs_next`;
  }

  private get prevAlias(): string {
    return `${this.opts.collection}_chunks_prev`;
  }

  private get prevDocAlias(): string {
    return `${this.opts.collection}_docs_prev`;
  }

  private physical(kind: 'chunks' | 'docs', name: string): string {
    return `${this.opts.collection}_${kind}_${name}`;
  }

  /** Points this sink at the collection pair `name`. */
  private async use(name: string, fingerprint: Fingerprint): Promise<void> {
    this.chunks = this.physical('chunks', name);
    this.docs = this.physical('docs', name);
    this.dim = fingerprint.dim;
    await this.loadAndProbe();
  }

  /**
   * Creates the collection pair `name` with its indexes, completing whatever an earlier attempt
   * that stopped half-way left out (the SDK creates a collection, then its indexes).
   */
  private async createPair(name: string, fingerprint: Fingerprint, embedder: Record<string, unknown> | null): Promise<void> {
    const chunks = this.physical('chunks', name);
    const docs = this.physical('docs', name);
    if (!(await this.exists(chunks))) await this.createChunks(chunks, fingerprint, embedder);
    else await this.ensureIndexes(chunks, [...CHUNK_INDEXES]);
    if (!(await this.exists(docs))) await this.createDocs(docs);
    else await this.ensureIndexes(docs, [...DOC_INDEXES]);
  }

  private async exists(collection: string): Promise<boolean> {
    return Boolean((await this.call('look up a collection', (c) => c.hasCollection({ collection_name: collection }))).value);
  }

  private async ensureIndexes(collection: string, indexes: Array<{ field_name: string; index_type: string; metric_type: string }>): Promise<void> {
    const client = await this.connect();
    const res = await client.describeIndex({ collection_name: collection });
    const have = new Set(isSuccess(res.status) ? res.index_descriptions.map((d) => d.field_name) : []);
    for (const index of indexes) {
      if (!have.has(index.field_name)) await this.call('create an index', (c) => c.createIndex({ collection_name: collection, ...index }));
    }
  }

  /** The fingerprint and embedder recorded on a physical chunk collection. */
  private async describe(physical: string): Promise<CollectionInfo> {
    const desc = await this.call('describe the collection', (c) => c.describeCollection({ collection_name: physical }));
    const prop = desc.properties.find((p) => p.key === FP_PROPERTY);
    if (!prop) {
      throw new RagsyncError('SINK', `${this.location}: collection ${desc.schema.name} has no ${FP_PROPERTY} property: it was not made by ragsync`, { stage: 'sink' });
    }
    const emb = desc.properties.find((p) => p.key === EMBEDDER_PROPERTY);
    return {
      name: desc.schema.name.slice(`${this.opts.collection}_chunks_`.length),
      fingerprint: JSON.parse(String(prop.value)) as Fingerprint,
      embedder: emb ? (JSON.parse(String(emb.value)) as Record<string, unknown>) : null,
    };
  }

  /** The collection an alias points at; null when there is no such alias. */
  private async aliasTarget(alias: string): Promise<string | null> {
    const client = await this.connect();
    let res: Awaited<ReturnType<MilvusClient['describeAlias']>>;
    try {
      // (The SDK's request validation wants a collection name even here.)
      res = await client.describeAlias({ alias, collection_name: alias });
    } catch (err) {
      throw sinkError('describe an alias', this.opts.address, err);
    }
    if (isSuccess(res.status)) return res.collection || null;
    if (/does not exist|not found/i.test(res.status.reason)) return null;
    throw sinkError('describe an alias', this.opts.address, new Error(res.status.reason));
  }

  private async setAlias(alias: string, collection: string): Promise<void> {
    const current = await this.aliasTarget(alias);
    if (current === collection) return;
    if (current) await this.call('move an alias', (c) => c.alterAlias({ alias, collection_name: collection }));
    else await this.call('create an alias', (c) => c.createAlias({ alias, collection_name: collection }));
  }

  private async dropAlias(alias: string): Promise<void> {
    if (await this.aliasTarget(alias)) await this.call('drop an alias', (c) => c.dropAlias({ alias }));
  }

  upsert(rows: ChunkRow[]): Promise<void> {
    return this.rowWrites.add(rows);
  }

  private async writeRows(rows: ChunkRow[]): Promise<void> {
    checkDims(rows, this.dim);
    const latest = [...new Map(rows.map((r) => [r.id, r])).values()];
    for (const batch of sizedBatches(latest, rowBytes, WRITE_BATCH_BYTES)) {
      await this.call('upsert rows', (c) => c.upsert({ collection_name: this.chunks, data: batch.map(toMilvusRow) }));
    }
    await this.flushLite(latest.length);
  }

  /** On Milvus Lite, flushes after every `LITE_FLUSH_ROWS` rows written (measured: 480 ms queries at 14 000 unflushed rows, 43 ms flushed). */
  private async flushLite(rows: number): Promise<void> {
    this.unflushed += rows;
    if (!this.lite || this.unflushed < LITE_FLUSH_ROWS) return;
    this.unflushed = 0;
    await this.call('flush', (c) => c.flush({ collection_names: [this.chunks, this.docs] }));
  }

  async deleteIds(ids: string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += IN_BATCH) {
      const f = filter('id in {ids}', { ids: ids.slice(i, i + IN_BATCH) });
      await this.call('delete rows', (c) => c.delete({ collection_name: this.chunks, ...render(f, this.templates) }));
    }
  }

  async deleteDoc(docId: string): Promise<void> {
    const f = filter('doc_id == {doc}', { doc: docId });
    await this.call('delete a document', (c) => c.delete({ collection_name: this.chunks, ...render(f, this.templates) }));
    await this.call('delete a document record', (c) => c.delete({ collection_name: this.docs, ...render(f, this.templates) }));
  }

  async listDocChunks(docId: string): Promise<Array<{ id: string; hash: string }>> {
    const [rows] = await this.docChunks.load([docId]);
    return [...rows!];
  }

  private async fetchDocChunks(docIds: string[]): Promise<Map<string, Array<{ id: string; hash: string }>>> {
    const out = new Map<string, Array<{ id: string; hash: string }>>();
    for (let i = 0; i < docIds.length; i += IN_BATCH) {
      const f = filter('doc_id in {docs}', { docs: docIds.slice(i, i + IN_BATCH) });
      addChunksByDoc(out, await this.queryAll(this.chunks, f, ['id', 'hash', 'doc_id']));
    }
    return out;
  }

  findVectorsByHash(hashes: string[]): Promise<Map<string, number[]>> {
    return this.vectors.loadFound(hashes);
  }

  private async fetchVectors(hashes: string[]): Promise<Map<string, number[]>> {
    const found = new Map<string, number[]>();
    for (let i = 0; i < hashes.length; i += IN_BATCH) {
      const f = filter('hash in {hashes}', { hashes: hashes.slice(i, i + IN_BATCH) });
      const res = await this.call('find vectors', (c) =>
        c.query({ collection_name: this.chunks, ...render(f, this.templates), output_fields: ['hash', 'vector'], limit: QUERY_LIMIT, consistency_level: STRONG }),
      );
      for (const r of res.data) if (!found.has(String(r.hash))) found.set(String(r.hash), (r.vector as number[]).map(Number));
    }
    return found;
  }

  async countChunks(source: string): Promise<number> {
    // A filtered count(*) scans and materialises every matching row (Milvus Lite: ~300 ms for
    // 6 000 rows), an unfiltered one reads statistics (~10 ms), and a filtered query with limit 1
    // stops early: when no row belongs to another source, the total is the answer.
    const [total, others] = await Promise.all([
      this.count(this.chunks, filter('')),
      this.call('look for other sources', (c) =>
        c.query({ collection_name: this.chunks, ...render(filter('source != {source}', { source }), this.templates), output_fields: ['id'], limit: 1, consistency_level: STRONG }),
      ),
    ]);
    return others.data.length === 0 ? total : this.count(this.chunks, filter('source == {source}', { source }));
  }

  async countRowsByDoc(source: string): Promise<Map<string, number>> {
    const rows = await this.queryAll(this.chunks, filter('source == {source}', { source }), ['doc_id']);
    const out = new Map<string, number>();
    for (const r of rows) out.set(String(r.doc_id), (out.get(String(r.doc_id)) ?? 0) + 1);
    return out;
  }

  async getDocRecord(docId: string): Promise<DocRecord | null> {
    const [record] = await this.records.load([docId]);
    return record ?? null;
  }

  private async fetchRecords(docIds: string[]): Promise<Map<string, DocRecord>> {
    const out = new Map<string, DocRecord>();
    for (let i = 0; i < docIds.length; i += IN_BATCH) {
      const f = filter('doc_id in {docs}', { docs: docIds.slice(i, i + IN_BATCH) });
      const res = await this.call('read document records', (c) =>
        c.query({ collection_name: this.docs, ...render(f, this.templates), output_fields: DOC_FIELDS, limit: QUERY_LIMIT, consistency_level: STRONG }),
      );
      for (const r of res.data) out.set(String(r.doc_id), rowToRecord(r));
    }
    return out;
  }

  async listDocRecords(source: string): Promise<Map<string, DocRecord>> {
    const rows = await this.queryAll(this.docs, filter('source == {source}', { source }), DOC_FIELDS);
    return new Map(rows.map((r) => [String(r.doc_id), rowToRecord(r)]));
  }

  putDocRecord(record: DocRecord): Promise<void> {
    return this.recordWrites.add([record]);
  }

  async commitDocument(change: DocChange): Promise<void> {
    // Rows and records have writers of their own, each batching across documents already.
    await this.upsert(change.rows);
    await this.deleteIds(change.staleIds);
    await this.putDocRecord(change.record);
  }

  private async writeRecords(records: DocRecord[]): Promise<void> {
    const latest = [...new Map(records.map((r) => [r.docId, r])).values()];
    for (let i = 0; i < latest.length; i += 1000) {
      const data = latest.slice(i, i + 1000).map((r) => ({ ...recordToRow(r), bucket: bucketOf(r.docId), unused_vector: [0, 0] }) as RowData);
      await this.call('write document records', (c) => c.upsert({ collection_name: this.docs, data }));
    }
    await this.flushLite(latest.length);
  }

  async search(q: SearchQuery): Promise<SearchHit[]> {
    const where = searchFilter(q.filter);
    const common = { collection_name: this.chunkAlias, output_fields: HIT_FIELDS, limit: q.k, ...(where.template ? render(where, this.templates) : {}) };
    const wide = Math.max(q.k * 4, 20);
    // Sub-requests of a hybrid search take the filter as `expr`.
    const rendered = where.template ? render(where, this.templates) : undefined;
    const sub = rendered ? { expr: rendered.filter, ...(rendered.exprValues ? { exprValues: rendered.exprValues } : {}) } : {};
    // The SDK's request types cannot express a text query for a BM25 field; the wire format can.
    const res = await this.call('search', (c): Promise<{ results: unknown[]; status: Status }> => {
      if (q.mode === 'dense') return c.search({ ...common, data: [q.vector!], anns_field: 'vector', metric_type: 'COSINE' });
      if (q.mode === 'keyword') return c.search({ ...common, data: [q.text ?? ''] as never, anns_field: 'sparse', metric_type: 'BM25' });
      return c.hybridSearch({
        collection_name: this.chunkAlias,
        output_fields: HIT_FIELDS,
        limit: q.k,
        data: [
          { data: [q.vector!], anns_field: 'vector', params: { metric_type: 'COSINE' }, limit: wide, ...sub },
          { data: [q.text ?? ''], anns_field: 'sparse', params: { metric_type: 'BM25' }, limit: wide, ...sub },
        ] as never,
        rerank: { strategy: 'rrf', params: { k: 60 } },
      });
    });
    const hits = (res.results as Array<Record<string, unknown>>).flat() as Array<Record<string, unknown>>;
    return hits.map((h) => ({
      id: String(h.id),
      docId: String(h.doc_id),
      path: String(h.path),
      section: String(h.section),
      modality: h.modality === 'image' ? 'image' : 'text',
      text: String(h.text),
      score: q.mode === 'keyword' ? Math.abs(Number(h.score)) : Number(h.score),
    }));
  }

  async stats(): Promise<{ docs: number; chunks: number }> {
    return { chunks: await this.count(this.chunks, filter('')), docs: await this.count(this.docs, filter('')) };
  }

  private async count(collection: string, f: MilvusFilter): Promise<number> {
    const res = await this.call('count rows', (c) =>
      c.query({ collection_name: collection, ...render(f, this.templates), output_fields: ['count(*)'], consistency_level: STRONG }),
    );
    return Number(res.data[0]?.['count(*)'] ?? 0);
  }

  async optimize(): Promise<void> {
    await this.call('flush', (c) => c.flush({ collection_names: [this.chunks, this.docs] }));
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.closeConnection().catch(() => undefined);
  }

  private async connect(): Promise<MilvusClient> {
    if (this.client) return this.client;
    const o = this.opts;
    sdk ??= await import('@zilliz/milvus2-sdk-node');
    const client = new sdk.MilvusClient({
      address: o.address,
      token: o.token,
      username: o.username,
      password: o.password,
      database: o.database,
      ssl: o.ssl ?? Boolean(o.caPath),
      tls: o.caPath ? { rootCertPath: o.caPath } : undefined,
      timeout: o.timeoutMs,
      maxRetries: 2,
      logLevel: 'error',
    });
    this.client = client;
    await this.call('connect', () => client.checkHealth());
    const version = await this.call('read the server version', () => client.getVersion());
    this.lite = String(version.version).startsWith('milvus_lite');
    return client;
  }

  /** Loads both collections and finds out whether the server takes filter templates. */
  private async loadAndProbe(): Promise<void> {
    await this.call('load the collection', (c) => c.loadCollection({ collection_name: this.chunks }));
    await this.call('load the document collection', (c) => c.loadCollection({ collection_name: this.docs }));
    const res = await this.client!.query({
      collection_name: this.docs,
      filter: 'doc_id == {probe}',
      exprValues: { probe: '' },
      output_fields: ['doc_id'],
      limit: 1,
    });
    this.templates = isSuccess(res.status);
  }

  private async createChunks(name: string, fp: Fingerprint, embedder: Record<string, unknown> | null): Promise<void> {
    const str = (field: string, max: number, extra: Record<string, unknown> = {}) => ({ name: field, data_type: sdk.DataType.VarChar, max_length: max, ...extra });
    await this.call('create the chunk collection', (c) =>
      c.createCollection({
        collection_name: name,
        fields: [
          str('id', MAX_CHUNK_ID_BYTES, { is_primary_key: true }),
          str('doc_id', MAX_DOC_ID_BYTES),
          str('source', 64, this.opts.partitionKey ? { is_partition_key: true } : {}),
          str('path', PATH_MAX),
          str('section', SECTION_MAX),
          { name: 'chunk_index', data_type: sdk.DataType.Int32 },
          str('modality', 16),
          str('hash', 64),
          str('text', TEXT_MAX, { enable_analyzer: true, analyzer_params: { type: 'standard' } }),
          str('metadata', TEXT_MAX),
          { name: 'updated_at', data_type: sdk.DataType.Int64 },
          { name: 'bucket', data_type: sdk.DataType.Int64 },
          { name: 'vector', data_type: sdk.DataType.FloatVector, dim: fp.dim },
          { name: 'sparse', data_type: sdk.DataType.SparseFloatVector },
        ],
        functions: [{ name: 'text_bm25', type: sdk.FunctionType.BM25, input_field_names: ['text'], output_field_names: ['sparse'], params: {} }],
        index_params: [...CHUNK_INDEXES],
        ...(this.opts.partitionKey ? { num_partitions: 16 } : {}),
        properties: { [FP_PROPERTY]: JSON.stringify(fp), ...(embedder ? { [EMBEDDER_PROPERTY]: JSON.stringify(embedder) } : {}) },
      }),
    );
  }

  private async createDocs(name: string): Promise<void> {
    const str = (field: string, max: number, extra: Record<string, unknown> = {}) => ({ name: field, data_type: sdk.DataType.VarChar, max_length: max, ...extra });
    const num = (field: string) => ({ name: field, data_type: sdk.DataType.Double });
    await this.call('create the document collection', (c) =>
      c.createCollection({
        collection_name: name,
        fields: [
          str('doc_id', MAX_DOC_ID_BYTES, { is_primary_key: true }),
          str('source', 64),
          str('path', 4096),
          num('size'),
          num('mtime_ms'),
          str('file_hash', 64),
          str('meta_hash', 64),
          num('chunk_count'),
          str('chunking', 256),
          str('fingerprint', 1024),
          num('updated_at'),
          { name: 'bucket', data_type: sdk.DataType.Int64 },
          // Milvus needs a vector field in every collection; records are never searched by it.
          { name: 'unused_vector', data_type: sdk.DataType.FloatVector, dim: 2 },
        ],
        index_params: [...DOC_INDEXES],
      }),
    );
  }

  /**
   * All rows matching a filter. One query when they fit in a query's limit; else the `bucket`
   * range (48 bits of the sha-256 of the row's key, uniform and distinct per row) is halved until
   * every part fits. (Milvus Lite's query iterator repeats and skips rows, so it is not used.)
   */
  private async queryAll(
    collection: string,
    f: MilvusFilter,
    fields: string[],
    lo = 0,
    hi = BUCKETS,
  ): Promise<Array<Record<string, unknown>>> {
    const range = filter('bucket >= {lo} and bucket < {hi}', { lo, hi });
    const part = lo === 0 && hi === BUCKETS ? f : and(f.template ? [f, range] : [range]);
    const limit = this.opts.queryLimit ?? QUERY_LIMIT;
    const res = await this.call('query', (c) =>
      c.query({ collection_name: collection, ...render(part, this.templates), output_fields: fields, limit, consistency_level: STRONG }),
    );
    if (res.data.length < limit) return res.data;
    if (hi - lo <= 1) throw new RagsyncError('SINK', `Milvus: more than ${limit} rows in bucket ${lo}`, { stage: 'sink' });
    const mid = Math.floor((lo + hi) / 2);
    return [...(await this.queryAll(collection, f, fields, lo, mid)), ...(await this.queryAll(collection, f, fields, mid, hi))];
  }

  /** Runs an SDK call; a thrown error or a failed status becomes a retryable sink error. */
  private async call<T>(what: string, fn: (c: MilvusClient) => Promise<T>): Promise<T> {
    let res: T;
    try {
      res = await fn(this.client ?? (await this.connect()));
    } catch (err) {
      throw sinkError(what, this.opts.address, err);
    }
    const r = res as { status?: Status } & Status;
    const status: Status = r.status ?? r;
    if (!isSuccess(status)) throw sinkError(what, this.opts.address, new Error(status.reason || `error ${String(status.error_code)}`));
    return res;
  }
}

const DOC_FIELDS = ['doc_id', 'source', 'path', 'size', 'mtime_ms', 'file_hash', 'meta_hash', 'chunk_count', 'chunking', 'fingerprint', 'updated_at'];

function isSuccess(status: Status | undefined): boolean {
  if (!status) return true;
  if (status.error_code === undefined && status.code === undefined) return true;
  return status.error_code === 'Success' || status.error_code === 0 || (status.error_code === undefined && status.code === 0);
}

function sinkError(what: string, address: string, err: unknown): RagsyncError {
  if (err instanceof RagsyncError) return err;
  const msg = errorMessage(err).replace(/(token|password)=\S+/gi, '$1=[redacted]');
  const unreachable = /UNAVAILABLE|ECONNREFUSED|No connection established|DEADLINE_EXCEEDED/i.test(msg);
  const text = unreachable ? `cannot reach Milvus at ${address} (${what}): ${msg}` : `Milvus: cannot ${what}: ${msg}`;
  return new RagsyncError('SINK', text, { stage: 'sink', retryable: true, cause: err });
}

function searchFilter(f: SearchFilter | undefined): MilvusFilter {
  const parts: MilvusFilter[] = [];
  if (f?.source !== undefined) parts.push(filter('source == {v}', { v: f.source }));
  if (f?.modality !== undefined) parts.push(filter('modality == {v}', { v: f.modality }));
  if (f?.docId !== undefined) parts.push(filter('doc_id == {v}', { v: f.docId }));
  if (f?.path !== undefined) parts.push(filter('path == {v}', { v: f.path }));
  return and(parts);
}

/** About how many bytes a row takes in an upsert request. */
function rowBytes(r: ChunkRow): number {
  return r.vector.length * 4 + Buffer.byteLength(r.text) + Buffer.byteLength(r.metadata) + 1024;
}

function toMilvusRow(r: ChunkRow): RowData {
  return {
    id: r.id,
    doc_id: r.docId,
    source: r.source,
    path: r.path,
    section: boundId(r.section, SECTION_MAX),
    chunk_index: r.chunkIndex,
    modality: r.modality,
    hash: r.hash,
    text: truncateUtf8(r.text, TEXT_MAX),
    metadata: truncateUtf8(r.metadata, TEXT_MAX),
    updated_at: r.updatedAt,
    bucket: bucketOf(r.id),
    vector: r.vector,
  };
}



/** Cuts a string to at most `max` UTF-8 bytes on a character boundary. */
function truncateUtf8(s: string, max: number): string {
  if (Buffer.byteLength(s) <= max) return s;
  let out = '';
  let bytes = 0;
  for (const ch of s) {
    const b = Buffer.byteLength(ch);
    if (bytes + b > max) break;
    out += ch;
    bytes += b;
  }
  return out;
}
