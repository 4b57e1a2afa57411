import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type QueueKind, type SinkKind, children } from '../children.js';
import { tempDir } from '../helpers.js';

const { cli, daemon, setup } = children();

interface Answer {
  hits: Array<{ path: string; text: string }>;
  fresh?: { path: string; docId: string | null; waited: boolean; waitedMs: number; timedOut: boolean; state: string };
}

/** `GET /api/search` with these parameters. */
async function search(base: string, params: Record<string, string>): Promise<{ status: number; body: Answer & { field?: string } }> {
  const res = await fetch(`${base}/api/search?${new URLSearchParams(params)}`);
  return { status: res.status, body: (await res.json()) as Answer & { field?: string } };
}

const SETUPS: Array<[SinkKind, QueueKind]> = [
  ['LanceDB', 'local'],
  ['Milvus Lite', 'redis'],
];

describe.each(SETUPS)('GET /api/search?fresh= under watch --serve on %s, %s queue', (kind, queue) => {
  it('returns the new content of a just-saved file every time (20 trials); a file that never settles times out', async () => {
    const work = await tempDir();
    const dir = path.join(work, 'docs');
    await mkdir(dir);
    await writeFile(path.join(dir, 'notes.md'), '# Notes\n\nplovers nest on beaches\n');
    await writeFile(path.join(dir, 'other.md'), '# Other\n\nherons wade in shallow water\n');
    const e = setup(kind, path.join(work, 'store'), undefined, queue);
    expect((await cli(['index', dir, ...e.sink, ...e.model])).code).toBe(0);
    // A settle delay longer than the bound of every wait below: only the server's nudge (the
    // file queued at once) can make the file fresh in time.
    const d = await daemon(['watch', dir, '--serve', '--port', '0', '--settle-ms', '20000', ...e.sink, ...e.queue, ...e.model]);
    const base = /serving (http:\/\/[^\s,)]+)/.exec(d.output())![1]!;
    const file = path.join(dir, 'notes.md');

    for (let i = 0; i < 20; i++) {
      const word = `zebrafinch${i}q${Date.now().toString(36)}`;
      await writeFile(file, `# Notes\n\n${'trial '.repeat(i)}the ${word} sings at dawn\n`);
      const res = await search(base, { q: word, mode: 'keyword', fresh: file, freshTimeoutMs: '15000' });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.fresh, `trial ${i}`).toMatchObject({ path: 'notes.md', docId: 'docs:notes.md', timedOut: false, state: 'indexed' });
      expect(res.body.hits[0], `trial ${i}`).toMatchObject({ path: 'notes.md' });
      expect(res.body.hits[0]!.text).toContain(word);
    }

    // Relative to the source root: the server's working directory is not the folder.
    const rel = await search(base, { q: 'herons', mode: 'keyword', fresh: 'other.md' });
    expect(rel.body.fresh).toMatchObject({ path: 'other.md', waited: false, timedOut: false });

    // Rewritten every 50 ms for the whole wait (atomically, as editors save), each version new
    // text (no vector to reuse) too long to be synced within 50 ms: no version lives until its
    // commit, so none is ever fresh. (A file whose versions each outlive a sync of it can be
    // caught, rightly, in one of them.)
    const save = async (n: number) => {
      const paragraphs = Array.from({ length: 3000 }, (_, p) => `churn ${n} paragraph ${p} of version ${n}.`);
      await writeFile(path.join(dir, '.notes.md.tmp'), `# Notes\n\n${paragraphs.join('\n\n')}\n`);
      await rename(path.join(dir, '.notes.md.tmp'), file);
    };
    await save(0);
    let stop = false;
    const writer = (async () => {
      for (let n = 1; !stop; n++) {
        await new Promise((r) => setTimeout(r, 50));
        await save(n);
      }
    })();
    try {
      const busy = await search(base, { q: 'churn', mode: 'keyword', fresh: file, freshTimeoutMs: '1500' });
      expect(busy.status).toBe(200);
      expect(busy.body.fresh, JSON.stringify(busy.body.fresh)).toMatchObject({
        path: 'notes.md',
        waited: true,
        timedOut: true,
        state: 'indexed',
      });
    } finally {
      stop = true;
      await writer;
    }

    const outside = await search(base, { q: 'x', mode: 'keyword', fresh: path.join(work, 'nowhere.md') });
    expect(outside).toMatchObject({ status: 400, body: { field: 'fresh' } });
  }, 240_000);
});
