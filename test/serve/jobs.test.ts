/**
 * Failed jobs through the API: a file that fails is listed with its reason, and a retry of its
 * job (by ID) after the file is fixed indexes it. The watcher is slowed down (a minute of settle
 * time) so that only the retry can have indexed the fixed file. Two setups: `watch --serve` (the
 * daemon's own local queue, in the server's process) and `serve` beside a `watch` on Redis, on
 * Milvus (the retry goes through the shared queue).
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES, tempDir } from '../helpers.js';
import { type QueueKind, type SinkKind, children } from '../children.js';

const { daemon, until, hits, setup } = children();
const SERVING = /serving (http:\/\/[^\s)]+)/;

interface Queue {
  source: string;
  counts: Record<string, number>;
  failed: Array<{ id: string; path: string; reason: string; attempts: number }>;
}

async function queues(url: string): Promise<Queue[]> {
  return ((await (await fetch(`${url}/api/jobs`)).json()) as { queues: Queue[] }).queues;
}

/** Reads `/api/events` in the background: the `sync` events seen so far. */
function syncEvents(url: string) {
  const seen: Array<{ path: string; status: string }> = [];
  const controller = new AbortController();
  void (async () => {
    const res = await fetch(`${url}/api/events`, { signal: controller.signal });
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = /^event: sync\ndata: (.*)$/m.exec(block);
        if (data) seen.push(JSON.parse(data[1]!) as { path: string; status: string });
      }
    }
  })().catch(() => undefined);
  return { seen, stop: () => controller.abort() };
}

const SETUPS: Array<[string, SinkKind, QueueKind, boolean]> = [
  ['watch --serve, LanceDB, local queue', 'LanceDB', 'local', true],
  ['serve beside watch, Milvus Lite, Redis queue', 'Milvus Lite', 'redis', false],
];

describe.each(SETUPS)('failed jobs through the API: %s', (_name, kind, queue, inProcess) => {
  it('lists a failed job with its reason; its retry, after the file is fixed, indexes it', async () => {
    const dir = path.join(await tempDir(), 'docs');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'ok.md'), '# Ok\n\nthe lighthouse keeper\n');
    await writeFile(path.join(dir, 'report.pdf'), '%PDF-1.4 this is not really a PDF');
    const e = setup(kind, path.join(path.dirname(dir), 'store'), undefined, queue);
    const watch = ['watch', dir, ...e.sink, ...e.queue, ...e.model, '--settle-ms', '60000', '--reconcile-seconds', '0'];
    const w = await daemon(inProcess ? [...watch, '--serve', '--port', '0'] : watch, undefined, { RAGSYNC_ATTEMPTS: '1' });
    const url = inProcess
      ? SERVING.exec(w.output())![1]!
      : SERVING.exec((await daemon(['serve', ...e.sink, ...e.queue, '--port', '0'], SERVING)).output())![1]!;

    await until(async () => (await queues(url))[0]?.failed.length === 1, 60_000);
    const [q] = await queues(url);
    expect(q!.source).toBe('docs');
    expect(q!.failed[0]).toMatchObject({ path: 'report.pdf', attempts: 1, reason: expect.stringMatching(/report\.pdf|PDF/) });
    expect(q!.counts.failed).toBe(1);

    const events = inProcess ? syncEvents(url) : null;
    await copyFile(path.join(FIXTURES, 'files', 'two-pages.pdf'), path.join(dir, 'report.pdf'));
    const id = encodeURIComponent(q!.failed[0]!.id);
    const retried = await fetch(`${url}/api/jobs/${id}/retry`, { method: 'POST', headers: { 'x-ragsync': '1' } });
    expect(retried.status).toBe(200);
    expect(await retried.json()).toEqual({ retried: 1, deferred: 0 });
    await until(async () => (await hits(e, 'orchards')).some((h) => h.path === 'report.pdf'), 30_000);
    await until(async () => (await queues(url))[0]?.failed.length === 0, 30_000);
    const again = await fetch(`${url}/api/jobs/${id}/retry`, { method: 'POST', headers: { 'x-ragsync': '1' } });
    expect(again.status).toBe(404);
    if (!events) return;
    // watch --serve: the daemon's own view, on the same port: the live syncs, the status, the metrics.
    await until(() => events.seen.some((e) => e.path === 'report.pdf' && e.status !== 'failed'));
    events.stop();
    const status = (await (await fetch(`${url}/api/status`)).json()) as {
      daemon: { source: string; recent: Array<{ path: string; status: string }> };
    };
    expect(status.daemon.source).toBe('docs');
    expect(status.daemon.recent.filter((e) => e.path === 'report.pdf').map((e) => e.status)).toEqual(['failed', 'changed']);
    expect(await (await fetch(`${url}/metrics`)).text()).toMatch(/ragsync_jobs_total\{result="failed"\} 1/);
  }, 180_000);
});
