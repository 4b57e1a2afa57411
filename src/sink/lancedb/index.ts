/**
 * The embedded store: a LanceDB directory, no server. It holds one physical table pair per
 * embedder fingerprint (`chunks_<name>`, `docs_<name>`) and a manifest (`ragsync.json`, see
 * `manifest.ts`) whose pointers say which pair is live, pending and previous.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import type { Store } from '../../core/store.js';
import type { CollectionInfo, Fingerprint, SourceRecord, StoreLayout } from '../../core/types.js';
import { BlueGreenStore, type PointerMove, type StoreBackend } from '../blue-green.js';
import { type LeaseBackend, fileLease } from '../lease.js';
import { WriteLock } from './lock.js';
import { manifestLayout, manifestSources, readManifest, writeManifest } from './manifest.js';
import { LanceDbCollection } from './rows.js';
import { createTables, dropTables, guard } from './tables.js';

const INDEX_CACHE_BYTES = 32n << 20n;
const METADATA_CACHE_BYTES = 16n << 20n;

/** The LanceDB store in this directory (created on the first write). */
export function lanceDbStore(dir: string): Store {
  return new BlueGreenStore(new LanceDbBackend(dir));
}

class LanceDbBackend implements StoreBackend {
  readonly kind = 'lancedb';
  private db: Promise<lancedb.Connection> | undefined;
  /** Every write of the store's tables and manifest, by any process, runs inside it (`lock.ts`). */
  private readonly lock: WriteLock;

  constructor(readonly location: string) {
    this.lock = new WriteLock(path.join(location, 'write.lock'));
  }

  async readLayout(): Promise<StoreLayout> {
    return manifestLayout(await readManifest(this.location));
  }

  async createCollection(name: string, fingerprint: Fingerprint, embedder: Record<string, unknown> | null): Promise<void> {
    await mkdir(this.location, { recursive: true });
    await this.lock.run(async () => {
      await createTables(await this.connect(), name, fingerprint.dim);
      const m = await readManifest(this.location);
      const entry = m.collections[name];
      if (entry) entry.embedder = embedder ?? entry.embedder ?? null;
      else m.collections[name] = { fingerprint, embedder, createdAt: new Date().toISOString() };
      await writeManifest(this.location, m);
    });
  }

  movePointers(move: PointerMove): Promise<void> {
    return this.lock.run(async () => {
      const m = await readManifest(this.location);
      if (move.previous !== undefined) m.previous = move.previous;
      if (move.live !== undefined) m.live = move.live;
      if (move.pending !== undefined) m.pending = move.pending;
      // One rename: readers see every pointer of the move at once.
      await writeManifest(this.location, m);
    });
  }

  removeCollection(name: string): Promise<void> {
    return this.lock.run(async () => {
      await dropTables(await this.connect(), name);
      const m = await readManifest(this.location);
      delete m.collections[name];
      await writeManifest(this.location, m);
    });
  }

  async openCollection(info: CollectionInfo): Promise<LanceDbCollection> {
    return LanceDbCollection.open(await this.connect(), info, this.lock);
  }

  async leaseBackend(): Promise<LeaseBackend> {
    await mkdir(this.location, { recursive: true });
    return fileLease(path.join(this.location, 'reembed.lease'));
  }

  async readSources(): Promise<SourceRecord[]> {
    return manifestSources(await readManifest(this.location));
  }

  async updateSource(name: string, change: (current: SourceRecord | null) => SourceRecord | null): Promise<SourceRecord | null> {
    await mkdir(this.location, { recursive: true });
    return this.lock.run(async () => {
      const m = await readManifest(this.location);
      const current = manifestSources(m).find((s) => s.name === name) ?? null;
      const next = change(current);
      if (!next) return current;
      const { name: _, ...record } = next;
      m.sources = { ...m.sources, [name]: record };
      await writeManifest(this.location, m);
      return next;
    });
  }

  deleteSource(name: string): Promise<void> {
    return this.lock.run(async () => {
      const m = await readManifest(this.location);
      if (!m.sources?.[name]) return;
      delete m.sources[name];
      await writeManifest(this.location, m);
    });
  }

  async close(): Promise<void> {
    const db = this.db;
    this.db = undefined;
    (await db?.catch(() => undefined))?.close();
  }

  private connect(): Promise<lancedb.Connection> {
    // readConsistencyInterval 0: every read sees the latest commit, also those of other processes.
    // A bounded cache: LanceDB's default session keeps up to 6 GiB of index pages and 1 GiB of
    // metadata per process, and every commit's new index and manifest versions fill it (a 100k-file
    // index reached 7.5 GB of RSS). Recent versions are what reads touch; old ones are evicted.
    // (The session goes in the options: connect()'s third argument is accepted and ignored.)
    this.db ??= guard('open the store', () =>
      lancedb.connect(this.location, { readConsistencyInterval: 0, session: new lancedb.Session(INDEX_CACHE_BYTES, METADATA_CACHE_BYTES) }),
    );
    this.db.catch(() => (this.db = undefined));
    return this.db;
  }
}
