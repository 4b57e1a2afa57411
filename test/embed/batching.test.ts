import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Embedder } from '../../src/core/types.js';
import { BatchingEmbedder } from '../../src/embed/batching.js';
import { FixedCostEmbedder } from '../../src/embed/fixed.js';
import { loadEmbedder } from '../../src/app/embedders.js';
import { resolveConfig } from '../../src/config/index.js';
import { API_KEY, type EmbeddingApiServer, startEmbeddingApi } from '../embedding-api-server.js';

/** The fixed-cost embedder, recording the batches it is sent; inputs containing `bad` fail theirs. */
function recording(): { embedder: Embedder; batches: string[][] } {
  const inner = new FixedCostEmbedder({ dim: 8, delayMs: 5, batchSize: 1024 });
  const batches: string[][] = [];
  const embedder: Embedder = {
    fingerprint: inner.fingerprint,
    dim: inner.dim,
    maxTokens: inner.maxTokens,
    countTokens: (t) => inner.countTokens(t),
    async embedTexts(texts) {
      batches.push(texts);
      if (texts.some((t) => t.includes('bad'))) throw new Error(`cannot embed ${texts.find((t) => t.includes('bad'))}`);
      return inner.embedTexts(texts);
    },
  };
  return { embedder, batches };
}

describe('BatchingEmbedder', () => {
  it('bounds a batch of images by bytes as well as by count (a batch holds at least one image)', async () => {
    const inner = new FixedCostEmbedder({ dim: 8, delayMs: 1, batchSize: 1024 });
    const batches: number[][] = [];
    const embedder: Embedder = {
      ...inner,
      fingerprint: inner.fingerprint,
      dim: inner.dim,
      countTokens: (t) => inner.countTokens(t),
      embedTexts: (t) => inner.embedTexts(t),
      async embedImages(images) {
        batches.push(images.map((b) => b.length));
        return inner.embedImages(images);
      },
    };
    const batching = new BatchingEmbedder(embedder, { batchSize: 16, parallel: 1 });
    const big = Array.from({ length: 4 }, (_, i) => Buffer.alloc(20 << 20, i));
    const small = Array.from({ length: 6 }, (_, i) => Buffer.alloc(1000, i));
    const out = await Promise.all([batching.embedImages!(big), batching.embedImages!(small)]);
    expect(out.flat()).toHaveLength(10);
    for (const b of batches) expect(b.length === 1 || b.reduce((x, y) => x + y, 0) <= 32 << 20).toBe(true);
    expect(batches.filter((b) => b.some((n) => n === 20 << 20)).every((b) => b.filter((n) => n === 20 << 20).length === 1)).toBe(true);
  });

  it('merges the inputs of concurrent callers into full batches and gives each caller its own vectors in order', async () => {
    const { embedder, batches } = recording();
    const batching = new BatchingEmbedder(embedder, { batchSize: 8, parallel: 1 });
    const alone = new FixedCostEmbedder({ dim: 8, delayMs: 0, batchSize: 8 });
    const calls = Array.from({ length: 20 }, (_, i) => Array.from({ length: (i % 3) + 1 }, (_, j) => `doc ${i} chunk ${j}`));
    const results = await Promise.all(calls.map((texts) => batching.embedTexts(texts)));
    for (const [i, texts] of calls.entries()) expect(results[i]).toEqual(await alone.embedTexts(texts));
    const inputs = calls.flat().length;
    // The first caller's batch goes out at once; the rest wait and share full batches.
    expect(batches.flat()).toHaveLength(inputs);
    expect(batches.length).toBeLessThanOrEqual(1 + Math.ceil(inputs / 8));
    expect(Math.max(...batches.map((b) => b.length))).toBe(8);
  });

  it('fails only the caller whose input fails, when its batch was shared', async () => {
    const { embedder } = recording();
    const batching = new BatchingEmbedder(embedder, { batchSize: 16, parallel: 1 });
    const first = batching.embedTexts(['warm up']);
    const good = batching.embedTexts(['a fine text', 'another']);
    const bad = batching.embedTexts(['fine', 'a bad one']);
    const later = batching.embedTexts(['after']);
    await first;
    expect(await good).toHaveLength(2);
    await expect(bad).rejects.toThrow('cannot embed a bad one');
    expect(await later).toHaveLength(1);
  });

  it('runs at most `parallel` batches at once', async () => {
    let running = 0;
    let most = 0;
    const inner = new FixedCostEmbedder({ dim: 8, delayMs: 0, batchSize: 4 });
    const slow: Embedder = {
      ...inner,
      fingerprint: inner.fingerprint,
      dim: 8,
      maxTokens: inner.maxTokens,
      countTokens: (t) => inner.countTokens(t),
      async embedTexts(texts) {
        most = Math.max(most, ++running);
        await new Promise((r) => setTimeout(r, 10));
        running--;
        return inner.embedTexts(texts);
      },
    };
    const batching = new BatchingEmbedder(slow, { batchSize: 4, parallel: 2 });
    await Promise.all(Array.from({ length: 40 }, (_, i) => batching.embedTexts([`t${i}`])));
    expect(most).toBe(2);
  });
});

describe('loadEmbedder batches across documents', () => {
  let api: EmbeddingApiServer;
  beforeAll(async () => {
    api = await startEmbeddingApi();
  });
  afterAll(() => api.close());

  it('sends the texts of 48 concurrent one-chunk documents to an API in a few full requests', async () => {
    const config = resolveConfig({
      flags: { embedder: { kind: 'jina-api', url: api.url, apiKey: API_KEY, dimensions: 64, batchSize: 16 } },
    });
    const embedder = await loadEmbedder(config.embedder);
    api.requests.length = 0;
    const out = await Promise.all(Array.from({ length: 48 }, (_, i) => embedder.embedTexts([`document ${i}`])));
    expect(out.every((v) => v.length === 1 && v[0]!.length === 64)).toBe(true);
    expect(api.requests.reduce((n, r) => n + r.inputs, 0)).toBe(48);
    // Up to 4 requests go out at once; the rest are full batches of 16.
    expect(api.requests.length).toBeLessThanOrEqual(4 + 3);
    expect(api.requests.length).toBeLessThan(48);
  });
});
