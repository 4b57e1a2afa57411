/** The table pair of a LanceDB collection: schemas, indexes, creation, and the row mapping. */
import { createRequire } from 'node:module';
import * as lancedb from '@lancedb/lancedb';
import type * as Arrow from 'apache-arrow';
import { RagsyncError, errorMessage } from '../../core/errors.js';
import { retryCommitConflicts } from './retry.js';
import type { ChunkRow } from '../../core/types.js';
import { locationColumns } from '../records.js';

// LanceDB (CommonJS) loads Arrow's CommonJS build: an ESM import here would load Arrow's ESM build
// as a second copy (134 more modules: about 100 ms and 15 MB of every command's start-up).
const { Field, FixedSizeList, Float32, Float64, Int32, Schema, Utf8 } = createRequire(import.meta.url)('apache-arrow') as typeof Arrow;
type Schema = Arrow.Schema;

export const chunkTable = (name: string) => `chunks_${name}`;
export const docTable = (name: string) => `docs_${name}`;
export const vectorTable = (name: string) => `vectors_${name}`;

/**
 * Columns a chunk table made before they existed gets, with their value for the rows it holds:
 * a text row's key is computed from its text as `embedKey` computes it (`ids/`), so the vectors
 * of an older store are found after an upgrade. An image row's cannot be (its bytes are not
 * stored; lance's SQL has no CASE, so it gets the hash of its caption, which no image's key
 * equals): it is embedded once again when its document changes.
 */
const ADDED_CHUNK_COLUMNS = [
  { name: 'key', valueSql: "encode(sha256(concat(modality, chr(0), text)), 'hex')" },
  { name: 'heading', valueSql: "''" },
  { name: 'line_start', valueSql: 'CAST(0 AS INT)' },
  { name: 'line_end', valueSql: 'CAST(0 AS INT)' },
  { name: 'page', valueSql: 'CAST(0 AS INT)' },
];

/**
 * Creates the tables of collection `name` (chunks, document records, cached vectors) and their
 * indexes, completing whatever an earlier attempt that stopped half-way left out (a table without
 * its full-text index cannot serve keyword search) and adding the columns an older build's chunk
 * table lacks (`ADDED_CHUNK_COLUMNS`). Runs inside the store's write lock.
 */
export async function createTables(db: lancedb.Connection, name: string, dim: number): Promise<void> {
  const existing = new Set(await db.tableNames());
  const chunkIndexes: Array<[string, lancedb.Index]> = [
    ['text', lancedb.Index.fts()],
    ['id', lancedb.Index.btree()],
    ['doc_id', lancedb.Index.btree()],
    ['hash', lancedb.Index.btree()],
    ['key', lancedb.Index.btree()],
  ];
  const want: Array<[string, () => Schema, Array<[string, lancedb.Index]>]> = [
    [chunkTable(name), () => chunkSchema(dim), chunkIndexes],
    [docTable(name), docSchema, [['doc_id', lancedb.Index.btree()]]],
    [vectorTable(name), () => vectorSchema(dim), [['key', lancedb.Index.btree()]]],
  ];
  for (const [table, schema, indexes] of want) {
    const t = existing.has(table) ? await db.openTable(table) : await db.createEmptyTable(table, schema());
    try {
      const columns = new Set((await t.schema()).fields.map((f) => f.name));
      const missing = table === chunkTable(name) ? ADDED_CHUNK_COLUMNS.filter((c) => !columns.has(c.name)) : [];
      if (missing.length > 0) await retryCommitConflicts(() => t.addColumns(missing));
      const have = new Set((await t.listIndices()).flatMap((i) => i.columns));
      for (const [column, config] of indexes) if (!have.has(column)) await retryCommitConflicts(() => t.createIndex(column, { config }));
    } finally {
      t.close();
    }
  }
}

/** True when collection `name` has every table and column this build writes (else `createTables` completes it). */
export async function tablesComplete(db: lancedb.Connection, name: string): Promise<boolean> {
  if (!(await db.tableNames()).includes(vectorTable(name))) return false;
  const t = await db.openTable(chunkTable(name));
  try {
    const columns = new Set((await t.schema()).fields.map((f) => f.name));
    return ADDED_CHUNK_COLUMNS.every((c) => columns.has(c.name));
  } finally {
    t.close();
  }
}

/** Drops the tables of collection `name` (those that exist). */
export async function dropTables(db: lancedb.Connection, name: string): Promise<void> {
  const existing = new Set(await db.tableNames());
  for (const t of [chunkTable(name), docTable(name), vectorTable(name)])
    if (existing.has(t)) await guard('drop a table', () => db.dropTable(t));
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
    str('key'),
    str('heading'),
    new Field('line_start', new Int32(), false),
    new Field('line_end', new Int32(), false),
    new Field('page', new Int32(), false),
  ]);
}

function vectorSchema(dim: number): Schema {
  return new Schema([
    new Field('key', new Utf8(), false),
    new Field('vector', new FixedSizeList(dim, new Field('item', new Float32(), true)), false),
    new Field('retired_at', new Float64(), false),
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

export function toArrowRow(r: ChunkRow): Record<string, unknown> {
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
    key: r.key,
    ...locationColumns(r),
  };
}

/** Runs a LanceDB call; its failure becomes a retryable sink error saying what was being done. */
export async function guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await retryCommitConflicts(fn);
  } catch (err) {
    if (err instanceof RagsyncError) throw err;
    // Lance appends the Rust source location (`…, /root/.cargo/…/conflict_resolver.rs:621:34`) and its causes: not for users.
    const message = errorMessage(err)
      .replace(/,?\s*\S+\.rs:\d+:\d+/g, '')
      .replace(/\s*Caused by:.*$/, '');
    throw new RagsyncError('SINK', `LanceDB: cannot ${what}: ${message}`, { stage: 'sink', retryable: true, cause: err });
  }
}
