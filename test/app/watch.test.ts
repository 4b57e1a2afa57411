import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: plain ESM script without type declarations
import { writeCorpus } from '../../bench/corpus.mjs';
// @ts-expect-error: plain ESM script without type declarations
import { freePort } from '../../scripts/milvus-lite.mjs';
import { ROOT, tempDir } from '../helpers.js';
import { type QueueKind, type SinkKind, children } from '../children.js';

const { cli, daemon, until, hits, status, setup } = children();
type Sink = SinkKind;

const SETUPS: Array<[Sink, QueueKind]> = [
  ['LanceDB', 'local'],
  ['LanceDB', 'redis'],
  ['Milvus Lite', 'redis'],
];

describe.each(SETUPS)('ragsync watch on %s, %s queue', (kind, queue) => {
  it('makes a saved file searchable, a deleted, renamed or removed one vanish, and drains on SIGTERM', async () => {
    const work = await tempDir();
    const dir = path.join(work, 'docs');
    await mkdir(path.join(dir, 'sub'), { recursive: true });
    await writeFile(path.join(dir, 'keep.md'), '# Keep\n\nalpaca wool is warm\n');
    await writeFile(path.join(dir, 'sub', 'inner.md'), '# Inner\n\nwalrus tusks are long\n');
    const e = setup(kind, path.join(work, 'store'), undefined, queue);
    const d = await daemon(['watch', dir, ...e.sink, ...e.queue, ...e.model, '--settle-ms', '50', '--metrics-port', '0']);
    await until(async () => (await status(e)).docs === 2);

    await writeFile(path.join(dir, 'new.md'), '# New\n\nflamingos stand on one leg\n');
    await until(async () => (await hits(e, 'flamingos')).some((h) => h.path === 'new.md'));

    await writeFile(path.join(dir, 'new.md'), '# New\n\npelicans scoop fish\n');
    await until(async () => (await hits(e, 'pelicans')).length === 1 && (await hits(e, 'flamingos')).length === 0);

    await rename(path.join(dir, 'new.md'), path.join(dir, 'renamed.md'));
    await until(async () => {
      const h = await hits(e, 'pelicans');
      return h.length === 1 && h[0]!.path === 'renamed.md';
    });

    await rm(path.join(dir, 'renamed.md'));
    await until(async () => (await hits(e, 'pelicans')).length === 0);

    await rm(path.join(dir, 'sub'), { recursive: true });
    await until(async () => (await hits(e, 'walrus')).length === 0);
    expect(await status(e)).toMatchObject({ docs: 1, chunks: 1 });

    const metricsUrl = /metrics (http:\/\/\S+)\)/.exec(d.output())![1]!;
    const metrics = await (await fetch(metricsUrl)).text();
    expect(metrics).toMatch(/ragsync_freshness_seconds_count [1-9]/);
    expect(metrics).toMatch(/ragsync_rows_total\{op="deleted"\} [1-9]/);
    expect((await fetch(metricsUrl.replace('/metrics', '/healthz'))).status).toBe(200);

    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(143);
  }, 180_000);
});

describe('an unreachable Redis', () => {
  it('is one line and exit 3 within seconds, for watch, worker and jobs', async () => {
    const work = await tempDir();
    const dir = path.join(work, 'docs');
    await mkdir(dir);
    await writeFile(path.join(dir, 'a.md'), '# A\n\nnarwhals have tusks\n');
    const e = setup('LanceDB', path.join(work, 'store'));
    const port: number = await freePort();
    const queue = ['--redis', `redis://user:secret@127.0.0.1:${port}`];
    for (const args of [
      ['watch', dir, ...e.sink, ...queue, ...e.model],
      ['worker', dir, ...e.sink, ...queue, ...e.model],
      ['jobs', dir, ...queue],
    ]) {
      const t0 = Date.now();
      const res = await cli(args);
      expect(res.code, `${args[0]}: ${res.stderr}`).toBe(3);
      expect(Date.now() - t0).toBeLessThan(15_000);
      const lines = res.stderr.trim().split('\n');
      expect(lines, args[0]).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^ragsync: cannot reach Redis at redis://\\[redacted\\]@127\\.0\\.0\\.1:${port}`));
      expect(res.stderr).not.toContain('secret');
    }
  }, 120_000);
});

describe('ragsync watch and ignore files', () => {
  it('indexes nothing .gitignore ignores, and an edited .gitignore counts at once, not at the next periodic reconcile', async () => {
    const work = await tempDir();
    const dir = path.join(work, 'docs');
    await mkdir(path.join(dir, 'build'), { recursive: true });
    await writeFile(path.join(dir, '.gitignore'), 'build/\n');
    await writeFile(path.join(dir, 'keep.md'), '# Keep\n\nalpaca wool is warm\n');
    await writeFile(path.join(dir, 'old.md'), '# Old\n\nwalrus tusks are long\n');
    await writeFile(path.join(dir, 'build', 'gen.md'), '# Gen\n\nflamingos stand on one leg\n');
    const e = setup('LanceDB', path.join(work, 'store'));
    const d = await daemon(['watch', dir, ...e.sink, ...e.queue, ...e.model, '--settle-ms', '50', '--reconcile-seconds', '0']);
    await until(async () => (await status(e)).docs === 2);

    await writeFile(path.join(dir, 'build', 'gen.md'), '# Gen\n\nflamingos and herons\n');
    await writeFile(path.join(dir, 'new.md'), '# New\n\npelicans scoop fish\n');
    await until(async () => (await hits(e, 'pelicans')).some((h) => h.path === 'new.md'));
    expect(await hits(e, 'flamingos')).toEqual([]);

    await writeFile(path.join(dir, '.gitignore'), 'build/\nold.md\n');
    await until(async () => (await hits(e, 'walrus')).length === 0);
    expect(await status(e)).toMatchObject({ docs: 2 });
    expect(d.output()).toContain('an ignore file changed: reconciling');
    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(143);
  }, 180_000);
});

describe('the queue', () => {
  it.each(SETUPS)(
    '200 rapid saves of one file end with exactly the last content indexed (%s, %s queue)',
    async (kind, queue) => {
      const work = await tempDir();
      const dir = path.join(work, 'docs');
      await mkdir(dir);
      const e = setup(kind, path.join(work, 'store'), undefined, queue);
      const d = await daemon(['watch', dir, ...e.sink, ...e.queue, ...e.model]);
      const version = (i: number) =>
        [
          '# Log',
          '',
          ...Array.from({ length: 1 + (i % 7) }, (_, s) => `## Part ${s}\n\nversion v${i} part ${s} ${'word '.repeat(i % 13)}\n`),
        ].join('\n');
      for (let i = 0; i < 200; i++) await writeFile(path.join(dir, 'hot.md'), version(i));
      const last = version(199);
      const expected = (last.match(/^## /gm) ?? []).length;
      let seen: unknown;
      await until(async () => {
        const h = await hits(e, 'version');
        seen = h.map((x) => x.text.split('\n').pop());
        return h.length === expected && h.every((x) => x.text.includes('v199'));
      }, 60_000).catch((err) => {
        throw new Error(
          `${err.message}: expected ${expected} chunks of v199, saw ${JSON.stringify(seen)}; daemon said:\n${d.output().slice(-3000)}`,
        );
      });
      expect((await status(e)).chunks).toBe(expected);
      d.child.kill('SIGTERM');
      expect(await d.exited).toBe(143);
    },
    180_000,
  );

  it.each<Sink>(['LanceDB', 'Milvus Lite'])(
    'two workers on 500 files index every file once (%s)',
    async (kind) => {
      const work = await tempDir();
      const corpus = path.join(work, 'corpus');
      await writeCorpus(ROOT, corpus, 500, 11);
      const e = setup(kind, path.join(work, 'store'));
      const w1 = await daemon(['worker', corpus, ...e.sink, ...e.queue, ...e.model, '--concurrency', '4']);
      const w2 = await daemon(['worker', corpus, ...e.sink, ...e.queue, ...e.model, '--concurrency', '4']);
      const res = await cli(['index', corpus, ...e.sink, ...e.queue, ...e.model, '--no-worker', '--json']);
      expect(res.code, res.stderr).toBe(0);
      const sum = JSON.parse(res.stdout);
      expect(sum.docs).toMatchObject({ scanned: 500, changed: 500, failed: 0 });
      expect(sum.embeddings.computed + sum.embeddings.reused).toBe(sum.chunks.upserted);
      expect(await status(e)).toEqual(expect.objectContaining({ docs: 500, chunks: sum.chunks.upserted }));
      for (const w of [w1, w2]) w.child.kill('SIGTERM');
      expect(await Promise.all([w1.exited, w2.exited])).toEqual([143, 143]);
      const jobs = JSON.parse((await cli(['jobs', corpus, ...e.queue, '--json'])).stdout);
      expect(jobs.counts).toMatchObject({ waiting: 0, active: 0, failed: 0, completed: 500 });
    },
    240_000,
  );

  it.each<Sink>(['LanceDB', 'Milvus Lite'])(
    'a worker killed with SIGKILL mid-job: its jobs are taken over and the index converges (%s)',
    async (kind) => {
      const work = await tempDir();
      const corpus = path.join(work, 'corpus');
      await writeCorpus(ROOT, corpus, 120, 5);
      const e = setup(kind, path.join(work, 'store'));
      const lock = ['--lock-ms', '1500'];
      const victim = await daemon([
        'worker',
        corpus,
        ...e.sink,
        ...e.queue,
        ...e.model,
        '--concurrency',
        '2',
        '--log-level',
        'debug',
        ...lock,
      ]);
      const indexing = cli(['index', corpus, ...e.sink, ...e.queue, ...e.model, '--no-worker', '--json']);
      await until(() => (victim.output().match(/document synced/g) ?? []).length >= 10, 60_000);
      victim.child.kill('SIGKILL');
      await victim.exited;
      const rescuer = await daemon(['worker', corpus, ...e.sink, ...e.queue, ...e.model, '--concurrency', '2', ...lock]);
      const res = await indexing;
      expect(res.code, res.stderr).toBe(0);
      const sum = JSON.parse(res.stdout);
      // A job whose document the killed worker had already committed runs again and finds it
      // unchanged (the sync is idempotent): changed + unchanged covers every file.
      expect(sum.docs).toMatchObject({ scanned: 120, failed: 0, deleted: 0 });
      expect(sum.docs.changed + sum.docs.unchanged).toBe(120);
      const fresh = JSON.parse((await cli(['index', corpus, '--store', path.join(work, 'fresh'), ...e.model, '--json'])).stdout);
      expect(await status(e)).toEqual(expect.objectContaining({ docs: 120, chunks: fresh.chunks.upserted }));
      rescuer.child.kill('SIGTERM');
      expect(await rescuer.exited).toBe(143);
    },
    240_000,
  );

  it('SIGTERM lets in-flight jobs finish, hands back the rest, and another worker completes them', async () => {
    const work = await tempDir();
    const dir = path.join(work, 'docs');
    await mkdir(dir);
    for (let i = 0; i < 6; i++) await writeFile(path.join(dir, `d${i}.md`), `# Doc ${i}\n\nslow text number ${i}\n`);
    const e = setup('LanceDB', path.join(work, 'store'));
    // Every embedding batch takes 1.5 s: jobs are surely in flight when SIGTERM arrives.
    const slow = ['--embedder', 'fixed:1500'];
    const w1 = await daemon(['worker', dir, ...e.sink, ...e.queue, ...slow, '--concurrency', '2', '--drain-seconds', '20']);
    const indexing = cli(['index', dir, ...e.sink, ...e.queue, ...slow, '--no-worker', '--json']);
    const counts = async () => JSON.parse((await cli(['jobs', dir, ...e.queue, '--json'])).stdout).counts as Record<string, number>;
    await until(async () => (await counts()).active === 2, 30_000);
    w1.child.kill('SIGTERM');
    expect(await w1.exited).toBe(143);
    const after = await counts();
    expect(after.completed).toBeGreaterThanOrEqual(2);
    expect(after.active).toBe(0);
    expect(after.waiting + after.prioritized).toBeGreaterThan(0);
    const w2 = await daemon(['worker', dir, ...e.sink, ...e.queue, ...slow, '--concurrency', '4']);
    const res = await indexing;
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout).docs).toMatchObject({ changed: 6, failed: 0 });
    expect(await status(e)).toEqual(expect.objectContaining({ docs: 6, chunks: 6 }));
    w2.child.kill('SIGTERM');
    expect(await w2.exited).toBe(143);
  }, 180_000);

  it('index --redis stopped by SIGTERM stops waiting at once; the jobs it queued stay and a worker does them', async () => {
    const work = await tempDir();
    const dir = path.join(work, 'docs');
    await writeCorpus(ROOT, dir, 40, 12);
    const e = setup('LanceDB', path.join(work, 'store'));
    // No worker anywhere: every job waits.
    const indexing = await daemon(['index', dir, ...e.sink, ...e.queue, ...e.model, '--no-worker', '--json'], /(?:)/);
    const counts = async () => JSON.parse((await cli(['jobs', dir, ...e.queue, '--json'])).stdout).counts as Record<string, number>;
    await until(async () => (await counts()).waiting + (await counts()).prioritized === 40, 30_000);
    indexing.child.kill('SIGTERM');
    expect(await indexing.exited).toBe(143);
    const summary = JSON.parse(
      indexing
        .output()
        .split('\n')
        .find((l) => l.startsWith('{"docs"'))!,
    );
    expect(summary).toMatchObject({ interrupted: true, docs: { scanned: 0, changed: 0, failed: 0 } });
    const w = await daemon(['worker', dir, ...e.sink, ...e.queue, ...e.model]);
    await until(async () => (await status(e)).docs === 40, 60_000);
    expect((await cli(['audit', dir, ...e.sink, ...e.model])).code).toBe(0);
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(143);
  }, 120_000);

  it('audit --repair --redis repairs through the queue: a worker elsewhere does the work', async () => {
    const work = await tempDir();
    const dir = path.join(work, 'docs');
    const files: string[] = await writeCorpus(ROOT, dir, 30, 9);
    const e = setup('Milvus Lite', path.join(work, 'store'));
    expect((await cli(['index', dir, ...e.sink, ...e.model])).code).toBe(0);
    await writeFile(path.join(dir, files[0]!), '# Changed\n\nthe word pemmican is new\n');
    await rm(path.join(dir, files[1]!));
    await writeFile(path.join(dir, 'added.md'), '# Added\n\nthe word tamarack is new\n');
    const w = await daemon(['worker', dir, ...e.sink, ...e.queue, ...e.model, '--log-level', 'debug']);
    const res = await cli(['audit', dir, ...e.sink, ...e.queue, ...e.model, '--repair', '--no-worker', '--json']);
    expect(res.code, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(out.before.drift.map((d: { kind: string; path: string }) => `${d.kind} ${d.path}`).sort()).toEqual([
      `missing added.md`,
      `orphaned ${files[1]}`,
      `stale ${files[0]}`,
    ]);
    expect(out.repair.docs).toMatchObject({ changed: 2, deleted: 1, failed: 0 });
    expect(out.report.drift).toEqual([]);
    await until(() => (w.output().match(/document synced/g) ?? []).length === 3, 10_000).catch(() => {
      throw new Error(w.output());
    });
    expect((await hits(e, 'tamarack')).map((h) => h.path)).toEqual(['added.md']);
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(143);
  }, 120_000);

  it('jobs lists a failed document with its reason and retries it', async () => {
    const work = await tempDir();
    const dir = path.join(work, 'docs');
    await mkdir(dir);
    await writeFile(path.join(dir, 'bad.md'), Buffer.from([0, 1, 2, 3]));
    await writeFile(path.join(dir, 'good.md'), '# Good\n\nfine\n');
    const e = setup('LanceDB', path.join(work, 'store'));
    const res = await cli(['index', dir, ...e.sink, ...e.queue, ...e.model]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('error: bad.md: binary content in a markdown file');
    const jobs = await cli(['jobs', dir, ...e.queue]);
    expect(jobs.code, 'failed jobs listed: exit 1').toBe(1);
    expect(jobs.stdout).toMatch(/1 failed/);
    expect(jobs.stdout).toContain('failed: bad.md (after 1 attempt): bad.md: binary content in a markdown file');
    const retried = await cli(['jobs', dir, ...e.queue, '--retry']);
    expect(retried.stdout).toContain('retried 1 failed job');
    expect(retried.code).toBe(0);
  }, 120_000);
});

describe('the mass-deletion guard in watch', () => {
  it('a reconcile that would delete the whole folder holds: rows kept, an error logged, the metric raised; a removed directory still deletes', async () => {
    const work = await tempDir();
    const dir = path.join(work, 'docs');
    await mkdir(path.join(dir, 'sub'), { recursive: true });
    for (let i = 0; i < 12; i++) await writeFile(path.join(dir, 'sub', `n${i}.md`), `# Note ${i}\n\nthe heron number ${i}\n`);
    const e = setup('LanceDB', path.join(work, 'store'));
    expect((await cli(['index', dir, ...e.sink, ...e.model])).code).toBe(0);
    // Gone while no daemon watched (an unmounted share at start): only a reconcile can see it.
    await rename(path.join(dir, 'sub'), path.join(work, 'sub'));
    const d = await daemon(['watch', dir, ...e.sink, ...e.queue, ...e.model, '--metrics-port', '0', '--reconcile-seconds', '1']);
    const metricsUrl = /metrics (http:\/\/\S+)\)/.exec(d.output())![1]!;
    const metrics = async () => (await fetch(metricsUrl)).text();
    const errors = () =>
      d
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{') && JSON.parse(l).level === 50)
        .map((l) => JSON.parse(l) as { stage: string; held: number; msg: string });
    expect(errors()[0]).toMatchObject({ stage: 'reconcile', held: 12, msg: expect.stringContaining('12 of source "docs" are indexed') });
    expect(errors()[0]!.msg).toContain('--allow-delete');
    expect(await metrics()).toMatch(/^ragsync_deletions_held 12$/m);
    // Later reconciles hold again; nothing is deleted.
    await until(async () => /^ragsync_reconciles_held_total [3-9]/m.test(await metrics()), 20_000);
    expect(await status(e)).toMatchObject({ docs: 12, chunks: 12 });

    // The files come back: nothing is held any more.
    await rename(path.join(work, 'sub'), path.join(dir, 'sub'));
    await until(async () => /^ragsync_deletions_held 0$/m.test(await metrics()), 20_000);
    expect(await status(e)).toMatchObject({ docs: 12, chunks: 12 });

    // A directory the user removes while watch runs (watcher events, not a scan) is deleted as before.
    await rm(path.join(dir, 'sub'), { recursive: true });
    await until(async () => (await status(e)).docs === 0, 30_000);
    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(143);
  }, 120_000);
});
