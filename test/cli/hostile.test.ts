/**
 * Issue 15: hostile inputs cannot stop a pass or take the machine. The real CLI indexes generated
 * files (a decompression-bomb PDF, a 16 000 x 16 000 PNG, a 50 MB one-line text, Markdown with a
 * 1 MB data URI) among ordinary ones in bounded parse processes; a PDF's figure is found by image.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ESM script without type declarations
import * as hostile from '../../scripts/hostile-files.mjs';
import { BIN, children } from '../children.js';
import { FIXTURES, tempDir } from '../helpers.js';

const { cli, hits, status, until, setup } = children();

/** PIDs of the processes whose environment carries this mark (the CLI and its parse children). */
async function marked(mark: string): Promise<number[]> {
  const pids: number[] = [];
  for (const p of await readdir('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    const env = await readFile(`/proc/${p}/environ`, 'latin1').catch(() => '');
    if (env.includes(`HOSTILE_TEST_MARK=${mark}\0`)) pids.push(Number(p));
  }
  return pids;
}

async function ordinary(docs: string): Promise<void> {
  await writeFile(path.join(docs, 'bread.md'), '# Bread\n\nProofing and baking sourdough loaves.\n');
  await writeFile(path.join(docs, 'kettle.txt'), 'Notes about descaling the kettle.\n');
  await copyFile(path.join(FIXTURES, 'files', 'two-pages.pdf'), path.join(docs, 'two-pages.pdf'));
  await copyFile(path.join(FIXTURES, 'files', 'blue.png'), path.join(docs, 'blue.png'));
}

describe.skipIf(process.platform !== 'linux')('hostile inputs (CLI, parse processes)', () => {
  it('a bomb PDF, a huge PNG, a 50 MB line and a data URI each fail with one line or are indexed; the rest is indexed, deletions applied, no child left', async () => {
    const root = await tempDir();
    const docs = path.join(root, 'docs');
    await mkdir(docs);
    const e = setup('LanceDB', path.join(root, 'store'));
    await ordinary(docs);
    await writeFile(path.join(docs, 'gone.md'), '# Gone\n\nA page about zeppelins.\n');
    const limits = ['--parse-timeout-ms', '8000', '--parse-memory-mb', '512'];
    expect((await cli(['index', docs, ...e.sink, ...e.model, ...limits])).code).toBe(0);
    await rm(path.join(docs, 'gone.md'));
    await hostile.writeBombPdf(path.join(docs, 'bomb.pdf'), 4 * 1024 ** 3);
    await hostile.writeHugePng(path.join(docs, 'huge.png'), 16_000);
    await hostile.writeLongLine(path.join(docs, 'long.txt'), 50 * 1024 ** 2);
    await hostile.writeDataUriMarkdown(path.join(docs, 'datauri.md'), 1024 ** 2);
    const mark = randomUUID();
    const started = Date.now();
    const run = await cli(['index', docs, ...e.sink, ...e.model, ...limits], { HOSTILE_TEST_MARK: mark });
    expect(Date.now() - started).toBeLessThan(90_000);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^error: bomb\.pdf: parsing stopped (after 8 s \(limit parseTimeoutMs\)|at 512 MB \(limit parseMemoryMb\))$/m,
    );
    expect(run.stderr).toMatch(/^error: huge\.png: the image is 16000 × 16000 \(256 MP\), over 100 MP \(limit maxImagePixels\)$/m);
    const indexed = async (file: string) => (await hits(e, file === 'long.txt' ? 'lorem' : 'chart')).some((h) => h.path === file);
    for (const file of ['long.txt', 'datauri.md'])
      if (!(await indexed(file)))
        expect(run.stderr).toMatch(
          new RegExp(`^error: ${file.replace('.', '\\.')}: parsing stopped .*\\(limit parse(TimeoutMs|MemoryMb)\\)$`, 'm'),
        );
    expect(run.stdout).toMatch(/1 deleted/);
    const found = async (q: string) => (await hits(e, q)).map((h) => h.path);
    expect(await found('sourdough')).toContain('bread.md');
    expect(await found('descaling')).toContain('kettle.txt');
    expect(await found('apples')).toContain('two-pages.pdf');
    expect(await found('zeppelins')).toEqual([]);
    expect((await status(e)).docs).toBeGreaterThanOrEqual(4);
    expect(await marked(mark)).toEqual([]);
  }, 180_000);

  it('a parent killed with SIGKILL mid-parse leaves no parse process running', async () => {
    const root = await tempDir();
    const docs = path.join(root, 'docs');
    await mkdir(docs);
    // A long line keeps a parse child busy in synchronous chunking (its event loop blocked).
    await hostile.writeLongLine(path.join(docs, 'long.txt'), 5 * 1024 ** 2);
    const e = setup('LanceDB', path.join(root, 'store'));
    const mark = randomUUID();
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', HOSTILE_TEST_MARK: mark };
    const args = ['index', docs, ...e.sink, ...e.model, '--parse-timeout-ms', '600000', '--parse-memory-mb', '4096'];
    const parent = spawn(process.execPath, [BIN, ...args], { env, stdio: 'ignore' });
    try {
      await until(async () => (await marked(mark)).length >= 2, 60_000);
      await new Promise((r) => setTimeout(r, 1500));
      const kids = (await marked(mark)).filter((p) => p !== parent.pid);
      expect(kids.length).toBeGreaterThan(0);
      parent.kill('SIGKILL');
      await until(async () => (await marked(mark)).length === 0, 10_000);
      expect(await marked(mark)).toEqual([]);
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it("a PDF's raster image becomes an image chunk of its page, found by a dense search with the same picture", async () => {
    const root = await tempDir();
    const docs = path.join(root, 'docs');
    await mkdir(docs);
    await ordinary(docs);
    const picture = hostile.quadrants(160) as { rgb: Buffer; width: number; height: number };
    await hostile.writePdfWithImage(path.join(docs, 'figure.pdf'), picture);
    const query = path.join(root, 'query.png');
    await sharp(picture.rgb, { raw: { width: picture.width, height: picture.height, channels: 3 } })
      .png()
      .toFile(query);
    const e = setup('LanceDB', path.join(root, 'store'));
    expect((await cli(['index', docs, ...e.sink, ...e.model])).code).toBe(0);
    const res = await cli(['search', '--image', query, '--mode', 'dense', '-k', '3', '--json', ...e.sink, ...e.model]);
    const top = (JSON.parse(res.stdout) as Array<{ id: string; modality: string }>)[0];
    expect(top).toMatchObject({ id: 'docs:figure.pdf#p1/img/0', modality: 'image' });
  });

  it('the summary counts PDFs without text', async () => {
    const root = await tempDir();
    const docs = path.join(root, 'docs');
    await mkdir(docs);
    const picture = hostile.quadrants(160) as { rgb: Buffer; width: number; height: number };
    await hostile.writePdfWithImage(path.join(docs, 'scan-1.pdf'), { ...picture, text: '' });
    await hostile.writePdfWithImage(path.join(docs, 'scan-2.pdf'), { ...picture, text: '' });
    await writeFile(path.join(docs, 'a.md'), '# A\n\ntext\n');
    const e = setup('LanceDB', path.join(root, 'store'));
    const run = await cli(['index', docs, ...e.sink, ...e.model]);
    expect(run.code).toBe(0);
    expect(run.stderr + run.stdout).toMatch(/2 PDFs have no text \(scanned\?\)/);
  });
});
