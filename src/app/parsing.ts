/**
 * The parse pool of this process (`parse/`), as the `Chunking` every writer uses: one per set of
 * parse settings, its children started with the first document and stopped by `stopParsing`
 * (which a runtime's `close` calls; a later document starts them again).
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chunking } from '../chunking/index.js';
import type { Config } from '../config/index.js';
import type { Chunking } from '../core/types.js';
import { ParsePool } from '../parse/index.js';

const pools = new Map<string, ParsePool>();

/** The parse settings of a config. */
export type ParseSettings = Pick<Config, 'parseTimeoutMs' | 'parseMemoryMb' | 'parseWorkers'>;

/** The chunking of a writer: the process's parse pool for these settings. */
export function parsing(config: ParseSettings): Chunking {
  // One core is left to the embedder and the writes (on 2 cores: one parse process; measured no slower, bench/RESULTS.md).
  const size = config.parseWorkers ?? Math.max(1, os.availableParallelism() - 1);
  const key = JSON.stringify([size, config.parseTimeoutMs, config.parseMemoryMb]);
  let pool = pools.get(key);
  if (!pool) {
    const opts = { entry: childEntry(), size, timeoutMs: config.parseTimeoutMs, memoryMb: config.parseMemoryMb };
    pool = new ParsePool({ ...opts, signature: (type, limits) => chunking.signature(type, limits) });
    pools.set(key, pool);
  }
  return pool;
}

/** A pass was stopped: the documents waiting for a parse child fail at once as aborted (the next run syncs them). */
export function dropWaitingParses(): void {
  const stopped = () => Object.assign(new Error('stopped: not parsed'), { name: 'AbortError' });
  for (const pool of pools.values()) pool.dropWaiting(stopped);
}

/** Stops every parse child of this process; resolves once they have exited. */
export async function stopParsing(): Promise<void> {
  await Promise.all([...pools.values()].map((p) => p.close()));
}

/**
 * The compiled child entry: next to this module in `dist/`; run from the TypeScript sources
 * (tests), the build's copy (`npm run build`; the integration tests' setup builds it).
 */
function childEntry(): string {
  const here = fileURLToPath(import.meta.url);
  const beside = path.join(path.dirname(here), 'parse-child.js');
  if (here.endsWith('.js')) return beside;
  const built = path.resolve(path.dirname(here), '..', '..', 'dist', 'app', 'parse-child.js');
  return existsSync(built) ? built : beside;
}
