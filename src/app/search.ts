/** `ragsync search`: dense and hybrid queries embed the query with the store's own model. */
import type { Config } from '../config/index.js';
import type { Collection } from '../core/store.js';
import { RagsyncError } from '../core/errors.js';
import type { Embedder, SearchFilter, SearchHit, SearchMode } from '../core/types.js';
import { liveEmbedder } from './embedders.js';
import { openStore } from './store.js';

export interface SearchOptions {
  mode: SearchMode;
  k: number;
  /** At most this many hits of one document; 0: no limit. */
  perDoc?: number;
  filter?: SearchFilter;
  text?: string;
  image?: Buffer;
}

export async function search(config: Config, opts: SearchOptions): Promise<SearchHit[]> {
  const store = await openStore(config.sink);
  try {
    const live = await store.live();
    if (!live) throw noIndex(store.location);
    return await searchLive(live, () => liveEmbedder(config, live.info, store.location), opts);
  } finally {
    await store.close();
  }
}

/** The error of a search in a store that holds no index yet. */
export function noIndex(location: string): RagsyncError {
  return new RagsyncError('USAGE', `${location} holds no index yet: run \`ragsync index DIR\` first`, { stage: 'sink' });
}

/**
 * One search of the live collection; `embedder` is asked for only by a query that needs a vector
 * (dense, hybrid, an image): a keyword search loads no model.
 */
export async function searchLive(live: Collection, embedder: () => Promise<Embedder>, opts: SearchOptions): Promise<SearchHit[]> {
  if (opts.mode === 'keyword') {
    if (!opts.text) throw new RagsyncError('USAGE', 'keyword search needs a text query', { stage: 'config' });
    return live.search({ mode: 'keyword', k: opts.k, perDoc: opts.perDoc, text: opts.text, filter: opts.filter });
  }
  const model = await embedder();
  let vector: number[];
  if (opts.image) {
    if (!model.embedImages) throw new RagsyncError('USAGE', 'this embedder cannot embed images', { stage: 'embed' });
    [vector] = (await model.embedImages([opts.image])) as [number[]];
  } else {
    [vector] = (await model.embedTexts([opts.text ?? ''])) as [number[]];
  }
  const mode = opts.mode === 'hybrid' && !opts.text ? 'dense' : opts.mode;
  return live.search({ mode, k: opts.k, perDoc: opts.perDoc, vector, text: opts.text, filter: opts.filter });
}
