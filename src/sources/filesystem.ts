/**
 * The filesystem source: a directory tree. Documents are files whose extension ragsync knows and
 * that the source's `PathFilter` (`gitignore.ts`: include/exclude patterns and the ignore files,
 * `.gitignore` syntax on the POSIX path relative to the root) includes; an ignored directory is
 * not read. Symbolic links are followed only when they point at a file inside the root; directory links
 * are never followed (no cycles, no escape from the root).
 */
import { type Dirent, constants } from 'node:fs';
import { lstat, open, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { RagsyncError, errorMessage } from '../core/errors.js';
import type { DocRef, Document, Source, SourceEntry } from '../core/types.js';
import { docId, normalizeRelPath } from '../ids/index.js';
import { contentMismatch, typeFromName } from './detect.js';
import { PathFilter } from './gitignore.js';

/** Stats of a directory's files in flight ahead of the scan. */
const STAT_AHEAD = 32;

export interface FilesystemOptions {
  name: string;
  root: string;
  /** `.gitignore` patterns: a file is a document when this list, read as a `.gitignore` at the root, would ignore it. */
  include: string[];
  /** `.gitignore` patterns of files and directories never indexed (no `!` elsewhere re-includes them). */
  exclude: string[];
  /** Honour `.gitignore` files in the tree (default true); `.ragsyncignore` files are always honoured. */
  gitignore?: boolean;
  /** Relative POSIX paths of directories never walked, taken literally (the store when it lives inside the root). */
  skipDirs?: string[];
  maxFileBytes: number;
  /** `stat` and `read` read an ignore file above their path again once the copy held is this old (ms; default 1000, 0: every time). */
  ignoreFileMaxAgeMs?: number;
  /**
   * Called in `read` after a file passed its checks (inside the root, a regular file) and before
   * it is opened: the window in which a file can be swapped for a link. A seam for tests.
   */
  onChecked?: (abs: string) => Promise<void>;
  /** Called as the scan is about to read a directory (`''`: the root). A seam for tests. */
  onReadDir?: (rel: string) => void;
}

export class FilesystemSource implements Source {
  readonly name: string;
  readonly location: string;
  get maxFileBytes(): number {
    return this.opts.maxFileBytes;
  }
  private readonly root: string;
  /** What is walked and indexed; shared by the scan, `stat`, `read` and the watcher. */
  readonly filter: PathFilter;
  private failed: Array<{ path: string; error: string }> = [];

  constructor(private readonly opts: FilesystemOptions) {
    this.name = opts.name;
    this.root = path.resolve(opts.root);
    this.location = this.root;
    this.filter = new PathFilter({
      root: this.root,
      include: opts.include,
      exclude: opts.exclude,
      gitignore: opts.gitignore ?? true,
      skipDirs: opts.skipDirs ?? [],
      maxAgeMs: opts.ignoreFileMaxAgeMs ?? 1000,
    });
  }

  /**
   * True when a relative POSIX path is a document of this source: a known type that the filter
   * includes, with the ignore files above it as last read (see `PathFilter`). Throws `IO` when
   * an ignore file it must read cannot be read.
   */
  included(rel: string): boolean {
    return typeFromName(rel) !== null && this.filter.fileIncluded(rel);
  }

  unreadable(): ReadonlyArray<{ path: string; error: string }> {
    return this.failed;
  }

  async *scan(): AsyncIterable<SourceEntry> {
    this.failed = [];
    const rootStat = await stat(this.root).catch((err: unknown) => {
      throw new RagsyncError('IO', `cannot read source directory ${this.root}: ${errorMessage(err)}`, {
        stage: 'source',
        cause: err,
      });
    });
    if (!rootStat.isDirectory()) {
      throw new RagsyncError('IO', `source ${this.root} is not a directory`, { stage: 'source' });
    }
    this.filter.reset();
    yield* this.walk('', this.realRoot());
  }

  /**
   * The checked relative path and absolute path of a reference, or null when it is not a document
   * of this source: the scan's decision, with ignore files read again when their copy is old.
   */
  private async locate(ref: DocRef): Promise<{ rel: string; abs: string } | null> {
    const rel = normalizeRelPath(ref.path);
    if (typeFromName(rel) === null) return null;
    try {
      await this.filter.refresh(rel);
    } catch (err) {
      throw new RagsyncError('IO', `${rel}: ${errorMessage(err)}`, {
        stage: 'source',
        docId: docId(this.name, rel),
        retryable: true,
        cause: err,
      });
    }
    return this.included(rel) ? { rel, abs: path.join(this.root, rel) } : null;
  }

  async stat(ref: DocRef): Promise<SourceEntry | null> {
    const at = await this.locate(ref);
    if (!at) return null;
    const st = await this.fileStat(at.abs, this.realRoot());
    return st ? this.entry(at.rel, st) : null;
  }

  async read(ref: DocRef): Promise<Document | null> {
    const at = await this.locate(ref);
    if (!at) return null;
    const { rel, abs } = at;
    const id = docId(this.name, rel);
    const cannotRead = (err: unknown) =>
      new RagsyncError('IO', `${rel}: cannot read: ${errorMessage(err)}`, { stage: 'source', docId: id, retryable: true, cause: err });
    // An editor's atomic save can replace the file between the check and the open: check again.
    for (let attempt = 0; attempt < 3; attempt++) {
      const checked = await this.fileStat(abs, this.realRoot());
      if (!checked) return null;
      await this.opts.onChecked?.(abs);
      const entry = this.entry(rel, checked);
      if (entry.size > this.opts.maxFileBytes) {
        throw new RagsyncError('TOO_LARGE', `${rel}: ${entry.size} bytes is over the limit of ${this.opts.maxFileBytes} (maxFileBytes)`, {
          stage: 'source',
          docId: id,
        });
      }
      let fh;
      try {
        // Non-blocking: a FIFO swapped in after the check must not hang the open (the dev/ino
        // comparison below then refuses it).
        fh = await open(abs, constants.O_RDONLY | constants.O_NONBLOCK);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw cannotRead(err);
      }
      try {
        // Size and mtime from the same open file as the bytes, so the record matches what was read.
        const st = await fh.stat();
        // Only the file checked to be inside the root is read: a path swapped (for a link, say)
        // between the check and the open is checked again.
        if (st.dev !== checked.dev || st.ino !== checked.ino) continue;
        const bytes = await fh.readFile();
        const mismatch = contentMismatch(entry.contentType, bytes, entry.path);
        if (mismatch) throw new RagsyncError('PARSE', `${entry.path}: ${mismatch}`, { stage: 'parse', docId: id });
        return {
          source: this.name,
          path: entry.path,
          docId: id,
          contentType: entry.contentType,
          bytes,
          size: bytes.length,
          mtimeMs: st.mtimeMs,
        };
      } catch (err) {
        throw err instanceof RagsyncError ? err : cannotRead(err);
      } finally {
        await fh.close();
      }
    }
    throw new RagsyncError('IO', `${rel}: kept changing while being read`, { stage: 'source', docId: id, retryable: true });
  }

  private async *walk(relDir: string, root: () => Promise<string>): AsyncGenerator<SourceEntry> {
    this.opts.onReadDir?.(relDir);
    let entries;
    try {
      entries = await readdir(path.join(this.root, relDir), { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') this.failed.push({ path: relDir, error: `cannot read directory: ${errorMessage(err)}` });
      return;
    }
    // The files of this directory skip the realpath check (`walked`): the directory itself must be
    // inside, which a directory swapped for a link after its parent was read would not be.
    if (relDir !== '') {
      const real = await realpath(path.join(this.root, relDir)).catch(() => null);
      const rootReal = await root();
      if (real === null || !under(rootReal, real)) return;
    }
    try {
      await this.filter.enter(relDir, new Set(entries.filter((e) => e.isFile()).map((e) => e.name)));
    } catch (err) {
      // Its rows stay (an unreadable folder's do) rather than the scan applying half its rules.
      this.failed.push({ path: relDir, error: errorMessage(err) });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    // Each file's stat started up to STAT_AHEAD files ahead (small files are not one stat round
    // trip after another), never past a subdirectory (a stat not taken long before its sync).
    const files = this.documentsOf(relDir, entries);
    const stats: Array<Promise<Awaited<ReturnType<FilesystemSource['fileStat']>> | Error>> = [];
    /** Starts the stats of file `cur` and of those after it, up to STAT_AHEAD, before the next subdirectory. */
    const statFrom = (cur: number) => {
      const run = files[cur]!.dirsBefore;
      for (let k = stats.length; k <= Math.min(cur + STAT_AHEAD, files.length - 1) && files[k]!.dirsBefore === run; k++) {
        const f = files[k]!;
        stats.push(this.fileStat(path.join(this.root, f.rel), root, f.walked).catch((err: unknown) => new Error(errorMessage(err))));
      }
    };
    let next = 0;
    for (const [at, ent] of entries.entries()) {
      if (ent.isDirectory()) {
        const rel = relDir === '' ? ent.name : `${relDir}/${ent.name}`;
        if (!this.dirExcluded(rel)) yield* this.walk(rel, root);
        continue;
      }
      if (files[next]?.at !== at) continue;
      const f = files[next]!;
      statFrom(next);
      const st = await stats[next++]!;
      if (st instanceof Error) this.failed.push({ path: f.norm, error: `cannot read: ${st.message}` });
      else if (st) yield this.entry(f.norm, st);
    }
  }

  /** A directory's entries that are documents of this source: place, paths, and directories before them. */
  private documentsOf(relDir: string, entries: Dirent[]) {
    const files: Array<{ at: number; rel: string; norm: string; walked: boolean; dirsBefore: number }> = [];
    let dirsBefore = 0;
    entries.forEach((ent, at) => {
      if (ent.isDirectory()) dirsBefore++;
      if (!(ent.isFile() || ent.isSymbolicLink())) return;
      const rel = relDir === '' ? ent.name : `${relDir}/${ent.name}`;
      const norm = normalizeRelPath(rel);
      if (this.included(norm)) files.push({ at, rel, norm, walked: ent.isFile(), dirsBefore });
    });
    return files;
  }

  private entry(rel: string, st: { size: number; mtimeMs: number; ctimeMs: number }): SourceEntry {
    const contentType = typeFromName(rel)!;
    const { size, mtimeMs, ctimeMs } = st;
    return { source: this.name, path: rel, docId: docId(this.name, rel), contentType, size, mtimeMs, ctimeMs };
  }

  /** True when nothing under this relative directory is walked or indexed (the filter's decision). */
  dirExcluded(rel: string): boolean {
    return this.filter.dirIgnored(rel);
  }

  /**
   * Stat of a regular file whose real path is inside the root. A symbolic link is followed only
   * when its target is inside; so is a path through a linked directory (`link/file` where `link`
   * points outside is not a file of this source, even when it reached us from a queued job or a
   * stored record rather than from the scan, which skips such links). `walked`: a regular file
   * the scan reached without following any link, inside by construction (no realpath needed;
   * `read` checks it fully before opening).
   */
  private async fileStat(
    abs: string,
    root: () => Promise<string>,
    walked = false,
  ): Promise<{ size: number; mtimeMs: number; ctimeMs: number; dev: number; ino: number } | null> {
    try {
      const l = await lstat(abs);
      if (!l.isFile() && !l.isSymbolicLink()) return null;
      if (walked && l.isFile()) return l;
      const target = await realpath(abs);
      const rootReal = await root();
      if (!under(rootReal, target)) return null;
      if (l.isFile() && target === abs) return l;
      const st = await stat(target);
      return st.isFile() ? st : null;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return null;
      throw err;
    }
  }

  /**
   * The root's real path, resolved at most once per scan or single-file check, and again for the
   * next one: a root reached through a link that is later retargeted (a deploy's
   * `current -> release-N`) is followed, never held stale.
   */
  private realRoot(): () => Promise<string> {
    let resolved: Promise<string> | undefined;
    return () => (resolved ??= realpath(this.root));
  }
}

/** True when a real path is below a real directory (`/` included). */
function under(dir: string, target: string): boolean {
  return target.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep);
}
