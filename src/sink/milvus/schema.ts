/**
 * The physical collections of a Milvus store: `<prefix>_chunks_<name>` (the rows, a dense and a
 * BM25 sparse vector) and `<prefix>_docs_<name>` (one record per document), with the embedder's
 * fingerprint and descriptor in the chunk collection's properties.
 */
import { RagsyncError, errorMessage } from '../../core/errors.js';
import type { CollectionInfo, Fingerprint } from '../../core/types.js';
import { MAX_CHUNK_ID_BYTES, MAX_DOC_ID_BYTES } from '../../ids/index.js';
import { type MilvusConnection, isSuccess, sdk } from './client.js';

const FP_PROPERTY = 'ragsync.fingerprint';
const EMBEDDER_PROPERTY = 'ragsync.embedder';
export const TEXT_MAX = 65_535;
export const SECTION_MAX = 1024;
const PATH_MAX = 4096;
type IndexSpec = { field_name: string; index_type: string; metric_type?: string };

/**
 * A scalar index on a field the per-document reads filter on (INVERTED: the kind Milvus
 * recommends for VARCHAR, and the one kind Milvus Lite builds). Without it Milvus scans the
 * whole collection for every such read (Milvus Lite gathers every row per query either way: see
 * docs/milvus.md); the primary keys (`id`, the records' `doc_id`, the cache's `key`) are indexed
 * by the server already.
 */
const scalar = (field: string): IndexSpec => ({ field_name: field, index_type: 'INVERTED' });
/** `doc_id`: a document's rows; `source`: counts, listings and removal of a source; `key`: vectors to reuse. */
const CHUNK_INDEXES: IndexSpec[] = [
  { field_name: 'vector', index_type: 'AUTOINDEX', metric_type: 'COSINE' },
  { field_name: 'sparse', index_type: 'SPARSE_INVERTED_INDEX', metric_type: 'BM25' },
  ...['doc_id', 'source', 'key'].map(scalar),
];
/** `source`: a source's records (the no-op pass reads them all) and their count. */
const DOC_INDEXES: IndexSpec[] = [{ field_name: 'unused_vector', index_type: 'AUTOINDEX', metric_type: 'L2' }, scalar('source')];
const VECTOR_INDEXES: IndexSpec[] = [{ field_name: 'vector', index_type: 'AUTOINDEX', metric_type: 'COSINE' }];

/** Physical collection names of a store prefix. */
export function physical(prefix: string, kind: 'chunks' | 'docs' | 'vectors', name: string): string {
  return `${prefix}_${kind}_${name}`;
}

/**
 * Creates the collection pair `name` with its indexes, completing whatever an earlier attempt
 * that stopped half-way left out (the SDK creates a collection, then its indexes); records the
 * embedder on an existing one.
 */
export async function createPair(
  conn: MilvusConnection,
  name: string,
  fp: Fingerprint,
  embedder: Record<string, unknown> | null,
): Promise<void> {
  const prefix = conn.opts.collection;
  const chunks = physical(prefix, 'chunks', name);
  const docs = physical(prefix, 'docs', name);
  if (!(await created(conn, chunks, () => createChunks(conn, chunks, fp, embedder)))) {
    await ensureIndexes(conn, chunks, CHUNK_INDEXES, await chunkFields(conn, chunks));
    if (embedder) {
      const properties = { [EMBEDDER_PROPERTY]: JSON.stringify(embedder) };
      await conn.call('record the embedder', (c) => c.alterCollectionProperties({ collection_name: chunks, properties }));
    }
  }
  if (!(await created(conn, docs, () => createDocs(conn, docs)))) await ensureIndexes(conn, docs, DOC_INDEXES);
  await ensureVectorCache(conn, name, fp.dim);
}

/**
 * Creates the vector cache collection of pair `name` (`<prefix>_vectors_<name>`: vectors of
 * deleted or rewritten rows by key) unless it exists; a pair an older build made gets it on open.
 */
export async function ensureVectorCache(conn: MilvusConnection, name: string, dim: number): Promise<void> {
  const collection = physical(conn.opts.collection, 'vectors', name);
  const create = () =>
    conn
      .call('create the vector cache', (c) =>
        c.createCollection({
          collection_name: collection,
          fields: [
            str('key', 64, { is_primary_key: true }),
            { name: 'retired_at', data_type: sdk.DataType.Double },
            { name: 'bucket', data_type: sdk.DataType.Int64 },
            { name: 'vector', data_type: sdk.DataType.FloatVector, dim },
          ],
          index_params: copies(VECTOR_INDEXES),
        }),
      )
      .then(() => undefined);
  if (!(await created(conn, collection, create))) await ensureIndexes(conn, collection, VECTOR_INDEXES);
}

/** The fields of a chunk collection (one an older build made lacks the location and key fields). */
export async function chunkFields(conn: MilvusConnection, collection: string): Promise<Set<string>> {
  const desc = await conn.call('describe the collection', (c) => c.describeCollection({ collection_name: collection }));
  return new Set(desc.schema.fields.map((f) => f.name));
}

/**
 * Creates a collection unless it exists; false when it existed, also when another writer created
 * it between the check and the create (two first runs at once: the server refuses the second).
 */
async function created(conn: MilvusConnection, collection: string, create: () => Promise<void>): Promise<boolean> {
  if (await conn.exists(collection)) return false;
  try {
    await create();
    return true;
  } catch (err) {
    if (await conn.exists(collection).catch(() => false)) return false;
    throw err;
  }
}

/** The fingerprint and embedder recorded on a physical chunk collection. */
export async function describeCollection(conn: MilvusConnection, physicalName: string): Promise<CollectionInfo> {
  const desc = await conn.call('describe the collection', (c) => c.describeCollection({ collection_name: physicalName }));
  const prop = desc.properties.find((p) => p.key === FP_PROPERTY);
  if (!prop) {
    throw new RagsyncError(
      'SINK',
      `${conn.location}: collection ${desc.schema.name} has no ${FP_PROPERTY} property: it was not made by ragsync`,
      { stage: 'sink' },
    );
  }
  const emb = desc.properties.find((p) => p.key === EMBEDDER_PROPERTY);
  return {
    name: desc.schema.name.slice(`${conn.opts.collection}_chunks_`.length),
    fingerprint: JSON.parse(String(prop.value)) as Fingerprint,
    embedder: emb ? (JSON.parse(String(emb.value)) as Record<string, unknown>) : null,
  };
}

/**
 * Adds the scalar indexes a collection pair an older build made lacks (only on fields it has: an
 * older chunk collection has no `key`). Safe on a loaded collection: Milvus builds the index in
 * the background and its query nodes load it once built (filters scan until then); Milvus Lite
 * builds it for its flushed segments within the call.
 */
export async function ensureScalarIndexes(conn: MilvusConnection, name: string, chunkFields: ReadonlySet<string>): Promise<void> {
  const prefix = conn.opts.collection;
  await Promise.all([
    ensureIndexes(conn, physical(prefix, 'chunks', name), CHUNK_INDEXES, chunkFields),
    ensureIndexes(conn, physical(prefix, 'docs', name), DOC_INDEXES),
  ]);
}

/** Fresh index specs for `createCollection`, which writes the collection's name into each one it is given. */
const copies = (indexes: IndexSpec[]): IndexSpec[] => indexes.map((i) => ({ ...i }));

/** Creates the indexes of `indexes` a collection lacks (on fields in `fields`, when given). */
async function ensureIndexes(
  conn: MilvusConnection,
  collection: string,
  indexes: IndexSpec[],
  fields?: ReadonlySet<string>,
): Promise<void> {
  const client = await conn.connect();
  const res = await client.describeIndex({ collection_name: collection });
  const have = new Set(isSuccess(res.status) ? res.index_descriptions.map((d) => d.field_name) : []);
  for (const index of indexes) {
    if (have.has(index.field_name) || (fields && !fields.has(index.field_name))) continue;
    // Another writer creating the same collection at the same moment may make it first: it serves.
    await conn
      .call('create an index', (c) => c.createIndex({ collection_name: collection, ...index }))
      .catch((err: unknown) => {
        if (!/already exist/i.test(errorMessage(err))) throw err;
      });
  }
}

const str = (field: string, max: number, extra: Record<string, unknown> = {}) => ({
  name: field,
  data_type: sdk.DataType.VarChar,
  max_length: max,
  ...extra,
});

async function createChunks(
  conn: MilvusConnection,
  name: string,
  fp: Fingerprint,
  embedder: Record<string, unknown> | null,
): Promise<void> {
  const partitionKey = conn.opts.partitionKey;
  const properties = { [FP_PROPERTY]: JSON.stringify(fp), ...(embedder ? { [EMBEDDER_PROPERTY]: JSON.stringify(embedder) } : {}) };
  const bm25 = { name: 'text_bm25', type: sdk.FunctionType.BM25, input_field_names: ['text'], output_field_names: ['sparse'], params: {} };
  await conn.call('create the chunk collection', (c) =>
    c.createCollection({
      collection_name: name,
      fields: [
        str('id', MAX_CHUNK_ID_BYTES, { is_primary_key: true }),
        str('doc_id', MAX_DOC_ID_BYTES),
        str('source', 64, partitionKey ? { is_partition_key: true } : {}),
        str('path', PATH_MAX),
        str('section', SECTION_MAX),
        { name: 'chunk_index', data_type: sdk.DataType.Int32 },
        str('modality', 16),
        str('hash', 64),
        str('key', 64),
        str('heading', SECTION_MAX),
        { name: 'line_start', data_type: sdk.DataType.Int32 },
        { name: 'line_end', data_type: sdk.DataType.Int32 },
        { name: 'page', data_type: sdk.DataType.Int32 },
        str('text', TEXT_MAX, { enable_analyzer: true, analyzer_params: { type: 'standard' } }),
        str('metadata', TEXT_MAX),
        { name: 'updated_at', data_type: sdk.DataType.Int64 },
        { name: 'bucket', data_type: sdk.DataType.Int64 },
        { name: 'vector', data_type: sdk.DataType.FloatVector, dim: fp.dim },
        { name: 'sparse', data_type: sdk.DataType.SparseFloatVector },
      ],
      functions: [bm25],
      index_params: copies(CHUNK_INDEXES),
      ...(partitionKey ? { num_partitions: 16 } : {}),
      properties,
    }),
  );
}

async function createDocs(conn: MilvusConnection, name: string): Promise<void> {
  const num = (field: string) => ({ name: field, data_type: sdk.DataType.Double });
  await conn.call('create the document collection', (c) =>
    c.createCollection({
      collection_name: name,
      fields: [
        str('doc_id', MAX_DOC_ID_BYTES, { is_primary_key: true }),
        str('source', 64),
        str('path', PATH_MAX),
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
      index_params: copies(DOC_INDEXES),
    }),
  );
}
