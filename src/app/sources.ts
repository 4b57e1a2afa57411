/**
 * Sources with an identity: every command that takes a directory checks it against the store's
 * source registry before anything is written. A name the store records with another root is
 * refused (indexing it would delete the other folder's documents); a root inside, or around,
 * another recorded source's root is a warning (its files would be indexed twice). Writers record
 * the source (root and settings) on their first write and the end of each complete full pass.
 */
import { realpath } from 'node:fs/promises';
import type { Config } from '../config/index.js';
import { RagsyncError, errorMessage } from '../core/errors.js';
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
  if (recorded && recorded.root !== root) throw otherRoot(name, recorded.root, root, store.location);
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

/** The refusal of a source name the store records with another root. */
function otherRoot(name: string, recorded: string, root: string, location: string): RagsyncError {
  return new RagsyncError(
    'USAGE',
    `source "${name}" is ${recorded} in ${location}; ${root} is another folder: index it under its own name ` +
      `(--source NAME), or remove the old one first (ragsync remove-source ${name})`,
    { stage: 'source' },
  );
}

/**
 * Records a checked source in its store, atomically for the store's writers, with the settings
 * it is scanned with (keeping `createdAt` and `lastSyncAt`): a writer's first write, or an older
 * store's source adopted. Another writer that recorded the name with another root meanwhile
 * makes it a refusal, as `checkSource`'s. With `synced` (the end of a complete full pass), it sets
 * `lastSyncAt` only on the registration this run checked: a source removed meanwhile
 * (`remove-source`) or recorded again is not brought back, and `log` says so.
 */
export async function recordSource(store: Store, config: Config, id: SourceIdentity, synced = false, log?: Logger): Promise<void> {
  const now = new Date().toISOString();
  const settings = { include: [...config.include], exclude: [...config.exclude], gitignore: config.gitignore };
  const change = (current: SourceRecord | null): SourceRecord | null => {
    if (synced) {
      const mine = current !== null && current.root === id.root && current.createdAt === (id.recorded?.createdAt ?? current.createdAt);
      return mine ? { ...current, ...settings, lastSyncAt: now } : null;
    }
    if (current && current.root !== id.root) return null;
    const next: SourceRecord = {
      name: id.name,
      root: id.root,
      ...settings,
      createdAt: current?.createdAt ?? now,
      lastSyncAt: current?.lastSyncAt ?? null,
    };
    return same(current, next) ? null : next;
  };
  let after: SourceRecord | null;
  try {
    after = await store.updateSource(id.name, change);
  } catch (err) {
    // The end of a pass is only noted: a store that became unreachable fails the documents, not the pass.
    if (!synced) throw err;
    log?.warn({ stage: 'source', source: id.name }, `cannot note the end of this pass in the store: ${errorMessage(err)}`);
    return;
  }
  // What the store holds now says whether the change was made: its root, and (synced) this pass's time.
  if (!synced) {
    if (after!.root !== id.root) throw otherRoot(id.name, after!.root, id.root, store.location);
    id.recorded = after;
  } else if (after?.lastSyncAt === now) {
    id.recorded = after;
  } else {
    const what = after
      ? `was recorded again meanwhile (root ${after.root})`
      : `was removed from ${store.location} while this run indexed it (ragsync remove-source): it is not recorded again, and what this run wrote after the removal stays until \`ragsync remove-source ${id.name}\` runs again`;
    log?.warn({ stage: 'source', source: id.name }, `source "${id.name}" ${what}`);
  }
}

function same(a: SourceRecord | null, b: SourceRecord): boolean {
  return a !== null && (Object.keys(b) as Array<keyof SourceRecord>).every((k) => JSON.stringify(a[k]) === JSON.stringify(b[k]));
}
