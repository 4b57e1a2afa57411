/**
 * The blue/green logic of every store, written once above the backends. A backend knows how to
 * keep its collections and three pointers (live, pending, previous: a LanceDB manifest, Milvus
 * aliases); this class decides when they move: which target a re-embed may take, that a swap
 * makes the pending collection live and keeps the old one as previous, what an abort or a drop
 * may remove.
 */
import { RagsyncError } from '../core/errors.js';
import { checkPending, fingerprintKey, fingerprintMismatch, physicalName } from '../core/fingerprint.js';
import type { Collection, Store } from '../core/store.js';
import type { CollectionInfo, Fingerprint, Lease, SourceRecord, StoreLayout } from '../core/types.js';
import { type LeaseBackend, acquireLease } from './lease.js';

/** A move of the pointers: each given pointer is set (a name) or cleared (null). */
export interface PointerMove {
  previous?: string | null;
  live?: string | null;
  pending?: string | null;
}

/** What a storage backend provides; `BlueGreenStore` builds the `Store` contract on it. */
export interface StoreBackend {
  readonly kind: string;
  readonly location: string;
  /** The collections and where the pointers are. */
  readLayout(): Promise<StoreLayout>;
  /**
   * Creates the collection `name` for this fingerprint, or completes one an earlier attempt left
   * half-made (a table without its full-text index cannot serve keyword search); records
   * `embedder` on it (replacing what an existing one recorded).
   */
  createCollection(name: string, fingerprint: Fingerprint, embedder: Record<string, unknown> | null): Promise<void>;
  /**
   * Moves the pointers in the order previous, live, pending, each step atomic for readers: a move
   * stopped half-way is completed by doing it again.
   */
  movePointers(move: PointerMove): Promise<void>;
  /** Removes a collection and its data (no pointer refers to it any more). */
  removeCollection(name: string): Promise<void>;
  /** Opens a collection for reading and writing. */
  openCollection(info: CollectionInfo): Promise<Collection & { close(): Promise<void> }>;
  /** Where the re-embed lease is kept. */
  leaseBackend(): Promise<LeaseBackend>;
  /** The source registry, kept beside the pointers (not in a collection: it outlives a swap); reading creates nothing. */
  readSources(): Promise<SourceRecord[]>;
  /** Changes one source's entry (`Store.updateSource`), atomically where the backend has a write lock. */
  updateSource(name: string, change: (current: SourceRecord | null) => SourceRecord | null): Promise<SourceRecord | null>;
  /** Removes one source's entry; absent: nothing happens. */
  deleteSource(name: string): Promise<void>;
  close(): Promise<void>;
}

export class BlueGreenStore implements Store {
  private readonly open = new Map<string, Promise<Collection & { close(): Promise<void> }>>();

  constructor(private readonly backend: StoreBackend) {}

  get kind(): string {
    return this.backend.kind;
  }

  get location(): string {
    return this.backend.location;
  }

  layout(): Promise<StoreLayout> {
    return this.backend.readLayout();
  }

  async openLive(fingerprint: Fingerprint, embedder?: Record<string, unknown>): Promise<Collection> {
    const { live } = await this.layout();
    if (live) {
      if (fingerprintKey(live.fingerprint) !== fingerprintKey(fingerprint))
        throw fingerprintMismatch(live.fingerprint, fingerprint, this.location);
      return this.collectionOf(live);
    }
    const name = physicalName(fingerprint);
    await this.backend.createCollection(name, fingerprint, embedder ?? null);
    await this.backend.movePointers({ live: name });
    return this.collectionOf({ name, fingerprint, embedder: embedder ?? null });
  }

  async live(): Promise<Collection | null> {
    const { live } = await this.layout();
    return live ? this.collectionOf(live) : null;
  }

  async collection(fingerprint: Fingerprint): Promise<Collection> {
    const info = (await this.layout()).all.find((c) => fingerprintKey(c.fingerprint) === fingerprintKey(fingerprint));
    if (!info) throw new RagsyncError('SINK', `${this.location} has no collection for ${fingerprintKey(fingerprint)}`, { stage: 'sink' });
    return this.collectionOf(info);
  }

  async preparePending(fingerprint: Fingerprint, embedder: Record<string, unknown>): Promise<CollectionInfo> {
    const layout = await this.layout();
    checkPending(layout.live?.fingerprint ?? null, layout.pending?.fingerprint ?? null, fingerprint, this.location);
    const name = physicalName(fingerprint);
    await this.backend.createCollection(name, fingerprint, embedder);
    await this.backend.movePointers({ pending: name });
    return { name, fingerprint, embedder };
  }

  async promotePending(): Promise<void> {
    const { live, pending } = await this.layout();
    if (!pending) throw new RagsyncError('USAGE', `${this.location}: no re-embed is pending`, { stage: 'sink' });
    await this.backend.movePointers({ ...(live ? { previous: live.name } : {}), live: pending.name, pending: null });
  }

  async abortPending(): Promise<void> {
    const { live, pending, previous } = await this.layout();
    if (!pending) return;
    await this.backend.movePointers({ pending: null });
    if (pending.name !== previous?.name && pending.name !== live?.name) await this.remove(pending.name);
  }

  async dropCollection(name: string): Promise<void> {
    const { live, pending, previous } = await this.layout();
    if (name === live?.name || name === pending?.name) {
      const role = name === live?.name ? 'live' : 'pending';
      throw new RagsyncError('USAGE', `${this.location}: collection ${name} is ${role} and cannot be dropped`, { stage: 'sink' });
    }
    if (name === previous?.name) await this.backend.movePointers({ previous: null });
    await this.remove(name);
  }

  async acquireLease(waitMs?: number): Promise<Lease> {
    return acquireLease(await this.backend.leaseBackend(), `a re-embed of ${this.location}`, waitMs);
  }

  sources(): Promise<SourceRecord[]> {
    return this.backend.readSources();
  }

  updateSource(name: string, change: (current: SourceRecord | null) => SourceRecord | null): Promise<SourceRecord | null> {
    return this.backend.updateSource(name, change);
  }

  removeSource(name: string): Promise<void> {
    return this.backend.deleteSource(name);
  }

  async close(): Promise<void> {
    const open = [...this.open.values()];
    this.open.clear();
    for (const c of await Promise.allSettled(open)) if (c.status === 'fulfilled') await c.value.close().catch(() => undefined);
    await this.backend.close();
  }

  private async remove(name: string): Promise<void> {
    const open = this.open.get(name);
    this.open.delete(name);
    await open?.then((c) => c.close()).catch(() => undefined);
    await this.backend.removeCollection(name);
  }

  private collectionOf(info: CollectionInfo): Promise<Collection> {
    let c = this.open.get(info.name);
    if (!c) {
      c = this.backend.openCollection(info);
      c.catch(() => this.open.delete(info.name));
      this.open.set(info.name, c);
    }
    return c;
  }
}
