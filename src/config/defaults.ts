/**
 * The kinds and the defaults, written here and nowhere else: the schema (`schema.ts`) applies
 * them, help shows them. Plain data, no zod: `ragsync --help` and `--version` read this module
 * and the option table without loading the schema's validator.
 */
import os from 'node:os';
import path from 'node:path';

/** Log levels, most severe first. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** Sink kinds; the first is the default. */
export const SINK_KINDS = ['lancedb', 'milvus'] as const;
/** Embedder kinds; the first is the default. */
export const EMBEDDER_KINDS = ['jina-clip', 'jina-api', 'openai', 'fixed'] as const;
/** A sink kind: `lancedb` or `milvus`. */
export type SinkKind = (typeof SINK_KINDS)[number];
/** An embedder kind: `jina-clip`, `jina-api`, `openai` or `fixed`. */
export type EmbedderKind = (typeof EMBEDDER_KINDS)[number];

/** The default kinds: the first of each list. */
export const DEFAULT_KINDS = { sink: SINK_KINDS[0], embedder: EMBEDDER_KINDS[0] } as const;

/** Where each API embedder kind sends requests by default, and where its key is read from. */
export const API_DEFAULTS = {
  'jina-api': { url: 'https://api.jina.ai/v1/embeddings', apiKeyEnv: 'JINA_API_KEY' },
  openai: { url: 'https://api.openai.com/v1/embeddings', apiKeyEnv: 'OPENAI_API_KEY' },
} as const;

/** The defaults of the settings outside the sink and the embedder (a group's defaults key by key). */
export const CONFIG_DEFAULTS = {
  /** Every supported extension at any depth (`.gitignore` syntax: a pattern without a slash matches in every folder). */
  include: ['*.md', '*.markdown', '*.mdx', '*.txt', '*.text', '*.pdf', '*.png', '*.jpg', '*.jpeg', '*.webp'],
  exclude: [] as string[],
  gitignore: true,
  maxFileBytes: 50 * 1024 * 1024,
  chunkTokens: 512,
  concurrency: 128,
  parseTimeoutMs: 60_000,
  parseMemoryMb: 512,
  maxImagePixels: 100_000_000,
  pdfImageMinSide: 128,
  pdfMaxImages: 32,
  logLevel: 'warn' as (typeof LOG_LEVELS)[number],
  logFormat: 'auto' as 'auto' | 'pretty' | 'json',
  allowDelete: false,
  rehash: false,
  deleteGuard: { share: 0.5, min: 10 },
  vectorCache: { days: 30, mb: 256 },
  redis: { prefix: 'ragsync' },
  watch: { reconcileSeconds: 300, settleMs: 100 },
  worker: { concurrency: 128, lockMs: 30_000, drainSeconds: 30, attempts: 12 },
  metrics: { host: '127.0.0.1' },
  serve: { host: '127.0.0.1', port: 7788, maxUploadBytes: 10 * 1024 * 1024, freshTimeoutMs: 10_000 },
};

/**
 * Each sink kind's settings and their defaults; `undefined`: a setting of that kind with no
 * default (help tells a default of some kinds from one of all the kinds that have the setting).
 */
export const SINK_DEFAULTS = {
  lancedb: { path: '.ragsync' },
  milvus: {
    address: '127.0.0.1:19530',
    token: undefined,
    username: undefined,
    password: undefined,
    database: undefined,
    ssl: false,
    caPath: undefined,
    collection: 'ragsync',
    partitionKey: false,
    timeoutMs: 15_000,
  },
} satisfies Record<SinkKind, object>;

/** Each embedder kind's settings and their defaults, as `SINK_DEFAULTS`. */
export const EMBEDDER_DEFAULTS = {
  'jina-clip': {
    model: 'jinaai/jina-clip-v1',
    modelDir: undefined,
    dtype: 'fp32' as const,
    cacheDir: path.join(os.homedir(), '.cache', 'ragsync', 'models'),
    offline: false,
    batchSize: 16,
  },
  'jina-api': {
    model: 'jina-clip-v2',
    url: API_DEFAULTS['jina-api'].url,
    dimensions: 1024,
    apiKey: undefined,
    apiKeyEnv: API_DEFAULTS['jina-api'].apiKeyEnv,
    batchSize: 64,
    maxTokens: 8192,
    timeoutMs: 60_000,
    maxRetries: 6,
  },
  openai: {
    model: 'text-embedding-3-small',
    url: API_DEFAULTS.openai.url,
    dimensions: undefined,
    apiKey: undefined,
    apiKeyEnv: API_DEFAULTS.openai.apiKeyEnv,
    batchSize: 64,
    maxTokens: 2048,
    timeoutMs: 60_000,
    maxRetries: 6,
  },
  fixed: { dim: 64, delayMs: 10, batchSize: 16 },
} satisfies Record<EmbedderKind, object>;

/**
 * The default of a setting (a dotted key such as `sink.path`) as help shows it, or undefined when
 * it has none. A sink or embedder setting whose default differs by kind names the kinds:
 * `16 for jina-clip, fixed; 64 for jina-api, openai`.
 */
export function describeDefault(key: string): string | undefined {
  const [head, tail] = key.split('.') as [string, string | undefined];
  if ((head === 'sink' || head === 'embedder') && tail !== undefined) {
    if (tail === 'kind') return DEFAULT_KINDS[head];
    return byKind(head === 'sink' ? SINK_DEFAULTS : EMBEDDER_DEFAULTS, tail);
  }
  const group = (CONFIG_DEFAULTS as Record<string, unknown>)[head];
  return shown(tail === undefined ? group : (group as Record<string, unknown> | undefined)?.[tail]);
}

function byKind(defaults: Record<string, object>, setting: string): string | undefined {
  const kinds = new Map<string, string[]>();
  let withSetting = 0;
  for (const [kind, values] of Object.entries(defaults)) {
    if (!(setting in values)) continue;
    withSetting++;
    const value = shown((values as Record<string, unknown>)[setting]);
    if (value !== undefined) kinds.set(value, [...(kinds.get(value) ?? []), kind]);
  }
  const values = [...kinds];
  if (values.length === 1 && values[0]![1].length === withSetting) return values[0]![0];
  return values.length === 0 ? undefined : values.map(([value, of]) => `${value} for ${of.join(', ')}`).join('; ');
}

function shown(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return value.length > 0 ? value.join(', ') : undefined;
  return String(value);
}
