/** `ragsync status`: what the store holds. */
import type { Config } from '../config/index.js';
import type { Collection, Store } from '../core/store.js';
import type { CollectionInfo, Fingerprint } from '../core/types.js';
import { openStore } from './store.js';

export interface CollectionStatus {
  name: string;
  fingerprint: Fingerprint;
  docs: number;
  chunks: number;
}

/** One source of a store: its registry entry (root null: rows but no entry, from an older version) and its counts in the live collection. */
export interface SourceStatus {
  name: string;
  root: string | null;
  documents: number;
  chunks: number;
  lastSyncAt: string | null;
  createdAt: string | null;
  include: string[] | null;
  exclude: string[] | null;
  gitignore: boolean | null;
}

export interface StoreStatus {
  store: string;
  sink: string;
  fingerprint: Fingerprint | null;
  docs: number;
  chunks: number;
  /** A re-embed in progress: its target and how far its backfill got (documents vs live). */
  pending: CollectionStatus | null;
  /** The collection before the last swap, kept for `reembed --rollback` until `--drop-old`. */
  previous: CollectionStatus | null;
  /** Every source the store records or holds rows of, by name. */
  sources: SourceStatus[];
  /** The live collection's vector cache (vectors of deleted or rewritten chunks): entries and about how many bytes. */
  vectorCache: { entries: number; bytes: number };
}

export async function status(config: Config): Promise<StoreStatus> {
  const store = await openStore(config.sink);
  try {
    return await storeStatus(store);
  } finally {
    await store.close();
  }
}

/** What an open store holds (`status`, and a server's `/api/status`). */
export async function storeStatus(store: Store): Promise<StoreStatus> {
  const live = await store.live();
  const counts = live ? await live.stats() : { docs: 0, chunks: 0 };
  const layout = live ? await store.layout() : null;
  return {
    store: store.location,
    sink: store.kind,
    fingerprint: live?.info.fingerprint ?? null,
    ...counts,
    pending: await describe(store, layout?.pending),
    previous: await describe(store, layout?.previous),
    sources: await sourcesOf(store, live),
    vectorCache: await cacheOf(live),
  };
}

async function cacheOf(live: Collection | null): Promise<StoreStatus['vectorCache']> {
  const entries = live ? await live.countCachedVectors() : 0;
  return { entries, bytes: entries * ((live?.info.fingerprint.dim ?? 0) * 4 + 80) };
}

async function describe(store: Store, info: CollectionInfo | null | undefined): Promise<CollectionStatus | null> {
  if (!info) return null;
  const stats = await (await store.collection(info.fingerprint)).stats();
  return { name: info.name, fingerprint: info.fingerprint, ...stats };
}

/**
 * The sources of a store: those its registry records and those the live collection holds
 * records of, each with filtered counts (no record is read to count).
 */
export async function sourcesOf(store: Store, live: Collection | null): Promise<SourceStatus[]> {
  const recorded = new Map((await store.sources()).map((r) => [r.name, r]));
  const names = [...new Set([...recorded.keys(), ...(live ? await live.listSources() : [])])].sort();
  return Promise.all(
    names.map(async (name) => {
      const r = recorded.get(name);
      return {
        name,
        root: r?.root ?? null,
        documents: live ? await live.countDocs(name) : 0,
        chunks: live ? await live.countChunks(name) : 0,
        lastSyncAt: r?.lastSyncAt ?? null,
        createdAt: r?.createdAt ?? null,
        include: r?.include ?? null,
        exclude: r?.exclude ?? null,
        gitignore: r?.gitignore ?? null,
      };
    }),
  );
}
