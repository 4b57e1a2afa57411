/** `ragsync search`: dense and hybrid queries embed the query with the store's own model. */
import type { Config } from '../config/index.js';
import type { Collection } from '../core/store.js';
import { RagsyncError } from '../core/errors.js';
import type { Embedder, SearchFilter, SearchHit, SearchMode } from '../core/types.js';
import { smallImage } from '../chunking/image.js';
import { type ImageSettings, chunkLimits, liveEmbedder } from './embedders.js';
import type { FreshResult } from './fresh.js';
import { openStore } from './store.js';

/** Chunk limits only size the query image here: any token budget will do. */
const DEFAULT_CHUNK_TOKENS = 512;

export interface SearchOptions {
  mode: SearchMode;
  k: number;
  /** At most this many hits of one document; 0: no limit. */
  perDoc?: number;
  filter?: SearchFilter;
  text?: string;
  image?: Buffer;
  /** Wait first until this file's current version is indexed (read-your-writes, `fresh.ts`), up to `freshTimeoutMs`. */
  fresh?: string;
  /** The bound of the `fresh` wait (ms; default `FRESH_TIMEOUT_MS` of `fresh.ts`). */
  freshTimeoutMs?: number;
  /** Told how the `fresh` wait ended, before the search runs. */
  onFresh?: (result: FreshResult) => void;
}

export async function search(config: Config, opts: SearchOptions): Promise<SearchHit[]> {
  const store = await openStore(config.sink);
  try {
    if (opts.fresh !== undefined) {
      const { FRESH_TIMEOUT_MS, waitFresh } = await import('./fresh.js');
      opts.onFresh?.(await waitFresh(store, opts.fresh, { timeoutMs: opts.freshTimeoutMs ?? FRESH_TIMEOUT_MS }));
    }
    const live = await store.live();
    if (!live) throw noIndex(store.location);
    return await searchLive(live, () => liveEmbedder(config, live.info, store.location), opts, config);
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
 * (dense, hybrid, an image): a keyword search loads no model. An image query is bounded as an
 * indexed image is (`images.maxImagePixels`, read from its header before it is decoded) and
 * shrunk to the model's input size first.
 */
export async function searchLive(
  live: Collection,
  embedder: () => Promise<Embedder>,
  opts: SearchOptions,
  images: ImageSettings,
): Promise<SearchHit[]> {
  if (opts.mode === 'keyword') {
    if (!opts.text) throw new RagsyncError('USAGE', 'keyword search needs a text query', { stage: 'config' });
    return live.search({ mode: 'keyword', k: opts.k, perDoc: opts.perDoc, text: opts.text, filter: opts.filter });
  }
  const model = await embedder();
  let vector: number[];
  if (opts.image) {
    if (!model.embedImages) throw new RagsyncError('USAGE', 'this embedder cannot embed images', { stage: 'embed' });
    const image = await smallImage(opts.image, chunkLimits(model, DEFAULT_CHUNK_TOKENS, images), 'the query image');
    [vector] = (await model.embedImages([image])) as [number[]];
  } else {
    [vector] = (await model.embedTexts([opts.text ?? ''])) as [number[]];
  }
  const mode = opts.mode === 'hybrid' && !opts.text ? 'dense' : opts.mode;
  return live.search({ mode, k: opts.k, perDoc: opts.perDoc, vector, text: opts.text, filter: opts.filter });
}
