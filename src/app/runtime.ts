/**
 * The parts a command works with, made from a resolved config: the store, the source, the
 * embedder, and the targets a writer writes (live, and a re-embed's pending collection).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { type Config, embedderChosen } from '../config/index.js';
import type { DeleteGuard } from '../core/delete-guard.js';
import { emptyCollection } from '../core/dry-run.js';
import { RagsyncError } from '../core/errors.js';
import { physicalName } from '../core/fingerprint.js';
import type { Logger } from '../core/log.js';
import type { Collection, Store } from '../core/store.js';
import type { SyncDeps } from '../core/sync-document.js';
import { SyncTargets } from '../core/targets.js';
import type { Embedder, Source } from '../core/types.js';
import { FilesystemSource } from '../sources/filesystem.js';
import { chunkLimits, embedderDescriptor, embedderFor, liveEmbedder } from './embedders.js';
import { parsing, stopParsing } from './parsing.js';
import { type SourceIdentity, checkSource, recordSource } from './sources.js';
import { openStore } from './store.js';

/** The default source name for a directory: its base name, made a valid source name. */
export function defaultSourceName(dir: string): string {
  const base = path
    .basename(path.resolve(dir))
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '');
  return base.slice(0, 64) || 'fs';
}

/** The filesystem source of a directory (the store skipped when it lives inside it). */
export function openSource(config: Config, dir: string, store: Store): FilesystemSource {
  if (!existsSync(dir)) throw new RagsyncError('USAGE', `no such directory: ${dir}`, { stage: 'source' });
  const { include, exclude, gitignore, maxFileBytes } = config;
  const name = config.source ?? defaultSourceName(dir);
  return new FilesystemSource({ name, root: dir, include, exclude, gitignore, maxFileBytes, skipDirs: storeDir(dir, store.location) });
}

/** What `syncDocument` needs to write one collection with its embedder. */
export function syncDeps(config: Config, source: Source, collection: Collection, embedder: Embedder): SyncDeps {
  const limits = chunkLimits(embedder, config.chunkTokens, config);
  return { source, collection, embedder, limits, chunking: parsing(config), rehash: config.rehash };
}

/** What every command that writes needs. */
export interface Runtime {
  source: FilesystemSource;
  store: Store;
  /** The live collection with the configured embedder. */
  live: SyncDeps;
  /** Live, and a re-embed's pending collection while one runs. */
  targets: SyncTargets;
  close(): Promise<void>;
}

/**
 * Checks the source against the store's registry (`sources.ts`: another root under its name is
 * refused before anything is written), loads the model (the chosen one, else the one the store
 * records) and opens the store's live collection for writing, refusing a chosen model that is not
 * the store's; then records the source.
 */
export async function openRuntime(config: Config, dir: string, log?: Logger): Promise<Runtime & { identity: SourceIdentity }> {
  const store = await openStore(config.sink);
  try {
    const source = openSource(config, dir, store);
    // Checked and recorded before the model loads: two runs of two folders under one name started
    // together cannot both pass the check (the record is made under the store's write lock).
    const identity = await checkSource(store, source, log);
    await recordSource(store, config, identity);
    const { embedder, collection } = await openLiveFollowing(config, store);
    return { ...writerRuntime(config, store, syncDeps(config, source, collection, embedder), log), identity };
  } catch (err) {
    await store.close();
    throw err;
  }
}

/**
 * The live collection and its embedder: the chosen one, else the one the store records. A
 * re-embed that swaps between the read of the store's model and the open (the model loads
 * meanwhile) is followed when no model was chosen: the new live model is loaded instead.
 */
async function openLiveFollowing(config: Config, store: Store): Promise<{ embedder: Embedder; collection: Collection }> {
  for (let attempt = 1; ; attempt++) {
    const embedder = await liveEmbedder(config, (await store.live())?.info ?? null, store.location);
    try {
      return { embedder, collection: await store.openLive(embedder.fingerprint, embedderDescriptor(config.embedder)) };
    } catch (err) {
      const swapped = err instanceof RagsyncError && err.code === 'FINGERPRINT_MISMATCH' && !embedderChosen(config);
      if (!swapped || attempt >= 3) throw err;
    }
  }
}

/** The mass-deletion guard of a scan-driven pass: the configured one, none with `allowDelete`. */
export function deleteGuardOf(config: Config): DeleteGuard | null {
  return config.allowDelete ? null : config.deleteGuard;
}

/** What a command that only reads needs (an audit, a dry run). */
export interface Reader {
  store: Store;
  /** The live collection, or an empty read-only one when the store holds none yet. */
  live: SyncDeps;
  close(): Promise<void>;
}

/**
 * Checks the source (as `openRuntime` does, recording nothing), loads the model and opens the
 * store's live collection for reading; creates nothing (a store without a collection reads as
 * empty). Refuses a chosen model that is not the store's, as a writer does.
 */
export async function openReader(config: Config, dir: string, log?: Logger): Promise<Reader> {
  const store = await openStore(config.sink);
  try {
    const source = openSource(config, dir, store);
    await checkSource(store, source, log);
    const live = await store.live();
    const embedder = await liveEmbedder(config, live?.info ?? null, store.location);
    const fingerprint = embedder.fingerprint;
    const collection = live ?? emptyCollection({ name: physicalName(fingerprint), fingerprint, embedder: null });
    return { store, live: syncDeps(config, source, collection, embedder), close: () => closeAll(store) };
  } catch (err) {
    await store.close();
    throw err;
  }
}

/** A runtime over an open store and its live deps: its targets open other collections with their own embedders. */
export function writerRuntime(config: Config, store: Store, live: SyncDeps, log?: Logger): Runtime {
  const source = live.source;
  const loaded: Embedder[] = [live.embedder];
  const targets = new SyncTargets(
    store,
    live,
    async (info) => {
      const embedder = await embedderFor(info, config, loaded);
      loaded.push(embedder);
      return syncDeps(config, source, await store.collection(info.fingerprint), embedder);
    },
    log,
  );
  return { source: source as FilesystemSource, store, live, targets, close: () => closeAll(store) };
}

/** Closes the store and stops the parse children (a later pass in this process starts them again). */
async function closeAll(store: Store): Promise<void> {
  try {
    await store.close();
  } finally {
    await stopParsing();
  }
}

/** The store's directory relative to the indexed directory, when it lives inside it. */
function storeDir(dir: string, store: string): string[] {
  const rel = path.relative(path.resolve(dir), store);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return [];
  return [rel.split(path.sep).join('/')];
}
