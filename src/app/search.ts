/** `ragsync search`: dense and hybrid queries embed the query with the store's own model. */
import type { Config } from '../config/index.js';
import { RagsyncError } from '../core/errors.js';
import { fingerprintKey, fingerprintMismatch } from '../core/fingerprint.js';
import type { Collection, Store } from '../core/store.js';
import type { Embedder, SearchFilter, SearchHit, SearchMode } from '../core/types.js';
import { embedderFor, loadEmbedder } from './embedders.js';
import { openStore } from './runtime.js';

export interface SearchOptions {
  mode: SearchMode;
  k: number;
  filter?: SearchFilter;
  text?: string;
  image?: Buffer;
}

export async function search(config: Config, opts: SearchOptions): Promise<SearchHit[]> {
  const store = openStore(config.sink);
  try {
    const live = await store.live();
    if (!live) throw new RagsyncError('USAGE', `${store.location} holds no index yet: run \`ragsync index DIR\` first`, { stage: 'sink' });
    if (opts.mode === 'keyword') {
      if (!opts.text) throw new RagsyncError('USAGE', 'keyword search needs a text query', { stage: 'config' });
      return await live.search({ mode: 'keyword', k: opts.k, text: opts.text, filter: opts.filter });
    }
    const embedder = await queryEmbedder(config, store, live);
    let vector: number[];
    if (opts.image) {
      if (!embedder.embedImages) throw new RagsyncError('USAGE', 'this embedder cannot embed images', { stage: 'embed' });
      [vector] = (await embedder.embedImages([opts.image])) as [number[]];
    } else {
      [vector] = (await embedder.embedTexts([opts.text ?? ''])) as [number[]];
    }
    const mode = opts.mode === 'hybrid' && !opts.text ? 'dense' : opts.mode;
    return await live.search({ mode, k: opts.k, vector, text: opts.text, filter: opts.filter });
  } finally {
    await store.close();
  }
}

/**
 * The embedder for queries: the configured one when it gives the store's live fingerprint, else
 * the one the store recorded for its live collection (after a re-embed, search follows the store).
 */
async function queryEmbedder(config: Config, store: Store, live: Collection): Promise<Embedder> {
  const stored = live.info.fingerprint;
  const configured = await loadEmbedder(config.embedder).catch((err: unknown) => err as Error);
  if (!(configured instanceof Error) && fingerprintKey(configured.fingerprint) === fingerprintKey(stored)) return configured;
  if (live.info.embedder) {
    const recorded = await embedderFor(live.info, config).catch(() => undefined);
    if (recorded) return recorded;
  }
  if (configured instanceof Error) throw configured;
  throw fingerprintMismatch(stored, configured.fingerprint, store.location);
}
