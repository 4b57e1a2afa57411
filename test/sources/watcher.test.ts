import { mkdir, writeFile } from 'node:fs/promises';
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

describe('watcher', () => {
  it('reports only what the scan would index, and an edited ignore file as a rules change', async () => {
    const root = await tempDir();
    await mkdir(path.join(root, 'build'));
    await mkdir(path.join(root, 'sub'));
    await writeFile(path.join(root, '.gitignore'), 'build/\n*.log.md\n');
    await writeFile(path.join(root, 'sub', '.ragsyncignore'), 'private.md\n');
    const source = new FilesystemSource({ name: 'docs', root, include: ['*.md'], exclude: ['skip.md'], maxFileBytes: 1 << 20 });
    const events: WatchEvent[] = [];
    const errors: Error[] = [];
    const watcher = await watchSource(source, { settleMs: 50, onEvent: (e) => events.push(e), onError: (e) => errors.push(e) });
    try {
      const paths = () => events.map((e) => `${e.kind} ${e.path}`);
      for (const f of ['build/gen.md', 'run.log.md', 'sub/private.md', 'skip.md', 'notes.txt', 'sub/ok.md']) {
        await writeFile(path.join(root, f), 'x');
      }
      await until(() => paths().includes('file sub/ok.md'));
      await new Promise((r) => setTimeout(r, 300));
      expect(paths()).toEqual(['file sub/ok.md']);

      await writeFile(path.join(root, '.gitignore'), 'build/\n');
      await until(() => paths().includes('rules .gitignore'));
      // The new rules count at once: a .log.md file is a document now.
      await writeFile(path.join(root, 'run.log.md'), 'changed');
      await until(() => paths().includes('file run.log.md'));
      expect(source.included('run.log.md')).toBe(true);
      expect(paths()).toEqual(['file sub/ok.md', 'rules .gitignore', 'file run.log.md']);
      expect(errors).toEqual([]);
    } finally {
      await watcher.close();
    }
  });
});
