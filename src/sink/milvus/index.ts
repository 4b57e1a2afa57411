/**
 * The Milvus store (Milvus Standalone / Distributed, Zilliz Cloud, Milvus Lite 3). One physical
 * collection pair per embedder fingerprint (`<prefix>_chunks_<name>`, `<prefix>_docs_<name>`,
 * `schema.ts`) behind aliases (`aliases.ts`); users query `<prefix>_chunks` and `<prefix>_docs`.
 */
import { errorMessage } from '../../core/errors.js';
import type { Store } from '../../core/store.js';
import type { CollectionInfo, Fingerprint, SourceRecord, StoreLayout } from '../../core/types.js';
import { BlueGreenStore, type PointerMove, type StoreBackend } from '../blue-green.js';
import type { LeaseBackend, LeaseRecord } from '../lease.js';
import { dropAliasesOf, moveAliases, readLayout } from './aliases.js';
import { MilvusConnection, type MilvusOptions, isSuccess, sdk, sinkError } from './client.js';
import { MilvusCollection } from './rows.js';
import { createPair, physical } from './schema.js';
import { deleteSource, readSources, writeSource } from './sources.js';

export type { MilvusOptions } from './client.js';

const LEASE_PROPERTY = 'ragsync.lease';

/** The Milvus store these options name (connected on first use). */
export function milvusStore(opts: MilvusOptions): Store {
  return new BlueGreenStore(new MilvusBackend(new MilvusConnection(opts)));
}

class MilvusBackend implements StoreBackend {
  readonly kind = 'milvus';

  constructor(private readonly conn: MilvusConnection) {}

  get location(): string {
    return this.conn.location;
  }

  readLayout(): Promise<StoreLayout> {
    return readLayout(this.conn);
  }

  createCollection(name: string, fingerprint: Fingerprint, embedder: Record<string, unknown> | null): Promise<void> {
    return createPair(this.conn, name, fingerprint, embedder);
  }

  movePointers(move: PointerMove): Promise<void> {
    return moveAliases(this.conn, move);
  }

  async removeCollection(name: string): Promise<void> {
    // (An alias left by a move that stopped half-way would keep Milvus from dropping the collection.)
    await dropAliasesOf(this.conn, name);
    for (const kind of ['chunks', 'docs', 'vectors'] as const) {
      const collection = physical(this.conn.opts.collection, kind, name);
      if (await this.conn.exists(collection))
        await this.conn.call('drop a collection', (c) => c.dropCollection({ collection_name: collection }));
    }
  }

  openCollection(info: CollectionInfo): Promise<MilvusCollection> {
    return new MilvusCollection(this.conn, info).load();
  }

  /** The lease record: a marker collection, created atomically, the heartbeat in its properties. */
  async leaseBackend(): Promise<LeaseBackend> {
    await this.conn.connect();
    const conn = this.conn;
    const collection = `${conn.opts.collection}_reembed_lease`;
    const properties = (record: LeaseRecord) => ({ [LEASE_PROPERTY]: JSON.stringify(record) });
    return {
      tryCreate: async (record) => {
        // (A server answers a second create with differing properties with an error of its own
        // wording: look first, and count any failure with the collection present as "held".)
        if (await conn.exists(collection)) return false;
        try {
          const client = await conn.connect();
          await client.createCollection({
            collection_name: collection,
            fields: [
              { name: 'id', data_type: sdk.DataType.VarChar, max_length: 8, is_primary_key: true },
              { name: 'unused_vector', data_type: sdk.DataType.FloatVector, dim: 2 },
            ],
            properties: properties(record),
          });
          return true;
        } catch (err) {
          if (/already exist|duplicate/i.test(errorMessage(err)) || (await conn.exists(collection))) return false;
          throw sinkError('create the lease', conn.opts.address, err);
        }
      },
      read: async (): Promise<LeaseRecord | null> => {
        if (!(await conn.exists(collection))) return null;
        const desc = await (await conn.connect()).describeCollection({ collection_name: collection });
        const prop = desc.properties?.find((p) => p.key === LEASE_PROPERTY);
        if (!isSuccess(desc.status) || !prop) return { owner: { id: '', host: '', pid: 0, startedAt: '' }, heartbeatAt: 0 };
        return JSON.parse(String(prop.value)) as LeaseRecord;
      },
      heartbeat: async (record) => {
        await conn.call('renew the lease', (c) =>
          c.alterCollectionProperties({ collection_name: collection, properties: properties(record) }),
        );
      },
      remove: async () => {
        await conn.call('remove the lease', (c) => c.dropCollection({ collection_name: collection }));
      },
    };
  }

  readSources(): Promise<SourceRecord[]> {
    return readSources(this.conn);
  }

  async updateSource(name: string, change: (current: SourceRecord | null) => SourceRecord | null): Promise<SourceRecord | null> {
    // (No lock across Milvus clients: a read, then a write of this source's own property.)
    const current = (await readSources(this.conn)).find((s) => s.name === name) ?? null;
    const next = change(current);
    if (!next) return current;
    await writeSource(this.conn, next);
    return next;
  }

  deleteSource(name: string): Promise<void> {
    return deleteSource(this.conn, name);
  }

  close(): Promise<void> {
    return this.conn.close();
  }
}
