/**
 * Sources with an identity: every command that takes a directory checks it against the store's
 * source registry before anything is written. A name the store records with another root is
 * refused (indexing it would delete the other folder's documents); a root inside, or around,
 * another recorded source's root is a warning (its files would be indexed twice). Writers record
 * the source (root and settings) on their first write and the end of each complete full pass.
 */
import { realpath } from 'node:fs/promises';
import type { Config } from '../config/index.js';
import { RagsyncError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { rootRelation } from '../core/source-roots.js';
import type { Store } from '../core/store.js';
import type { Source, SourceRecord } from '../core/types.js';

/** A source checked against its store: its name, real root, and what the store recorded of it. */
export interface SourceIdentity {
  name: string;
  root: string;
  recorded: SourceRecord | null;
}

/** Warnings already printed by this process: a command that opens the store several times warns once. */
const warned = new Set<string>();

/**
 * Checks a source against the store's registry: throws `USAGE` (naming both roots and the way
 * out) when the store records its name with another root; warns (once per process, through
 * `log`) of every recorded source whose root contains or sits inside this one. Writes nothing.
 */
export async function checkSource(store: Store, source: Source, log?: Logger): Promise<SourceIdentity> {
  const root = await realpath(source.location);
  const name = source.name;
  const all = await store.sources();
  const recorded = all.find((s) => s.name === name) ?? null;
  if (recorded && recorded.root !== root) {
    throw new RagsyncError(
      'USAGE',
      `source "${name}" is ${recorded.root} in ${store.location}; ${root} is another folder: index it under its own name ` +
        `(--source NAME), or remove the old one first (ragsync remove-source ${name})`,
      { stage: 'source' },
    );
  }
  for (const other of all) {
    if (other.name === name) continue;
    const relation = rootRelation(root, other.root);
    if (!relation) continue;
    const where = { same: 'is the root of', inside: 'is inside the root of', contains: 'contains the root of' }[relation];
    const message =
      `source "${name}" (${root}) ${where} source "${other.name}" (${other.root}) in ${store.location}: ` +
      `the files they share are indexed twice, under both names`;
    if (warned.has(message)) continue;
    warned.add(message);
    log?.warn({ stage: 'source', source: name }, message);
  }
  return { name, root, recorded };
}

/**
 * Records a checked source in its store (a writer's first write, or an older store's source
 * adopted) with the settings it is scanned with, keeping `createdAt` and `lastSyncAt`; with
 * `synced`, the end of a complete full pass as `lastSyncAt`. Writes only when something changed.
 */
export async function recordSource(store: Store, config: Config, id: SourceIdentity, synced = false): Promise<void> {
  const before = id.recorded;
  const record: SourceRecord = {
    name: id.name,
    root: id.root,
    include: [...config.include],
    exclude: [...config.exclude],
    gitignore: config.gitignore,
    createdAt: before?.createdAt ?? new Date().toISOString(),
    lastSyncAt: synced ? new Date().toISOString() : (before?.lastSyncAt ?? null),
  };
  const same = (a: SourceRecord | null, b: SourceRecord) =>
    a !== null && (Object.keys(b) as Array<keyof SourceRecord>).every((k) => JSON.stringify(a[k]) === JSON.stringify(b[k]));
  if (!same(before, record)) await store.putSource(record);
  id.recorded = record;
}
