/**
 * The Store and Collection contract: one suite, run against every real backend
 * (`storeContract(name, factory)`). Each test gets a fresh, empty store from the factory; called
 * again in the same test, the factory opens the same store again (another process's view).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Collection, Store } from '../../src/core/store.js';
import type { ChunkRow, DocRecord, Fingerprint, SourceRecord } from '../../src/core/types.js';
import { chunkId } from '../../src/ids/index.js';

const DIM = 8;
export const FP: Fingerprint = { model: 'test/model', revision: 'r1', dim: DIM, dtype: 'fp32', pooling: 'l2norm' };

function vec(seed: number): number[] {
  const v = Array.from({ length: DIM }, (_, i) => Math.sin(seed * 7.3 + i * 1.1));
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

export function row(docId: string, n: number, text: string, opts: Partial<ChunkRow> = {}): ChunkRow {
  return {
    id: chunkId(docId, 'sec', n),
    docId,
    source: docId.slice(0, docId.indexOf(':')),
    path: docId.slice(docId.indexOf(':') + 1),
    section: 'sec',
    chunkIndex: n,
    modality: 'text',
    hash: `h-${text}`,
    key: `k-${text}`,
    text,
    vector: vec(text.length + n),
    metadata: '{}',
    updatedAt: 1,
    ...opts,
  };
}

export function record(docId: string, chunkCount: number): DocRecord {
  return {
    docId,
    source: docId.slice(0, docId.indexOf(':')),
    path: docId.slice(docId.indexOf(':') + 1),
    size: 10,
    mtimeMs: 1234.5,
    fileHash: 'f'.repeat(64),
    metaHash: 'm'.repeat(64),
    chunkCount,
    chunking: 'markdown@1;max=512',
    fingerprint: 'fp',
    updatedAt: 1,
  };
}

/** Writes rows through the contract's one write: a commit per document, its record counting the rows given. */
export async function put(c: Collection, rows: ChunkRow[]): Promise<void> {
  const byDoc = new Map<string, ChunkRow[]>();
  for (const r of rows) byDoc.set(r.docId, [...(byDoc.get(r.docId) ?? []), r]);
  await Promise.all([...byDoc].map(([docId, own]) => c.commitDocument({ rows: own, staleIds: [], record: record(docId, own.length) })));
}

/** Writes a document's record alone. */
const putRecord = (c: Collection, r: DocRecord) => c.commitDocument({ rows: [], staleIds: [], record: r });

const NASTY = [`docs:a" or id != "`, `docs:it's.md`, `docs:back\\slash.md`, `docs:new\nline.md`, `docs:%_wild*.md`, `docs:' OR 1=1 --`];

export function storeContract(name: string, factory: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    let sink: Collection;
    const open = async () => {
      store = await factory();
      sink = await store.openLive(FP);
      return sink;
    };
    afterEach(async () => {
      await store?.close();
    });

    it('upserts by ID: a second upsert replaces, the last duplicate in a batch wins', async () => {
      await open();
      await put(sink, [row('docs:a.md', 0, 'one'), row('docs:a.md', 1, 'two')]);
      await put(sink, [row('docs:a.md', 1, 'TWO'), row('docs:a.md', 1, 'TWO!')]);
      const rows = await sink.listDocChunks('docs:a.md');
      expect(rows.sort((x, y) => x.id.localeCompare(y.id))).toEqual([
        { id: 'docs:a.md#sec/0', hash: 'h-one', key: 'k-one' },
        { id: 'docs:a.md#sec/1', hash: 'h-TWO!', key: 'k-TWO!' },
      ]);
      expect((await sink.stats()).chunks).toBe(2);
    });

    it('two connections opening a new store at once: both open the one live collection', async () => {
      store = await factory();
      const other = await factory();
      try {
        const [a, b] = await Promise.all([store.openLive(FP), other.openLive(FP)]);
        await put(a, [row('docs:a.md', 0, 'one')]);
        expect(await b.stats()).toEqual({ docs: 1, chunks: 1 });
        const layout = await store.layout();
        expect([layout.live?.fingerprint, layout.all.length, layout.pending]).toEqual([FP, 1, null]);
      } finally {
        await other.close();
      }
    });

    it('two writers (two connections) committing the same new documents at once: each ID and record once', async () => {
      await open();
      const other = await (await factory()).openLive(FP);
      const otherStore = store;
      await open();
      try {
        for (let round = 0; round < 3; round++) {
          const change = (w: string, d: number) => ({
            rows: [row(`docs:r${round}-${d}.md`, 0, `${w}${d}`), row(`docs:r${round}-${d}.md`, 1, `${w}x${d}`)],
            staleIds: [],
            record: record(`docs:r${round}-${d}.md`, 2),
            ids: [chunkId(`docs:r${round}-${d}.md`, 'sec', 0), chunkId(`docs:r${round}-${d}.md`, 'sec', 1)],
          });
          const docs = Array.from({ length: 12 }, (_, d) => d);
          await Promise.all([
            ...docs.map((d) => sink.commitDocument(change('a', d))),
            ...docs.map((d) => other.commitDocument(change('b', d))),
          ]);
        }
        expect(await sink.stats()).toEqual({ docs: 36, chunks: 72 });
        const records = await sink.listDocRecords('docs');
        expect([records.size, records.duplicates]).toEqual([36, undefined]);
        for (const [docId] of records) expect((await sink.listDocChunks(docId)).map((r) => r.id).sort()).toHaveLength(2);
      } finally {
        await otherStore.close();
      }
    });

    it('commits documents written at once: rows, stale rows and records of each', async () => {
      await open();
      await put(sink, [row('docs:a.md', 0, 'one'), row('docs:a.md', 1, 'two'), row('docs:b.md', 0, 'b0'), row('docs:b.md', 1, 'b1')]);
      const a1 = 'docs:a.md#sec/1';
      await Promise.all([
        sink.commitDocument({ rows: [row('docs:a.md', 0, 'ONE')], staleIds: [a1], record: record('docs:a.md', 1) }),
        sink.commitDocument({ rows: [row('docs:b.md', 0, 'B0')], staleIds: ['docs:b.md#sec/1'], record: record('docs:b.md', 1) }),
        sink.commitDocument({ rows: [row('docs:c.md', 0, 'c0')], staleIds: [], record: record('docs:c.md', 1) }),
      ]);
      // The same document again (its file changed back): the row the first change dropped returns.
      await sink.commitDocument({
        rows: [row('docs:a.md', 0, 'ONE'), row('docs:a.md', 1, 'two')],
        staleIds: [],
        record: record('docs:a.md', 2),
      });
      const ids = async (d: string) => (await sink.listDocChunks(d)).map((r) => `${r.id}=${r.hash}`).sort();
      expect(await ids('docs:a.md')).toEqual(['docs:a.md#sec/0=h-ONE', 'docs:a.md#sec/1=h-two']);
      expect(await ids('docs:b.md')).toEqual(['docs:b.md#sec/0=h-B0']);
      expect(await ids('docs:c.md')).toEqual(['docs:c.md#sec/0=h-c0']);
      expect((await sink.getDocRecord('docs:a.md'))?.chunkCount).toBe(2);
      expect((await sink.getDocRecord('docs:c.md'))?.chunkCount).toBe(1);
      expect(await sink.stats()).toEqual({ docs: 3, chunks: 4 });
    });

    it('commits no record for a document whose rows could not be written, and still commits the others', async () => {
      await open();
      const bad = row('docs:bad.md', 0, 'wrong size', { vector: [1, 0] });
      const results = await Promise.allSettled([
        sink.commitDocument({ rows: [row('docs:first.md', 0, 'first')], staleIds: [], record: record('docs:first.md', 1) }),
        sink.commitDocument({ rows: [bad], staleIds: [], record: record('docs:bad.md', 1) }),
        sink.commitDocument({ rows: [row('docs:good.md', 0, 'good')], staleIds: [], record: record('docs:good.md', 1) }),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(await sink.getDocRecord('docs:bad.md')).toBeNull();
      expect(await sink.listDocChunks('docs:bad.md')).toEqual([]);
      expect(await sink.getDocRecord('docs:good.md')).not.toBeNull();
      expect(await sink.listDocChunks('docs:good.md')).toHaveLength(1);
    });

    it('deletes by IDs and ignores absent ones', async () => {
      await open();
      await put(sink, [row('docs:a.md', 0, 'one'), row('docs:a.md', 1, 'two'), row('docs:a.md', 2, 'three')]);
      await sink.commitDocument({ rows: [], staleIds: ['docs:a.md#sec/1', 'docs:absent#0'], record: record('docs:a.md', 2) });
      expect((await sink.listDocChunks('docs:a.md')).map((r) => r.id).sort()).toEqual(['docs:a.md#sec/0', 'docs:a.md#sec/2']);
    });

    it('deletes a whole document and its record, and nothing else', async () => {
      await open();
      await put(sink, [row('docs:a.md', 0, 'one'), row('docs:b.md', 0, 'other')]);
      await sink.deleteDoc('docs:a.md');
      expect(await sink.listDocChunks('docs:a.md')).toEqual([]);
      expect(await sink.getDocRecord('docs:a.md')).toBeNull();
      expect(await sink.listDocChunks('docs:b.md')).toHaveLength(1);
      expect(await sink.getDocRecord('docs:b.md')).not.toBeNull();
    });

    it('keeps data in filters as data: hostile doc IDs delete only their own rows', async () => {
      await open();
      const rows = NASTY.map((d, i) => row(d, 0, `text ${i}`));
      await put(sink, [...rows, row('docs:innocent.md', 0, 'keep me')]);
      for (const d of NASTY) {
        expect(await sink.listDocChunks(d)).toEqual([{ id: chunkId(d, 'sec', 0), hash: expect.any(String), key: expect.any(String) }]);
        expect((await sink.getDocRecord(d))?.docId).toBe(d);
      }
      await sink.deleteDoc(NASTY[0]!);
      await sink.commitDocument({ rows: [], staleIds: [chunkId(NASTY[5]!, 'sec', 0)], record: record(NASTY[5]!, 0) });
      expect((await sink.stats()).chunks).toBe(NASTY.length + 1 - 2);
      expect(await sink.listDocChunks('docs:innocent.md')).toHaveLength(1);
      // Every hostile document's record but the deleted one's, and innocent.md's.
      expect((await sink.listDocRecords('docs')).size).toBe(NASTY.length);
    });

    it('finds vectors by key: of rows, and of rows deleted or rewritten (the vector cache)', async () => {
      await open();
      const r = row('docs:a.md', 0, 'cached');
      const gone = row('docs:b.md', 0, 'gone');
      const edited = row('docs:c.md', 0, 'before');
      await put(sink, [r, gone, edited]);
      const found = await sink.findVectors(['k-cached', 'k-missing', '']);
      expect([...found.keys()]).toEqual(['k-cached']);
      found.get('k-cached')!.forEach((x, i) => expect(x).toBeCloseTo(r.vector[i]!, 6));
      expect((await sink.listDocChunks('docs:a.md'))[0]!.key).toBe('k-cached');
      // Without `retired` (or `retiredKeys`) a deleted row's vector is gone; with it, it is kept by key.
      await sink.deleteDoc('docs:b.md', [{ key: gone.key, vector: gone.vector }]);
      const after = row('docs:c.md', 0, 'after');
      await sink.commitDocument({
        rows: [after],
        staleIds: [],
        record: record('docs:c.md', 1),
        retiredKeys: [edited.key],
      });
      const again = await sink.findVectors(['k-gone', 'k-before', 'k-after']);
      expect([...again.keys()].sort()).toEqual(['k-after', 'k-before', 'k-gone']);
      again.get('k-gone')!.forEach((x, i) => expect(x).toBeCloseTo(gone.vector[i]!, 6));
      expect(await sink.countCachedVectors()).toBe(2);
      expect(await sink.stats()).toEqual({ docs: 2, chunks: 2 });
    });

    it('keeps the vectors of retired keys read from the rows it overwrites or deletes (commits written together)', async () => {
      await open();
      const a0 = row('docs:a.md', 0, 'a-before');
      const b0 = row('docs:b.md', 0, 'b-before');
      const b1 = row('docs:b.md', 1, 'b-dropped');
      await put(sink, [a0, b0, b1]);
      const bad = { ...row('docs:bad.md', 0, 'bad'), vector: [1, 2] };
      const results = await Promise.allSettled([
        // Overwritten with other content; the key nobody holds is skipped.
        sink.commitDocument({
          rows: [row('docs:a.md', 0, 'a-after')],
          staleIds: [],
          record: record('docs:a.md', 1),
          retiredKeys: [a0.key, 'k-nobody'],
        }),
        sink.commitDocument({ rows: [bad], staleIds: [], record: record('docs:bad.md', 1), retiredKeys: [b0.key] }),
        // Rewritten and one row deleted.
        sink.commitDocument({
          rows: [row('docs:b.md', 0, 'b-after')],
          staleIds: [b1.id],
          record: record('docs:b.md', 1),
          retiredKeys: [b0.key, b1.key],
        }),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(await sink.getDocRecord('docs:bad.md')).toBeNull();
      expect((await sink.listDocChunks('docs:b.md')).map((r) => r.key)).toEqual(['k-b-after']);
      const found = await sink.findVectors([a0.key, b0.key, b1.key, 'k-nobody']);
      expect([...found.keys()].sort()).toEqual([a0.key, b0.key, b1.key].sort());
      for (const r of [a0, b0, b1]) found.get(r.key)!.forEach((x, i) => expect(x).toBeCloseTo(r.vector[i]!, 6));
      expect(await sink.countCachedVectors()).toBe(3);
    });

    it('prunes the vector cache by age, then the oldest beyond its size', async () => {
      await open();
      const v = (n: number) => ({ key: `k${n}`, vector: row('docs:x.md', 0, `v${n}`).vector });
      const t0 = Date.now();
      for (let n = 0; n < 6; n++) {
        await sink.deleteDoc(`docs:p${n}.md`, [v(n)]);
        await new Promise((r) => setTimeout(r, 15));
      }
      expect(await sink.countCachedVectors()).toBe(6);
      // Nothing is older than an hour, and six fit: nothing goes.
      expect(await sink.pruneVectors({ maxAgeMs: 3_600_000, maxEntries: 10 })).toEqual({ dropped: 0, entries: 6 });
      // Four at most: the two retired first go.
      expect(await sink.pruneVectors({ maxAgeMs: 3_600_000, maxEntries: 4 })).toEqual({ dropped: 2, entries: 4 });
      expect([...(await sink.findVectors(['k0', 'k1', 'k2', 'k5'])).keys()].sort()).toEqual(['k2', 'k5']);
      // An hour later everything is too old.
      expect(await sink.pruneVectors({ maxAgeMs: 3_600_000, maxEntries: 4, now: t0 + 3_600_000 + 10_000 })).toEqual({
        dropped: 4,
        entries: 0,
      });
      expect(await sink.findVectors(['k5'])).toEqual(new Map());
    });

    it('stores and lists document records by source', async () => {
      await open();
      await putRecord(sink, record('docs:a.md', 3));
      await putRecord(sink, record('other:b.md', 1));
      await putRecord(sink, { ...record('docs:a.md', 4), mtimeMs: 99 });
      const recs = await sink.listDocRecords('docs');
      expect([...recs.keys()]).toEqual(['docs:a.md']);
      expect(recs.get('docs:a.md')).toMatchObject({ chunkCount: 4, mtimeMs: 99, chunking: 'markdown@1;max=512' });
      expect(await sink.getDocRecord('other:b.md')).toMatchObject({ source: 'other', path: 'b.md' });
    });

    it('counts the rows of a source, in all and per document', async () => {
      await open();
      await put(sink, [row('docs:a.md', 0, 'x'), row('docs:a.md', 1, 'y'), row('docs:b.md', 0, 'z'), row('other:c.md', 0, 'w')]);
      expect(await sink.countChunks('docs')).toBe(3);
      expect(await sink.countChunks('none')).toBe(0);
      expect([...(await sink.countRowsByDoc('docs'))].sort()).toEqual([
        ['docs:a.md', 2],
        ['docs:b.md', 1],
      ]);
      // With one source left (the fast path of a sink may differ), the counts stay exact.
      await sink.deleteDoc('other:c.md');
      expect(await sink.countChunks('docs')).toBe(3);
      expect(await sink.countChunks('other')).toBe(0);
    });

    it('counts, lists and deletes a source: only its rows and records, hostile names kept as data', async () => {
      await open();
      const hostile = `a" or source != "`;
      await put(sink, [
        row('docs:a.md', 0, 'x'),
        row('docs:a.md', 1, 'y'),
        row('docs:b.md', 0, 'z'),
        row('other:c.md', 0, 'w'),
        row(`${hostile}:d.md`, 0, 'v'),
      ]);
      await putRecord(sink, record('third:e.md', 0));
      expect(await sink.countDocs('docs')).toBe(2);
      expect(await sink.countDocs('other')).toBe(1);
      expect(await sink.countDocs('none')).toBe(0);
      expect((await sink.listSources()).sort()).toEqual([hostile, 'docs', 'other', 'third'].sort());
      await sink.deleteSource(hostile);
      await sink.deleteSource('docs');
      await sink.deleteSource('docs');
      expect(await sink.countDocs('docs')).toBe(0);
      expect(await sink.countChunks('docs')).toBe(0);
      expect(await sink.listDocChunks('docs:a.md')).toEqual([]);
      expect(await sink.getDocRecord('docs:b.md')).toBeNull();
      expect(await sink.countChunks(hostile)).toBe(0);
      expect(await sink.countChunks('other')).toBe(1);
      expect(await sink.getDocRecord('other:c.md')).not.toBeNull();
      expect((await sink.listSources()).sort()).toEqual(['other', 'third']);
      expect(await sink.stats()).toEqual({ docs: 2, chunks: 1 });
    });

    it('keeps a source registry at the store level: written, replaced, removed, seen by another process, kept over a swap', async () => {
      store = await factory();
      expect(await store.sources()).toEqual([]);
      expect((await store.layout()).all).toEqual([]);
      await open();
      const a = { name: 'docs', root: '/a/docs', include: ['**/*'], exclude: [], gitignore: true, createdAt: 't0', lastSyncAt: null };
      const b = { ...a, name: 'other-1.x', root: '/b', exclude: ['*.tmp'], gitignore: false };
      const put = (r: SourceRecord) => store.updateSource(r.name, () => r);
      expect(await put(a)).toEqual(a);
      await put(b);
      // The change sees the record as it is, and may leave it.
      expect(await store.updateSource('docs', (current) => (expect(current).toEqual(a), null))).toEqual(a);
      expect(await store.updateSource('absent', (current) => (expect(current).toBeNull(), null))).toBeNull();
      await put({ ...a, lastSyncAt: 't1' });
      const byName = (list: SourceRecord[]) => [...list].sort((x, y) => x.name.localeCompare(y.name));
      const other = await factory();
      expect(byName(await other.sources())).toEqual([{ ...a, lastSyncAt: 't1' }, b]);
      await other.preparePending({ ...FP, model: 'next/model', dim: 4 }, {});
      await other.promotePending();
      await other.removeSource('docs');
      await other.removeSource('absent');
      await other.close();
      const again = await factory();
      expect(await again.sources()).toEqual([b]);
      await again.close();
    });

    it('searches dense, keyword and hybrid', async () => {
      await open();
      const a = row('docs:bread.md', 0, 'sourdough bread proofing in the fridge');
      const b = row('docs:redis.md', 0, 'redis append only file fsync');
      await put(sink, [a, b]);
      const dense = await sink.search({ mode: 'dense', k: 1, vector: b.vector });
      expect(dense[0]).toMatchObject({ id: b.id, docId: 'docs:redis.md', path: 'redis.md', section: 'sec', modality: 'text' });
      expect(dense[0]!.score).toBeCloseTo(1, 4);
      const keyword = await sink.search({ mode: 'keyword', k: 5, text: 'sourdough' });
      expect(keyword.map((h) => h.id)).toEqual([a.id]);
      const hybrid = await sink.search({ mode: 'hybrid', k: 2, vector: a.vector, text: 'sourdough' });
      expect(hybrid[0]!.id).toBe(a.id);
    });

    it('refuses to open with another fingerprint, naming both', async () => {
      await open();
      await store.close();
      store = await factory();
      const other = { ...FP, model: 'other/model', dim: 4 };
      const err = await store.openLive(other).catch((e) => e);
      expect(err.code).toBe('FINGERPRINT_MISMATCH');
      expect(err.message).toContain('test/model@r1');
      expect(err.message).toContain('other/model@r1');
      expect((await store.live())?.info.fingerprint).toEqual(FP);
    });

    it('an empty store has no live collection; collection() opens one collection once and refuses an unknown one', async () => {
      store = await factory();
      expect(await store.live()).toBeNull();
      expect((await store.layout()).all).toEqual([]);
      const unknown = await store.collection(FP).catch((e) => e);
      expect(unknown.code).toBe('SINK');
      expect(unknown.message).toContain('test/model@r1');
      sink = await store.openLive(FP, { kind: 'fixed', dim: DIM });
      expect(sink.info).toMatchObject({ fingerprint: FP, embedder: { kind: 'fixed', dim: DIM } });
      expect(await store.collection(FP)).toBe(sink);
      expect(await store.live()).toBe(sink);
      expect(await store.openLive(FP)).toBe(sink);
      const other = await factory();
      expect((await other.live())?.info).toEqual(sink.info);
      await other.close();
    });

    it('blue/green: a pending collection is written beside the live one, then swapped in at once; the old one is kept', async () => {
      await open();
      await put(sink, [row('docs:a.md', 0, 'old model row')]);
      const next = { ...FP, model: 'next/model', dim: 4 };
      const admin = await factory();
      expect((await admin.layout()).pending).toBeNull();
      const info = await admin.preparePending(next, { kind: 'fixed', dim: 4 });
      expect(info.fingerprint).toEqual(next);
      const layout = await admin.layout();
      expect(layout.live?.fingerprint).toEqual(FP);
      expect(layout.pending).toMatchObject({ name: info.name, fingerprint: next, embedder: { kind: 'fixed', dim: 4 } });
      expect(layout.all.map((c) => c.fingerprint.model).sort()).toEqual(['next/model', 'test/model']);
      // A second target is refused while one is pending; the live fingerprint is refused as a target.
      const third = await admin.preparePending({ ...FP, model: 'third/model' }, {}).catch((e) => e);
      expect(third.code).toBe('BUSY');
      expect(third.message).toContain('next/model@r1');
      // Writing the pending collection leaves live untouched.
      const writer = await factory();
      const nextRows = await writer.collection(next);
      const newRow = { ...row('docs:a.md', 0, 'new model row'), vector: [1, 0, 0, 0] };
      await nextRows.commitDocument({ rows: [newRow], staleIds: [], record: { ...record('docs:a.md', 1), fingerprint: 'next' } });
      expect((await sink.search({ mode: 'keyword', k: 5, text: 'model row' })).map((h) => h.text)).toEqual(['old model row']);
      // Writing with the pending fingerprint through open() is still refused: live is FP.
      const another = await factory();
      const refused = await another.openLive(next).catch((e) => e);
      await another.close();
      expect(refused.code).toBe('FINGERPRINT_MISMATCH');
      expect(refused.message).toContain('ragsync reembed');
      await admin.promotePending();
      const swapped = await factory();
      expect((await swapped.live())?.info.fingerprint).toEqual(next);
      expect((await (await swapped.live())!.search({ mode: 'keyword', k: 5, text: 'model row' })).map((h) => h.text)).toEqual([
        'new model row',
      ]);
      const after = await admin.layout();
      expect(after.live?.fingerprint).toEqual(next);
      expect(after.previous?.fingerprint).toEqual(FP);
      expect(after.pending).toBeNull();
      // Rollback is a re-embed back to the previous collection, reused as it is.
      const back = await admin.preparePending(FP, { kind: 'back' });
      expect(back.name).toBe(after.previous!.name);
      await admin.promotePending();
      const rolled = await factory();
      expect((await rolled.live())?.info.fingerprint).toEqual(FP);
      expect((await (await rolled.live())!.search({ mode: 'keyword', k: 5, text: 'model row' })).map((h) => h.text)).toEqual([
        'old model row',
      ]);
      expect((await admin.layout()).previous?.fingerprint).toEqual(next);
      // The old collection can be dropped, the live one cannot.
      expect((await admin.dropCollection((await admin.layout()).live!.name).catch((e) => e)).code).toBe('USAGE');
      await admin.dropCollection((await admin.layout()).previous!.name);
      const dropped = await admin.layout();
      expect(dropped.previous).toBeNull();
      expect(dropped.all.map((c) => c.fingerprint.model)).toEqual(['test/model']);
      for (const s of [admin, writer, swapped, rolled]) await s.close();
    });

    it('aborting a re-embed drops the new collection and leaves live as it was', async () => {
      await open();
      const admin = await factory();
      await admin.preparePending({ ...FP, model: 'next/model' }, {});
      await admin.abortPending();
      const layout = await admin.layout();
      expect(layout.pending).toBeNull();
      expect(layout.all.map((c) => c.fingerprint.model)).toEqual(['test/model']);
      expect(layout.live?.fingerprint).toEqual(FP);
      await admin.close();
    });

    it('gives the re-embed lease to one holder at a time, and back after release', async () => {
      await open();
      const other = await factory();
      const lease = await store.acquireLease();
      const busy = await other.acquireLease(1500).catch((e) => e);
      expect(busy.code).toBe('BUSY');
      expect(busy.message).toContain(`pid ${process.pid}`);
      await lease.release();
      const second = await other.acquireLease(1500);
      await second.release();
      await other.close();
    });
  });
}
