/**
 * `ragsync serve` as a real process on both sinks: its search answers what `search --json` prints
 * for the same query (text in each mode, an image, filters), its status what `status --json`
 * says, and bad parameters are 400s naming the field.
 */
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES, tempDir } from '../helpers.js';
import { type Env, type SinkKind, children } from '../children.js';

const { cli, daemon, setup } = children();
const FILES = path.join(FIXTURES, 'files');
const POST = { 'x-ragsync': '1' };

/** A small corpus: Markdown in two folders, a PDF, two images. */
async function corpus(): Promise<string> {
  const dir = path.join(await tempDir(), 'docs');
  await mkdir(path.join(dir, 'guide'), { recursive: true });
  await writeFile(path.join(dir, 'guide', 'install.md'), '# Install\n\nRun the installer, then restart the lighthouse keeper.\n');
  await writeFile(path.join(dir, 'guide', 'usage.md'), '# Usage\n\n## Search\n\nSearch finds the lighthouse and the harbour.\n');
  await writeFile(path.join(dir, 'notes.md'), '# Notes\n\nThe harbour master keeps a ledger of boats.\n');
  await copyFile(path.join(FILES, 'two-pages.pdf'), path.join(dir, 'two-pages.pdf'));
  await copyFile(path.join(FILES, 'blue.png'), path.join(dir, 'blue.png'));
  await copyFile(path.join(FILES, 'green.jpg'), path.join(dir, 'green.jpg'));
  return dir;
}

/** Indexes a corpus on `kind` and starts `serve` over it. */
async function served(kind: SinkKind, extra: string[] = [], env: Record<string, string> = {}) {
  const dir = await corpus();
  const e = setup(kind, path.join(path.dirname(dir), 'store'));
  const indexed = await cli(['index', dir, ...e.sink, ...e.model]);
  expect(indexed.code, indexed.stderr).toBe(0);
  // The store remembers its model: serve needs no --model-dir.
  const d = await daemon(['serve', ...e.sink, '--port', '0', ...extra], /^ragsync: serving (http:\S+)/m, env);
  const url = /^ragsync: serving (http:\S+)/m.exec(d.output())![1]!;
  return { dir, e, d, url };
}

async function cliHits(e: Env, args: string[]) {
  const res = await cli(['search', ...args, '--json', ...e.sink]);
  expect(res.code, res.stderr).toBe(0);
  return JSON.parse(res.stdout) as unknown[];
}

async function get(url: string) {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe.each<SinkKind>(['LanceDB', 'Milvus Lite'])('ragsync serve on %s', (kind) => {
  it('answers each search as search --json does, and status as status --json', async () => {
    const { e, url, dir } = await served(kind);
    for (const mode of ['keyword', 'hybrid', 'dense']) {
      for (const q of ['lighthouse', 'harbour boats', 'apples']) {
        const api = await get(`${url}/api/search?q=${encodeURIComponent(q)}&mode=${mode}&k=4`);
        expect(api.status).toBe(200);
        expect(api.body.hits, `${mode} ${q}`).toEqual(await cliHits(e, [q, '--mode', mode, '-k', '4']));
        expect((api.body.hits as unknown[]).length).toBeGreaterThan(0);
      }
    }
    const keyword = await get(`${url}/api/search?q=ledger&mode=keyword`);
    expect((keyword.body.hits as Array<{ path: string; heading: string; lines: number[] }>)[0]).toMatchObject({
      path: 'notes.md',
      heading: 'Notes',
      lines: [3, 3],
    });

    const filtered = await get(`${url}/api/search?q=lighthouse&mode=hybrid&filter=path=guide/usage.md&perDoc=0`);
    expect(filtered.body.hits).toEqual(await cliHits(e, ['lighthouse', '--filter', 'path=guide/usage.md', '--per-doc', '0']));
    expect(new Set((filtered.body.hits as Array<{ path: string }>).map((h) => h.path))).toEqual(new Set(['guide/usage.md']));
    const images = await get(`${url}/api/search?q=blue&filter=modality=image&k=3`);
    expect(images.body.hits).toEqual(await cliHits(e, ['blue', '--filter', 'modality=image', '-k', '3']));

    const png = await readFile(path.join(dir, 'blue.png'));
    const res = await fetch(`${url}/api/search?k=3`, { method: 'POST', body: png, headers: { ...POST, 'content-type': 'image/png' } });
    expect(res.status).toBe(200);
    const byImage = (await res.json()) as { mode: string; hits: Array<{ path: string }> };
    expect(byImage.mode).toBe('dense');
    expect(byImage.hits).toEqual(await cliHits(e, ['--image', path.join(dir, 'blue.png'), '-k', '3']));
    expect(byImage.hits[0]!.path).toBe('blue.png');

    const status = (await get(`${url}/api/status`)).body;
    const cliStatus = JSON.parse((await cli(['status', '--json', ...e.sink])).stdout) as Record<string, unknown>;
    for (const key of ['store', 'sink', 'fingerprint', 'docs', 'chunks', 'pending', 'sources', 'vectorCache'] as const) {
      expect(status[key], key).toEqual(cliStatus[key]);
    }
    expect(status).toMatchObject({ docs: 6, daemon: null, queues: [{ source: 'docs', failed: [] }] });
  }, 240_000);
});

describe('ragsync serve: parameters', () => {
  it('refuses a bad parameter with a 400 naming it, an upload over the limit with a 413', async () => {
    const limits = { RAGSYNC_MAX_UPLOAD_BYTES: '100000', RAGSYNC_MAX_IMAGE_PIXELS: '1000000', RAGSYNC_FRESH_TIMEOUT_MS: '120000' };
    const { url, d, dir } = await served('LanceDB', [], limits);
    const cases: Array<[string, string]> = [
      ['q=x&k=0', 'k'],
      ['q=x&k=many', 'k'],
      ['q=x&mode=fuzzy', 'mode'],
      ['q=x&top_k=3', 'top_k'],
      ['q=x&filter=colour=red', 'filter'],
      ['q=x&filter=modality=audio', 'filter'],
      ['q=&mode=keyword', 'q'],
      ['mode=dense', 'q'],
    ];
    for (const [query, field] of cases) {
      const res = await get(`${url}/api/search?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.field, query).toBe(field);
      expect(String(res.body.error), query).toContain(field);
    }
    const big = Buffer.alloc(200_000, 1);
    big.set([0x89, 0x50, 0x4e, 0x47]);
    const tooBig = await fetch(`${url}/api/search`, { method: 'POST', body: big, headers: { ...POST, 'content-type': 'image/png' } });
    expect(tooBig.status).toBe(413);
    const text = Buffer.from('not an image at all');
    const notImage = await fetch(`${url}/api/search`, { method: 'POST', body: text, headers: { ...POST, 'content-type': 'image/png' } });
    expect(notImage.status).toBe(400);
    expect(((await notImage.json()) as { field: string }).field).toBe('body');
    // A small file of many pixels is refused from its header, before it is decoded (as indexing refuses it).
    const sharp = (await import('sharp')).default;
    const many = await sharp({ create: { width: 2000, height: 2000, channels: 3, background: '#00f' } })
      .png()
      .toBuffer();
    expect(many.length).toBeLessThan(100_000);
    const bomb = await fetch(`${url}/api/search`, { method: 'POST', body: many, headers: { ...POST, 'content-type': 'image/png' } });
    expect(bomb.status).toBe(422);
    expect(((await bomb.json()) as { error: string }).error).toMatch(/2000 × 2000 \(4 MP\), over 1 MP \(limit maxImagePixels\)/);
    const wrongType = await fetch(`${url}/api/search`, { method: 'POST', body: 'x', headers: { ...POST, 'content-type': 'text/plain' } });
    expect(wrongType.status).toBe(415);

    expect((await fetch(`${url}/api/thumbnail?doc=docs:blue.png`)).headers.get('content-type')).toBe('image/webp');
    for (const doc of ['docs:notes.md', 'docs:../../etc/passwd', 'docs:missing.png', '/etc/passwd']) {
      expect((await fetch(`${url}/api/thumbnail?doc=${encodeURIComponent(doc)}`)).status, doc).toBe(404);
    }
    expect((await get(`${url}/api/jobs?limit=0`)).status).toBe(400);
    expect((await fetch(`${url}/api/jobs/nope/retry`, { method: 'POST', headers: POST })).status).toBe(404);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await get(`${url}/api/search?q=ledger&mode=keyword`)).status).toBe(200);
    expect(await (await fetch(`${url}/metrics`)).text()).toMatch(/ragsync_search_seconds_count 1\n/);

    // Neither an open event stream nor a fresh wait (for a file no daemon indexes) keeps a stopping server up.
    const stream = await fetch(`${url}/api/events`);
    expect(stream.headers.get('content-type')).toBe('text/event-stream');
    await writeFile(path.join(dir, 'unindexed.md'), '# New\n\nnobody indexes this\n');
    const waiting = fetch(`${url}/api/search?q=nobody&mode=keyword&fresh=${encodeURIComponent(path.join(dir, 'unindexed.md'))}`);
    await new Promise((r) => setTimeout(r, 500));
    const stopped = Date.now();
    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(143);
    expect(Date.now() - stopped).toBeLessThan(60_000);
    expect(
      (await waiting.then(
        (r) => r.status,
        () => 0,
      )) !== 200,
    ).toBe(true);
  }, 120_000);
});
