/**
 * Faults with real processes: a worker killed in the middle of its batches, Redis restarted (with
 * its queue lost) under a running daemon and worker, the Milvus server stopped for 30 s under load,
 * and a one-shot `index` killed and interrupted. Files are edited, added and deleted while each
 * fault lasts. Afterwards, once things settle, `ragsync audit` must report zero drift (every file's
 * content hash matches its record, every record its rows, no orphans) and every change made during
 * the fault must be searchable.
 */
import { rm, unlink, writeFile, appendFile } from 'node:fs/promises';
import path from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';
// @ts-expect-error: plain ESM scripts without type declarations
import { writeCorpus } from '../../bench/corpus.mjs';
// @ts-expect-error: plain ESM scripts without type declarations
import { startMilvusLite } from '../../scripts/milvus-lite.mjs';
// @ts-expect-error: plain ESM scripts without type declarations
import { startRedis } from '../../scripts/redis-server.mjs';
import { ROOT, TINY_MODEL, tempDir } from '../helpers.js';
import { type Env, children, until } from '../children.js';

const { cli, daemon, hits } = children();
let n = 0;
const tag = () => `f${process.pid}x${Date.now().toString(36)}x${n++}`;

/** Changes made during a fault: three files get a new paragraph, two are deleted, two are added. */
async function change(dir: string, files: string[], round: string) {
  const md = files.filter((f) => f.endsWith('.md')).slice(0, 5);
  const marks = new Map<string, string>();
  for (const [i, f] of md.slice(0, 3).entries()) {
    const word = `zq${round}edit${i}`;
    await appendFile(path.join(dir, f), `\n\n## Added during the fault\n\nthe word ${word} was written while ${round} lasted\n`);
    marks.set(word, f);
  }
  const deleted = md.slice(3, 5);
  for (const f of deleted) await unlink(path.join(dir, f));
  for (let i = 0; i < 2; i++) {
    const word = `zq${round}new${i}`;
    const f = `new-${round}-${i}.md`;
    await writeFile(path.join(dir, f), `# New during ${round}\n\nthe word ${word} is in a file added while ${round} lasted\n`);
    marks.set(word, f);
  }
  // Later rounds must not touch these files again.
  for (const f of md) files.splice(files.indexOf(f), 1);
  return { marks, deleted };
}

interface AuditJson {
  report: { documents: number; rows: number; drift: Array<{ kind: string; path: string }>; unchecked: unknown[] };
}

/** Polls `ragsync audit` until it reports no drift; then checks its exit code and every change. */
async function settled(e: Env, dir: string, changes: Array<Awaited<ReturnType<typeof change>>>, timeoutMs = 180_000) {
  let last: AuditJson | undefined;
  await until(async () => {
    const res = await cli(['audit', dir, '--json', ...e.sink, ...e.model]);
    last = res.stdout ? (JSON.parse(res.stdout) as AuditJson) : undefined;
    return res.code === 0;
  }, timeoutMs).catch((err: Error) => {
    throw new Error(
      `${err.message}: audit still reports ${JSON.stringify(last?.report.drift.slice(0, 10))} and ${JSON.stringify(last?.report.unchecked)}`,
    );
  });
  const final = await cli(['audit', dir, ...e.sink, ...e.model]);
  expect(final.code, final.stdout + final.stderr).toBe(0);
  expect(final.stdout).toMatch(/no drift/);
  for (const c of changes) {
    for (const [word, file] of c.marks) expect((await hits(e, word)).map((h) => h.path)).toEqual([file]);
  }
  return last!.report;
}

const synced = (out: string) => (out.match(/document synced/g) ?? []).length;

describe('faults', () => {
  it('a worker killed with SIGKILL in the middle of its batches: another takes its jobs over, no change is lost', async () => {
    const work = await tempDir();
    const dir = path.join(work, 'docs');
    const files: string[] = await writeCorpus(ROOT, dir, 150, 21, { mixed: true });
    const t = tag();
    const e: Env = {
      sink: ['--store', path.join(work, 'store')],
      queue: ['--redis', inject('redisUrl'), '--redis-prefix', t],
      model: ['--model-dir', TINY_MODEL],
    };
    const lock = ['--lock-ms', '1500'];
    const watch = await daemon(['watch', dir, '--no-worker', ...e.sink, ...e.queue, ...e.model]);
    const victim = await daemon(['worker', dir, ...e.sink, ...e.queue, ...e.model, '--concurrency', '8', '--log-level', 'debug', ...lock]);
    await until(() => synced(victim.output()) >= 15, 60_000);
    victim.child.kill('SIGKILL');
    await victim.exited;
    const during = await change(dir, files, 'kill');
    const rescuer = await daemon(['worker', dir, ...e.sink, ...e.queue, ...e.model, '--concurrency', '8', ...lock]);
    const report = await settled(e, dir, [during]);
    expect(report.documents).toBe(150);
    for (const p of [watch, rescuer]) p.child.kill('SIGTERM');
    expect(await Promise.all([watch.exited, rescuer.exited])).toEqual([143, 143]);
  }, 300_000);

  it('Redis restarted empty while the daemon and a worker run: they reconnect, the lost queue is rebuilt, no change is lost', async () => {
    const work = await tempDir();
    const dir = path.join(work, 'docs');
    const files: string[] = await writeCorpus(ROOT, dir, 150, 22, { mixed: true });
    let redis = await startRedis();
    // A slow embedder (150 ms a batch, one batch at a time per process) keeps a backlog in the queue.
    const e: Env = {
      sink: ['--store', path.join(work, 'store')],
      queue: ['--redis', redis.url, '--redis-prefix', tag()],
      model: ['--embedder', 'fixed:150'],
    };
    try {
      const watch = await daemon(['watch', dir, ...e.sink, ...e.queue, ...e.model, '--concurrency', '4', '--log-level', 'debug']);
      const worker = await daemon(['worker', dir, ...e.sink, ...e.queue, ...e.model, '--concurrency', '4', '--log-level', 'debug']);
      await until(() => synced(watch.output()) + synced(worker.output()) >= 15, 60_000);
      const queued = JSON.parse((await cli(['jobs', dir, ...e.queue, '--json'])).stdout).counts;
      expect(queued.waiting + queued.prioritized + queued.active).toBeGreaterThan(0);
      // First a dropped connection with Redis's data intact (as an idle timeout does): no full scan.
      const killed = [watch.output().length, worker.output().length];
      const admin = new Redis(redis.url);
      await admin.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
      admin.disconnect();
      await until(() => /Redis is reachable again, the same server with its data/.test(watch.output()), 30_000);
      expect(watch.output()).not.toMatch(/restarted or lost its data/);
      const mark = [watch.output().length, worker.output().length];
      await redis.stop();
      const during = await change(dir, files, 'redis');
      await new Promise((r) => setTimeout(r, 3000));
      redis = await startRedis({ port: redis.port });
      const after = await change(dir, files, 'after');
      await settled(e, dir, [during, after]);
      expect(watch.output()).toMatch(/Redis is reachable again but restarted or lost its data: reconciling/);
      // The outages are at most one warning a minute per process (ioredis retried every few
      // hundred ms: one line per retry was dozens), and the end of the outage one line.
      for (const [i, p] of [watch, worker].entries()) {
        const warnings = (
          p
            .output()
            .slice(killed[i])
            .match(/"msg":"redis: [^"]*/g) ?? []
        ).filter((l) => !l.includes('reachable again'));
        expect(warnings.length, warnings.join('\n')).toBeLessThanOrEqual(2);
        expect(p.output().slice(mark[i])).toMatch(/"msg":"redis: reachable again after \d+ s"/);
      }
      for (const p of [watch, worker]) {
        expect(p.child.exitCode).toBeNull();
        p.child.kill('SIGTERM');
      }
      expect(await Promise.all([watch.exited, worker.exited])).toEqual([143, 143]);
    } finally {
      await redis.stop();
    }
  }, 300_000);

  it('the Milvus server stopped for 30 s under load and started again: jobs retry, no change is lost', async () => {
    const work = await tempDir();
    const dir = path.join(work, 'docs');
    const files: string[] = await writeCorpus(ROOT, dir, 150, 23, { mixed: true });
    const data = path.join(work, 'milvus-data');
    let milvus = await startMilvusLite({ dataDir: data });
    const e: Env = {
      sink: ['--milvus-address', milvus.address, '--milvus-collection', tag()],
      queue: ['--redis', inject('redisUrl'), '--redis-prefix', tag()],
      model: ['--model-dir', TINY_MODEL],
    };
    try {
      const watch = await daemon(['watch', dir, ...e.sink, ...e.queue, ...e.model, '--concurrency', '4', '--log-level', 'debug']);
      const worker = await daemon(['worker', dir, ...e.sink, ...e.queue, ...e.model, '--concurrency', '4', '--log-level', 'debug']);
      await until(() => synced(watch.output()) + synced(worker.output()) >= 20, 60_000);
      await milvus.stop();
      const during = await change(dir, files, 'milvus');
      await new Promise((r) => setTimeout(r, 30_000));
      milvus = await startMilvusLite({ dataDir: data, port: milvus.port });
      const report = await settled(e, dir, [during]);
      expect(report.documents).toBe(150 - 2 + 2);
      for (const p of [watch, worker]) {
        expect(p.child.exitCode).toBeNull();
        p.child.kill('SIGTERM');
      }
      expect(await Promise.all([watch.exited, worker.exited])).toEqual([143, 143]);
      expect(worker.output() + watch.output()).toMatch(/sync job failed/);
    } finally {
      await milvus.stop();
    }
  }, 360_000);

  it('a one-shot index killed (SIGKILL), then stopped (SIGTERM): the stop is clean, deletes nothing, and the next run converges', async () => {
    const work = await tempDir();
    const dir = path.join(work, 'docs');
    const files: string[] = await writeCorpus(ROOT, dir, 300, 24, { mixed: true });
    const e: Env = { sink: ['--store', path.join(work, 'store')], queue: [], model: ['--model-dir', TINY_MODEL] };
    const first = await daemon(
      ['index', dir, ...e.sink, ...e.model, '--json', '--concurrency', '8', '--log-level', 'debug'],
      /document synced/,
    );
    await until(() => synced(first.output()) >= 20, 60_000);
    first.child.kill('SIGKILL');
    await first.exited;
    const killed = await change(dir, files, 'sigkill');

    const second = await daemon(
      ['index', dir, ...e.sink, ...e.model, '--json', '--concurrency', '8', '--log-level', 'debug'],
      /document synced/,
    );
    // Documents the first run committed come back unchanged; wait for some the second run changed.
    await until(() => (second.output().match(/"status":"changed"/g) ?? []).length >= 5, 60_000);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(143);
    const out = second.output();
    expect(out).toMatch(/ragsync: SIGTERM: stopping/);
    const summary = JSON.parse(out.split('\n').find((l) => l.startsWith('{"docs"'))!);
    expect(summary.interrupted).toBe(true);
    // The two files deleted after the kill were not reached for deletion: the pass was cut short.
    expect(summary.docs.deleted).toBe(0);
    expect(summary.docs.changed).toBeGreaterThan(0);
    expect(summary.docs.changed + summary.docs.unchanged + summary.docs.failed).toBeLessThan(300);
    const midway = await cli(['audit', dir, '--json', ...e.sink, ...e.model]);
    expect(midway.code).toBe(1);

    const termed = await change(dir, files, 'sigterm');
    const last = await cli(['index', dir, ...e.sink, ...e.model, '--json']);
    expect(last.code, last.stderr).toBe(0);
    expect(JSON.parse(last.stdout).docs.deleted).toBe(4);
    const report = await settled(e, dir, [killed, termed]);
    // The same files indexed from scratch: the same rows, no more, no fewer.
    const fresh = JSON.parse((await cli(['index', dir, '--store', path.join(work, 'fresh'), ...e.model, '--json'])).stdout);
    expect(report.rows).toBe(fresh.chunks.upserted);
    await rm(path.join(work, 'fresh'), { recursive: true });
  }, 300_000);
});
