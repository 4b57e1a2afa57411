/**
 * Read-your-writes: wait until the version of a file on disk now is what the store has committed
 * (its document record, the commit marker of invariant 4), so a search that follows sees it.
 * See docs/read-your-writes.md for the semantics and bounds.
 */
import { CONFIG_DEFAULTS } from '../config/defaults.js';
import { lstat, readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import { RagsyncError } from '../core/errors.js';
import type { Store } from '../core/store.js';
import type { DocRecord, DocRef, SourceEntry, SourceRecord } from '../core/types.js';
import { docId as docIdOf, sha256 } from '../ids/index.js';
import { FilesystemSource } from '../sources/filesystem.js';

/** What a wait for a file's current version ended with. */
export interface FreshResult {
  /** The file's path relative to its source root (POSIX), as hits name it. */
  path: string;
  /** Its doc ID; null when the path cannot be one (it is then never indexed). */
  docId: string | null;
  /** Whether the file was not fresh at the first look (so the search waited). */
  waited: boolean;
  /** How long the wait took (ms; 0 when fresh at once). */
  waitedMs: number;
  /** The bound passed before the file's current version was committed: results may not include it. */
  timedOut: boolean;
  /**
   * What was waited for: `indexed` (the file exists: its current size, mtime and hash recorded),
   * `deleted` (the file is gone: no record of it left), `not-indexed` (the source's rules exclude
   * it, or it is no document type: it is never indexed, nothing was waited for).
   */
  state: 'indexed' | 'deleted' | 'not-indexed';
}

export interface FreshOptions {
  /** Give up after this long (ms): the result says `timedOut`, nothing is thrown. */
  timeoutMs: number;
  /** What a relative `file` is relative to (default: the process's working directory). */
  cwd?: string;
  /** Ends the wait early: it throws the signal's reason. */
  signal?: AbortSignal;
  /** Called once when the file is not fresh at the first look (a daemon's enqueue: sync it now). */
  nudge?: (ref: DocRef) => void | Promise<void>;
}

/** How long a `fresh` wait lasts when no bound is given (ms): `search --fresh-timeout-ms`'s default, the API's. */
export const FRESH_TIMEOUT_MS = CONFIG_DEFAULTS.serve.freshTimeoutMs;

/** The first pause between two looks, the factor it grows by, and its bound (ms). */
const FIRST_POLL_MS = 25;
const POLL_GROWTH = 1.5;
const MAX_POLL_MS = 200;
/** A record written this soon after its file's mtime may miss a same-size rewrite within the same tick (as the sync's check). */
const RACY_MS = 2000;

/** Where a file is: its source and its path relative to the source root. */
interface Target {
  source: SourceRecord;
  rel: string;
}

/**
 * Waits until the store's live collection holds the version of `file` that is on disk now, up to
 * `timeoutMs`. `file` is absolute, relative to `cwd`, or (when that lands under no source) relative
 * to the one source root that holds it. The file is stat'ed again at every look, so a file written
 * again meanwhile is waited for in its newest version. Throws `USAGE` for a file under no source
 * of the store (naming the roots); never throws for a timeout.
 */
export async function waitFresh(store: Store, file: string, opts: FreshOptions): Promise<FreshResult> {
  const started = performance.now();
  const target = await locate(store, file, opts.cwd ?? process.cwd());
  const base = { path: target.rel, waited: false, waitedMs: 0, timedOut: false };
  let id: string;
  try {
    id = docIdOf(target.source.name, target.rel);
  } catch {
    return { ...base, docId: null, state: 'not-indexed' };
  }
  const source = sourceOf(target.source, store);
  const ref = { source: target.source.name, path: target.rel };
  const hashes = new HashCache(path.join(target.source.root, target.rel));
  let pause = FIRST_POLL_MS;
  for (let look = 0; ; look++) {
    opts.signal?.throwIfAborted();
    const seen = await lookAt(store, source, ref, id, hashes);
    const elapsed = performance.now() - started;
    const done = { ...base, docId: id, state: seen.state, waited: look > 0, waitedMs: look > 0 ? Math.round(elapsed) : 0 };
    if (seen.fresh) return done;
    if (elapsed >= opts.timeoutMs) return { ...done, waited: true, waitedMs: Math.round(elapsed), timedOut: true };
    if (look === 0) await opts.nudge?.(ref);
    await sleep(Math.min(pause, Math.max(0, opts.timeoutMs - elapsed)), opts.signal);
    pause = Math.min(MAX_POLL_MS, pause * POLL_GROWTH);
  }
}

/** One look: the file as it is now against the live collection's record of it. */
async function lookAt(
  store: Store,
  source: FilesystemSource,
  ref: DocRef,
  id: string,
  hashes: HashCache,
): Promise<{ fresh: boolean; state: FreshResult['state'] }> {
  const entry = await source.stat(ref);
  if (!entry) {
    // There, yet no document of the source: excluded by its rules, no document type, a link out of the root.
    if (await exists(hashes.file)) return { fresh: true, state: 'not-indexed' };
    const live = await store.live();
    return { fresh: !live || (await live.getDocRecord(id)) === null, state: 'deleted' };
  }
  const live = await store.live();
  const record = live ? await live.getDocRecord(entry.docId) : null;
  return { fresh: record !== null && (await matches(record, entry, hashes)), state: 'indexed' };
}

/** Whether a record is of the file version `entry` stats: by stat where that is conclusive, else by the file's hash. */
async function matches(record: DocRecord, entry: SourceEntry, hashes: HashCache): Promise<boolean> {
  if (record.size !== entry.size) return false;
  const statClean =
    record.mtimeMs === entry.mtimeMs &&
    record.updatedAt - record.mtimeMs >= RACY_MS &&
    (entry.ctimeMs === undefined || entry.ctimeMs <= record.updatedAt);
  if (statClean) return true;
  return (await hashes.of(entry)) === record.fileHash;
}

/** The sha-256 of a file's bytes (as the sync's `fileHash`), hashed again only when its stat moved. */
class HashCache {
  private key = '';
  private hash: string | null = null;

  constructor(readonly file: string) {}

  async of(entry: SourceEntry): Promise<string | null> {
    const key = `${entry.size}:${entry.mtimeMs}:${entry.ctimeMs ?? ''}`;
    if (key !== this.key) {
      this.key = key;
      this.hash = await readFile(this.file).then(sha256, () => null);
    }
    return this.hash;
  }
}

/** The source as the store records it (its root, include, exclude and ignore-file rules). */
function sourceOf(record: SourceRecord, store: Store): FilesystemSource {
  const storeRel = path.relative(record.root, store.location);
  const inside = storeRel !== '' && !storeRel.startsWith('..') && !path.isAbsolute(storeRel);
  return new FilesystemSource({
    name: record.name,
    root: record.root,
    include: record.include,
    exclude: record.exclude,
    gitignore: record.gitignore,
    skipDirs: inside ? [storeRel.split(path.sep).join('/')] : [],
    maxFileBytes: Number.MAX_SAFE_INTEGER,
    ignoreFileMaxAgeMs: 0,
  });
}

/**
 * The source and relative path of a file: the source whose root holds the file's real path (the
 * longest such root); else, for a relative path, the one source whose root holds it (a file or a
 * record there). Throws `USAGE` naming the file and the roots.
 */
async function locate(store: Store, file: string, cwd: string): Promise<Target> {
  const sources = await store.sources();
  const real = await realPathOf(path.resolve(cwd, file));
  const under = sources
    .map((source) => ({ source, rel: relativeTo(source.root, real) }))
    .filter((t): t is Target => t.rel !== null)
    .sort((a, b) => b.source.root.length - a.source.root.length);
  if (under[0]) return under[0];
  if (!path.isAbsolute(file)) {
    const rel = file.split(path.sep).join('/');
    const holders: Target[] = [];
    for (const source of sources) if (await holds(store, source, rel)) holders.push({ source, rel });
    if (holders.length === 1) return holders[0]!;
    if (holders.length > 1) {
      const names = holders.map((t) => `"${t.source.name}" (${t.source.root})`).join(', ');
      throw new RagsyncError('USAGE', `${file} is in more than one source: ${names}: give its absolute path`, { stage: 'source' });
    }
  }
  const roots = sources.map((s) => `"${s.name}" (${s.root})`).join(', ') || 'none';
  throw new RagsyncError('USAGE', `${file} is in no source of ${store.location} (sources: ${roots})`, { stage: 'source' });
}

/** Whether a path relative to a source's root names a file there, or one the store has a record of. */
async function holds(store: Store, source: SourceRecord, rel: string): Promise<boolean> {
  const parts = rel.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) return false;
  if (await exists(path.join(source.root, rel))) return true;
  const live = await store.live();
  try {
    return live !== null && (await live.getDocRecord(docIdOf(source.name, rel))) !== null;
  } catch {
    return false;
  }
}

/** `file` relative to `root` in POSIX form, or null when it is not strictly below it. */
function relativeTo(root: string, file: string): string | null {
  const rel = path.relative(root, file);
  if (rel === '' || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) return null;
  return rel.split(path.sep).join('/');
}

/**
 * The path with the links of its folders resolved (the file itself keeps its name: a link to a
 * file is a document under the link's name); of a path that no longer exists, its deepest
 * existing folder is resolved.
 */
async function realPathOf(abs: string): Promise<string> {
  const rest: string[] = [path.basename(abs)];
  let dir = path.dirname(abs);
  for (;;) {
    try {
      return path.join(await realpath(dir), ...rest);
    } catch {
      const parent = path.dirname(dir);
      if (parent === dir) return abs;
      rest.unshift(path.basename(dir));
      dir = parent;
    }
  }
}

async function exists(file: string): Promise<boolean> {
  return lstat(file).then(
    () => true,
    () => false,
  );
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', aborted);
      resolve();
    }
    function aborted() {
      clearTimeout(timer);
      reject(signal!.reason);
    }
    signal?.addEventListener('abort', aborted, { once: true });
  });
}
