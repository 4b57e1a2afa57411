/**
 * Which embedder a configuration names, loaded once per process, and which embedder a stored
 * collection needs: the wiring between `config/` and `embed/`.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { API_DEFAULTS, type Config, type EmbedderConfig, embedderChosen, resolveConfig } from '../config/index.js';
import { RagsyncError, errorMessage } from '../core/errors.js';
import { fingerprintKey, fingerprintMismatch } from '../core/fingerprint.js';
import type { ChunkLimits, CollectionInfo, Embedder } from '../core/types.js';
import { ApiEmbedder } from '../embed/api.js';
import { BatchingEmbedder } from '../embed/batching.js';
import { FixedCostEmbedder } from '../embed/fixed.js';

/** Requests one process sends an embedding API at once. */
const API_PARALLEL = 4;

/**
 * Loads the embedder the configuration names (a local model once per process). An API key comes
 * from `apiKey`, else from the environment variable `apiKeyEnv` names.
 */
export async function loadEmbedder(config: EmbedderConfig, env: NodeJS.ProcessEnv = process.env): Promise<Embedder> {
  // Inputs of concurrent documents share batches: one batch at a time on a local model (one
  // device), a few requests at a time to an API.
  const parallel = config.kind === 'jina-api' || config.kind === 'openai' ? API_PARALLEL : 1;
  return new BatchingEmbedder(await loadInner(config, env), { batchSize: config.batchSize, parallel });
}

async function loadInner(config: EmbedderConfig, env: NodeJS.ProcessEnv): Promise<Embedder> {
  switch (config.kind) {
    case 'jina-clip': {
      // Loaded on demand: transformers.js and onnxruntime cost ~40 MB of memory in every process
      // that would otherwise only talk to an API or run the benchmark embedder.
      const { loadJinaClip } = await import('../embed/jina-clip.js');
      const { model, modelDir, dtype, cacheDir, offline, batchSize } = config;
      return loadJinaClip({ model, modelDir, dtype, cacheDir, offline, batchSize });
    }
    case 'jina-api':
    case 'openai': {
      const apiKey = config.apiKey ?? env[config.apiKeyEnv];
      if (config.kind === 'jina-api' && !apiKey) {
        const why = `the Jina API needs a key: set ${config.apiKeyEnv} (or embedder.apiKey in the config file)`;
        throw new RagsyncError('MODEL_UNAVAILABLE', why, { stage: 'model' });
      }
      const { url, model, dimensions, batchSize, maxTokens, timeoutMs, maxRetries } = config;
      const protocol = config.kind === 'jina-api' ? 'jina' : 'openai';
      return ApiEmbedder.create({ protocol, url, model, dimensions, apiKey, batchSize, maxTokens, timeoutMs, maxRetries });
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

/** The image settings of a config that chunk limits carry. */
export type ImageSettings = Pick<Config, 'maxImagePixels' | 'pdfImageMinSide' | 'pdfMaxImages'>;

/**
 * Chunk limits for an embedder: the configured chunk size, never over the model's own limit; its
 * tokenizer as data (for parse children) and image size; the configured image bounds.
 */
export function chunkLimits(embedder: Embedder, chunkTokens: number, images?: ImageSettings): ChunkLimits {
  return {
    maxTokens: Math.min(chunkTokens, embedder.maxTokens),
    countTokens: (text) => embedder.countTokens(text),
    ...(embedder.tokenizer ? { tokenizer: embedder.tokenizer } : {}),
    ...(embedder.imageSize ? { imageSize: embedder.imageSize } : {}),
    ...(images ? { maxImagePixels: images.maxImagePixels, pdfImages: { minSide: images.pdfImageMinSide, max: images.pdfMaxImages } } : {}),
  };
}

/**
 * The embedder of a collection: one already loaded with its fingerprint, else the one the store
 * recorded (its API key from this process's config or environment), else the configured one when
 * it matches. Throws `MODEL_UNAVAILABLE` when none gives the collection's fingerprint.
 */
export async function embedderFor(info: CollectionInfo, config: Config, loaded: Array<Embedder | undefined> = []): Promise<Embedder> {
  const want = fingerprintKey(info.fingerprint);
  const have = loaded.find((e) => e && fingerprintKey(e.fingerprint) === want);
  if (have) return have;
  const candidates: Array<{ config: EmbedderConfig; env: NodeJS.ProcessEnv; note?: string }> = [];
  if (info.embedder) candidates.push(storedEmbedderConfig(info.embedder, config));
  // The configured embedder is a candidate only when the user chose one (or the store records none):
  // the default would try to download a model the store never used.
  if (!info.embedder || embedderChosen(config)) candidates.push({ config: config.embedder, env: process.env });
  const problems: string[] = [];
  for (const c of candidates) {
    try {
      const e = await loadEmbedder(c.config, c.env);
      if (fingerprintKey(e.fingerprint) === want) return e;
      problems.push(`${c.config.kind} gives ${fingerprintKey(e.fingerprint)}`);
    } catch (err) {
      problems.push(`${c.config.kind}: ${errorMessage(err)}${c.note ? ` (${c.note})` : ''}`);
    }
  }
  const hint = info.embedder ? '' : '; the store does not record how to load it: pass its --embedder options';
  throw new RagsyncError(
    'MODEL_UNAVAILABLE',
    `cannot load the embedder of collection ${info.name} (${want}): ${problems.join('; ')}${hint}`,
    {
      stage: 'model',
      retryable: true,
    },
  );
}

/**
 * The embedder a command uses on a store whose live collection is `live` (`where` names the store):
 * the one the user chose, refused when it is not the store's model; with no embedder option, the
 * one the store records (a recorded local model directory that is gone is one error naming it);
 * the configured (default) one for a store that holds no collection yet.
 */
export async function liveEmbedder(config: Config, live: CollectionInfo | null, where: string): Promise<Embedder> {
  if (!live) return loadEmbedder(config.embedder);
  if (embedderChosen(config)) {
    const chosen = await loadEmbedder(config.embedder);
    if (fingerprintKey(chosen.fingerprint) !== fingerprintKey(live.fingerprint))
      throw fingerprintMismatch(live.fingerprint, chosen.fingerprint, where);
    return chosen;
  }
  const dir = live.embedder?.kind === 'jina-clip' ? live.embedder.modelDir : undefined;
  if (typeof dir === 'string' && !existsSync(dir)) {
    const why =
      `the store's model directory ${dir} is gone: ${where} was indexed with ${fingerprintKey(live.fingerprint)} from there; ` +
      'put the model back, or pass --model-dir with a copy of it';
    throw new RagsyncError('MODEL_UNAVAILABLE', why, { stage: 'model' });
  }
  return embedderFor(live, config);
}

/**
 * A recorded embedder descriptor as a config, and the environment its API key may come from.
 * The store does not decide where this process's secrets go: a key (this process's configured
 * key for that kind, else its usual variable, `JINA_API_KEY` / `OPENAI_API_KEY`) is sent only to
 * the endpoint this process is configured with for that kind, or to the kind's default endpoint;
 * the store's `apiKeyEnv` is ignored.
 */
export function storedEmbedderConfig(
  stored: Record<string, unknown>,
  config: Config,
): { config: EmbedderConfig; env: NodeJS.ProcessEnv; note?: string } {
  const parsed = resolveConfig({ flags: { embedder: stored as never } }).embedder;
  if (parsed.kind !== 'jina-api' && parsed.kind !== 'openai') return { config: parsed, env: {} };
  const own = config.embedder.kind === parsed.kind ? config.embedder : undefined;
  const keyEnv = own?.apiKeyEnv ?? API_DEFAULTS[parsed.kind].apiKeyEnv;
  const trusted = parsed.url === (own?.url ?? API_DEFAULTS[parsed.kind].url) || parsed.url === API_DEFAULTS[parsed.kind].url;
  const withKey = { ...parsed, apiKeyEnv: keyEnv, apiKey: trusted ? own?.apiKey : undefined };
  return {
    config: withKey,
    env: trusted ? { [keyEnv]: process.env[keyEnv] } : {},
    note: trusted
      ? undefined
      : `no key sent to ${parsed.url}: this process is not configured with that endpoint (set embedder.url to trust it)`,
  };
}
