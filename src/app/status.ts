/** `ragsync status`: what the store holds. */
import type { Config } from '../config/index.js';
import type { Store } from '../core/store.js';
import type { CollectionInfo, Fingerprint } from '../core/types.js';
import { openStore } from './runtime.js';

export interface CollectionStatus {
  name: string;
  fingerprint: Fingerprint;
  docs: number;
  chunks: number;
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
}

export async function status(config: Config): Promise<StoreStatus> {
  const store = openStore(config.sink);
  try {
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
    };
  } finally {
    await store.close();
  }
}

async function describe(store: Store, info: CollectionInfo | null | undefined): Promise<CollectionStatus | null> {
  if (!info) return null;
  const stats = await (await store.collection(info.fingerprint)).stats();
  return { name: info.name, fingerprint: info.fingerprint, ...stats };
}
