/**
 * A backstop under chokidar's events, for the invariant "after the last file event, the index
 * equals the tree" without any reconcile. chokidar (5.0) loses events under a storm of changes:
 *
 * - a directory removed and recreated between two reads of its parent is never watched again
 *   (its watch stays on the deleted inode; chokidar issues #917, #1059): nothing below it is seen;
 * - `unlink` is dropped when the path's `awaitWriteFinish` wait began with an `add` (chokidar
 *   assumes the consumer never saw the file, but a job already read it by path), when a second
 *   removal of one path falls within 100 ms of the first (the `remove` throttle); and a wait
 *   that ends on ENOENT with no removal processed leaves its pending entry behind, which
 *   swallows every later event on the path.
 *
 * The raw notifications of the directory watches do not lose these. Every path they name is
 * reported once it has been quiet for the settle time, whatever happened to it: a report only
 * says "look at this path now" (the job reads the file as it is, and a missing file deletes its
 * rows), so a redundant one costs a stat. A directory whose inode changed is watched again and
 * every file below it reported; a directory that vanished (or was replaced) reports every file
 * reported below it, and itself as removed (the caller adds the documents indexed below it).
 */
import type { Dirent } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { FSWatcher } from 'chokidar';

export interface BackstopOptions {
  root: string;
  settleMs: number;
  /** Reports a path that may have changed (a file, or a path where a file may have been). */
  report: (abs: string) => void;
  /** Reports a directory that is gone (or was replaced): the documents indexed below it may be too. */
  dirGone: (abs: string) => void;
  /** True for a directory the source does not index (an absolute path). */
  dirExcluded: (abs: string) => boolean;
  onError: (err: Error) => void;
}

/** A second look at a new directory: files created before chokidar's new watch was in place. */
const SECOND_LOOK_MS = 1000;

/**
 * Starts the backstop on a ready watcher; it stops acting when the watcher closes. Call the
 * returned `reported` with every path chokidar's own events report: a path chokidar reported
 * after its last raw notification is not reported again.
 */
export async function startBackstop(watcher: FSWatcher, o: BackstopOptions): Promise<{ reported: (abs: string) => void }> {
  const b = new Backstop(watcher, o);
  await b.start();
  return { reported: (abs) => b.chokidarReported(abs) };
}

/** Which directory is at a path: the inode alone can be reused at once by the next mkdir. */
function identity(st: { ino: number; birthtimeMs: number }): string {
  return `${st.ino}/${st.birthtimeMs}`;
}

class Backstop {
  /** The directories watched, by identity. */
  private readonly dirs = new Map<string, string>();
  /** Files reported (and not since reported gone): what a vanished directory took with it. */
  private readonly reported = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Order of raw notifications and chokidar's reports, per path (while a look is pending). */
  private seq = 0;
  private readonly touched = new Map<string, number>();
  private readonly byChokidar = new Map<string, number>();

  constructor(
    private readonly watcher: FSWatcher,
    private readonly o: BackstopOptions,
  ) {}

  async start(): Promise<void> {
    for (const dir of Object.keys(this.watcher.getWatched())) {
      if (!this.inside(dir)) continue;
      const st = await lstat(dir).catch(() => null);
      if (st?.isDirectory()) this.dirs.set(dir, identity(st));
    }
    this.watcher.on('raw', (_event: string, name: string | null, details: unknown) => {
      const watched = (details as { watchedPath?: string } | undefined)?.watchedPath;
      // Polling (fs.watchFile) names the full path; fs.watch names a directory's entry relative
      // to it, or the directory's own name when the directory itself was removed or moved.
      if (watched === undefined) return this.touch(path.resolve(name ?? ''));
      if (!this.dirs.has(watched) || !name) return this.touch(watched);
      this.touch(path.join(watched, name));
      if (name === path.basename(watched)) this.touch(watched);
    });
    this.watcher.on('addDir', (abs: string) => this.touch(abs));
  }

  chokidarReported(abs: string): void {
    if (this.touched.has(abs)) this.byChokidar.set(abs, ++this.seq);
    this.reported.add(abs);
  }

  private inside(abs: string): boolean {
    return abs === this.o.root || abs.startsWith(`${this.o.root}${path.sep}`);
  }

  private later(fn: () => Promise<void>, ms: number): NodeJS.Timeout {
    const run = () => void fn().catch((err: unknown) => this.o.onError(err instanceof Error ? err : new Error(String(err))));
    return setTimeout(run, ms).unref();
  }

  /** Looks at `abs` once no notification has named it for the settle time. */
  private touch(abs: string): void {
    if (!this.inside(abs) || abs === this.o.root) return;
    clearTimeout(this.timers.get(abs));
    this.touched.set(abs, ++this.seq);
    const settle = async () => {
      this.timers.delete(abs);
      const covered = (this.byChokidar.get(abs) ?? 0) > this.touched.get(abs)!;
      this.touched.delete(abs);
      this.byChokidar.delete(abs);
      await this.settle(abs, covered);
    };
    this.timers.set(abs, this.later(settle, this.o.settleMs));
  }

  private report(abs: string, exists: boolean): void {
    if (this.watcher.closed) return;
    if (exists) this.reported.add(abs);
    else this.reported.delete(abs);
    this.o.report(abs);
  }

  /** `covered`: chokidar reported the path after its last notification (a file needs no report). */
  private async settle(abs: string, covered: boolean): Promise<void> {
    if (this.watcher.closed) return;
    const st = await lstat(abs).catch(() => null);
    if (!st) return this.dirs.has(abs) ? this.vanished(abs) : covered ? void this.reported.delete(abs) : this.report(abs, false);
    if (!st.isDirectory()) return covered ? void this.reported.add(abs) : this.report(abs, true);
    if (this.dirs.get(abs) === identity(st)) return;
    if (this.dirs.has(abs)) this.vanished(abs);
    await this.arrived(abs);
  }

  /** A directory gone: every file reported below it may have gone with it. */
  private vanished(dir: string): void {
    const below = (p: string) => p.startsWith(`${dir}${path.sep}`);
    for (const d of [...this.dirs.keys()]) if (d === dir || below(d)) this.dirs.delete(d);
    for (const f of [...this.reported]) if (below(f)) this.report(f, false);
    if (!this.watcher.closed) this.o.dirGone(dir);
  }

  /**
   * A directory where none was, or another one in place of the one watched. chokidar may keep
   * the old one's dead watch, or attach the new one to it: watch it afresh, then report every
   * file in it, now and once more a little later.
   */
  private async arrived(dir: string): Promise<void> {
    if (this.o.dirExcluded(dir)) return;
    await this.walk(dir, true);
    this.later(() => this.walk(dir, false), SECOND_LOOK_MS);
  }

  /** Reports every file below `dir`; `fresh`: watches every directory in it afresh (all are new). */
  private async walk(dir: string, fresh: boolean): Promise<void> {
    if (this.watcher.closed) return;
    const st = await lstat(dir).catch(() => null);
    if (!st?.isDirectory()) return;
    const old = this.dirs.get(dir);
    this.dirs.set(dir, identity(st));
    if (fresh || (old !== undefined && old !== identity(st))) this.watcher.unwatch(dir).add(dir);
    const entries: Dirent[] = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const abs = path.join(dir, e.name);
      if (e.isFile()) this.report(abs, true);
      else if (e.isDirectory() && !this.o.dirExcluded(abs)) await this.walk(abs, fresh);
    }
  }
}
