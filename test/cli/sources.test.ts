import { spawnSync } from 'node:child_process';
import { mkdir, readFile, realpath, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, type Env, type SinkKind, children } from '../children.js';
import { tempDir } from '../helpers.js';

const { cli, daemon, hits, setup, until } = children();

async function notes(dir: string, names: string[], topic: string): Promise<void> {
  for (const [i, n] of names.entries()) {
    await mkdir(path.dirname(path.join(dir, n)), { recursive: true });
    await writeFile(path.join(dir, n), `# Note ${i}\n\nThe note number ${i} is about ${topic}.\n`);
  }
}

type Sources = Array<{ name: string; root: string | null; documents: number; chunks: number; lastSyncAt: string | null }>;

/** `status --json` of a test setup's store. */
const statusOf = async (e: Env): Promise<{ docs: number; chunks: number; sources: Sources }> =>
  JSON.parse((await cli(['status', '--json', ...e.sink])).stdout);

/** The messages of the pino warnings on stderr. */
const warnings = (stderr: string): string[] =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string })
    .filter((l) => l.level === 40)
    .map((l) => l.msg);

describe.each<SinkKind>(['LanceDB', 'Milvus Lite'])('sources with an identity on %s', (kind) => {
  it('refuses a second root under one name (nothing written), lists sources in status, remove-source removes exactly one', async () => {
    const work = await tempDir();
    const a = path.join(work, 'a', 'docs');
    const b = path.join(work, 'b', 'docs');
    const other = path.join(work, 'other');
    await notes(a, ['n0.md', 'n1.md', 'sub/n2.md'], 'kingfishers');
    await notes(b, ['m0.md', 'm1.md'], 'herons');
    await notes(other, ['o0.md'], 'otters');
    const e = setup(kind, path.join(work, 'store'));
    const run = (...args: string[]) => cli([...args, ...e.sink]);
    const sources = async (): Promise<Sources> => {
      const res = await run('status', '--json');
      expect(res.code, res.stderr).toBe(0);
      return JSON.parse(res.stdout).sources;
    };
    const totals = async () => {
      const s = JSON.parse((await run('status', '--json')).stdout);
      return { docs: s.docs, chunks: s.chunks };
    };

    expect((await run('index', a, ...e.model)).code).toBe(0);
    const first = await sources();
    expect(first).toEqual([
      expect.objectContaining({ name: 'docs', root: await realpath(a), documents: 3, chunks: 3, lastSyncAt: expect.any(String) }),
    ]);
    // A dry run of a new source records nothing.
    expect((await run('index', other, ...e.model, '--dry-run')).code).toBe(0);
    expect((await sources()).map((s) => s.name)).toEqual(['docs']);

    const before = await totals();
    for (const args of [
      ['index', b],
      ['index', b, '--dry-run'],
      ['audit', b],
    ]) {
      const res = await run(...args, ...e.model);
      expect(res.code, `${args.join(' ')}: ${res.stderr}`).toBe(2);
      expect(res.stderr).toContain(`source "docs" is ${await realpath(a)} in `);
      expect(res.stderr).toContain(`${await realpath(b)} is another folder`);
      expect(res.stderr).toContain('--source NAME');
      expect(res.stderr).toContain('ragsync remove-source docs');
    }
    expect(await totals()).toEqual(before);
    expect(await sources()).toEqual(first);

    expect((await run('index', b, '--source', 'docs-b', ...e.model)).code).toBe(0);
    const text = await run('status');
    expect(text.stdout).toMatch(new RegExp(`^  docs-b  ${await realpath(b)}  2 documents, 2 chunks, last sync \\S+$`, 'm'));
    expect((await sources()).map((s) => [s.name, s.documents])).toEqual([
      ['docs', 3],
      ['docs-b', 2],
    ]);

    // Without --yes and without a terminal: exit 2, nothing removed. An unknown name: exit 2 naming the known ones.
    const asked = await run('remove-source', 'docs');
    expect(asked.code).toBe(2);
    expect(asked.stderr).toContain('pass --yes');
    expect(await totals()).toEqual({ docs: 5, chunks: 5 });
    const unknown = await run('remove-source', 'nope', '--yes');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('has no source "nope"; its sources: docs, docs-b');

    const removed = await run('remove-source', 'docs', '--yes', '--json');
    expect(removed.code, removed.stderr).toBe(0);
    expect(JSON.parse(removed.stdout)).toMatchObject({ name: 'docs', root: await realpath(a), documents: 3, chunks: 3, removed: true });
    expect(await sources()).toEqual([expect.objectContaining({ name: 'docs-b', documents: 2, chunks: 2 })]);
    expect(await totals()).toEqual({ docs: 2, chunks: 2 });
    expect(await hits(e, 'kingfishers')).toEqual([]);
    expect((await hits(e, 'herons')).length).toBe(2);
    const human = await run('remove-source', 'docs-b', '--yes');
    expect(human.stdout).toMatch(/^removed source "docs-b" \(\S+\): 2 documents, 2 chunks \(from 1 collection\)$/m);

    // The name is free again: the other folder is indexed under it.
    expect((await run('index', b, ...e.model)).code).toBe(0);
    expect(await sources()).toEqual([expect.objectContaining({ name: 'docs', root: await realpath(b), documents: 2 })]);
  }, 180_000);
});

describe('source roots (CLI, LanceDB)', () => {
  it('records a symlinked root by its real path; a nested root is warned of once per run', async () => {
    const work = await tempDir();
    const real = path.join(work, 'real', 'docs');
    await notes(real, ['n0.md', 'n1.md', 'sub/s0.md', 'sub/s1.md'], 'kingfishers');
    const link = path.join(work, 'link');
    await symlink(real, link);
    const e = setup('LanceDB', path.join(work, 'store'));
    const indexed = await cli(['index', link, '--source', 'docs', ...e.sink, ...e.model]);
    expect(indexed.code, indexed.stderr).toBe(0);
    expect(warnings(indexed.stderr)).toEqual([]);
    const status = await statusOf(e);
    expect(status.sources).toEqual([expect.objectContaining({ name: 'docs', root: await realpath(real) })]);

    const nested = await cli(['index', path.join(real, 'sub'), ...e.sink, ...e.model]);
    expect(nested.code, nested.stderr).toBe(0);
    const expected = `source "sub" (${await realpath(path.join(real, 'sub'))}) is inside the root of source "docs" (${await realpath(real)})`;
    expect(warnings(nested.stderr)).toEqual([expect.stringContaining(expected)]);
    // audit --repair opens the store four times: one warning still.
    await writeFile(path.join(real, 'sub', 's0.md'), '# Changed\n\nKingfishers dive.\n');
    const repair = await cli(['audit', path.join(real, 'sub'), '--repair', ...e.sink, ...e.model]);
    expect(repair.code, repair.stderr).toBe(0);
    expect(warnings(repair.stderr)).toEqual([expect.stringContaining(expected)]);
    // The outer root contains the nested one: its run warns too.
    const outer = await cli(['index', link, '--source', 'docs', ...e.sink, ...e.model]);
    expect(warnings(outer.stderr)).toEqual([expect.stringContaining('contains the root of source "sub"')]);
  }, 120_000);
});

describe('remove-source on a terminal (CLI, LanceDB)', () => {
  it('asks, and removes only on yes', async (ctx) => {
    const hasScript = spawnSync('script', ['--version']).status === 0;
    if (!hasScript) return ctx.skip('util-linux `script` (a pseudo-terminal) is not installed');
    const work = await tempDir();
    const dir = path.join(work, 'docs');
    await notes(dir, ['n0.md', 'n1.md'], 'kingfishers');
    const e = setup('LanceDB', path.join(work, 'store'));
    expect((await cli(['index', dir, ...e.sink, ...e.model])).code).toBe(0);
    // `script` runs the command on a pseudo-terminal, its stdin typed in.
    const onTerminal = (answer: string) => {
      const command = [process.execPath, BIN, 'remove-source', 'docs', ...e.sink].map((a) => `'${a}'`).join(' ');
      return spawnSync('script', ['-qec', command, '/dev/null'], { input: `${answer}\n`, encoding: 'utf8' });
    };
    const docs = async () => (await statusOf(e)).docs;
    const no = onTerminal('n');
    expect(no.stdout).toContain(`Remove source "docs" (${await realpath(dir)}): 2 documents, 2 chunks? [y/N]`);
    expect(no.stdout).toContain('kept source "docs": nothing removed');
    expect(no.status).toBe(1);
    expect(await docs()).toBe(2);
    const yes = onTerminal('y');
    expect(yes.stdout).toContain('removed source "docs"');
    expect(yes.status).toBe(0);
    expect(await docs()).toBe(0);
  }, 60_000);
});

describe('stores of older versions (CLI, LanceDB)', () => {
  it('a source with rows but no registry entry is listed with root null and adopted by the next writing run', async () => {
    const work = await tempDir();
    const dir = path.join(work, 'docs');
    await notes(dir, ['n0.md', 'n1.md'], 'kingfishers');
    const store = path.join(work, 'store');
    const e = setup('LanceDB', store);
    expect((await cli(['index', dir, ...e.sink, ...e.model])).code).toBe(0);
    // What an older version wrote: the manifest without a source registry.
    const manifest = JSON.parse(await readFile(path.join(store, 'ragsync.json'), 'utf8'));
    delete manifest.sources;
    await writeFile(path.join(store, 'ragsync.json'), JSON.stringify(manifest));
    const sources = async (): Promise<Sources> => (await statusOf(e)).sources;
    expect(await sources()).toEqual([expect.objectContaining({ name: 'docs', root: null, documents: 2, chunks: 2, lastSyncAt: null })]);
    expect((await cli(['status', ...e.sink])).stdout).toContain('docs  (root not recorded');
    // Reading does not adopt it; the next index does.
    expect((await cli(['audit', dir, ...e.sink, ...e.model])).code).toBe(0);
    expect((await sources())[0]!.root).toBeNull();
    expect((await cli(['index', dir, ...e.sink, ...e.model])).code).toBe(0);
    expect(await sources()).toEqual([expect.objectContaining({ name: 'docs', root: await realpath(dir), documents: 2 })]);
  }, 60_000);
});

describe('sources of the daemons (CLI, LanceDB)', () => {
  it("watch records its source and its reconcile's end as the last sync; worker refuses another root under the name", async () => {
    const work = await tempDir();
    const a = path.join(work, 'a', 'docs');
    const b = path.join(work, 'b', 'docs');
    await notes(a, ['n0.md'], 'kingfishers');
    await notes(b, ['m0.md'], 'herons');
    const e = setup('LanceDB', path.join(work, 'store'));
    const sources = async (): Promise<Sources> => (await statusOf(e)).sources;
    const watch = await daemon(['watch', a, ...e.sink, ...e.queue, ...e.model]);
    await until(async () => (await sources())[0]?.lastSyncAt != null, 60_000);
    expect(await sources()).toEqual([expect.objectContaining({ name: 'docs', root: await realpath(a) })]);
    const worker = await cli(['worker', b, ...e.sink, ...e.queue, ...e.model]);
    expect(worker.code).toBe(2);
    expect(worker.stderr).toContain(`source "docs" is ${await realpath(a)} in `);
    watch.child.kill('SIGTERM');
    expect(await watch.exited).toBe(143);
  }, 120_000);
});

describe('sources and concurrent commands (CLI, LanceDB)', () => {
  it('two folders of one name indexed at once into a new store: one is refused (exit 2), the other owns the name', async () => {
    const work = await tempDir();
    const a = path.join(work, 'a', 'docs');
    const b = path.join(work, 'b', 'docs');
    await notes(a, ['n0.md', 'n1.md', 'n2.md'], 'kingfishers');
    await notes(b, ['m0.md', 'm1.md'], 'herons');
    for (let trial = 0; trial < 3; trial++) {
      const e = setup('LanceDB', path.join(work, `store${trial}`));
      const [ra, rb] = await Promise.all([cli(['index', a, ...e.sink, ...e.model]), cli(['index', b, ...e.sink, ...e.model])]);
      expect([ra.code, rb.code].sort(), `${ra.stderr}\n${rb.stderr}`).toEqual([0, 2]);
      const [winner, count] = ra.code === 0 ? [a, 3] : [b, 2];
      const loser = ra.code === 0 ? rb : ra;
      expect(loser.stderr).toContain(`source "docs" is ${await realpath(winner)}`);
      const status = await statusOf(e);
      expect({ trial, docs: status.docs, sources: status.sources.map((s) => [s.name, s.root, s.documents]) }).toEqual({
        trial,
        docs: count,
        sources: [['docs', await realpath(winner), count]],
      });
    }
  });

  it('remove-source while an index of that source runs: the index does not record it again, and says so', async () => {
    const work = await tempDir();
    const dir = path.join(work, 'notes');
    await notes(
      dir,
      Array.from({ length: 1500 }, (_, i) => `n${i}.md`),
      'kingfishers',
    );
    const e = setup('LanceDB', path.join(work, 'store'));
    const seed = await cli(['index', dir, ...e.sink, ...e.model, '--include', 'n1*.md']);
    expect(seed.code, seed.stderr).toBe(0);
    // (Few documents in flight: the pass lasts long enough for the removal to land in its middle.)
    const running = cli(['index', dir, ...e.sink, '--concurrency', '8']);
    let ended = false;
    void running.then(() => (ended = true));
    await until(async () => {
      const s = await statusOf(e);
      return s.docs > 111;
    }, 60_000);
    const removed = await cli(['remove-source', 'notes', '--yes', ...e.sink]);
    expect(removed.code, removed.stderr).toBe(0);
    expect(ended, 'the index ended before the removal').toBe(false);
    const index = await running;
    expect(index.code, index.stderr).toBe(0);
    expect(warnings(index.stderr).join('\n'), `${index.stdout}\n${index.stderr}\n${removed.stdout}`).toContain(
      'source "notes" was removed from',
    );
    const status = await statusOf(e);
    // What the index wrote after the removal is listed without a root (not recorded), and a second removal takes it.
    expect(status.sources.every((s) => s.root === null)).toBe(true);
    if (status.sources.length > 0) expect((await cli(['remove-source', 'notes', '--yes', ...e.sink])).code).toBe(0);
    expect(await statusOf(e)).toMatchObject({ docs: 0, chunks: 0, sources: [] });
  }, 240_000);
});
