/**
 * The configuration's zod schemas: a layer (file, env or flags: every key optional, bounds
 * checked, unknown keys refused) and the resolved config (every default applied, sinks and
 * embedders as tagged unions). The defaults it applies are written in `defaults.ts` (plain data,
 * for help without zod).
 */
import { z } from 'zod';
import { DTYPES } from '../core/types.js';
import { isValidSourceName } from '../ids/index.js';
import { CONFIG_DEFAULTS as D, EMBEDDER_DEFAULTS, EMBEDDER_KINDS, LOG_LEVELS, SINK_DEFAULTS, SINK_KINDS } from './defaults.js';

/** The Jina API's documented limit of inputs per request. */
export const JINA_MAX_BATCH = 2048;

const DTYPE = z.enum(DTYPES);
const LOG_LEVEL = z.enum(LOG_LEVELS);
/** A `.gitignore` pattern: braces (`*.{md,txt}`) are not that syntax (they would match nothing); `\{` is a literal one. */
const pattern = z
  .string()
  .min(1)
  .refine((p) => !/(^|[^\\])[{}]/.test(p), 'braces are not .gitignore syntax: give one pattern per alternative (*.md, *.txt)');
const text = () => z.string().min(1).optional();
const int = (min: number, max?: number) => (max === undefined ? z.number().int().min(min) : z.number().int().min(min).max(max)).optional();

const LayerSink = z.strictObject({
  kind: z.enum(SINK_KINDS).optional(),
  path: text(),
  address: text(),
  token: text(),
  username: text(),
  password: text(),
  database: text(),
  ssl: z.boolean().optional(),
  caPath: text(),
  collection: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'letters, digits and _, starting with a letter or _')
    .optional(),
  partitionKey: z.boolean().optional(),
  timeoutMs: int(100),
});

const LayerEmbedder = z.strictObject({
  kind: z.enum(EMBEDDER_KINDS).optional(),
  model: text(),
  url: z
    .url({ protocol: /^https?$/ })
    .refine(
      (u) => !/^https?:\/\/[^/]*@/.test(u),
      'credentials do not belong in the URL: put the key in apiKey or the variable apiKeyEnv names',
    )
    .optional(),
  dimensions: int(2, 8192),
  apiKey: text(),
  apiKeyEnv: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
    .optional(),
  timeoutMs: int(100),
  maxRetries: int(0, 20),
  maxTokens: int(16),
  dim: int(2, 8192),
  delayMs: int(0),
  modelDir: text(),
  dtype: DTYPE.optional(),
  cacheDir: text(),
  offline: z.boolean().optional(),
  batchSize: int(1, 1024),
});

/** One layer (file, env or flags): every key optional, unknown keys refused. */
export const LayerSchema = z.strictObject({
  source: z.string().refine(isValidSourceName, 'letters, digits, ".", "_" or "-", at most 64, starting with a letter or digit').optional(),
  include: z.array(pattern).min(1).optional(),
  exclude: z.array(pattern).optional(),
  gitignore: z.boolean().optional(),
  maxFileBytes: z.number().int().positive().optional(),
  chunkTokens: int(16, 8192),
  concurrency: int(1, 1024),
  parseTimeoutMs: int(100),
  parseMemoryMb: int(64),
  parseWorkers: int(1, 256),
  maxImagePixels: int(1),
  pdfImageMinSide: int(0),
  pdfMaxImages: int(0, 10_000),
  logLevel: LOG_LEVEL.optional(),
  logFormat: z.enum(['auto', 'pretty', 'json']).optional(),
  allowDelete: z.boolean().optional(),
  rehash: z.boolean().optional(),
  deleteGuard: z.strictObject({ share: z.number().gt(0).max(1).optional(), min: int(0) }).optional(),
  vectorCache: z.strictObject({ days: int(0, 36_500), mb: int(0, 1_048_576) }).optional(),
  sink: LayerSink.optional(),
  redis: z
    .strictObject({
      url: z
        .string()
        .regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL')
        .optional(),
      prefix: z
        .string()
        .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, ".", "_" or "-"')
        .optional(),
    })
    .optional(),
  watch: z.strictObject({ reconcileSeconds: int(0), settleMs: int(0, 60_000), pollMs: int(0, 600_000) }).optional(),
  worker: z.strictObject({ concurrency: int(1, 256), lockMs: int(500), drainSeconds: int(0), attempts: int(1, 100) }).optional(),
  metrics: z.strictObject({ port: int(0, 65535), host: text() }).optional(),
  serve: z
    .strictObject({
      host: text(),
      port: int(0, 65535),
      token: z.string().min(16, 'at least 16 characters').optional(),
      maxUploadBytes: int(1024, 1 << 30),
      freshTimeoutMs: int(0, 600_000),
    })
    .optional(),
  embedder: LayerEmbedder.optional(),
});
/** One configuration layer, as written in a config file or built from env and flags. */
export type ConfigLayer = z.infer<typeof LayerSchema>;

const milvus = SINK_DEFAULTS.milvus;
const SinkSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('lancedb'), path: z.string().default(SINK_DEFAULTS.lancedb.path) }),
  z.strictObject({
    kind: z.literal('milvus'),
    address: z.string().default(milvus.address),
    token: z.string().optional(),
    username: z.string().optional(),
    password: z.string().optional(),
    database: z.string().optional(),
    ssl: z.boolean().default(milvus.ssl),
    caPath: z.string().optional(),
    collection: z.string().default(milvus.collection),
    partitionKey: z.boolean().default(milvus.partitionKey),
    timeoutMs: z.number().default(milvus.timeoutMs),
  }),
]);

const clip = EMBEDDER_DEFAULTS['jina-clip'];
const jina = EMBEDDER_DEFAULTS['jina-api'];
const openai = EMBEDDER_DEFAULTS.openai;
const fixed = EMBEDDER_DEFAULTS.fixed;
const EmbedderSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('jina-clip'),
    model: z.string().default(clip.model),
    modelDir: z.string().optional(),
    dtype: DTYPE.default(clip.dtype),
    cacheDir: z.string().default(clip.cacheDir),
    offline: z.boolean().default(clip.offline),
    batchSize: z.number().default(clip.batchSize),
  }),
  // Jina's hosted embeddings API (text and images); the key from apiKey or $apiKeyEnv.
  z.strictObject({
    kind: z.literal('jina-api'),
    model: z.string().default(jina.model),
    url: z.string().default(jina.url),
    dimensions: z.number().min(64).max(1024).default(jina.dimensions),
    apiKey: z.string().optional(),
    apiKeyEnv: z.string().default(jina.apiKeyEnv),
    batchSize: z.number().max(JINA_MAX_BATCH).default(jina.batchSize),
    maxTokens: z.number().default(jina.maxTokens),
    timeoutMs: z.number().default(jina.timeoutMs),
    maxRetries: z.number().default(jina.maxRetries),
  }),
  // Any OpenAI-compatible /embeddings endpoint (OpenAI, Ollama, vLLM): text only.
  z.strictObject({
    kind: z.literal('openai'),
    model: z.string().default(openai.model),
    url: z.string().default(openai.url),
    dimensions: z.number().optional(),
    apiKey: z.string().optional(),
    apiKeyEnv: z.string().default(openai.apiKeyEnv),
    batchSize: z.number().default(openai.batchSize),
    maxTokens: z.number().default(openai.maxTokens),
    timeoutMs: z.number().default(openai.timeoutMs),
    maxRetries: z.number().default(openai.maxRetries),
  }),
  // Benchmarks only: hash-derived vectors and a fixed sleep per batch (see embed/fixed.ts).
  z.strictObject({
    kind: z.literal('fixed'),
    dim: z.number().default(fixed.dim),
    delayMs: z.number().default(fixed.delayMs),
    batchSize: z.number().default(fixed.batchSize),
  }),
]);

/** The resolved configuration: every default applied. */
export const ConfigSchema = z.strictObject({
  source: z.string().optional(),
  include: z.array(z.string()).default(D.include),
  exclude: z.array(z.string()).default(D.exclude),
  gitignore: z.boolean().default(D.gitignore),
  maxFileBytes: z.number().default(D.maxFileBytes),
  chunkTokens: z.number().default(D.chunkTokens),
  concurrency: z.number().default(D.concurrency),
  /** A document's parsing and chunking (in a parse child process) is stopped after this long. */
  parseTimeoutMs: z.number().default(D.parseTimeoutMs),
  /** A parse child is stopped at this much memory (heap limit and resident set). */
  parseMemoryMb: z.number().default(D.parseMemoryMb),
  /** Parse child processes (default: one per core but one, at least one: a core is left to embedding). */
  parseWorkers: z.number().optional(),
  /** Larger images are refused before decoding: 100 MP holds any camera photo and an A1 scan at 300 dpi. */
  maxImagePixels: z.number().default(D.maxImagePixels),
  /** PDF images with a side of at most this many pixels are skipped (icons, rules, logos). */
  pdfImageMinSide: z.number().default(D.pdfImageMinSide),
  /** Image chunks of one PDF at most (0: no PDF images). */
  pdfMaxImages: z.number().default(D.pdfMaxImages),
  logLevel: LOG_LEVEL.default(D.logLevel),
  /** Log lines: readable on a terminal (`auto`, stdout a TTY) or `pretty`; JSON lines (pino) otherwise or with `json`. */
  logFormat: z.enum(['auto', 'pretty', 'json']).default(D.logFormat),
  /** Lets a scan-driven pass delete what the mass-deletion guard would hold (`--allow-delete`). */
  allowDelete: z.boolean().default(D.allowDelete),
  /** Hash every file, not only those stat shows may have changed (`--rehash`). */
  rehash: z.boolean().default(D.rehash),
  /** A pass may delete at most `share` of a source's documents, unless at most `min` (see core/delete-guard.ts). */
  deleteGuard: z.strictObject({ share: z.number().default(D.deleteGuard.share), min: z.number().default(D.deleteGuard.min) }).prefault({}),
  /** Vectors of deleted or rewritten rows kept by key (the collection's vector cache): how long, and how much. */
  vectorCache: z.strictObject({ days: z.number().default(D.vectorCache.days), mb: z.number().default(D.vectorCache.mb) }).prefault({}),
  sink: SinkSchema,
  redis: z.strictObject({ url: z.string().optional(), prefix: z.string().default(D.redis.prefix) }).prefault({}),
  watch: z
    .strictObject({
      reconcileSeconds: z.number().default(D.watch.reconcileSeconds),
      settleMs: z.number().default(D.watch.settleMs),
      /** Watch by polling every so many ms (0: by events); unset: poll where events are unreliable (`sources/fs-type.ts`). */
      pollMs: z.number().optional(),
    })
    .prefault({}),
  worker: z
    .strictObject({
      concurrency: z.number().default(D.worker.concurrency),
      lockMs: z.number().default(D.worker.lockMs),
      drainSeconds: z.number().default(D.worker.drainSeconds),
      attempts: z.number().default(D.worker.attempts),
    })
    .prefault({}),
  metrics: z.strictObject({ port: z.number().optional(), host: z.string().default(D.metrics.host) }).prefault({}),
  /** `serve` and `watch --serve`: where the HTTP server listens, its token (required off loopback), the upload and wait bounds. */
  serve: z
    .strictObject({
      host: z.string().default(D.serve.host),
      port: z.number().default(D.serve.port),
      token: z.string().optional(),
      maxUploadBytes: z.number().default(D.serve.maxUploadBytes),
      freshTimeoutMs: z.number().default(D.serve.freshTimeoutMs),
    })
    .prefault({}),
  embedder: EmbedderSchema,
});
/** The resolved configuration the commands run with. */
export type Config = z.infer<typeof ConfigSchema>;
/** The configuration of one embedder (a tagged union on `kind`). */
export type EmbedderConfig = Config['embedder'];
