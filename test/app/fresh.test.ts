import { mkdir, realpath, rm, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type FreshResult, waitFresh } from '../../src/app/fresh.js';
import type { Store } from '../../src/core/store.js';
import { lanceDbStore } from '../../src/sink/lancedb/index.js';
import { type Env, type SinkKind, children } from '../children.js';
import { milvusTestStore, tempDir } from '../helpers.js';

const { cli, daemon, setup } = children();

/** A corpus indexed by a `ragsync index` process, and the same store opened in this (long-lived) process. */
async function indexed(kind: SinkKind): Promise<{ dir: string; e: Env; store: Store; index: () => Promise<void> }> {
  const work = await tempDir();
  const dir = path.join(work, 'docs');
  await mkdir(path.join(dir, 'drafts'), { recursive: true });
  await writeFile(path.join(dir, 'notes.md'), '# Notes\n\nkestrels hover over fields\n');
  await writeFile(path.join(dir, 'other.md'), '# Other\n\nherons wade in shallow water\n');
  await writeFile(path.join(dir, 'drafts', 'wip.md'), '# Draft\n\nnot ready\n');
  const e = setup(kind, path.join(work, 'store'));
  const index = async () => {
    const res = await cli(['index', dir, '--exclude', 'drafts/', ...e.sink, ...e.model]);
    expect(res.code, res.stderr).toBe(0);
  };
  await index();
  const store = kind === 'LanceDB' ? lanceDbStore(path.join(work, 'store')) : milvusTestStore(e.sink[3]);
  return { dir, e, store, index };
}

const fresh = (r: Partial<FreshResult>) => expect.objectContaining({ timedOut: false, ...r });

describe.each<SinkKind>(['LanceDB', 'Milvus Lite'])('waitFresh on %s', (kind) => {
  it('is fresh at once, times out on an edit not indexed, sees another process commit it, and is fresh by hash after a touch', async () => {
    const { dir, store, index } = await indexed(kind);
    const file = path.join(dir, 'notes.md');
    try {
      expect(await waitFresh(store, file, { timeoutMs: 5000 })).toEqual({
        path: 'notes.md',
        docId: 'docs:notes.md',
        waited: false,
        waitedMs: 0,
        timedOut: false,
        state: 'indexed',
      });

      await writeFile(file, '# Notes\n\nkestrels hover over fields, and falcons dive\n');
      const nudged: unknown[] = [];
      const late = await waitFresh(store, file, { timeoutMs: 300, nudge: (ref) => void nudged.push(ref) });
      expect(late).toMatchObject({ waited: true, timedOut: true, state: 'indexed' });
      expect(nudged).toEqual([{ source: 'docs', path: 'notes.md' }]);

      // Committed by another process while this one (which read the record before) waits.
      const waiting = waitFresh(store, file, { timeoutMs: 60_000 });
      await index();
      expect(await waiting).toEqual(fresh({ waited: true, state: 'indexed' }));
      // Once fresh, a search sees the new version.
      const found = await (await store.live())!.search({ mode: 'keyword', k: 5, text: 'falcons' });
      expect(found[0]).toMatchObject({ path: 'notes.md' });

      // The mtime moved, the content did not: fresh by the file's hash, no wait.
      const later = new Date(Date.now() + 60_000);
      await utimes(file, later, later);
      expect(await waitFresh(store, file, { timeoutMs: 5000 })).toEqual(fresh({ waited: false, state: 'indexed' }));
    } finally {
      await store.close();
    }
  }, 120_000);

  it('waits for the newest version of a file written again while it waits', async () => {
    const { dir, store, index } = await indexed(kind);
    const file = path.join(dir, 'notes.md');
    try {
      await writeFile(file, '# Notes\n\nversion two\n');
      // The nudge gets version two committed, then the file is written again: version two is no longer enough.
      const nudge = async () => {
        await index();
        await writeFile(file, '# Notes\n\nversion three, a longer one\n');
      };
      expect(await waitFresh(store, file, { timeoutMs: 1500, nudge })).toMatchObject({ waited: true, timedOut: true });
      await index();
      expect(await waitFresh(store, file, { timeoutMs: 5000 })).toEqual(fresh({ waited: false, state: 'indexed' }));
    } finally {
      await store.close();
    }
  }, 120_000);

  it('a deleted file is fresh once its rows go; an excluded one is not-indexed at once; a file in no source is a usage error', async () => {
    const { dir, store, index } = await indexed(kind);
    try {
      await rm(path.join(dir, 'other.md'));
      expect(await waitFresh(store, path.join(dir, 'other.md'), { timeoutMs: 300 })).toMatchObject({ timedOut: true, state: 'deleted' });
      const waiting = waitFresh(store, path.join(dir, 'other.md'), { timeoutMs: 60_000 });
      await index();
      expect(await waiting).toEqual(fresh({ waited: true, state: 'deleted', docId: 'docs:other.md' }));

      expect(await waitFresh(store, path.join(dir, 'drafts', 'wip.md'), { timeoutMs: 60_000 })).toEqual(
        fresh({ waited: false, state: 'not-indexed', path: 'drafts/wip.md' }),
      );
      await writeFile(path.join(dir, 'picture.xyz'), 'no document type');
      expect(await waitFresh(store, path.join(dir, 'picture.xyz'), { timeoutMs: 60_000 })).toMatchObject({ state: 'not-indexed' });

      // Relative: to the working directory, else to the one source root that holds it.
      expect(await waitFresh(store, 'notes.md', { timeoutMs: 5000, cwd: dir })).toEqual(fresh({ path: 'notes.md' }));
      expect(await waitFresh(store, 'notes.md', { timeoutMs: 5000, cwd: '/' })).toEqual(fresh({ path: 'notes.md', state: 'indexed' }));

      const outside = path.join(path.dirname(dir), 'elsewhere.md');
      await writeFile(outside, '# Elsewhere\n');
      const err = await waitFresh(store, outside, { timeoutMs: 5000 }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'USAGE' });
      expect((err as Error).message).toContain(outside);
      expect((err as Error).message).toContain(await realpath(dir));
    } finally {
      await store.close();
    }
  }, 120_000);
});

describe('ragsync search --fresh', () => {
  it('finds a just-written file first, every time, while watch runs (20 trials)', async () => {
    const work = await tempDir();
    const dir = path.join(work, 'docs');
    await mkdir(dir);
    await writeFile(path.join(dir, 'notes.md'), '# Notes\n\nplovers nest on beaches\n');
    await writeFile(path.join(dir, 'other.md'), '# Other\n\nherons wade in shallow water\n');
    const e = setup('LanceDB', path.join(work, 'store'), undefined, 'local');
    expect((await cli(['index', dir, ...e.sink, ...e.model])).code).toBe(0);
    // A settle delay longer than a search process takes to start: a search that did not wait would miss the edit.
    await daemon(['watch', dir, ...e.sink, ...e.model, '--settle-ms', '1500', '--metrics-port', '0']);
    const file = path.join(dir, 'notes.md');
    for (let i = 0; i < 20; i++) {
      const word = `zebrafinch${i}q${Date.now().toString(36)}`;
      await writeFile(file, `# Notes\n\n${'trial '.repeat(i)}the ${word} sings at dawn\n`);
      const res = await cli(['search', word, '--fresh', file, '--mode', 'keyword', '--json', ...e.sink, ...e.model]);
      expect(res.code, res.stderr).toBe(0);
      expect(res.stderr).toMatch(/^ragsync: (waited [\d.]+ s for \S+ to be indexed|\S+ is indexed)$/m);
      const hits = JSON.parse(res.stdout) as Array<{ path: string; text: string }>;
      expect(hits[0], `trial ${i}`).toMatchObject({ path: 'notes.md' });
      expect(hits[0]!.text).toContain(word);
    }
  }, 300_000);

  it('a timeout is exit 1 with one warning line and the hits on stdout; a file in no source is exit 2', async () => {
    const work = await tempDir();
    const dir = path.join(work, 'docs');
    await mkdir(dir);
    await writeFile(path.join(dir, 'notes.md'), '# Notes\n\nplovers nest on beaches\n');
    const e = setup('LanceDB', path.join(work, 'store'));
    expect((await cli(['index', dir, ...e.sink, ...e.model])).code).toBe(0);
    await writeFile(path.join(dir, 'notes.md'), '# Notes\n\nplovers nest on beaches, terns too\n');
    const args = ['search', 'plovers', '--mode', 'keyword', '--json', ...e.sink, ...e.model];
    const late = await cli([...args, '--fresh', path.join(dir, 'notes.md'), '--fresh-timeout-ms', '200']);
    expect(late.code, late.stderr).toBe(1);
    expect(late.stderr.trim()).toMatch(/^ragsync: \S+notes\.md was not indexed within 0\.2 s: results may not include it$/);
    expect(JSON.parse(late.stdout)).toEqual([expect.objectContaining({ path: 'notes.md' })]);

    const outside = await cli([...args, '--fresh', path.join(work, 'nowhere.md')]);
    expect(outside.code).toBe(2);
    expect(outside.stdout).toBe('');
    expect(outside.stderr).toContain('nowhere.md is in no source');

    const bad = await cli([...args, '--fresh', path.join(dir, 'notes.md'), '--fresh-timeout-ms', '-1']);
    expect(bad.code).toBe(2);
  }, 120_000);
});
