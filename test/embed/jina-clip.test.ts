import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { RagsyncError } from '../../src/core/errors.js';
import type { Embedder } from '../../src/core/types.js';
import { loadJinaClip } from '../../src/embed/jina-clip.js';
import { fingerprintKey } from '../../src/core/fingerprint.js';
import { FIXTURES, TINY_MODEL, tempDir, tinyEmbedder } from '../helpers.js';

const cos = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);

describe('Jina CLIP loader on the tiny model', () => {
  let embedder: Embedder;
  beforeAll(async () => {
    embedder = await tinyEmbedder();
  });

  it('loads once per process', async () => {
    expect(await tinyEmbedder()).toBe(embedder);
  });

  it('has a fingerprint of its own, unlike the real model', () => {
    expect(embedder.fingerprint).toMatchObject({ model: 'ragsync/tiny-clip-test', dim: 256, dtype: 'fp32', pooling: 'l2norm' });
    expect(embedder.fingerprint.revision).toMatch(/^[0-9a-f]{12}$/);
    expect(fingerprintKey(embedder.fingerprint)).not.toContain('jinaai/jina-clip-v1');
    expect(embedder.maxTokens).toBe(8190);
  });

  it('embeds texts: unit vectors, in input order, identical inputs identical vectors', async () => {
    const texts = ['sourdough bread', 'redis persistence with append only file', 'sourdough bread', 'a'];
    const v = await embedder.embedTexts(texts);
    expect(v).toHaveLength(4);
    for (const x of v) {
      expect(x).toHaveLength(256);
      expect(cos(x, x)).toBeCloseTo(1, 5);
    }
    expect(v[2]).toEqual(v[0]);
    expect(v[1]).not.toEqual(v[0]);
    const again = await embedder.embedTexts(['redis persistence with append only file']);
    expect(again[0]).toEqual(v[1]);
  });

  it('gives the same vector for a text whatever else is in its batch', async () => {
    const alone = (await embedder.embedTexts(['bread']))[0]!;
    const batched = await embedder.embedTexts(['a much longer text about kubernetes networking and pods', 'bread']);
    expect(batched[1]).toEqual(alone);
  });

  it('embeds images through the Jina CLIP processor and vision model', async () => {
    const blue = await readFile(path.join(FIXTURES, 'files', 'blue.png'));
    const green = await readFile(path.join(FIXTURES, 'files', 'green.jpg'));
    const yellow = await readFile(path.join(FIXTURES, 'files', 'yellow.webp'));
    const v = await embedder.embedImages!([blue, green, yellow, blue]);
    expect(v).toHaveLength(4);
    expect(v[0]).toHaveLength(256);
    expect(cos(v[0]!, v[0]!)).toBeCloseTo(1, 5);
    expect(v[3]).toEqual(v[0]);
    expect(v[1]).not.toEqual(v[0]);
  });

  it('fails undecodable image bytes with a parse error', async () => {
    const err = await embedder.embedImages!([Buffer.from('not an image at all')]).catch((e) => e);
    expect(err).toBeInstanceOf(RagsyncError);
    expect((err as RagsyncError).code).toBe('PARSE');
  });
});

describe('when the model cannot be had', () => {
  it('says so for a directory without a model, and what to pass', async () => {
    const dir = await tempDir();
    const err = await loadJinaClip({ model: 'x', modelDir: dir, dtype: 'fp32', cacheDir: dir, offline: true, batchSize: 4 }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(RagsyncError);
    expect((err as RagsyncError).code).toBe('MODEL_UNAVAILABLE');
    expect((err as RagsyncError).message).toMatch(/has no config\.json/);
  });

  it('says so for a dtype whose weights the directory lacks', async () => {
    const err = await loadJinaClip({
      model: 'x',
      modelDir: TINY_MODEL,
      dtype: 'q8',
      cacheDir: os.tmpdir(),
      offline: true,
      batchSize: 4,
    }).catch((e) => e);
    expect((err as RagsyncError).code).toBe('MODEL_UNAVAILABLE');
    expect((err as RagsyncError).message).toMatch(/text_model_quantized\.onnx for --dtype q8/);
  });

  it('says so for a hub model that is not cached when offline, naming the cache and --model-dir', async () => {
    const cache = await tempDir();
    const err = await loadJinaClip({ model: 'jinaai/jina-clip-v1', dtype: 'fp32', cacheDir: cache, offline: true, batchSize: 4 }).catch(
      (e) => e,
    );
    expect((err as RagsyncError).code).toBe('MODEL_UNAVAILABLE');
    expect((err as RagsyncError).message).toContain('jinaai/jina-clip-v1');
    expect((err as RagsyncError).message).toContain(cache);
    expect((err as RagsyncError).message).toContain('--model-dir');
  });
});

describe('fixed-cost benchmark embedder', () => {
  it('gives equal unit vectors for equal inputs and sleeps per batch', async () => {
    const { FixedCostEmbedder } = await import('../../src/embed/fixed.js');
    const e = new FixedCostEmbedder({ dim: 32, delayMs: 20, batchSize: 2 });
    const t0 = performance.now();
    const v = await e.embedTexts(['a', 'b', 'a', 'c']);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(35);
    expect(v[0]).toEqual(v[2]);
    expect(v[0]).not.toEqual(v[1]);
    expect(cos(v[1]!, v[1]!)).toBeCloseTo(1, 6);
    expect(e.fingerprint.model).toBe('ragsync/fixed-cost');
  });
});
