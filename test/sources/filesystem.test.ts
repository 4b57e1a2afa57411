import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FilesystemSource } from '../../src/sources/filesystem.js';
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

const opts = (root: string, more: Partial<ConstructorParameters<typeof FilesystemSource>[0]> = {}) => ({
  name: 'docs',
  root,
  include: ['**/*'],
  exclude: [],
  maxFileBytes: 1 << 20,
  ...more,
});

describe('filesystem source', () => {
  it('finds known file types and skips .git, node_modules, dotfiles, backups and unknown types', async () => {
    const root = await tempDir();
    await tree(root, {
      'a.md': 'x',
      'sub/b.txt': 'x',
      'c.pdf': '%PDF-1.4',
      'd.png': 'x',
      'e.JPG': 'x',
      'f.webp': 'x',
      '.git/HEAD.md': 'x',
      'node_modules/m/readme.md': 'x',
      '.hidden.md': 'x',
      '.cache/x.md': 'x',
      'draft.md~': 'x',
      'program.exe': 'x',
      Makefile: 'x',
    });
    expect(await scanned(new FilesystemSource(opts(root)))).toEqual(['a.md', 'c.pdf', 'd.png', 'e.JPG', 'f.webp', 'sub/b.txt']);
  });

  it('applies include and exclude globs to the relative path', async () => {
    const root = await tempDir();
    await tree(root, { 'docs/a.md': 'x', 'docs/drafts/b.md': 'x', 'other/c.md': 'x' });
    const src = new FilesystemSource(opts(root, { include: ['docs/**'], exclude: ['**/drafts/**'] }));
    expect(await scanned(src)).toEqual(['docs/a.md']);
  });

  it('follows a symlink to a file inside the root, never one that leaves it', async () => {
    const root = await tempDir();
    const outside = await tempDir();
    await tree(root, { 'real.md': 'inside' });
    await tree(outside, { 'secret.md': 'outside', 'dir/x.md': 'x' });
    await symlink(path.join(root, 'real.md'), path.join(root, 'alias.md'));
    await symlink(path.join(outside, 'secret.md'), path.join(root, 'escape.md'));
    await symlink(path.join(outside, 'dir'), path.join(root, 'linked-dir'));
    await symlink(root, path.join(root, 'loop'));
    const src = new FilesystemSource(opts(root));
    expect(await scanned(src)).toEqual(['alias.md', 'real.md']);
    expect(await src.read({ source: 'docs', path: 'escape.md' })).toBeNull();
    // A path through the linked directory never comes from the scan, but a queued job or a stored
    // record can carry one: it is not a file of this source (this read /outside/dir/x.md before).
    expect(await src.stat({ source: 'docs', path: 'linked-dir/x.md' })).toBeNull();
    expect(await src.read({ source: 'docs', path: 'linked-dir/x.md' })).toBeNull();
    for (const bad of ['../outside.md', `${outside}/secret.md`, 'a/../../secret.md', './real.md']) {
      await expect(src.read({ source: 'docs', path: bad })).rejects.toThrow(/not a relative path|not allowed/);
    }
  });

  it('does not read a file swapped for a link to outside the root between the check and the open', async () => {
    const root = await tempDir();
    const outside = await tempDir();
    await tree(root, { 'doc.md': 'inside' });
    await tree(outside, { 'secret.md': 'outside secret' });
    // Swap the file for a link as soon as the source has checked it (lstat + realpath), before its open.
    let swapped = false;
    const onChecked = async () => {
      if (swapped) return;
      swapped = true;
      await rm(path.join(root, 'doc.md'));
      await symlink(path.join(outside, 'secret.md'), path.join(root, 'doc.md'));
    };
    const src = new FilesystemSource({ ...opts(root), onChecked });
    expect(await src.read({ source: 'docs', path: 'doc.md' })).toBeNull();
    expect(swapped).toBe(true);
  });

  it('lists nothing of a directory swapped for a link to outside the root during the scan', async () => {
    const root = await tempDir();
    const outside = await tempDir();
    await tree(root, { 'a.md': 'a', 'sub/b.md': 'b' });
    await tree(outside, { 'secret.md': 'outside' });
    const src = new FilesystemSource(opts(root));
    const walk = src.scan()[Symbol.asyncIterator]();
    expect((await walk.next()).value?.path).toBe('a.md');
    // The root was read ('a.md', 'sub'); 'sub' is not yet: make it a link to the outside.
    await rm(path.join(root, 'sub'), { recursive: true });
    await symlink(outside, path.join(root, 'sub'));
    const rest = [];
    for (let r = await walk.next(); !r.done; r = await walk.next()) rest.push(r.value.path);
    expect(rest).toEqual([]);
  });

  it('works through a root given as a link, follows the link when it is retargeted, and under the root /', async () => {
    const base = await tempDir();
    await tree(path.join(base, 'release-1'), { 'a.md': 'one', 'sub/b.md': 'one' });
    await tree(path.join(base, 'release-2'), { 'c.md': 'two' });
    await symlink(path.join(base, 'release-1'), path.join(base, 'current'));
    const src = new FilesystemSource(opts(path.join(base, 'current')));
    expect(await scanned(src)).toEqual(['a.md', 'sub/b.md']);
    expect((await src.read({ source: 'docs', path: 'a.md' }))?.bytes.toString()).toBe('one');
    // A deploy switches the link: the same source (a running daemon's) sees the new release.
    await rm(path.join(base, 'current'));
    await symlink(path.join(base, 'release-2'), path.join(base, 'current'));
    expect(await scanned(src)).toEqual(['c.md']);
    expect((await src.read({ source: 'docs', path: 'c.md' }))?.bytes.toString()).toBe('two');
    expect(await src.read({ source: 'docs', path: 'a.md' })).toBeNull();
    // Every path is under "/": a file there is inside the root (stat and read only: no scan of /).
    const slash = new FilesystemSource(opts('/'));
    const rel = path.join(base, 'release-1', 'a.md').slice(1);
    expect(await slash.stat({ source: 'docs', path: rel })).toMatchObject({ path: rel, size: 3 });
    expect((await slash.read({ source: 'docs', path: rel }))?.bytes.toString()).toBe('one');
  });

  it('reports a file it cannot stat and goes on with the rest of the tree', async () => {
    const root = await tempDir();
    await tree(root, { 'a.md': 'x', 'z/b.md': 'x' });
    await symlink(`/${'n'.repeat(300)}`, path.join(root, 'm.md'));
    const src = new FilesystemSource(opts(root));
    expect(await scanned(src)).toEqual(['a.md', 'z/b.md']);
    expect(src.unreadable()).toEqual([{ path: 'm.md', error: expect.stringMatching(/^cannot read: ENAMETOOLONG/) }]);
  });

  it('checks the content against the extension when reading', async () => {
    const root = await tempDir();
    await tree(root, { 'fake.pdf': 'hello', 'fake.jpg': 'hello' });
    const src = new FilesystemSource(opts(root));
    await expect(src.read({ source: 'docs', path: 'fake.pdf' })).rejects.toThrow('fake.pdf: not a PDF (no %PDF- header)');
    await expect(src.read({ source: 'docs', path: 'fake.jpg' })).rejects.toThrow('fake.jpg: not a JPG image');
  });

  it('returns null for a file that is gone and fails the scan of a missing root', async () => {
    const root = await tempDir();
    const src = new FilesystemSource(opts(root));
    expect(await src.read({ source: 'docs', path: 'nope.md' })).toBeNull();
    const missing = new FilesystemSource(opts(path.join(root, 'missing')));
    await expect(scanned(missing)).rejects.toThrow(/cannot read source directory/);
  });
});
