/**
 * The store a configuration names. Its backend's module is imported when the store is opened: a
 * LanceDB command never loads the Milvus client, a Milvus one never LanceDB and Arrow, and a
 * command that only reads the store (`status`, `search`) loads none of the parsing, chunking or
 * source code that `runtime.ts` wires for writers.
 */
import path from 'node:path';
import type { Config } from '../config/index.js';
import type { Store } from '../core/store.js';

/** Builds (without connecting) the store the configuration names. */
export async function openStore(config: Config['sink'], cwd = process.cwd()): Promise<Store> {
  switch (config.kind) {
    case 'lancedb':
      return (await import('../sink/lancedb/index.js')).lanceDbStore(path.resolve(cwd, config.path));
    case 'milvus': {
      const { milvusStore } = await import('../sink/milvus/index.js');
      return milvusStore({ ...config, caPath: config.caPath ? path.resolve(cwd, config.caPath) : undefined });
    }
  }
}
