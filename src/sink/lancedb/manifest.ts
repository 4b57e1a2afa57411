/**
 * The manifest of a LanceDB store (`ragsync.json`): its collections and the three pointers. It is
 * replaced atomically (write, then rename): readers see the old one or the new one, never a mix.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { RagsyncError, errorMessage } from '../../core/errors.js';
import type { CollectionInfo, Fingerprint, SourceRecord, StoreLayout } from '../../core/types.js';

const MANIFEST = 'ragsync.json';

export interface Manifest {
  version: 1;
  live: string | null;
  /** The target of a re-embed in progress. */
  pending?: string | null;
  /** The live collection before the last swap, kept for rollback. */
  previous?: string | null;
  collections: Record<string, { fingerprint: Fingerprint; embedder?: Record<string, unknown> | null; createdAt: string }>;
  /** The source registry, by source name (absent in stores of older versions). */
  sources?: Record<string, Omit<SourceRecord, 'name'>>;
}

/** The store's manifest; an empty one when the store is new. */
export async function readManifest(dir: string): Promise<Manifest> {
  const file = path.join(dir, MANIFEST);
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Manifest;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, live: null, collections: {} };
    throw new RagsyncError('SINK', `cannot read ${file}: ${errorMessage(err)}`, { stage: 'sink', cause: err });
  }
}

export async function writeManifest(dir: string, manifest: Manifest): Promise<void> {
  const file = path.join(dir, MANIFEST);
  await writeFile(`${file}.tmp`, `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
}

/** The layout a manifest describes. */
export function manifestLayout(m: Manifest): StoreLayout {
  const info = (name: string | null | undefined): CollectionInfo | null => {
    const entry = name ? m.collections[name] : undefined;
    return entry ? { name: name!, fingerprint: entry.fingerprint, embedder: entry.embedder ?? null } : null;
  };
  return {
    live: info(m.live),
    pending: info(m.pending),
    previous: info(m.previous),
    all: Object.keys(m.collections).map((n) => info(n)!),
  };
}

/** The sources a manifest records. */
export function manifestSources(m: Manifest): SourceRecord[] {
  return Object.entries(m.sources ?? {}).map(([name, s]) => ({ name, ...s }));
}
