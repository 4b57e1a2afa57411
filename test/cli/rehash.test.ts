import { cp, readFile, readdir, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Store } from '../../src/core/store.js';
import { docId } from '../../src/ids/index.js';
import { lanceDbStore } from '../../src/sink/lancedb/index.js';
import { type SinkKind, children } from '../children.js';
import { ROOT, milvusTestStore, tempDir } from '../helpers.js';

const { cli, hits, setup } = children();

/** Sets every file's atime and mtime a minute back: records written now are not racily clean. */
async function age(dir: string): Promise<void> {
  const old = new Date(Date.now() - 60_000);
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true }))
    if (e.isFile()) await utimes(path.join(e.parentPath, e.name), old, old);
}

describe.each<SinkKind>(['LanceDB', 'Milvus Lite'])('change detection mtime cannot fool, on %s (CLI)', (kind) => {
  it('index --rehash on an unchanged tree writes nothing; audit --repair re-indexes a stale document stat cannot see and exits 0', async () => {
    const work = await tempDir();
    const dir = path.join(work, 'docs');
    await cp(path.join(ROOT, 'examples', 'corpus'), dir, { recursive: true });
    await age(dir);
    const storeDir = path.join(work, 'store');
    const e = setup(kind, storeDir);
    const index = async (...more: string[]) => {
      const res = await cli(['index', dir, ...e.sink, ...e.model, '--json', ...more]);
      expect(res.code, res.stderr).toBe(0);
      return JSON.parse(res.stdout);
    };
    const first = await index();
    expect(first.docs.changed).toBe(7);

    const rehashed = await index('--rehash');
    expect(rehashed.docs).toMatchObject({ scanned: 7, changed: 0, unchanged: 7, deleted: 0, failed: 0 });
    expect(rehashed.chunks).toMatchObject({ upserted: 0, deleted: 0 });
    expect(rehashed.embeddings).toEqual({ computed: 0, reused: 0 });

    // A same-size edit with its times put back, and a record written after it with the old hash
    // (a store restored from a backup, a write that raced its record): size, mtime and ctime agree.
    const file = path.join(dir, 'sourdough-bread.md');
    const before = await stat(file);
    const text = await readFile(file, 'utf8');
    const edited = text.replace(/flour/, 'wheat');
    expect(edited).not.toBe(text);
    await writeFile(file, edited);
    await utimes(file, before.atime, before.mtime);
    await new Promise((r) => setTimeout(r, 20));
    const store: Store = kind === 'LanceDB' ? lanceDbStore(storeDir) : milvusTestStore(e.sink[e.sink.indexOf('--milvus-collection') + 1]);
    try {
      const live = (await store.live())!;
      const record = (await live.getDocRecord(docId('docs', 'sourdough-bread.md')))!;
      await live.commitDocument({ rows: [], staleIds: [], record: { ...record, updatedAt: Date.now() } });
    } finally {
      await store.close();
    }
    expect((await index()).docs.changed).toBe(0);
    const drift = await cli(['audit', dir, ...e.sink, ...e.model]);
    expect(drift.code).toBe(1);
    expect(drift.stdout).toContain('stale: sourdough-bread.md');

    const repaired = await cli(['audit', dir, ...e.sink, ...e.model, '--repair', '--json']);
    expect(repaired.code, repaired.stderr).toBe(0);
    const out = JSON.parse(repaired.stdout);
    expect(out.before.drift.map((d: { kind: string }) => d.kind)).toEqual(['stale']);
    expect(out.repair.docs).toMatchObject({ changed: 1, failed: 0 });
    expect(out.repair.embeddings.computed).toBeGreaterThan(0);
    expect(out.report.drift).toEqual([]);
    expect((await hits(e, 'wheat')).some((h) => h.path === 'sourdough-bread.md' && /wheat/.test(h.text))).toBe(true);
    expect((await index('--rehash')).docs.changed).toBe(0);
  }, 180_000);
});
