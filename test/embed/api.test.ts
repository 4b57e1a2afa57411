import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RagsyncError } from '../../src/core/errors.js';
import { syncDocument } from '../../src/core/sync-document.js';
import { ApiEmbedder, type ApiEmbedderOptions, retryAfter } from '../../src/embed/api.js';
import { chunkLimits, embedderDescriptor, loadEmbedder, storedEmbedderConfig } from '../../src/app/embedders.js';
import { chunking } from '../../src/chunking/index.js';
import { resolveConfig } from '../../src/config/index.js';
import { lanceDbStore } from '../../src/sink/lancedb/index.js';
import { FilesystemSource } from '../../src/sources/filesystem.js';
import { API_KEY, type EmbeddingApiServer, MAX_INPUTS, startEmbeddingApi } from '../embedding-api-server.js';
import { FIXTURES, tempDir } from '../helpers.js';

let api: EmbeddingApiServer;
beforeAll(async () => {
  api = await startEmbeddingApi();
});
afterAll(() => api.close());

const cos = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);

function jina(over: Partial<ApiEmbedderOptions> = {}): Promise<ApiEmbedder> {
  return ApiEmbedder.create({
    protocol: 'jina',
    url: api.url,
    model: 'jina-clip-v2',
    dimensions: 256,
    apiKey: API_KEY,
    batchSize: 16,
    maxTokens: 8192,
    timeoutMs: 5000,
    maxRetries: 3,
    backoffMs: 20,
    ...over,
  });
}

async function failure(p: Promise<unknown>): Promise<RagsyncError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RagsyncError);
  return err as RagsyncError;
}

describe('Jina embeddings API client', () => {
  it('embeds texts and images: one unit vector per input, in input order, at the configured dimension', async () => {
    const e = await jina();
    expect(e.fingerprint).toEqual({ model: 'jina-clip-v2', revision: 'jina-api', dim: 256, dtype: 'float32', pooling: 'api' });
    const before = api.requests.length;
    const v = await e.embedTexts(['sourdough bread starter', 'redis append only file', 'sourdough bread starter']);
    expect(v).toHaveLength(3);
    for (const x of v) {
      expect(x).toHaveLength(256);
      expect(cos(x, x)).toBeCloseTo(1, 6);
    }
    // The server answers out of order; the client sorts by `index`.
    expect(v[2]).toEqual(v[0]);
    expect(cos(v[0]!, v[1]!)).toBeLessThan(0.5);
    const [q] = await e.embedTexts(['bread starter']);
    expect(cos(q!, v[0]!)).toBeGreaterThan(cos(q!, v[1]!));
    const png = await readFile(path.join(FIXTURES, 'files', 'blue.png'));
    const [img] = await e.embedImages!([png]);
    expect(img).toHaveLength(256);
    const sent = api.requests.slice(before);
    expect(sent.every((r) => r.auth === `Bearer ${API_KEY}` && r.dimensions === 256)).toBe(true);
  });

  it('splits large inputs into requests of at most batchSize items', async () => {
    const e = await jina({ batchSize: 16 });
    const before = api.requests.length;
    const texts = Array.from({ length: 40 }, (_, i) => `text number ${i}`);
    const v = await e.embedTexts(texts);
    expect(v).toHaveLength(40);
    expect(api.requests.slice(before).map((r) => r.inputs)).toEqual([16, 16, 8]);
    expect(v[39]).toEqual((await e.embedTexts(['text number 39']))[0]);
  });

  it('waits as long as Retry-After says on 429, then succeeds', async () => {
    const e = await jina();
    api.failNext({ status: 429, retryAfter: '1', body: { detail: 'rate limit exceeded' } });
    const t0 = Date.now();
    const v = await e.embedTexts(['after the limit']);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(v).toHaveLength(1);
  });

  it('retries 5xx answers with backoff and gives up after maxRetries with a retryable error', async () => {
    const e = await jina({ maxRetries: 2 });
    api.failNext({ status: 503 }, { status: 502 });
    expect(await e.embedTexts(['survives two failures'])).toHaveLength(1);
    const before = api.requests.length;
    api.failNext({ status: 500 }, { status: 500 }, { status: 500 });
    const err = await failure(e.embedTexts(['fails three times']));
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/answered 500 \(still failing after 3 attempts\)/);
    expect(api.requests.length).toBe(before);
  });

  it('fails at once on 401 with a clear message that never contains the key', async () => {
    const e = await jina({ apiKey: 'wrong-key-987654' });
    const before = api.requests.length;
    const err = await failure(e.embedTexts(['x']));
    expect(err.retryable).toBe(false);
    expect(err.code).toBe('EMBED');
    expect(err.message).toMatch(/refused the request \(401\): Unauthorized.*check the API key/);
    expect(err.message).not.toContain('wrong-key-987654');
    expect(api.requests.length).toBe(before);
    const none = await failure((await jina({ apiKey: undefined })).embedTexts(['x']));
    expect(none.message).toMatch(/no API key is set/);
  });

  it('redacts the key even when the API echoes it', async () => {
    const e = await jina();
    api.failNext({ status: 400, body: { detail: `bad token ${API_KEY} in request` } });
    const err = await failure(e.embedTexts(['x']));
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('bad token [redacted] in request');
    expect(err.message).not.toContain(API_KEY);
  });

  it("reports a rejected request (422) with the API's explanation, without retrying", async () => {
    const e = await jina({ batchSize: MAX_INPUTS + 1 });
    const before = api.requests.length;
    const err = await failure(e.embedTexts(Array.from({ length: MAX_INPUTS + 1 }, (_, i) => `t${i}`)));
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/answered 422 \(the request was rejected\): input: at most 32 items per request/);
    expect(api.requests.length).toBe(before);
  });

  it('refuses vectors of another dimension than configured', async () => {
    const e = await ApiEmbedder.create({
      protocol: 'openai',
      url: api.openaiUrl,
      model: 'm',
      apiKey: API_KEY,
      batchSize: 8,
      maxTokens: 512,
      timeoutMs: 5000,
      maxRetries: 0,
      dimensions: 64,
    });
    expect(await e.embedTexts(['ok'])).toHaveLength(1);
    // The endpoint starts ignoring `dimensions` (a proxy in front of another model, say).
    api.ignoreDimensions(128);
    try {
      const err = await failure(e.embedTexts(['x']));
      expect(err.message).toMatch(/returned 128-dimensional vectors, but 64 are configured/);
    } finally {
      api.ignoreDimensions(undefined);
    }
  });

  it('says it cannot reach an endpoint that does not answer, as a retryable error', async () => {
    const e = await jina({ url: 'http://127.0.0.1:9/v1/embeddings', maxRetries: 1 });
    const err = await failure(e.embedTexts(['x']));
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/cannot reach http:\/\/127\.0\.0\.1:9\/v1\/embeddings: .*\(after 2 attempts\)/);
  });

  it('reads Retry-After as seconds or an HTTP date, capped', () => {
    expect(retryAfter('2', 60_000)).toBe(2000);
    expect(retryAfter('0.5', 60_000)).toBe(500);
    expect(retryAfter(new Date(Date.UTC(2030, 0, 1, 0, 0, 10)).toUTCString(), 60_000, Date.UTC(2030, 0, 1))).toBe(10_000);
    expect(retryAfter('3600', 60_000)).toBe(60_000);
    expect(retryAfter('soon', 60_000)).toBeUndefined();
    expect(retryAfter(null, 60_000)).toBeUndefined();
  });
});

describe('OpenAI-compatible embeddings endpoint', () => {
  it('asks the endpoint for its dimension when none is configured, and embeds text only', async () => {
    const e = await ApiEmbedder.create({
      protocol: 'openai',
      url: api.openaiUrl,
      model: 'nomic-embed-text',
      apiKey: API_KEY,
      batchSize: 8,
      maxTokens: 2048,
      timeoutMs: 5000,
      maxRetries: 0,
    });
    expect(e.dim).toBe(1024);
    expect(e.fingerprint).toMatchObject({ model: 'nomic-embed-text', revision: 'openai-api', dim: 1024 });
    expect(e.embedImages).toBeUndefined();
    const v = await e.embedTexts(['one', 'two', 'one']);
    expect(v[0]).toEqual(v[2]);
  });
});

describe('API embedders from the config', () => {
  it('take the key from the environment variable apiKeyEnv names, and the stored descriptor has no key', async () => {
    const config = resolveConfig({ flags: { embedder: { kind: 'jina-api', url: api.url, dimensions: 128, apiKeyEnv: 'MY_JINA_KEY' } } });
    const e = await loadEmbedder(config.embedder, { MY_JINA_KEY: API_KEY });
    expect(e.dim).toBe(128);
    expect(await e.embedTexts(['hello'])).toHaveLength(1);
    const withKey = resolveConfig({ flags: { embedder: { kind: 'jina-api', apiKey: 'secret-abcdef' } } });
    expect(JSON.stringify(embedderDescriptor(withKey.embedder))).not.toContain('secret-abcdef');
    expect(embedderDescriptor(withKey.embedder)).toMatchObject({
      kind: 'jina-api',
      model: 'jina-clip-v2',
      dimensions: 1024,
      apiKeyEnv: 'JINA_API_KEY',
    });
  });

  it('index a folder of text and images through the pipeline, then find them', async () => {
    const root = await tempDir();
    await writeFile(path.join(root, 'bread.md'), '# Bread\n\nSourdough bread needs a starter, flour and water.\n');
    await writeFile(path.join(root, 'redis.md'), '# Redis\n\nThe append only file makes Redis durable.\n');
    await writeFile(path.join(root, 'blue.png'), await readFile(path.join(FIXTURES, 'files', 'blue.png')));
    const embedder = await jina({ dimensions: 128 });
    const store = lanceDbStore(await tempDir('ragsync-store-'));
    const sink = await store.openLive(embedder.fingerprint);
    const source = new FilesystemSource({ name: 'docs', root, include: ['**/*'], exclude: [], maxFileBytes: 1 << 20 });
    const deps = { source, collection: sink, embedder, limits: chunkLimits(embedder, 512), chunking };
    for (const p of ['bread.md', 'redis.md', 'blue.png'])
      expect((await syncDocument({ source: 'docs', path: p }, deps)).status).toBe('changed');
    const [q] = await embedder.embedTexts(['sourdough starter']);
    const hits = await sink.search({ mode: 'dense', k: 3, vector: q });
    expect(hits[0]!.path).toBe('bread.md');
    expect(hits.map((h) => h.path)).toContain('blue.png');
    await store.close();
  });
});

describe('embedders recorded in a store', () => {
  const local = resolveConfig({ flags: { embedder: { kind: 'jina-clip', modelDir: '/models/a' } } });

  it("send this process's key only to the default endpoint or the one this process is configured with", () => {
    const saved = { ...process.env };
    process.env.JINA_API_KEY = 'jina-secret';
    process.env.RAGSYNC_MILVUS_TOKEN = 'milvus-secret';
    try {
      const def = storedEmbedderConfig(
        { kind: 'jina-api', url: 'https://api.jina.ai/v1/embeddings', apiKeyEnv: 'RAGSYNC_MILVUS_TOKEN' },
        local,
      );
      // The store's apiKeyEnv is ignored: the kind's usual variable is read.
      expect(def.config).toMatchObject({ apiKeyEnv: 'JINA_API_KEY' });
      expect(def.env).toEqual({ JINA_API_KEY: 'jina-secret' });
      const evil = storedEmbedderConfig(
        { kind: 'jina-api', url: 'http://collector.example/v1/embeddings', apiKeyEnv: 'RAGSYNC_MILVUS_TOKEN' },
        local,
      );
      expect(evil.env).toEqual({});
      expect((evil.config as { apiKey?: string }).apiKey).toBeUndefined();
      expect(evil.note).toMatch(/no key sent to http:\/\/collector\.example/);
      const mine = resolveConfig({
        flags: { embedder: { kind: 'openai', url: 'http://127.0.0.1:11434/v1/embeddings', apiKey: 'ollama-key' } },
      });
      const ollama = storedEmbedderConfig({ kind: 'openai', model: 'm', url: 'http://127.0.0.1:11434/v1/embeddings' }, mine);
      expect((ollama.config as { apiKey?: string }).apiKey).toBe('ollama-key');
    } finally {
      process.env = saved;
    }
  });
});
