import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_DEFAULTS } from '../../src/config/defaults.js';
import { type FilesystemOptions, FilesystemSource } from '../../src/sources/filesystem.js';
import { tempDir } from '../helpers.js';

async function tree(root: string, files: Record<string, string>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), content);
  }
}

async function scanned(source: FilesystemSource): Promise<string[]> {
  const out: string[] = [];
  for await (const e of source.scan()) out.push(e.path);
  return out.sort();
}

/** A source over `root` that records the directories its scan reads. */
function source(root: string, more: Partial<FilesystemOptions> = {}) {
  const read: string[] = [];
  const src = new FilesystemSource({
    name: 'docs',
    root,
    include: ['*'],
    exclude: [],
    maxFileBytes: 1 << 20,
    onReadDir: (d) => read.push(d),
    ...more,
  });
  return { src, read };
}

const ref = (p: string) => ({ source: 'docs', path: p });

describe('include and exclude in .gitignore syntax', () => {
  it('a pattern without a slash matches at any depth: *.md is every Markdown file', async () => {
    const root = await tempDir();
    await tree(root, { 'a.md': 'x', 'x/y/z/deep.md': 'x', 'x/notes.txt': 'x', 'x/y/pic.png': 'x' });
    expect(await scanned(source(root, { include: ['*.md'] }).src)).toEqual(['a.md', 'x/y/z/deep.md']);
  });

  it('the default include is every supported extension at any depth', async () => {
    const root = await tempDir();
    const files = ['md', 'markdown', 'mdx', 'txt', 'text', 'pdf', 'png', 'jpg', 'jpeg', 'webp'].map((ext) => `a/b/f.${ext}`);
    await tree(root, Object.fromEntries([...files, 'top.md', 'a/b/f.exe', 'a/b/Makefile'].map((f) => [f, ''])));
    expect(await scanned(source(root, { include: CONFIG_DEFAULTS.include }).src)).toEqual([...files, 'top.md'].sort());
  });

  it('a leading / anchors to the root; a trailing / is a directory and everything under it', async () => {
    const root = await tempDir();
    await tree(root, { 'top.md': 'x', 'sub/top.md': 'x', 'docs/a.md': 'x', 'docs/more/b.md': 'x', 'x/docs/c.md': 'x', 'docs.md': 'x' });
    expect(await scanned(source(root, { include: ['/top.md'] }).src)).toEqual(['top.md']);
    expect(await scanned(source(root, { include: ['/docs/'] }).src)).toEqual(['docs/a.md', 'docs/more/b.md']);
    expect(await scanned(source(root, { include: ['docs/'] }).src)).toEqual(['docs/a.md', 'docs/more/b.md', 'x/docs/c.md']);
    // ** as in git; the globs of earlier versions keep their meaning.
    expect(await scanned(source(root, { include: ['docs/**/*.md'] }).src)).toEqual(['docs/a.md', 'docs/more/b.md']);
    expect(await scanned(source(root, { include: ['**/docs/**'] }).src)).toEqual(['docs/a.md', 'docs/more/b.md', 'x/docs/c.md']);
  });

  it('exclude dir/ skips every directory of that name, without reading it, and no file of that name', async () => {
    const root = await tempDir();
    await tree(root, { 'drafts/a.md': 'x', 'x/drafts/b.md': 'x', 'x/keep.md': 'x', 'old.md/inside.md': 'x', 'y/old.md': 'x' });
    const { src, read } = source(root, { exclude: ['drafts/', 'old.md/'] });
    expect(await scanned(src)).toEqual(['x/keep.md', 'y/old.md']);
    expect(read.sort()).toEqual(['', 'x', 'y']);
  });

  it('exclude wins over include and over a negation in an ignore file', async () => {
    const root = await tempDir();
    await tree(root, {
      '.gitignore': '!*.draft.md\n',
      'a.md': 'x',
      'a.draft.md': 'x',
      'docs/b.md': 'x',
      'docs/old/c.md': 'x',
    });
    const { src } = source(root, { include: ['*.md'], exclude: ['*.draft.md', 'docs/old/'] });
    expect(await scanned(src)).toEqual(['a.md', 'docs/b.md']);
    expect(await src.stat(ref('docs/old/c.md'))).toBeNull();
    expect(await src.stat(ref('a.draft.md'))).toBeNull();
  });

  it('patterns are case sensitive, as git is on Linux', async () => {
    const root = await tempDir();
    await tree(root, { 'a.md': 'x', 'B.MD': 'x' });
    expect(await scanned(source(root, { include: ['*.md'] }).src)).toEqual(['a.md']);
  });
});

describe('ignore files', () => {
  it('honours .gitignore files anywhere: nested ones apply below their folder, deeper ones win, ! re-includes', async () => {
    const root = await tempDir();
    await tree(root, {
      '.gitignore': '*.txt\nbuild/\n/only-top.md\n',
      'a.md': 'x',
      'a.txt': 'x',
      'only-top.md': 'x',
      'build/gen.md': 'x',
      'sub/.gitignore': '!keep.txt\n/local.md\n',
      'sub/keep.txt': 'x',
      'sub/other.txt': 'x',
      'sub/only-top.md': 'x',
      'sub/local.md': 'x',
      'sub/build/gen.md': 'x',
      'sub/deeper/local.md': 'x',
      'sub/deeper/keep.txt': 'x',
    });
    const { src, read } = source(root);
    expect(await scanned(src)).toEqual(['a.md', 'sub/deeper/keep.txt', 'sub/deeper/local.md', 'sub/keep.txt', 'sub/only-top.md']);
    expect(read).not.toContain('build');
    expect(read).not.toContain('sub/build');
    expect(src.unreadable()).toEqual([]);
  });

  it('a folder a deeper file re-includes (!build/) is walked, but its files need re-including by name (stricter than git)', async () => {
    const root = await tempDir();
    await tree(root, {
      '.gitignore': 'build/\n',
      'sub/.gitignore': '!build/\n!keep.md\n',
      'sub/build/x.md': 'x',
      'sub/build/keep.md': 'x',
    });
    const { src, read } = source(root);
    expect(await scanned(src)).toEqual(['sub/build/keep.md']);
    expect(read).toContain('sub/build');
    expect(await source(root).src.stat(ref('sub/build/x.md'))).toBeNull();
  });

  it('within one file the last matching line decides', async () => {
    const root = await tempDir();
    await tree(root, { '.gitignore': '*.md\n!README.md\n', 'README.md': 'x', 'x/README.md': 'x', 'x/other.md': 'x', 'n.txt': 'x' });
    expect(await scanned(source(root).src)).toEqual(['README.md', 'n.txt', 'x/README.md']);
  });

  it('gitignore: false (--no-gitignore) reads no .gitignore; .ragsyncignore files are read either way', async () => {
    const root = await tempDir();
    await tree(root, {
      '.gitignore': 'ignored-by-git.md\n',
      '.ragsyncignore': 'private/\n',
      'a.md': 'x',
      'ignored-by-git.md': 'x',
      'private/p.md': 'x',
      'sub/.ragsyncignore': '*.txt\n',
      'sub/n.txt': 'x',
      'sub/n.md': 'x',
      'n.txt': 'x',
    });
    expect(await scanned(source(root).src)).toEqual(['a.md', 'n.txt', 'sub/n.md']);
    const off = source(root, { gitignore: false });
    expect(await scanned(off.src)).toEqual(['a.md', 'ignored-by-git.md', 'n.txt', 'sub/n.md']);
    expect(off.read).not.toContain('private');
    expect(await off.src.stat(ref('ignored-by-git.md'))).not.toBeNull();
    expect(await off.src.stat(ref('private/p.md'))).toBeNull();
  });

  it(".ragsyncignore lines apply after the same folder's .gitignore: its ! re-includes", async () => {
    const root = await tempDir();
    await tree(root, { '.gitignore': '*.log.md\n', '.ragsyncignore': '!wanted.log.md\n', 'wanted.log.md': 'x', 'noise.log.md': 'x' });
    expect(await scanned(source(root).src)).toEqual(['wanted.log.md']);
  });

  it('stat and read agree with the scan on every path, ignored ones included', async () => {
    const root = await tempDir();
    const files = {
      '.gitignore': 'secret.md\nbuild/\n*.tmp.md\n',
      '.ragsyncignore': 'private/\n',
      'a.md': 'x',
      'secret.md': 'x',
      'notes.tmp.md': 'x',
      'build/out.md': 'x',
      'build/.gitignore': '!out.md\n',
      'private/p.md': 'x',
      'sub/.gitignore': '!*.tmp.md\nsecret.md\n',
      'sub/keep.tmp.md': 'x',
      'sub/secret.md': 'x',
      'sub/ok.md': 'x',
      'node_modules/m/readme.md': 'x',
    };
    await tree(root, files);
    const { src } = source(root, { exclude: ['sub/ok.md'] });
    const found = await scanned(src);
    expect(found).toEqual(['a.md', 'sub/keep.tmp.md']);
    // A fresh source too (a worker that never scanned): its ignore files are read on demand.
    for (const s of [src, source(root, { exclude: ['sub/ok.md'] }).src]) {
      for (const p of Object.keys(files)) {
        expect((await s.stat(ref(p))) !== null, p).toBe(found.includes(p));
        expect((await s.read(ref(p))) !== null, p).toBe(found.includes(p));
      }
    }
  });

  it('an edited ignore file counts at the next scan, and for stat once its copy is older than ignoreFileMaxAgeMs', async () => {
    const root = await tempDir();
    await tree(root, { '.gitignore': 'b.md\n', 'a.md': 'x', 'b.md': 'x' });
    const { src } = source(root, { ignoreFileMaxAgeMs: 60_000 });
    const fresh = source(root, { ignoreFileMaxAgeMs: 0 }).src;
    expect(await scanned(src)).toEqual(['a.md']);
    expect(await fresh.stat(ref('a.md'))).not.toBeNull();
    await writeFile(path.join(root, '.gitignore'), 'a.md\n');
    expect(await src.stat(ref('a.md'))).not.toBeNull(); // the copy the scan read, a minute old at most
    expect(await fresh.stat(ref('a.md'))).toBeNull();
    expect(await fresh.stat(ref('b.md'))).not.toBeNull();
    expect(await scanned(src)).toEqual(['b.md']);
    expect(await src.stat(ref('a.md'))).toBeNull();
  });

  it('an ignore file that is a link is not followed (nothing outside the root is read)', async () => {
    const root = await tempDir();
    const outside = await tempDir();
    await tree(outside, { rules: '*.md\n' });
    await tree(root, { 'a.md': 'x', 'sub/b.md': 'x' });
    await symlink(path.join(outside, 'rules'), path.join(root, '.gitignore'));
    await symlink(path.join(outside, 'rules'), path.join(root, 'sub', '.ragsyncignore'));
    const { src } = source(root);
    expect(await scanned(src)).toEqual(['a.md', 'sub/b.md']);
    expect(await source(root).src.stat(ref('sub/b.md'))).not.toBeNull();
  });
});
