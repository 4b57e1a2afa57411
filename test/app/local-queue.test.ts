/**
 * `ragsync watch DIR` without Redis: the local queue, as real child processes. (Save, edit,
 * rename, delete, a removed directory and 200 rapid saves run on it in `watch.test.ts`; the queue
 * itself in `test/queue/conformance.ts`.)
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: plain ESM script without type declarations
import { writeCorpus } from '../../bench/corpus.mjs';
import { ROOT, tempDir } from '../helpers.js';
import { children } from '../children.js';
import { API_KEY, startEmbeddingApi } from '../embedding-api-server.js';

const { cli, daemon, until, hits, status, setup } = children();
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'files');

describe('watch with the local queue', () => {
  it('needs no Redis: says so at start, SIGKILL then a restart converges with nothing lost (audit: no drift), a second watch is refused', async () => {
    const work = await tempDir();
    const corpus = path.join(work, 'corpus');
    await writeCorpus(ROOT, corpus, 150, 7);
    const e = setup('LanceDB', path.join(work, 'store'), undefined, 'local');
    const args = ['watch', corpus, ...e.sink, ...e.model, '--settle-ms', '50', '--reconcile-seconds', '0', '--log-level', 'debug'];
    const first = await daemon(args);
    expect(first.output()).toMatch(/^ragsync: watching .*\(local queue/m);
    // Killed in the middle of the first index, and files changed while it is down.
    await until(() => (first.output().match(/document synced/g) ?? []).length >= 20, 60_000);
    first.child.kill('SIGKILL');
    await first.exited;
    await writeFile(path.join(corpus, 'added-while-down.md'), '# Added\n\nokapis live in forests\n');
    const second = await daemon(args);
    await until(async () => (await hits(e, 'okapis')).length === 1, 90_000);
    await until(async () => (await status(e)).docs === 151, 90_000);
    // A second watch of the source on the same store would do all the work again: refused.
    const another = await cli(args);
    expect(another.code).toBe(3);
    expect(another.stderr).toMatch(/another `ragsync watch` \(process \d+ on .*\) runs the local queue of source corpus/);
    const audit = await cli(['audit', corpus, ...e.sink, ...e.model, '--json']);
    expect(audit.code, audit.stdout + audit.stderr).toBe(0);
    expect(JSON.parse(audit.stdout).report.drift).toEqual([]);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(143);
  }, 240_000);

  it('lists a failed file in `jobs` (kept across a restart); a fixed file is taken by the watcher; `jobs --retry` retries the rest', async () => {
    const api = await startEmbeddingApi();
    try {
      const work = await tempDir();
      const dir = path.join(work, 'docs');
      await mkdir(dir);
      const e = setup('LanceDB', path.join(work, 'store'), undefined, 'local');
      const key = { JINA_API_KEY: API_KEY };
      const model = ['--embedder', 'jina-api', '--embedder-url', api.url, '--dimensions', '64'];
      const args = ['watch', dir, ...e.sink, ...model, '--settle-ms', '50'];
      const jobs = async (...more: string[]) => {
        const res = await cli(['jobs', dir, ...e.sink, '--json', ...more], key);
        const out = JSON.parse(res.stdout) as {
          running: boolean;
          failed: Array<{ path: string; reason: string }>;
          retried: number;
          deferred?: number;
        };
        // Failed jobs listed (and not all retried) are exit 1.
        expect(res.code, res.stderr).toBe(out.failed.length > 0 && out.retried + (out.deferred ?? 0) === 0 ? 1 : 0);
        return out;
      };
      let d = await daemon(args, undefined, key);
      await copyFile(path.join(FIXTURES, 'corrupt.pdf'), path.join(dir, 'report.pdf'));
      await until(async () => (await jobs()).failed.length === 1);
      expect((await jobs()).failed[0]).toMatchObject({ path: 'report.pdf', reason: expect.stringContaining('report.pdf') });

      // A restart keeps the failure listed (the state file), and the first reconcile tries again.
      d.child.kill('SIGTERM');
      expect(await d.exited).toBe(143);
      expect(await jobs()).toMatchObject({ running: false, failed: [{ path: 'report.pdf' }] });
      d = await daemon(args, undefined, key);
      expect((await jobs()).failed.map((f) => f.path)).toEqual(['report.pdf']);

      // Fixed: the watcher sees the new file, the job succeeds, the failure is gone.
      await copyFile(path.join(FIXTURES, 'two-pages.pdf'), path.join(dir, 'report.pdf'));
      await until(async () => (await jobs()).failed.length === 0);
      expect((await status(e)).docs).toBe(1);

      // A failure that is not the file's (the API rejected a request): `--retry` runs it again.
      api.failNext({ status: 422, body: { detail: 'temporarily rejected' } });
      await writeFile(path.join(dir, 'notes.md'), '# Notes\n\nquokkas smile a lot\n');
      await until(async () => (await jobs()).failed.some((f) => f.path === 'notes.md'));
      expect(await hits(e, 'quokkas', 'keyword', [])).toEqual([]);
      const retried = await jobs('--retry');
      expect(retried.retried).toBe(1);
      await until(async () => (await hits(e, 'quokkas', 'keyword', [])).length === 1);
      expect((await jobs()).failed).toEqual([]);
      d.child.kill('SIGTERM');
      expect(await d.exited).toBe(143);
    } finally {
      await api.close();
    }
  }, 240_000);

  it('refuses what only a shared queue can do: `worker` and `watch --no-worker` without Redis', async () => {
    const work = await tempDir();
    await mkdir(path.join(work, 'docs'));
    for (const args of [
      ['worker', path.join(work, 'docs')],
      ['watch', path.join(work, 'docs'), '--no-worker'],
    ]) {
      const res = await cli([...args, '--store', path.join(work, 'store')]);
      expect(res.code).toBe(2);
      expect(res.stderr).toMatch(/works with a shared job queue: pass --redis/);
    }
  });
});
