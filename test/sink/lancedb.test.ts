import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import { Field, FixedSizeList, Float32, Schema } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { physicalName } from '../../src/core/fingerprint.js';
import { chunkId, embedKey } from '../../src/ids/index.js';
import { lanceDbStore } from '../../src/sink/lancedb/index.js';
import { sqlEq, sqlIn, sqlString } from '../../src/sink/lancedb/sql.js';
import { tempDir } from '../helpers.js';
import { FP, put, record, row, storeContract } from './contract.js';

storeContract('LanceDB', async () => lanceDbStore(await tempDirOnce()));

// One directory per test: the factory is called again in the same test to reopen the same store.
let current: { dir: string; test: string } | undefined;
async function tempDirOnce(): Promise<string> {
  const test = expect.getState().currentTestName ?? '';
  if (!current || current.test !== test) current = { dir: await tempDir('ragsync-lance-'), test };
  return current.dir;
}

describe('LanceDB sink', () => {
  it('upgrades a store an older build made: its text rows get their keys, so their vectors are found by what is embedded', async () => {
    const dir = await tempDir();
    const store = lanceDbStore(dir);
    const sink = await store.openLive(FP);
    const text = row('docs:a.md', 0, 'kneading the dough');
    await put(sink, [text, row('docs:b.png', 0, 'b.png', { modality: 'image' })]);
    await store.close();
    // The tables as an older build left them: no key or location columns, no vector cache.
    const name = physicalName(FP);
    const db = await lancedb.connect(dir);
    const chunks = await db.openTable(`chunks_${name}`);
    await chunks.dropColumns(['key', 'heading', 'line_start', 'line_end', 'page']);
    chunks.close();
    await db.dropTable(`vectors_${name}`);

    const again = lanceDbStore(dir);
    try {
      const live = await again.openLive(FP);
      const key = embedKey('text', text.text);
      expect((await live.listDocChunks('docs:a.md')).map((r) => r.key)).toEqual([key]);
      const found = await live.findVectors([key]);
      found.get(key)!.forEach((x, i) => expect(x).toBeCloseTo(text.vector[i]!, 6));
      expect(await live.countCachedVectors()).toBe(0);
      expect((await live.search({ mode: 'keyword', text: 'dough', k: 1 }))[0]).toMatchObject({ id: text.id });
    } finally {
      await again.close();
    }
  });

  it('the bulk path: fresh documents are appended; a batch whose record write fails is retried without duplicating its rows', async () => {
    const store = lanceDbStore(await tempDir());
    const sink = await store.openLive(FP);
    // The records' commit fails once, after the batch's rows were appended.
    const docs = (sink as unknown as { docs: lancedb.Table }).docs;
    const add = docs.add.bind(docs);
    let failures = 1;
    docs.add = (...args: Parameters<typeof add>) => (failures-- > 0 ? Promise.reject(new Error('disk full')) : add(...args));
    const fresh = (docId: string, n: number) => ({
      rows: Array.from({ length: n }, (_, i) => row(docId, i, `${docId} part ${i}`)),
      staleIds: [],
      record: record(docId, n),
      fresh: true as const,
    });
    // Three documents committed together (one batch): its record write fails, each is retried alone.
    await Promise.all([
      sink.commitDocument(fresh('docs:a.md', 2)),
      sink.commitDocument(fresh('docs:b.md', 3)),
      sink.commitDocument(fresh('docs:c.md', 1)),
    ]);
    // The batch's record write failed, then each document's own: four calls.
    expect(failures).toBe(-3);
    for (const [id, n] of [
      ['docs:a.md', 2],
      ['docs:b.md', 3],
      ['docs:c.md', 1],
    ] as const) {
      const ids = (await sink.listDocChunks(id)).map((r) => r.id);
      expect(ids.length).toBe(n);
      expect(new Set(ids).size).toBe(n);
      expect((await sink.getDocRecord(id))?.chunkCount).toBe(n);
    }
    await store.close();
  });

  it('writes documents committed together in one batch; a row dropped by one change and written again by a later one stays', async () => {
    const dir = await tempDir();
    const store = lanceDbStore(dir);
    const sink = await store.openLive(FP);
    const rec = (docId: string, chunkCount: number) => ({
      docId,
      source: 'docs',
      path: docId.slice(5),
      size: 1,
      mtimeMs: 1,
      fileHash: 'f',
      metaHash: 'm',
      chunkCount,
      chunking: 'c',
      fingerprint: 'fp',
      updatedAt: 1,
    });
    await put(sink, [row('docs:a.md', 0, 'one'), row('docs:a.md', 1, 'two')]);
    // Each commit is a new table version: read them from outside, as another process would.
    const versions = async () => {
      const db = await lancedb.connect(dir);
      const [chunks, docs] = await Promise.all([db.openTable(`chunks_${physicalName(FP)}`), db.openTable(`docs_${physicalName(FP)}`)]);
      const out = { chunks: await chunks.version(), docs: await docs.version() };
      db.close();
      return out;
    };
    const before = await versions();
    await Promise.all([
      sink.commitDocument({ rows: [row('docs:x.md', 0, 'first')], staleIds: [], record: rec('docs:x.md', 1) }),
      // The same document twice: the second change writes again the row the first one drops.
      sink.commitDocument({ rows: [row('docs:a.md', 0, 'one')], staleIds: ['docs:a.md#sec/1'], record: rec('docs:a.md', 1) }),
      sink.commitDocument({ rows: [row('docs:a.md', 0, 'one'), row('docs:a.md', 1, 'two')], staleIds: [], record: rec('docs:a.md', 2) }),
    ]);
    const after = await versions();
    // One commit of rows (no delete: the one stale row is written again) and one of records, for all three.
    expect({ chunks: after.chunks - before.chunks, docs: after.docs - before.docs }).toEqual({ chunks: 1, docs: 1 });
    expect((await sink.listDocChunks('docs:a.md')).map((r) => r.id).sort()).toEqual(['docs:a.md#sec/0', 'docs:a.md#sec/1']);
    expect((await sink.getDocRecord('docs:a.md'))?.chunkCount).toBe(2);
    await store.close();
  });

  it('completes a table pair that an interrupted re-embed left half-made (keyword search needs its index)', async () => {
    const dir = await tempDir();
    const live = lanceDbStore(dir);
    await live.openLive(FP);
    const next = { ...FP, model: 'next/model', dim: 4 };
    // As if the process had died right after creating the chunk table: no indexes, no docs table.
    const db = await lancedb.connect(dir);
    await db.createEmptyTable(
      `chunks_${physicalName(next)}`,
      await (await db.openTable(`chunks_${physicalName(FP)}`)).schema().then((sc) => {
        const fields = sc.fields.map((f) =>
          f.name === 'vector' ? new Field('vector', new FixedSizeList(4, new Field('item', new Float32(), true)), false) : f,
        );
        return new Schema(fields);
      }),
    );
    await live.preparePending(next, { kind: 'fixed' });
    const writer = lanceDbStore(dir);
    await put(await writer.collection(next), [{ ...row('docs:a.md', 0, 'brand new row'), vector: [1, 0, 0, 0] }]);
    await live.promotePending();
    const reader = lanceDbStore(dir);
    expect((await reader.live())?.info.fingerprint).toEqual(next);
    expect((await (await reader.live())!.search({ mode: 'keyword', k: 3, text: 'brand new' })).map((h) => h.text)).toEqual([
      'brand new row',
    ]);
    for (const x of [live, writer, reader]) await x.close();
    db.close();
  });

  it('notices a lease taken over by another process and refuses to go on', async () => {
    const dir = await tempDir();
    const store = lanceDbStore(dir);
    const lease = await store.acquireLease();
    await lease.check();
    await writeFile(path.join(dir, 'reembed.lease'), JSON.stringify({ id: 'other', host: 'elsewhere', pid: 42, startedAt: 'now' }));
    const err = await lease.check().catch((e) => e);
    expect(err.code).toBe('BUSY');
    expect(err.message).toMatch(/lost the lease to pid 42 on elsewhere/);
    await lease.release();
    // Releasing a lost lease leaves the new holder's record alone.
    expect(JSON.parse(await readFile(path.join(dir, 'reembed.lease'), 'utf8')).id).toBe('other');
  });

  it('merges concurrent commits and keeps every row', async () => {
    const store = lanceDbStore(await tempDir());
    const sink = await store.openLive(FP);
    await Promise.all(Array.from({ length: 20 }, (_, d) => put(sink, [row(`docs:${d}.md`, 0, `a${d}`), row(`docs:${d}.md`, 1, `b${d}`)])));
    expect(await sink.stats()).toEqual({ docs: 20, chunks: 40 });
    await sink.optimize();
    expect(await sink.stats()).toEqual({ docs: 20, chunks: 40 });
    await store.close();
  });

  it('fails only the caller whose rows are bad when concurrent commits were merged', async () => {
    const store = lanceDbStore(await tempDir());
    const sink = await store.openLive(FP);
    const results = await Promise.allSettled([
      put(sink, [row('docs:first.md', 0, 'first')]),
      put(sink, [row('docs:good.md', 0, 'good')]),
      put(sink, [row('docs:bad.md', 0, 'bad', { vector: [1, 2, 3] })]),
      put(sink, [row('docs:also-good.md', 0, 'also good')]),
    ]);
    expect(
      results.map((r) => r.status),
      JSON.stringify(results),
    ).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((await sink.listDocChunks('docs:good.md')).length).toBe(1);
    expect((await sink.listDocChunks('docs:also-good.md')).length).toBe(1);
    expect(await sink.listDocChunks('docs:bad.md')).toEqual([]);
    await store.close();
  });

  it("a rewrite with its complete ID set deletes, under the write lock, a row a concurrent writer added after this one's read", async () => {
    const store = lanceDbStore(await tempDir());
    const sink = await store.openLive(FP);
    await put(sink, [row('docs:a.md', 0, 'one'), row('docs:a.md', 1, 'two')]);
    // Another writer (a newer version of the file) adds section 2; this writer read before it.
    await sink.commitDocument({ rows: [row('docs:a.md', 2, 'three')], staleIds: [], record: record('docs:a.md', 3) });
    await sink.commitDocument({
      rows: [row('docs:a.md', 1, 'TWO')],
      staleIds: [],
      record: record('docs:a.md', 2),
      ids: [chunkId('docs:a.md', 'sec', 0), chunkId('docs:a.md', 'sec', 1)],
    });
    expect((await sink.listDocChunks('docs:a.md')).map((r) => `${r.id}=${r.hash}`).sort()).toEqual([
      'docs:a.md#sec/0=h-one',
      'docs:a.md#sec/1=h-TWO',
    ]);
    expect((await sink.getDocRecord('docs:a.md'))?.chunkCount).toBe(2);
    await store.close();
  });

  it('reopens an existing store with its fingerprint', async () => {
    const dir = await tempDir();
    const a = lanceDbStore(dir);
    expect(await a.live()).toBeNull();
    await put(await a.openLive(FP), [row('docs:a.md', 0, 'x')]);
    await a.close();
    const b = lanceDbStore(dir);
    expect((await b.live())?.info.fingerprint).toEqual(FP);
    expect((await (await b.live())!.stats()).chunks).toBe(1);
    await b.close();
  });
});

describe('SQL escaping', () => {
  it('quotes and doubles single quotes, leaves other characters alone', () => {
    expect(sqlString(`it's`)).toBe(`'it''s'`);
    expect(sqlString(`a" or id != "`)).toBe(`'a" or id != "'`);
    expect(sqlString('back\\slash')).toBe(`'back\\slash'`);
    expect(() => sqlString('nul\0')).toThrow();
  });

  it('builds IN lists and equality, refusing odd column names', () => {
    expect(sqlIn('id', ['a', "b'"])).toBe(`id IN ('a', 'b''')`);
    expect(sqlIn('id', [])).toBe('false');
    expect(sqlEq('doc_id', "x'y")).toBe(`doc_id = 'x''y'`);
    expect(() => sqlIn('id; drop', ['a'])).toThrow();
  });
});
