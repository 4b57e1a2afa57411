import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FilesystemSource } from '../../src/sources/filesystem.js';
import { type WatchEvent, watchSource } from '../../src/sources/watcher.js';
import { tempDir } from '../helpers.js';

async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('watcher with pollMs', () => {
  it('polls (chokidar usePolling at that interval, binary files too) and reports adds, edits and deletes, also in a new folder', async () => {
    const root = await tempDir();
    const source = new FilesystemSource({ name: 'docs', root, include: ['*.md'], exclude: [], maxFileBytes: 1 << 20 });
    const events: WatchEvent[] = [];
    const errors: Error[] = [];
    const watcher = await watchSource(source, {
      settleMs: 50,
      pollMs: 100,
      onEvent: (e) => events.push(e),
      onError: (e) => errors.push(e),
    });
    try {
      expect(watcher.options).toMatchObject({ usePolling: true, interval: 100, binaryInterval: 100 });
      const seen = (p: string) => events.filter((e) => e.path === p).length;
      await writeFile(path.join(root, 'a.md'), 'one');
      await until(() => seen('a.md') === 1);
      await writeFile(path.join(root, 'a.md'), 'two, longer');
      await until(() => seen('a.md') === 2);
      await rm(path.join(root, 'a.md'));
      await until(() => seen('a.md') === 3);
      await mkdir(path.join(root, 'sub'));
      await writeFile(path.join(root, 'sub', 'b.md'), 'three');
      await until(() => seen('sub/b.md') === 1);
      await rm(path.join(root, 'sub'), { recursive: true });
      await until(() => events.some((e) => e.kind === 'dir-removed' && e.path === 'sub'));
      expect(errors).toEqual([]);
    } finally {
      await watcher.close();
    }
  });

  it('watches by events when pollMs is 0 or absent', async () => {
    const root = await tempDir();
    const source = new FilesystemSource({ name: 'docs', root, include: ['*.md'], exclude: [], maxFileBytes: 1 << 20 });
    for (const pollMs of [0, undefined]) {
      const watcher = await watchSource(source, { settleMs: 50, pollMs, onEvent: () => {}, onError: () => {} });
      expect(watcher.options.usePolling).toBe(false);
      await watcher.close();
    }
  });
});
