import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, inject } from 'vitest';
import type { SyncDeps } from '../src/core/sync.js';
import type { Embedder } from '../src/core/types.js';
import { chunkLimits } from '../src/embed/index.js';
import { loadJinaClip } from '../src/embed/jina-clip.js';
import type { Sink } from '../src/core/types.js';
import { LanceDbSink } from '../src/sink/lancedb.js';
import { MilvusSink } from '../src/sink/milvus.js';
import { FilesystemSource } from '../src/sources/filesystem.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');
export const TINY_MODEL = path.join(FIXTURES, 'tiny-clip');
/** A second tiny model with another dimension (128): the target of re-embed tests. */
export const TINY_MODEL_B = path.join(FIXTURES, 'tiny-clip-b');

const dirs: string[] = [];

/** A fresh temporary directory, removed after the test. */
export async function tempDir(prefix = 'ragsync-'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** The tiny Jina-CLIP-shaped model, through the real loading path. */
export function tinyEmbedder(): Promise<Embedder> {
  return loadJinaClip({ model: 'unused', modelDir: TINY_MODEL, dtype: 'fp32', cacheDir: path.join(os.tmpdir(), 'ragsync-model-cache'), offline: true, batchSize: 16 });
}

/** Counts embedder calls and embedded inputs, passing everything to the real embedder. */
export function countingEmbedder(inner: Embedder): Embedder & { texts: number; images: number } {
  const counter = {
    texts: 0,
    images: 0,
    get fingerprint() {
      return inner.fingerprint;
    },
    get dim() {
      return inner.dim;
    },
    get maxTokens() {
      return inner.maxTokens;
    },
    countTokens: (t: string) => inner.countTokens(t),
    async embedTexts(texts: string[]) {
      counter.texts += texts.length;
      return inner.embedTexts(texts);
    },
    async embedImages(images: Buffer[]) {
      counter.images += images.length;
      return inner.embedImages!(images);
    },
  };
  return counter;
}

let collections = 0;

/** A Milvus sink on the test run's Milvus Lite server, in collections of its own. */
export function milvusSink(collection = `t${process.pid}_${Date.now().toString(36)}_${collections++}`, address = inject('milvusAddress')): MilvusSink {
  return new MilvusSink({ address, collection, partitionKey: collections % 2 === 0, timeoutMs: 15_000 });
}

/** Makes a fresh, empty store of one kind; called again in a test, it makes another. */
export type SinkMaker = () => Promise<Sink>;

/** Both real sinks, for suites that must pass on each. */
export const SINKS: Array<[string, SinkMaker]> = [
  ['LanceDB', async () => new LanceDbSink(await tempDir('ragsync-store-'))],
  ['Milvus Lite', async () => milvusSink()],
];

/** Real source, a real store (LanceDB unless `makeSink` says otherwise), tiny model. */
export async function realDeps(root: string, opts: { makeSink?: SinkMaker; chunkTokens?: number; source?: string } = {}) {
  const embedder = countingEmbedder(await tinyEmbedder());
  const sink = opts.makeSink ? await opts.makeSink() : new LanceDbSink(await tempDir('ragsync-store-'));
  await sink.open(embedder.fingerprint);
  const source = new FilesystemSource({ name: opts.source ?? 'docs', root, include: ['**/*'], exclude: [], maxFileBytes: 10 * 1024 * 1024 });
  const deps: SyncDeps = { source, sink, embedder, limits: chunkLimits(embedder, opts.chunkTokens ?? 512) };
  return { deps, embedder, sink, source };
}
