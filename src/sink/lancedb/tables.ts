/** The table pair of a LanceDB collection: schemas, indexes, creation, and the row mapping. */
import * as lancedb from '@lancedb/lancedb';
import { Field, FixedSizeList, Float32, Float64, Int32, Schema, Utf8 } from 'apache-arrow';
import { RagsyncError, errorMessage } from '../../core/errors.js';
import type { ChunkRow } from '../../core/types.js';

export const chunkTable = (name: string) => `chunks_${name}`;
export const docTable = (name: string) => `docs_${name}`;

/**
 * Creates the table pair `name` and its indexes, completing whatever an earlier attempt that
 * stopped half-way left out (a table without its full-text index cannot serve keyword search).
 */
export async function createTables(db: lancedb.Connection, name: string, dim: number): Promise<void> {
  const existing = new Set(await db.tableNames());
  const chunkIndexes: Array<[string, lancedb.Index]> = [
    ['text', lancedb.Index.fts()],
    ['id', lancedb.Index.btree()],
    ['doc_id', lancedb.Index.btree()],
    ['hash', lancedb.Index.btree()],
  ];
  const want: Array<[string, () => Schema, Array<[string, lancedb.Index]>]> = [
    [chunkTable(name), () => chunkSchema(dim), chunkIndexes],
    [docTable(name), docSchema, [['doc_id', lancedb.Index.btree()]]],
  ];
  for (const [table, schema, indexes] of want) {
    const t = existing.has(table) ? await db.openTable(table) : await db.createEmptyTable(table, schema());
    try {
      const have = new Set((await t.listIndices()).flatMap((i) => i.columns));
      for (const [column, config] of indexes) if (!have.has(column)) await t.createIndex(column, { config });
    } finally {
      t.close();
    }
  }
}

/** Drops the table pair `name` (the tables that exist). */
export async function dropTables(db: lancedb.Connection, name: string): Promise<void> {
  const existing = new Set(await db.tableNames());
  for (const t of [chunkTable(name), docTable(name)]) if (existing.has(t)) await guard('drop a table', () => db.dropTable(t));
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
  };
}

/** Runs a LanceDB call; its failure becomes a retryable sink error saying what was being done. */
export async function guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof RagsyncError) throw err;
    throw new RagsyncError('SINK', `LanceDB: cannot ${what}: ${errorMessage(err)}`, { stage: 'sink', retryable: true, cause: err });
  }
}
