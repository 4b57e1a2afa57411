import type { Config } from '../config.js';
import type { ChunkLimits, Embedder } from '../core/types.js';
import { FixedCostEmbedder } from './fixed.js';
import { loadJinaClip } from './jina-clip.js';

/** Loads the embedder the configuration names (once per process). */
export async function createEmbedder(config: Config['embedder']): Promise<Embedder> {
  switch (config.kind) {
    case 'jina-clip':
      return loadJinaClip({
        model: config.model,
        modelDir: config.modelDir,
        dtype: config.dtype,
        cacheDir: config.cacheDir,
        offline: config.offline,
        batchSize: config.batchSize,
      });
    case 'fixed':
      return new FixedCostEmbedder({ dim: config.dim, delayMs: config.delayMs, batchSize: config.batchSize });
  }
}

/** Chunk limits for an embedder: the configured chunk size, never over the model's own limit. */
export function chunkLimits(embedder: Embedder, chunkTokens: number): ChunkLimits {
  return {
    maxTokens: Math.min(chunkTokens, embedder.maxTokens),
    countTokens: (text) => embedder.countTokens(text),
  };
}
