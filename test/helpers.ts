import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, inject } from 'vitest';
import * as lancedb from '@lancedb/lancedb';
import { MilvusClient } from '@zilliz/milvus2-sdk-node';
import { chunkLimits } from '../src/app/embedders.js';
import { chunking } from '../src/chunking/index.js';
import { CONFIG_DEFAULTS } from '../src/config/index.js';
import type { Collection, Store } from '../src/core/store.js';
import type { SyncDeps } from '../src/core/sync-document.js';
import type { DocChange, Embedder } from '../src/core/types.js';
import { loadJinaClip } from '../src/embed/jina-clip.js';
import { lanceDbStore } from '../src/sink/lancedb/index.js';
import { sqlEq } from '../src/sink/lancedb/sql.js';
import { milvusLiteral } from '../src/sink/milvus/filter.js';
import { type MilvusOptions, milvusStore } from '../src/sink/milvus/index.js';
import { FilesystemSource } from '../src/sources/filesystem.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');
export const TINY_MODEL = path.join(FIXTURES, 'tiny-clip');
/** A second tiny model with another dimension (128): the target of re-embed tests. */
export const TINY_MODEL_B = path.join(FIXTURES, 'tiny-clip-b');

/** The default mass-deletion guard, as scan-driven passes run with it. */
export const DELETE_GUARD = CONFIG_DEFAULTS.deleteGuard;

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
  return loadJinaClip({
    model: 'unused',
    modelDir: TINY_MODEL,
    dtype: 'fp32',
    cacheDir: path.join(os.tmpdir(), 'ragsync-model-cache'),
    offline: true,
    batchSize: 16,
  });
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

/** Options of a Milvus store on the test run's Milvus Lite server, in collections of its own. */
export function milvusOptions(
  collection = `t${process.pid}_${Date.now().toString(36)}_${collections++}`,
  address = inject('milvusAddress'),
): MilvusOptions {
  return { address, collection, partitionKey: collections % 2 === 0, timeoutMs: 15_000 };
}

/** A Milvus store on the test run's Milvus Lite server (see `milvusOptions`). */
export function milvusTestStore(collection?: string, address?: string): Store {
  return milvusStore(milvusOptions(collection, address));
}

/** Makes a fresh, empty store of one kind; called again in a test, it makes another. */
export type StoreMaker = () => Promise<Store>;

/** Both real backends, for suites that must pass on each. */
export const STORES: Array<[string, StoreMaker]> = [
  ['LanceDB', async () => lanceDbStore(await tempDir('ragsync-store-'))],
  ['Milvus Lite', async () => milvusTestStore()],
];

/** Real source, a real store (LanceDB unless `makeStore` says otherwise), tiny model. */
export async function realDeps(root: string, opts: { makeStore?: StoreMaker; chunkTokens?: number; source?: string } = {}) {
  const embedder = countingEmbedder(await tinyEmbedder());
  const store = opts.makeStore ? await opts.makeStore() : lanceDbStore(await tempDir('ragsync-store-'));
  const collection = await store.openLive(embedder.fingerprint);
  const source = new FilesystemSource({
    name: opts.source ?? 'docs',
    root,
    include: ['**/*'],
    exclude: [],
    maxFileBytes: 10 * 1024 * 1024,
  });
  const deps: SyncDeps = { source, collection, embedder, limits: chunkLimits(embedder, opts.chunkTokens ?? 512), chunking };
  return { deps, embedder, store, collection, source };
}

/** A collection that commits with `commit` and is otherwise `c` (a seam for fault tests). */
export function withCommit(c: Collection, commit: (change: DocChange) => Promise<void>): Collection {
  return new Proxy(c, {
    get(target, prop) {
      if (prop === 'commitDocument') return commit;
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * Deletes a document's record from the store's live collection with the backend's own client,
 * leaving its rows: what a crash between a commit's rows and its record leaves.
 */
export async function loseRecord(store: Store, docId: string): Promise<void> {
  const name = (await store.live())!.info.name;
  if (store.kind === 'lancedb') {
    const db = await lancedb.connect(store.location);
    const docs = await db.openTable(`docs_${name}`);
    await docs.delete(sqlEq('doc_id', docId));
    docs.close();
    db.close();
    return;
  }
  const prefix = store.location
    .split('/')
    .pop()!
    .replace(/_chunks$/, '');
  const client = new MilvusClient({ address: inject('milvusAddress'), logLevel: 'error' });
  await client.delete({ collection_name: `${prefix}_docs_${name}`, filter: `doc_id == ${milvusLiteral(docId)}` });
  await client.closeConnection();
}
