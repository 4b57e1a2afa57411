import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
// @ts-expect-error: plain ESM script without type declarations
import { writeCorpus } from '../../bench/corpus.mjs';
import { resolveConfig } from '../../src/config/index.js';
import { embedderDescriptor } from '../../src/app/embedders.js';
import { syncDeps, writerRuntime } from '../../src/app/runtime.js';
import { loadJinaClip } from '../../src/embed/jina-clip.js';
import { lanceDbStore } from '../../src/sink/lancedb/index.js';
import { FilesystemSource } from '../../src/sources/filesystem.js';
import { SyncQueue } from '../../src/queue/queue.js';
import { redisConnection } from '../../src/queue/redis.js';
import { startWorker } from '../../src/queue/worker.js';
import { syncJob } from '../../src/app/sync-job.js';
import type { TargetsResult } from '../../src/core/targets.js';
import { API_KEY, type EmbeddingApiServer, startEmbeddingApi } from '../embedding-api-server.js';
import { ROOT, TINY_MODEL, TINY_MODEL_B, tempDir } from '../helpers.js';
import { type SinkKind, children, until } from '../children.js';

const { cli, daemon, hits, status, setup } = children();
const A = ['--model-dir', TINY_MODEL];
const B = ['--model-dir', TINY_MODEL_B];
const MODEL_A = 'ragsync/tiny-clip-test';
const MODEL_B = 'ragsync/tiny-clip-test-b';

/** The first paragraph of a generated Markdown file (a query only that file answers well). */
async function firstParagraph(file: string): Promise<string> {
  return (await readFile(file, 'utf8')).split('\n\n')[1]!;
}

describe.each<SinkKind>(['LanceDB', 'Milvus Lite'])('ragsync reembed on %s', (kind) => {
  it('backfills beside the live index while the daemon runs, swaps, keeps edits made meanwhile, and rolls back', async () => {
    const work = await tempDir();
    const dir = path.join(work, 'docs');
    const files: string[] = await writeCorpus(ROOT, dir, 100, 21);
    const e = setup(kind, path.join(work, 'store'));
    const probeFile = files[3]!;
    const probe = await firstParagraph(path.join(dir, probeFile));
    const goneProbe = await firstParagraph(path.join(dir, files[1]!));
    expect((await cli(['index', dir, ...e.sink, ...A])).code).toBe(0);
    const indexed = await status(e);
    // The scale topology: a watcher that only enqueues, workers elsewhere, a re-embed that only
    // enqueues. Until a worker starts, the backfill stands still: a "during" that does not race.
    const d = await daemon(['watch', dir, ...e.sink, ...e.queue, ...A, '--settle-ms', '50', '--no-worker']);
    const r = await daemon(['reembed', dir, ...e.sink, ...e.queue, ...B, '--no-progress', '--no-worker'], /re-embedding/);
    await until(async () => (await status(e)).pending !== null, 30_000);

    // During the backfill: edits are made; the store is still A and the search answers from A
    // (a 256-d query of model A only fits A's collection) and finds what it should.
    await writeFile(path.join(dir, 'added-during.md'), '# Added\n\nzebracorn meadow grazing at dawn\n');
    await writeFile(path.join(dir, files[0]!), `${await readFile(path.join(dir, files[0]!), 'utf8')}\n## Late\n\nquokkaberry jam recipe\n`);
    await rm(path.join(dir, files[1]!));
    const during = await status(e);
    expect(during.fingerprint!.model).toBe(MODEL_A);
    expect(during.pending!.fingerprint.model).toBe(MODEL_B);
    expect(during.pending!.docs).toBeLessThan(indexed.docs);
    expect((await hits(e, probe, 'dense', A))[0]?.path).toBe(probeFile);

    // A worker started with model A's config does the backfill and the edits, writing both.
    const w = await daemon(['worker', dir, ...e.sink, ...e.queue, ...A, '--concurrency', '4']);
    expect(await r.exited).toBe(0);
    expect(r.output()).toMatch(/swapped: search now answers from ragsync\/tiny-clip-test-b/);

    // After the swap: B is live; the edits are there; searching with either config answers from B.
    const after = await status(e);
    expect(after.fingerprint!.model).toBe(MODEL_B);
    expect(after.previous!.fingerprint.model).toBe(MODEL_A);
    expect(after.pending).toBeNull();
    expect((await hits(e, 'zebracorn', 'keyword', B)).map((h) => h.path)).toEqual(['added-during.md']);
    expect((await hits(e, 'quokkaberry', 'keyword', B)).map((h) => h.path)).toEqual([files[0]]);
    expect((await hits(e, goneProbe, 'dense', B)).some((h) => h.path === files[1])).toBe(false);
    expect((await hits(e, probe, 'dense', B))[0]?.path).toBe(probeFile);
    // Given no embedder option, search follows the store; the old model named explicitly is refused.
    expect((await hits(e, probe, 'dense', []))[0]?.path).toBe(probeFile);
    expect((await cli(['search', probe, '--mode', 'dense', ...e.sink, ...A])).code).toBe(2);

    // The new index equals a fresh index of the folder with B.
    const fresh = setup('LanceDB', path.join(work, 'fresh'));
    expect((await cli(['index', dir, ...fresh.sink, ...B])).code).toBe(0);
    const reference = await status(fresh);
    await until(async () => {
      const s = await status(e);
      return s.docs === reference.docs && s.chunks === reference.chunks;
    }, 30_000);

    // The running daemon follows the store: a change after the swap goes to B.
    await writeFile(path.join(dir, 'after-swap.md'), '# After\n\nnarwhalion horn polishing\n');
    await until(async () => (await hits(e, 'narwhalion', 'keyword', B)).length === 1, 30_000);

    // Rollback: A is caught up with what changed since (including the edit made after the swap).
    const back = await cli(['reembed', dir, ...e.sink, '--rollback', '--no-progress']);
    expect(back.code, back.stderr).toBe(0);
    const rolled = await status(e);
    expect(rolled.fingerprint!.model).toBe(MODEL_A);
    expect(rolled.previous!.fingerprint.model).toBe(MODEL_B);
    for (const word of ['narwhalion', 'zebracorn', 'quokkaberry']) expect((await hits(e, word, 'keyword', A)).length).toBe(1);
    expect((await hits(e, probe, 'dense', A))[0]?.path).toBe(probeFile);
    expect(rolled.chunks).toBe((await status(e)).chunks);

    const dropped = await cli(['reembed', ...e.sink, '--drop-old', '--yes']);
    expect(dropped.stdout).toMatch(new RegExp(`dropped v[0-9a-f]+ \\(${MODEL_B.replace('/', '\\/')}@`));
    expect((await status(e)).previous).toBeNull();

    for (const p of [d, w]) p.child.kill('SIGTERM');
    expect(await Promise.all([d.exited, w.exited])).toEqual([143, 143]);
  }, 300_000);

  describe('against the hosted-API embedder', () => {
    let api: EmbeddingApiServer;
    beforeAll(async () => {
      api = await startEmbeddingApi();
    });
    afterAll(() => api.close());

    it('resumes after SIGKILL: every chunk is embedded exactly once over both runs, and nothing is missing', async () => {
      const work = await tempDir();
      const dir = path.join(work, 'docs');
      await writeCorpus(ROOT, dir, 60, 33);
      const e = setup(kind, path.join(work, 'store'));
      expect((await cli(['index', dir, ...e.sink, ...A])).code).toBe(0);
      const apiArgs = ['--embedder', 'jina-api', '--embedder-url', api.url, '--dimensions', '128'];
      const keyEnv = { JINA_API_KEY: API_KEY };
      const start = api.embedded;
      api.holdAfter(Math.floor((await status(e)).chunks / 2));
      const run1 = await daemon(['reembed', dir, ...e.sink, ...apiArgs, '--no-progress', '--concurrency', '4'], /re-embedding/, keyEnv);
      await api.holding();
      // Let the process commit what it was answered (the count unchanged for 1.5 s: a Milvus commit
      // can take longer than two polls), then kill it mid-backfill.
      let last = -1;
      let since = Date.now();
      await until(async () => {
        const now = (await status(e)).pending?.chunks ?? -1;
        if (now !== last) [last, since] = [now, Date.now()];
        return Date.now() - since >= 1500;
      }, 30_000);
      const before = await status(e);
      expect(before.pending!.docs).toBeGreaterThan(0);
      expect(before.pending!.docs).toBeLessThan(before.docs);

      // Outside reembed, writing with the new model is refused: the live index is still A.
      const refused = await cli(['index', dir, ...e.sink, ...apiArgs], keyEnv);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/holds vectors of ragsync\/tiny-clip-test@.*ragsync reembed/);

      run1.child.kill('SIGKILL');
      await run1.exited;
      api.dropHeld();
      const firstRun = api.embedded - start;
      expect(firstRun).toBeGreaterThan(0);

      const run2 = await cli(['reembed', dir, ...e.sink, ...apiArgs, '--no-progress', '--json'], keyEnv);
      expect(run2.code, run2.stderr).toBe(0);
      const report = JSON.parse(run2.stdout);
      expect(report).toMatchObject({ resumed: true, swapped: true });
      expect(report.backfill.docs.unchanged).toBeGreaterThan(0);
      const final = await status(e);
      expect(final.fingerprint).toMatchObject({ model: 'jina-clip-v2', dim: 128 });
      // Each run first embeds one probe text (to fail fast when the API cannot work at all).
      expect(api.embedded - start - 2).toBe(final.chunks);
      expect(report.backfill.embeddings.computed).toBe(final.chunks - (firstRun - 1));

      // Nothing missing: a fresh index of the folder with the same embedder has as many chunks.
      const fresh = setup('LanceDB', path.join(work, 'fresh'));
      expect((await cli(['index', dir, ...fresh.sink, ...apiArgs], keyEnv)).code).toBe(0);
      expect(await status(fresh)).toMatchObject({ docs: final.docs, chunks: final.chunks });
    }, 300_000);
  });
});

describe('reembed fails fast', () => {
  it('when the new model cannot embed at all: exit 3, one clear line, nothing created', async () => {
    const work = await tempDir();
    const dir = path.join(work, 'docs');
    await writeCorpus(ROOT, dir, 5, 3);
    const e = setup('LanceDB', path.join(work, 'store'));
    expect((await cli(['index', dir, ...e.sink, ...A])).code).toBe(0);
    const config = path.join(work, 'ragsync.config.json');
    await writeFile(
      config,
      JSON.stringify({ embedder: { kind: 'openai', model: 'nomic-embed-text', url: 'http://127.0.0.1:9/v1/embeddings', maxRetries: 1 } }),
    );
    const unreachable = await cli(['reembed', dir, ...e.sink, '--config', config, '--no-progress']);
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toMatch(
      /^ragsync: embedding API \(nomic-embed-text\): cannot reach http:\/\/127\.0\.0\.1:9\/v1\/embeddings/,
    );
    const noKey = await cli(['reembed', dir, ...e.sink, '--embedder', 'jina-api', '--no-progress']);
    expect(noKey.code).toBe(3);
    expect(noKey.stderr).toMatch(/the Jina API needs a key: set JINA_API_KEY/);
    const s = await status(e);
    expect(s.pending).toBeNull();
    expect(s.fingerprint!.model).toBe(MODEL_A);
  });
});

describe('reembed through the queue with no other worker', () => {
  it('completes on its own with its in-process worker', async () => {
    const work = await tempDir();
    const dir = path.join(work, 'docs');
    await writeCorpus(ROOT, dir, 30, 5);
    const e = setup('LanceDB', path.join(work, 'store'));
    expect((await cli(['index', dir, ...e.sink, ...A])).code).toBe(0);
    const res = await cli(['reembed', dir, ...e.sink, ...e.queue, ...B, '--json']);
    expect(res.code, res.stderr).toBe(0);
    const report = JSON.parse(res.stdout);
    expect(report).toMatchObject({ swapped: true, resumed: false, verify: { checked: 30, problems: [] } });
    expect(report.backfill.docs.changed).toBe(30);
    expect(report.backfill.embeddings.computed).toBe(report.verify.chunks);
    expect((await status(e)).fingerprint!.model).toBe(MODEL_B);
  });
});

describe('writers during a re-embed', () => {
  it('keep writing the live collection when they cannot open the pending one, and say why', async () => {
    const root = await tempDir();
    await writeFile(path.join(root, 'a.md'), '# A\n\napple orchard\n');
    const store = await tempDir('ragsync-store-');
    const config = resolveConfig({
      flags: { sink: { kind: 'lancedb', path: store }, embedder: { kind: 'jina-clip', modelDir: TINY_MODEL } },
    });
    const a = await loadJinaClip({ model: 'x', modelDir: TINY_MODEL, dtype: 'fp32', cacheDir: store, offline: true, batchSize: 8 });
    const stored = lanceDbStore(store);
    const sink = await stored.openLive(a.fingerprint, embedderDescriptor(config.embedder));
    await stored.preparePending(
      { ...a.fingerprint, model: 'elsewhere/model' },
      { kind: 'jina-clip', modelDir: path.join(root, 'no-such-model'), offline: true },
    );
    const source = new FilesystemSource({ name: 'docs', root, include: ['**/*'], exclude: [], maxFileBytes: 1 << 20 });
    const warnings: string[] = [];
    const log = { info: () => undefined, warn: (_o: unknown, m: string) => warnings.push(m) } as never;
    const { targets } = writerRuntime(config, stored, syncDeps(config, source, sink, a), log);
    const t = await targets.current();
    expect(t.pending).toBeNull();
    expect(t.live.collection).toBe(sink);
    expect(warnings.join()).toMatch(/cannot write the re-embed's new collection from this process/);
    await stored.close();
  });
});

describe('a queue worker during a re-embed', () => {
  it('writes both collections while one is pending, and only the new one after the swap', async () => {
    const root = await tempDir();
    await writeFile(path.join(root, 'a.md'), '# A\n\napple orchard\n');
    const store = await tempDir('ragsync-store-');
    const config = resolveConfig({
      flags: { sink: { kind: 'lancedb', path: store }, embedder: { kind: 'jina-clip', modelDir: TINY_MODEL } },
    });
    const load = (dir: string) => loadJinaClip({ model: 'x', modelDir: dir, dtype: 'fp32', cacheDir: store, offline: true, batchSize: 8 });
    const [a, b] = [await load(TINY_MODEL), await load(TINY_MODEL_B)];
    const stored = lanceDbStore(store);
    const sink = await stored.openLive(a.fingerprint, embedderDescriptor(config.embedder));
    const source = new FilesystemSource({ name: 'docs', root, include: ['**/*'], exclude: [], maxFileBytes: 1 << 20 });
    const prefix = `w${process.pid}x${Date.now().toString(36)}`;
    const conn = redisConnection(inject('redisUrl'));
    const queue = new SyncQueue('docs', conn, prefix, 3);
    const { targets } = writerRuntime(config, stored, syncDeps(config, source, sink, a));
    const log = (await import('../../src/core/log.js')).createLogger('silent');
    const worker = startWorker({
      source: 'docs',
      processor: syncJob({ targets, log }),
      connection: conn,
      prefix,
      concurrency: 2,
      lockMs: 10_000,
      log,
    });
    const run = async (p: string) => queue.waitFor<TargetsResult>(await queue.enqueue({ source: 'docs', path: p }));
    try {
      expect((await run('a.md')).next).toBeUndefined();
      await stored.preparePending(b.fingerprint, { ...embedderDescriptor(config.embedder), modelDir: TINY_MODEL_B });
      await new Promise((r) => setTimeout(r, 1100));
      await writeFile(path.join(root, 'b.md'), '# B\n\nbanana grove\n');
      const both = await run('b.md');
      expect(both.status).toBe('changed');
      expect(both.next).toMatchObject({ status: 'changed', added: 1 });
      const other = lanceDbStore(store);
      const pending = await other.collection(b.fingerprint);
      expect([...(await pending.listDocRecords('docs')).keys()]).toEqual(['docs:b.md']);
      expect((await sink.listDocRecords('docs')).size).toBe(2);

      await stored.promotePending();
      await new Promise((r) => setTimeout(r, 1100));
      await writeFile(path.join(root, 'c.md'), '# C\n\ncherry blossom\n');
      const after = await run('c.md');
      expect(after).toMatchObject({ status: 'changed', added: 1 });
      expect(after.next).toBeUndefined();
      expect([...(await pending.listDocRecords('docs')).keys()].sort()).toEqual(['docs:b.md', 'docs:c.md']);
      expect((await sink.listDocRecords('docs')).has('docs:c.md')).toBe(false);
      await other.close();
    } finally {
      await worker.close();
      await queue.close();
      conn.disconnect();
      await stored.close();
    }
  });
});
