import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers.js';
import { children } from '../children.js';

const { daemon, until, hits, status, setup } = children();

describe('ragsync watch --poll', () => {
  it('watches by polling (the log says so, with the interval chokidar runs): a saved file becomes searchable, an edit replaces it, a delete removes it', async () => {
    const work = await tempDir();
    const dir = path.join(work, 'docs');
    await mkdir(dir);
    await writeFile(path.join(dir, 'keep.md'), '# Keep\n\nalpaca wool is warm\n');
    const e = setup('LanceDB', path.join(work, 'store'));
    // No periodic reconcile: every change below reaches the index through the watcher.
    const args = ['watch', dir, ...e.sink, ...e.queue, ...e.model, '--settle-ms', '50', '--reconcile-seconds', '0', '--poll', '300'];
    const d = await daemon(args);
    const polling = d
      .output()
      .split('\n')
      .filter((l) => l.includes('watching by polling'))
      .map((l) => JSON.parse(l) as { msg: string; pollMs: number });
    expect(polling).toEqual([expect.objectContaining({ msg: 'watching by polling every 300 ms', pollMs: 300 })]);
    await until(async () => (await status(e)).docs === 1);

    await writeFile(path.join(dir, 'new.md'), '# New\n\nflamingos stand on one leg\n');
    await until(async () => (await hits(e, 'flamingos')).some((h) => h.path === 'new.md'));

    await writeFile(path.join(dir, 'new.md'), '# New\n\npelicans scoop fish\n');
    await until(async () => (await hits(e, 'pelicans')).length === 1 && (await hits(e, 'flamingos')).length === 0);

    await rm(path.join(dir, 'new.md'));
    await until(async () => (await hits(e, 'pelicans')).length === 0);
    expect(await status(e)).toMatchObject({ docs: 1, chunks: 1 });

    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(143);
  }, 180_000);

  it('--poll 0 on an ordinary folder watches by events and says nothing about polling', async () => {
    const work = await tempDir();
    const dir = path.join(work, 'docs');
    await mkdir(dir);
    const e = setup('LanceDB', path.join(work, 'store'));
    const d = await daemon([
      'watch',
      dir,
      ...e.sink,
      ...e.queue,
      ...e.model,
      '--settle-ms',
      '50',
      '--reconcile-seconds',
      '0',
      '--poll',
      '0',
    ]);
    await writeFile(path.join(dir, 'a.md'), '# A\n\nnarwhals have tusks\n');
    await until(async () => (await hits(e, 'narwhals')).length === 1);
    expect(d.output()).not.toContain('polling');
    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(143);
  }, 120_000);
});
