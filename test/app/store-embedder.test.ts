/**
 * The store remembers its embedder: after `index --model-dir X`, commands given no embedder
 * option use X; an explicit other model is refused by every command; a recorded model directory
 * that is gone is one error naming it. The CLI runs as child processes with no HOME model cache,
 * so loading the default model (a download) would fail.
 */
import { cp, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type SinkKind, children } from '../children.js';
import { FIXTURES, TINY_MODEL, TINY_MODEL_B, tempDir } from '../helpers.js';

const { cli, daemon, until, hits, status, setup } = children();

/** A folder of two Markdown files. */
async function corpus(work: string): Promise<string> {
  const dir = path.join(work, 'docs');
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'a.md'), '# Alpacas\n\nalpaca wool is warm\n');
  await writeFile(path.join(dir, 'b.md'), '# Walruses\n\nwalrus tusks are long\n');
  return dir;
}

describe.each<SinkKind>(['LanceDB', 'Milvus Lite'])('the store remembers its embedder on %s', (kind) => {
  it('index, audit and search need no embedder option; another explicit model is refused (exit 2, both named)', async () => {
    const work = await tempDir();
    const dir = await corpus(work);
    const e = setup(kind, path.join(work, 'store'));
    // No model cache and no network for the default model: loading it would fail with exit 3.
    const home = { HOME: work };
    expect((await cli(['index', dir, ...e.sink, ...e.model], home)).code).toBe(0);

    await writeFile(path.join(dir, 'c.md'), '# Flamingos\n\nflamingos stand on one leg\n');
    const plain = await cli(['index', dir, ...e.sink, '--json'], home);
    expect(plain.stderr).toBe('');
    expect(plain.code).toBe(0);
    expect(JSON.parse(plain.stdout)).toMatchObject({ docs: { scanned: 3, changed: 1 }, embeddings: { computed: 1 } });
    const audit = await cli(['audit', dir, ...e.sink], home);
    expect(audit.code).toBe(0);
    expect(audit.stdout).toMatch(/no drift/);
    const found = await cli(['search', 'flamingos stand', '--mode', 'dense', '-k', '1', '--json', ...e.sink], home);
    expect(found.code).toBe(0);
    expect(JSON.parse(found.stdout)[0]).toMatchObject({ path: 'c.md' });

    const fp = (await status(e)).fingerprint!;
    for (const args of [
      ['search', 'flamingos', '--mode', 'dense'],
      ['search', 'flamingos'],
      ['index', dir],
      ['audit', dir],
    ]) {
      const r = await cli([...args, ...e.sink, '--model-dir', TINY_MODEL_B], home);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(`vectors of ${fp.model}`);
      expect(r.stderr).toMatch(/but the embedder is ragsync\/tiny-clip-test-b@.*ragsync reembed/);
    }
    // The same settings from the environment are explicit too.
    const byEnv = await cli(['search', 'flamingos', '--mode', 'dense', ...e.sink], { ...home, RAGSYNC_MODEL_DIR: TINY_MODEL_B });
    expect(byEnv.code).toBe(2);
    // An explicit option that is the store's model is accepted.
    expect((await cli(['index', dir, ...e.sink, ...e.model], home)).code).toBe(0);
    expect(await status(e)).toMatchObject({ docs: 3 });
  }, 180_000);
});

describe('a recorded model directory that is gone', () => {
  it('is one line naming it, exit 3, for index, audit and search', async () => {
    const work = await tempDir();
    const dir = await corpus(work);
    const model = path.join(work, 'model-copy');
    await cp(path.join(FIXTURES, 'tiny-clip'), model, { recursive: true });
    const e = setup('LanceDB', path.join(work, 'store'), model);
    expect((await cli(['index', dir, ...e.sink, ...e.model], { HOME: work })).code).toBe(0);
    await rm(model, { recursive: true });
    for (const args of [
      ['index', dir],
      ['audit', dir],
      ['search', 'alpaca wool', '--mode', 'dense'],
    ]) {
      const r = await cli([...args, ...e.sink], { HOME: work });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(3);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(`the store's model directory ${model} is gone`);
    }
    // Keyword search needs no model at all.
    expect((await cli(['search', 'alpaca', '--mode', 'keyword', ...e.sink], { HOME: work })).code).toBe(0);
  }, 120_000);
});

describe('an empty store with no embedder option', () => {
  it('uses the default embedder, as before (here --offline with no cache: it cannot be had, exit 3)', async () => {
    const work = await tempDir();
    const dir = await corpus(work);
    const r = await cli(['index', dir, '--store', path.join(work, 'store'), '--offline'], { HOME: work });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/jinaai\/jina-clip-v1/);
  });
});

describe('watch on a store with no embedder option', () => {
  it("follows the store's recorded model", async () => {
    const work = await tempDir();
    const dir = await corpus(work);
    const e = setup('LanceDB', path.join(work, 'store'), TINY_MODEL);
    expect((await cli(['index', dir, ...e.sink, ...e.model], { HOME: work })).code).toBe(0);
    const d = await daemon(['watch', dir, ...e.sink, ...e.queue, '--settle-ms', '50'], undefined, { HOME: work });
    await writeFile(path.join(dir, 'new.md'), '# New\n\npelicans scoop fish\n');
    await until(async () => (await hits(e, 'pelicans', 'dense', [])).some((h) => h.path === 'new.md'));
    expect(await status(e)).toMatchObject({ docs: 3 });
    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(143);
  }, 120_000);
});
