/**
 * The source registry of a Milvus store: a marker collection `<prefix>_sources` (no rows; a dummy
 * vector field because Milvus wants one) with one property per source, `ragsync.source.<name>`,
 * holding the record as JSON. One property a source: writers of two sources never overwrite each
 * other's entry, and a removal drops just its own. It is made by the first write; reading a store
 * without it finds no source and creates nothing.
 */
import { errorMessage } from '../../core/errors.js';
import type { SourceRecord } from '../../core/types.js';
import { type MilvusConnection, sdk, sinkError } from './client.js';

const PROPERTY = 'ragsync.source.';

function registry(conn: MilvusConnection): string {
  return `${conn.opts.collection}_sources`;
}

/** The sources the registry records; none when it does not exist. */
export async function readSources(conn: MilvusConnection): Promise<SourceRecord[]> {
  const collection = registry(conn);
  if (!(await conn.exists(collection))) return [];
  const desc = await conn.call('read the source registry', (c) => c.describeCollection({ collection_name: collection }));
  return (desc.properties ?? [])
    .filter((p) => p.key.startsWith(PROPERTY))
    .map((p) => ({ name: p.key.slice(PROPERTY.length), ...(JSON.parse(String(p.value)) as Omit<SourceRecord, 'name'>) }));
}

/** Writes one source's entry, creating the registry when the store has none yet. */
export async function writeSource(conn: MilvusConnection, { name, ...record }: SourceRecord): Promise<void> {
  const collection = registry(conn);
  const properties = { [PROPERTY + name]: JSON.stringify(record) };
  if (!(await conn.exists(collection))) await create(conn, collection);
  await conn.call('record a source', (c) => c.alterCollectionProperties({ collection_name: collection, properties }));
}

/** Removes one source's entry; nothing happens when there is none. */
export async function deleteSource(conn: MilvusConnection, name: string): Promise<void> {
  const collection = registry(conn);
  if (!(await conn.exists(collection))) return;
  await conn.call('forget a source', (c) => c.dropCollectionProperties({ collection_name: collection, properties: [PROPERTY + name] }));
}

async function create(conn: MilvusConnection, collection: string): Promise<void> {
  try {
    await conn.call('create the source registry', async (c) =>
      c.createCollection({
        collection_name: collection,
        fields: [
          { name: 'id', data_type: sdk.DataType.VarChar, max_length: 8, is_primary_key: true },
          { name: 'unused_vector', data_type: sdk.DataType.FloatVector, dim: 2 },
        ],
      }),
    );
  } catch (err) {
    // Another writer made it first: that one serves.
    if (/already exist|duplicate/i.test(errorMessage(err)) || (await conn.exists(collection))) return;
    throw sinkError('create the source registry', conn.opts.address, err);
  }
}
