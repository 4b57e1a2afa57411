/**
 * File change events from chokidar (v5) for a filesystem source. Writes are reported once they
 * settle (`awaitWriteFinish`: no size change for `settleMs`), so a file being written is not
 * read half-written; editors' atomic saves (write a temp file, rename over) arrive as one change.
 * Symbolic links are not followed. Only paths the source would index are reported, by the
 * source's own decision (`included`, `dirExcluded`): a directory it ignores is not watched. An
 * ignore file (`.gitignore`, `.ragsyncignore`) that is added, changed or removed is dropped from
 * the source's rules and reported as `rules`; a directory that such an edit re-includes is watched
 * only from the next start (a reconcile's scan covers it meanwhile). chokidar's events alone lose
 * changes under a storm of them: `watch-backstop.ts` reports every path its raw notifications name,
 * once quiet, and watches a replaced directory afresh.
 */
import path from 'node:path';
import { type FSWatcher, watch } from 'chokidar';
import type { FilesystemSource } from './filesystem.js';
import { startBackstop } from './watch-backstop.js';

export type WatchEvent =
  | { kind: 'file'; path: string; at: number }
  | { kind: 'dir-removed'; path: string; at: number }
  | { kind: 'rules'; path: string; at: number };

export interface WatchOptions {
  settleMs: number;
  /**
   * Watch by polling (chokidar `usePolling`): every file and directory is stat'ed every `pollMs`,
   * for filesystems whose events get lost (see `fs-type.ts`). 0 or absent: by events. A change is
   * then seen up to `pollMs` late and reported once it settles: `awaitWriteFinish` stats only the
   * files seen changing, every `settleMs / 4` whatever `pollMs` is, so settling adds `settleMs`,
   * not polls. (chokidar's CHOKIDAR_USEPOLLING variable, when set, still wins.)
   */
  pollMs?: number;
  onEvent: (e: WatchEvent) => void;
  onError: (err: Error) => void;
}

/** Starts watching; resolves once the initial scan of the watcher is done. */
export async function watchSource(source: FilesystemSource, opts: WatchOptions): Promise<FSWatcher> {
  const root = source.location;
  const rel = (abs: string) => path.relative(root, abs).split(path.sep).join('/');
  // An ignore file that cannot be read: nothing it might ignore is watched or reported (the scan reports it).
  const decide = (what: () => boolean) => {
    try {
      return what();
    } catch (err) {
      opts.onError(err instanceof Error ? err : new Error(String(err)));
      return false;
    }
  };
  const watcher = watch(root, {
    ignoreInitial: true,
    followSymlinks: false,
    atomic: true,
    ...(opts.pollMs ? { usePolling: true, interval: opts.pollMs, binaryInterval: opts.pollMs } : {}),
    awaitWriteFinish:
      opts.settleMs > 0 ? { stabilityThreshold: opts.settleMs, pollInterval: Math.max(10, Math.floor(opts.settleMs / 4)) } : false,
    ignored: (abs: string, stats?: { isFile(): boolean; isDirectory(): boolean }) => {
      const r = rel(abs);
      if (r === '' || r.startsWith('..')) return false;
      if (stats?.isDirectory()) return !decide(() => !source.dirExcluded(r));
      if (stats?.isFile()) return !source.filter.isIgnoreFile(r) && !decide(() => source.included(r));
      return false;
    },
  });
  const file = (abs: string) => {
    const r = rel(abs);
    if (source.filter.isIgnoreFile(r)) {
      source.filter.forget(r.includes('/') ? r.slice(0, r.lastIndexOf('/')) : '');
      return opts.onEvent({ kind: 'rules', path: r, at: Date.now() });
    }
    if (decide(() => source.included(r))) opts.onEvent({ kind: 'file', path: r, at: Date.now() });
  };
  let backstop: { reported: (abs: string) => void } | undefined = undefined;
  const fromChokidar = (abs: string) => {
    backstop?.reported(abs);
    file(abs);
  };
  watcher.on('add', fromChokidar).on('change', fromChokidar).on('unlink', fromChokidar);
  watcher.on('unlinkDir', (abs: string) => opts.onEvent({ kind: 'dir-removed', path: rel(abs), at: Date.now() }));
  watcher.on('error', (err: unknown) => opts.onError(err instanceof Error ? err : new Error(String(err))));
  await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  // Ignore files are left to chokidar's events: a second report would run a second reconcile.
  backstop = await startBackstop(watcher, {
    root,
    // After chokidar's own waits (awaitWriteFinish, and 100 ms for an atomic save's unlink): the
    // backstop reports only what chokidar did not.
    settleMs: opts.settleMs + 250,
    report: (abs) => void (source.filter.isIgnoreFile(rel(abs)) || file(abs)),
    dirGone: (abs) => opts.onEvent({ kind: 'dir-removed', path: rel(abs), at: Date.now() }),
    dirExcluded: (abs) => !decide(() => !source.dirExcluded(rel(abs))),
    onError: opts.onError,
  });
  return watcher;
}
