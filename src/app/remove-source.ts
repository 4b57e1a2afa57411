/**
 * `ragsync remove-source NAME`: deletes one source from a store: its rows and records from every
 * collection (live, a re-embed's pending one, the previous one kept for rollback, any other: a
 * rollback must not bring it back) and then its registry entry.
 */
import type { Config } from '../config/index.js';
import { RagsyncError } from '../core/errors.js';
import { openStore } from './store.js';
import { sourcesOf } from './status.js';

/** What a removal takes away: counts of the live collection. */
export interface SourcePlan {
  name: string;
  /** The recorded root; null for a source with rows but no registry entry. */
  root: string | null;
  documents: number;
  chunks: number;
}

export interface SourceRemoval extends SourcePlan {
  /** False when `confirm` said no: nothing was removed. */
  removed: boolean;
  /** Collections the source's rows were deleted from. */
  collections: number;
}

/**
 * Removes a source after `confirm` agrees to its plan. An unknown name is a `USAGE` error naming
 * the store's sources. Idempotent: stopped half-way, the same command finishes the removal.
 */
export async function removeSource(config: Config, name: string, confirm: (plan: SourcePlan) => Promise<boolean>): Promise<SourceRemoval> {
  const store = await openStore(config.sink);
  try {
    const live = await store.live();
    const all = await sourcesOf(store, live);
    const found = all.find((s) => s.name === name);
    if (!found) {
      const known = all.length > 0 ? `its sources: ${all.map((s) => s.name).join(', ')}` : 'it holds no source';
      throw new RagsyncError('USAGE', `${store.location} has no source "${name}"; ${known}`, { stage: 'sink' });
    }
    const plan: SourcePlan = { name, root: found.root, documents: found.documents, chunks: found.chunks };
    if (!(await confirm(plan))) return { ...plan, removed: false, collections: 0 };
    const { all: collections } = await store.layout();
    for (const info of collections) await (await store.collection(info.fingerprint)).deleteSource(name);
    await store.removeSource(name);
    return { ...plan, removed: true, collections: collections.length };
  } finally {
    await store.close();
  }
}
