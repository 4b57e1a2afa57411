import path from 'node:path';
import type { Config } from '../config.js';
import { RagsyncError } from '../core/errors.js';
import type { ChunkLimits, Embedder } from '../core/types.js';
import { ApiEmbedder } from './api.js';
import { BatchingEmbedder } from './batching.js';
import { FixedCostEmbedder } from './fixed.js';

export type EmbedderConfig = Config['embedder'];

/**
 * Loads the embedder the configuration names (a local model once per process). An API key comes
 * from `apiKey`, else from the environment variable `apiKeyEnv` names.
 */
export async function createEmbedder(config: EmbedderConfig, env: NodeJS.ProcessEnv = process.env): Promise<Embedder> {
  // Inputs of concurrent documents share batches: one batch at a time on a local model (one
  // device), a few requests at a time to an API.
  const parallel = config.kind === 'jina-api' || config.kind === 'openai' ? API_PARALLEL : 1;
  return new BatchingEmbedder(await loadEmbedder(config, env), { batchSize: config.batchSize, parallel });
}

/** Requests one process sends an embedding API at once. */
const API_PARALLEL = 4;

async function loadEmbedder(config: EmbedderConfig, env: NodeJS.ProcessEnv): Promise<Embedder> {
  switch (config.kind) {
    case 'jina-clip': {
      // Loaded on demand: transformers.js and onnxruntime cost ~40 MB of memory in every process
      // that would otherwise only talk to an API or run the benchmark embedder.
      const { loadJinaClip } = await import('./jina-clip.js');
      return loadJinaClip({
        model: config.model,
        modelDir: config.modelDir,
        dtype: config.dtype,
        cacheDir: config.cacheDir,
        offline: config.offline,
        batchSize: config.batchSize,
      });
    }
    case 'jina-api':
    case 'openai': {
      const apiKey = config.apiKey ?? env[config.apiKeyEnv];
      if (config.kind === 'jina-api' && !apiKey) {
        throw new RagsyncError('MODEL_UNAVAILABLE', `the Jina API needs a key: set ${config.apiKeyEnv} (or embedder.apiKey in the config file)`, { stage: 'model' });
      }
      return ApiEmbedder.create({
        protocol: config.kind === 'jina-api' ? 'jina' : 'openai',
        url: config.url,
        model: config.model,
        dimensions: config.dimensions,
        apiKey,
        batchSize: config.batchSize,
        maxTokens: config.maxTokens,
        timeoutMs: config.timeoutMs,
        maxRetries: config.maxRetries,
      });
    }
    case 'fixed':
      return new FixedCostEmbedder({ dim: config.dim, delayMs: config.delayMs, batchSize: config.batchSize });
  }
}

/**
 * What the store keeps about the embedder of a collection, so that every worker can load it
 * during a re-embed and search can embed queries with it: the config without secrets (an API
 * key stays in the environment of each process), with local paths made absolute.
 */
export function embedderDescriptor(config: EmbedderConfig, cwd = process.cwd()): EmbedderConfig {
  const out = { ...config } as Record<string, unknown>;
  delete out.apiKey;
  if (config.kind === 'jina-clip') {
    if (config.modelDir) out.modelDir = path.resolve(cwd, config.modelDir);
    out.cacheDir = path.resolve(cwd, config.cacheDir);
  }
  return out as EmbedderConfig;
}

/** Chunk limits for an embedder: the configured chunk size, never over the model's own limit. */
export function chunkLimits(embedder: Embedder, chunkTokens: number): ChunkLimits {
  return {
    maxTokens: Math.min(chunkTokens, embedder.maxTokens),
    countTokens: (text) => embedder.countTokens(text),
  };
}
