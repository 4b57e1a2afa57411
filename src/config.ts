/**
 * Configuration: one strict zod schema, parsed once at the edge. Layers apply in order: config
 * file, then `RAGSYNC_*` environment variables, then command-line flags. Unknown keys and bad
 * values are errors that name the field and the layer it came from. `resolveConfig` is pure.
 */
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { RagsyncError } from './core/errors.js';
import { API_DEFAULTS, JINA_MAX_BATCH } from './embed/api.js';
import { isValidSourceName } from './ids/index.js';

const DTYPE = z.enum(['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4', 'bnb4', 'q4f16']);
const LOG_LEVEL = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
const DEFAULT_INCLUDE = ['**/*.{md,markdown,mdx,txt,text,pdf,png,jpg,jpeg,webp}'];

/** One layer (file, env or flags): every key optional, unknown keys refused. */
const Layer = z.strictObject({
  source: z
    .string()
    .refine(isValidSourceName, 'letters, digits, ".", "_" or "-", at most 64, starting with a letter or digit')
    .optional(),
  include: z.array(z.string().min(1)).min(1).optional(),
  exclude: z.array(z.string().min(1)).optional(),
  maxFileBytes: z.number().int().positive().optional(),
  chunkTokens: z.number().int().min(16).max(8192).optional(),
  concurrency: z.number().int().min(1).max(1024).optional(),
  logLevel: LOG_LEVEL.optional(),
  sink: z
    .strictObject({
      kind: z.enum(['lancedb', 'milvus']).optional(),
      path: z.string().min(1).optional(),
      address: z.string().min(1).optional(),
      token: z.string().min(1).optional(),
      username: z.string().min(1).optional(),
      password: z.string().min(1).optional(),
      database: z.string().min(1).optional(),
      ssl: z.boolean().optional(),
      caPath: z.string().min(1).optional(),
      collection: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'letters, digits and _, starting with a letter or _').optional(),
      partitionKey: z.boolean().optional(),
      timeoutMs: z.number().int().min(100).optional(),
    })
    .optional(),
  redis: z
    .strictObject({
      url: z.string().regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL').optional(),
      prefix: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, ".", "_" or "-"').optional(),
    })
    .optional(),
  watch: z
    .strictObject({
      reconcileSeconds: z.number().int().min(0).optional(),
      settleMs: z.number().int().min(0).max(60_000).optional(),
    })
    .optional(),
  worker: z
    .strictObject({
      concurrency: z.number().int().min(1).max(256).optional(),
      lockMs: z.number().int().min(500).optional(),
      drainSeconds: z.number().int().min(0).optional(),
      attempts: z.number().int().min(1).max(100).optional(),
    })
    .optional(),
  metrics: z
    .strictObject({
      port: z.number().int().min(0).max(65535).optional(),
      host: z.string().min(1).optional(),
    })
    .optional(),
  embedder: z
    .strictObject({
      kind: z.enum(['jina-clip', 'jina-api', 'openai', 'fixed']).optional(),
      model: z.string().min(1).optional(),
      url: z
        .url({ protocol: /^https?$/ })
        .refine((u) => !/^https?:\/\/[^/]*@/.test(u), 'credentials do not belong in the URL: put the key in apiKey or the variable apiKeyEnv names')
        .optional(),
      dimensions: z.number().int().min(2).max(8192).optional(),
      apiKey: z.string().min(1).optional(),
      apiKeyEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).optional(),
      timeoutMs: z.number().int().min(100).optional(),
      maxRetries: z.number().int().min(0).max(20).optional(),
      maxTokens: z.number().int().min(16).optional(),
      dim: z.number().int().min(2).max(8192).optional(),
      delayMs: z.number().int().min(0).optional(),
      modelDir: z.string().min(1).optional(),
      dtype: DTYPE.optional(),
      cacheDir: z.string().min(1).optional(),
      offline: z.boolean().optional(),
      batchSize: z.number().int().min(1).max(1024).optional(),
    })
    .optional(),
});
export type ConfigLayer = z.infer<typeof Layer>;

const Config = z.strictObject({
  source: z.string().optional(),
  include: z.array(z.string()).default(DEFAULT_INCLUDE),
  exclude: z.array(z.string()).default([]),
  maxFileBytes: z.number().default(50 * 1024 * 1024),
  chunkTokens: z.number().default(512),
  concurrency: z.number().default(128),
  logLevel: LOG_LEVEL.default('warn'),
  sink: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('lancedb'), path: z.string().default('.ragsync') }),
    z.strictObject({
      kind: z.literal('milvus'),
      address: z.string().default('127.0.0.1:19530'),
      token: z.string().optional(),
      username: z.string().optional(),
      password: z.string().optional(),
      database: z.string().optional(),
      ssl: z.boolean().default(false),
      caPath: z.string().optional(),
      collection: z.string().default('ragsync'),
      partitionKey: z.boolean().default(false),
      timeoutMs: z.number().default(15_000),
    }),
  ]),
  redis: z.strictObject({ url: z.string().optional(), prefix: z.string().default('ragsync') }).default({ prefix: 'ragsync' }),
  watch: z
    .strictObject({ reconcileSeconds: z.number().default(300), settleMs: z.number().default(100) })
    .default({ reconcileSeconds: 300, settleMs: 100 }),
  worker: z
    .strictObject({
      concurrency: z.number().default(32),
      lockMs: z.number().default(30_000),
      drainSeconds: z.number().default(30),
      attempts: z.number().default(12),
    })
    .default({ concurrency: 32, lockMs: 30_000, drainSeconds: 30, attempts: 12 }),
  metrics: z.strictObject({ port: z.number().optional(), host: z.string().default('127.0.0.1') }).default({ host: '127.0.0.1' }),
  embedder: z.discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('jina-clip'),
      model: z.string().default('jinaai/jina-clip-v1'),
      modelDir: z.string().optional(),
      dtype: DTYPE.default('fp32'),
      cacheDir: z.string().default(path.join(os.homedir(), '.cache', 'ragsync', 'models')),
      offline: z.boolean().default(false),
      batchSize: z.number().default(16),
    }),
    // Jina's hosted embeddings API (text and images); the key from apiKey or $apiKeyEnv.
    z.strictObject({
      kind: z.literal('jina-api'),
      model: z.string().default('jina-clip-v2'),
      url: z.string().default(API_DEFAULTS['jina-api'].url),
      dimensions: z.number().min(64).max(1024).default(1024),
      apiKey: z.string().optional(),
      apiKeyEnv: z.string().default(API_DEFAULTS['jina-api'].apiKeyEnv),
      batchSize: z.number().max(JINA_MAX_BATCH).default(64),
      maxTokens: z.number().default(8192),
      timeoutMs: z.number().default(60_000),
      maxRetries: z.number().default(6),
    }),
    // Any OpenAI-compatible /embeddings endpoint (OpenAI, Ollama, vLLM): text only.
    z.strictObject({
      kind: z.literal('openai'),
      model: z.string().default('text-embedding-3-small'),
      url: z.string().default(API_DEFAULTS.openai.url),
      dimensions: z.number().optional(),
      apiKey: z.string().optional(),
      apiKeyEnv: z.string().default(API_DEFAULTS.openai.apiKeyEnv),
      batchSize: z.number().default(64),
      maxTokens: z.number().default(2048),
      timeoutMs: z.number().default(60_000),
      maxRetries: z.number().default(6),
    }),
    // Benchmarks only: hash-derived vectors and a fixed sleep per batch (see embed/fixed.ts).
    z.strictObject({
      kind: z.literal('fixed'),
      dim: z.number().default(64),
      delayMs: z.number().default(10),
      batchSize: z.number().default(16),
    }),
  ]),
});
export type Config = z.infer<typeof Config>;

/** Setting any of these without a sink kind selects the Milvus sink. */
const MILVUS_KEYS = ['address', 'token', 'username', 'password', 'database', 'ssl', 'caPath', 'collection', 'partitionKey'];

/** Environment variable → config field (dotted path) and value type. */
export const ENV_VARS: Readonly<Record<string, { field: string; type: 'string' | 'int' | 'bool' | 'list' }>> = {
  RAGSYNC_SOURCE: { field: 'source', type: 'string' },
  RAGSYNC_INCLUDE: { field: 'include', type: 'list' },
  RAGSYNC_EXCLUDE: { field: 'exclude', type: 'list' },
  RAGSYNC_MAX_FILE_BYTES: { field: 'maxFileBytes', type: 'int' },
  RAGSYNC_CHUNK_TOKENS: { field: 'chunkTokens', type: 'int' },
  RAGSYNC_CONCURRENCY: { field: 'concurrency', type: 'int' },
  RAGSYNC_LOG_LEVEL: { field: 'logLevel', type: 'string' },
  RAGSYNC_SINK: { field: 'sink.kind', type: 'string' },
  RAGSYNC_STORE: { field: 'sink.path', type: 'string' },
  RAGSYNC_MILVUS_ADDRESS: { field: 'sink.address', type: 'string' },
  RAGSYNC_MILVUS_TOKEN: { field: 'sink.token', type: 'string' },
  RAGSYNC_MILVUS_USER: { field: 'sink.username', type: 'string' },
  RAGSYNC_MILVUS_PASSWORD: { field: 'sink.password', type: 'string' },
  RAGSYNC_MILVUS_DATABASE: { field: 'sink.database', type: 'string' },
  RAGSYNC_MILVUS_SSL: { field: 'sink.ssl', type: 'bool' },
  RAGSYNC_MILVUS_CA: { field: 'sink.caPath', type: 'string' },
  RAGSYNC_MILVUS_COLLECTION: { field: 'sink.collection', type: 'string' },
  RAGSYNC_MILVUS_PARTITION_KEY: { field: 'sink.partitionKey', type: 'bool' },
  RAGSYNC_REDIS_URL: { field: 'redis.url', type: 'string' },
  RAGSYNC_REDIS_PREFIX: { field: 'redis.prefix', type: 'string' },
  RAGSYNC_RECONCILE_SECONDS: { field: 'watch.reconcileSeconds', type: 'int' },
  RAGSYNC_SETTLE_MS: { field: 'watch.settleMs', type: 'int' },
  RAGSYNC_WORKER_CONCURRENCY: { field: 'worker.concurrency', type: 'int' },
  RAGSYNC_LOCK_MS: { field: 'worker.lockMs', type: 'int' },
  RAGSYNC_DRAIN_SECONDS: { field: 'worker.drainSeconds', type: 'int' },
  RAGSYNC_ATTEMPTS: { field: 'worker.attempts', type: 'int' },
  RAGSYNC_METRICS_PORT: { field: 'metrics.port', type: 'int' },
  RAGSYNC_METRICS_HOST: { field: 'metrics.host', type: 'string' },
  RAGSYNC_EMBEDDER: { field: 'embedder.kind', type: 'string' },
  RAGSYNC_MODEL: { field: 'embedder.model', type: 'string' },
  RAGSYNC_MODEL_DIR: { field: 'embedder.modelDir', type: 'string' },
  RAGSYNC_DTYPE: { field: 'embedder.dtype', type: 'string' },
  RAGSYNC_MODEL_CACHE: { field: 'embedder.cacheDir', type: 'string' },
  RAGSYNC_OFFLINE: { field: 'embedder.offline', type: 'bool' },
  RAGSYNC_BATCH_SIZE: { field: 'embedder.batchSize', type: 'int' },
  RAGSYNC_EMBEDDER_URL: { field: 'embedder.url', type: 'string' },
  RAGSYNC_EMBEDDER_DIMENSIONS: { field: 'embedder.dimensions', type: 'int' },
  RAGSYNC_EMBEDDER_API_KEY: { field: 'embedder.apiKey', type: 'string' },
  RAGSYNC_EMBEDDER_API_KEY_ENV: { field: 'embedder.apiKeyEnv', type: 'string' },
};
/** Variables read elsewhere (not config fields) that must not be reported as unknown. */
const OTHER_ENV = new Set(['RAGSYNC_CONFIG']);

export interface ConfigInputs {
  /** Parsed config file content, and its name for messages. */
  file?: { name: string; data: unknown };
  env?: Record<string, string | undefined>;
  flags?: ConfigLayer;
}

/** Validates and merges the layers; throws `RagsyncError` code `CONFIG` naming the bad field. */
export function resolveConfig(inputs: ConfigInputs): Config {
  const layers: ConfigLayer[] = [];
  if (inputs.file) layers.push(parseLayer(inputs.file.data, `config file ${inputs.file.name}`));
  if (inputs.env) layers.push(envLayer(inputs.env));
  if (inputs.flags) layers.push(parseLayer(inputs.flags, 'command line'));
  const merged: Record<string, unknown> = { sink: { kind: 'lancedb' }, embedder: { kind: 'jina-clip' } };
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) {
      if (value === undefined) continue;
      const base = key === 'embedder' ? carriedOver(merged.embedder as Record<string, unknown>, (value as { kind?: string }).kind) : merged[key];
      merged[key] = ['sink', 'embedder', 'redis', 'watch', 'worker', 'metrics'].includes(key) ? { ...(base as object), ...dropUndefined(value as object) } : value;
    }
  }
  const sink = merged.sink as Record<string, unknown>;
  if (!layers.some((l) => l.sink?.kind) && MILVUS_KEYS.some((k) => sink[k] !== undefined)) sink.kind = 'milvus';
  const result = Config.safeParse(merged);
  if (!result.success) throw configError('configuration', result.error);
  return result.data;
}

/**
 * What of the embedder settings so far carries over to a layer that names another kind: only
 * settings that kind has (an API key set in the environment stays for `--embedder jina-api`), and
 * never the model name (a local model's name means nothing to an API, and the reverse).
 */
function carriedOver(earlier: Record<string, unknown>, kind: string | undefined): Record<string, unknown> {
  if (kind === undefined || kind === earlier.kind) return earlier;
  const option = Config.shape.embedder.options.find((o) => o.shape.kind.value === kind);
  const keys = new Set(option ? Object.keys(option.shape) : []);
  return Object.fromEntries(Object.entries(earlier).filter(([k]) => k !== 'model' && k !== 'kind' && keys.has(k)));
}

function parseLayer(data: unknown, where: string): ConfigLayer {
  const result = Layer.safeParse(data ?? {});
  if (!result.success) throw configError(where, result.error);
  return result.data;
}

function envLayer(env: Record<string, string | undefined>): ConfigLayer {
  const out: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('RAGSYNC_') || raw === undefined || OTHER_ENV.has(name)) continue;
    const spec = ENV_VARS[name];
    if (!spec) {
      throw new RagsyncError('CONFIG', `unknown environment variable ${name} (known: ${Object.keys(ENV_VARS).join(', ')})`, { stage: 'config' });
    }
    const value = envValue(name, raw, spec.type);
    const [head, tail] = spec.field.split('.') as [string, string | undefined];
    if (tail) out[head] = { ...((out[head] as object) ?? {}), [tail]: value };
    else out[head] = value;
  }
  const result = Layer.safeParse(out);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const field = issue.path.join('.');
    const name = Object.entries(ENV_VARS).find(([, s]) => s.field === field || field.startsWith(`${s.field}.`))?.[0] ?? field;
    throw new RagsyncError('CONFIG', `${name}: ${issue.message}`, { stage: 'config' });
  }
  return result.data;
}

function envValue(name: string, raw: string, type: 'string' | 'int' | 'bool' | 'list'): unknown {
  if (type === 'int') {
    if (!/^\d+$/.test(raw.trim())) throw new RagsyncError('CONFIG', `${name}: expected a whole number, got ${JSON.stringify(raw)}`, { stage: 'config' });
    return Number(raw);
  }
  if (type === 'bool') {
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    throw new RagsyncError('CONFIG', `${name}: expected true or false, got ${JSON.stringify(raw)}`, { stage: 'config' });
  }
  if (type === 'list') return raw.split(',').map((s) => s.trim()).filter(Boolean);
  return raw;
}

function configError(where: string, error: z.ZodError): RagsyncError {
  const details = error.issues
    .map((i) => {
      const field = i.path.join('.');
      if (i.code === 'unrecognized_keys') return `unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => (field ? `${field}.${k}` : k)).join(', ')}`;
      return `${field || '(root)'}: ${i.message}`;
    })
    .join('; ');
  return new RagsyncError('CONFIG', `${where}: ${details}`, { stage: 'config' });
}

function dropUndefined(obj: object): object {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined));
}
