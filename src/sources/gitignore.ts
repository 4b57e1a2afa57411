/**
 * Which paths under a source root may be documents, in `.gitignore` syntax (node-ignore, case
 * sensitive as git is on Linux): a pattern without a slash matches at any depth, a leading `/`
 * anchors it to the root (of the list, or of the ignore file's directory), a trailing `/` matches
 * only directories, `**` and `!` as in git.
 *
 * A path is ignored when the built-in patterns, a literally skipped directory (the store), the
 * `exclude` list or the ignore files (`.gitignore` unless turned off, and `.ragsyncignore`) say so,
 * for the path itself or any directory above it. The ignore files of a directory apply to what is
 * below it; the deepest file with a matching pattern decides, and within a directory the last
 * matching line of `.gitignore` then `.ragsyncignore` (so `.ragsyncignore` can re-include with
 * `!`). A file is included when it is not ignored and the `include` list, read as a `.gitignore`
 * at the root, would ignore it (`*.md` any Markdown file, `docs/` everything under a `docs`
 * directory). `exclude` and the built-ins are final: no `!` in an ignore file or `include`
 * re-includes what they exclude.
 *
 * Unlike git, a shallower file's pattern that ignores a directory still ignores the files in it
 * when a deeper file re-includes only the directory (`!build/`): they must be re-included by name.
 * Ignore files above the root, `.git/info/exclude` and git's global excludes are not read.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import path from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { RagsyncError, errorMessage } from '../core/errors.js';

export const GITIGNORE = '.gitignore';
export const RAGSYNCIGNORE = '.ragsyncignore';
/** Never documents, whatever the patterns say: dotfiles and dot-folders (`.git`, `.ragsync`), `node_modules`, `*~` backups. */
export const BUILT_IN_EXCLUDE = ['.*', 'node_modules/', '*~'];

export interface PathFilterOptions {
  root: string;
  include: readonly string[];
  exclude: readonly string[];
  /** Read `.gitignore` files (`.ragsyncignore` files are always read). */
  gitignore: boolean;
  /** Relative POSIX paths of directories never walked, taken literally (the store inside the root). */
  skipDirs: readonly string[];
  /** `refresh` reads an ignore file again when the copy held is this old (0: every time). */
  maxAgeMs: number;
}

/** The ignore files of one directory, as read at `at`. */
interface Level {
  at: number;
  text: string;
  rules: Ignore | null;
}

// Not following a link (ELOOP): an ignore file is read only when it is a file inside the root.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const ABSENT = new Set(['ENOENT', 'ENOTDIR', 'ELOOP']);

/** Patterns, one per element, or the text of ignore files (one per line). */
const matcher = (patterns: readonly string[] | string) =>
  ignore({ ignorecase: false }).add(typeof patterns === 'string' ? patterns : [...patterns]);
const parentOf = (rel: string) => (rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '');

/**
 * The one decision of what a source walks and indexes, for its scan, its single-path `stat` and
 * `read`, and the watcher. Ignore files are read when a scan enters their directory (`reset`
 * then `enter`), when `refresh` finds its copy older than `maxAgeMs`, after `forget`, and when
 * first needed. Its errors are `RagsyncError` `IO` (an ignore file that exists but cannot be read).
 */
export class PathFilter {
  /** The names of the ignore files read in each directory, in the order their lines apply. */
  readonly ignoreFiles: readonly string[];
  private include!: Ignore;
  private exclude!: Ignore | null;
  private builtIn!: Ignore;
  private readonly levels = new Map<string, Level>();
  /** Directory verdicts, valid while no ignore file changes. */
  private readonly dirs = new Map<string, boolean>();

  constructor(private readonly opts: PathFilterOptions) {
    this.ignoreFiles = opts.gitignore ? [GITIGNORE, RAGSYNCIGNORE] : [RAGSYNCIGNORE];
    this.reset();
  }

  /** Forgets every ignore file and cached verdict (a scan starts: it reads them afresh). */
  reset(): void {
    this.include = matcher(this.opts.include);
    this.exclude = this.opts.exclude.length > 0 ? matcher(this.opts.exclude) : null;
    this.builtIn = matcher(BUILT_IN_EXCLUDE);
    this.levels.clear();
    this.dirs.clear();
  }

  /** Reads the ignore files of a directory the scan walks; `files`: the names of its regular files. */
  async enter(dir: string, files: ReadonlySet<string>): Promise<void> {
    const texts = await Promise.all(this.ignoreFiles.map((f) => (files.has(f) ? this.readFile(dir, f) : '')));
    this.set(dir, texts);
  }

  /** Reads again, top down, the ignore files above `rel` held longer than `maxAgeMs` (none inside an ignored directory). */
  async refresh(rel: string): Promise<void> {
    const now = Date.now();
    const names = rel.split('/').slice(0, -1);
    for (let depth = 0; depth <= names.length; depth++) {
      const dir = names.slice(0, depth).join('/');
      if (dir !== '' && this.dirIgnored(dir)) return;
      const held = this.levels.get(dir);
      if (!held || now - held.at >= this.opts.maxAgeMs) this.set(dir, await this.readLevel(dir));
    }
  }

  /** Drops what is held of a directory's ignore files (one of them changed); read again when next needed. */
  forget(dir: string): void {
    this.levels.delete(dir);
    this.dirs.clear();
  }

  /** True when `rel` is one of the ignore files read (its directory's level is what it changes). */
  isIgnoreFile(rel: string): boolean {
    return this.ignoreFiles.includes(rel.slice(rel.lastIndexOf('/') + 1));
  }

  /** True when nothing under this directory is walked or indexed. */
  dirIgnored(dir: string): boolean {
    let verdict = this.dirs.get(dir);
    if (verdict === undefined) {
      const parent = parentOf(dir);
      verdict = (parent !== '' && this.dirIgnored(parent)) || this.ignored(`${dir}/`, parent);
      this.dirs.set(dir, verdict);
    }
    return verdict;
  }

  /** True when a file (relative POSIX path) passes the patterns: included and not ignored. */
  fileIncluded(rel: string): boolean {
    const parent = parentOf(rel);
    return this.include.ignores(rel) && !(parent !== '' && this.dirIgnored(parent)) && !this.ignored(rel, parent);
  }

  /** The verdict on a path (a directory ends with `/`) itself, its parent directory `parent` not ignored. */
  private ignored(target: string, parent: string): boolean {
    // The built-ins name no folder: the last segment decides (the folders above passed already).
    if (this.builtIn.ignores(target.slice(target.lastIndexOf('/', target.length - 2) + 1))) return true;
    if (this.exclude?.ignores(target)) return true;
    if (this.opts.skipDirs.some((d) => target.startsWith(`${d}/`))) return true;
    for (let dir = parent; ; dir = parentOf(dir)) {
      const rules = this.level(dir).rules;
      const verdict = rules?.test(dir === '' ? target : target.slice(dir.length + 1));
      if (verdict?.ignored) return true;
      if (verdict?.unignored) return false;
      if (dir === '') return false;
    }
  }

  private level(dir: string): Level {
    return this.levels.get(dir) ?? this.set(dir, this.readLevelSync(dir));
  }

  private set(dir: string, texts: string[]): Level {
    const text = texts.join('\n');
    const held = this.levels.get(dir);
    if (held?.text !== text) this.dirs.clear();
    const level = { at: Date.now(), text, rules: held?.text === text ? held.rules : text.trim() ? matcher(text) : null };
    this.levels.set(dir, level);
    return level;
  }

  /** The ignore files of a directory not walked by a scan: none when it is not a real directory (a link, gone). */
  private async readLevel(dir: string): Promise<string[]> {
    if (dir !== '') {
      const st = await lstat(path.join(this.opts.root, dir)).catch(() => null);
      if (!st?.isDirectory()) return [];
    }
    return Promise.all(this.ignoreFiles.map((f) => this.readFile(dir, f)));
  }

  private readLevelSync(dir: string): string[] {
    if (dir !== '') {
      const st = lstatSync(path.join(this.opts.root, dir), { throwIfNoEntry: false });
      if (!st?.isDirectory()) return [];
    }
    return this.ignoreFiles.map((f) => this.readFileSync(dir, f));
  }

  private async readFile(dir: string, name: string): Promise<string> {
    const rel = dir === '' ? name : `${dir}/${name}`;
    let fh;
    try {
      fh = await open(path.join(this.opts.root, rel), OPEN_FLAGS);
    } catch (err) {
      if (ABSENT.has((err as NodeJS.ErrnoException).code ?? '')) return '';
      throw cannotRead(rel, err);
    }
    try {
      return (await fh.stat()).isFile() ? await fh.readFile('utf8') : '';
    } catch (err) {
      throw cannotRead(rel, err);
    } finally {
      await fh.close();
    }
  }

  private readFileSync(dir: string, name: string): string {
    const rel = dir === '' ? name : `${dir}/${name}`;
    let fd;
    try {
      fd = openSync(path.join(this.opts.root, rel), OPEN_FLAGS);
    } catch (err) {
      if (ABSENT.has((err as NodeJS.ErrnoException).code ?? '')) return '';
      throw cannotRead(rel, err);
    }
    try {
      return fstatSync(fd).isFile() ? readFileSync(fd, 'utf8') : '';
    } catch (err) {
      throw cannotRead(rel, err);
    } finally {
      closeSync(fd);
    }
  }
}

function cannotRead(rel: string, err: unknown): RagsyncError {
  return new RagsyncError('IO', `cannot read ${rel}: ${errorMessage(err)}`, { stage: 'source', retryable: true, cause: err });
}
