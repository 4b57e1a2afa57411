import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import { Field, FixedSizeList, Float32, Schema } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { physicalName } from '../../src/sink/fingerprint.js';
import { LanceDbSink } from '../../src/sink/lancedb.js';
import { sqlEq, sqlIn, sqlString } from '../../src/sink/sql.js';
import { tempDir } from '../helpers.js';
import { FP, row, sinkContract } from './contract.js';

sinkContract('LanceDB', async () => new LanceDbSink(await tempDirOnce()));

// One directory per test: the factory is called again in the same test to reopen the same store.
let current: { dir: string; test: string } | undefined;
async function tempDirOnce(): Promise<string> {
  const test = expect.getState().currentTestName ?? '';
  if (!current || current.test !== test) current = { dir: await tempDir('ragsync-lance-'), test };
  return current.dir;
}

describe('LanceDB sink', () => {
  it('writes documents committed together in one batch; a row dropped by one change and written again by a later one stays', async () => {
    const sink = new LanceDbSink(await tempDir());
    await sink.open(FP);
    const rec = (docId: string, chunkCount: number) => ({
      docId, source: 'docs', path: docId.slice(5), size: 1, mtimeMs: 1, fileHash: 'f', metaHash: 'm', chunkCount, chunking: 'c', fingerprint: 'fp', updatedAt: 1,
    });
    await sink.upsert([row('docs:a.md', 0, 'one'), row('docs:a.md', 1, 'two')]);
    const writes: number[] = [];
    const counted = sink as unknown as { mergeRecords: (r: unknown[]) => Promise<void> };
    const real = counted.mergeRecords.bind(sink);
    counted.mergeRecords = (r) => (writes.push(r.length), real(r));
    await Promise.all([
      sink.commitDocument({ rows: [row('docs:x.md', 0, 'first')], staleIds: [], record: rec('docs:x.md', 1) }),
      // The same document twice: the second change writes again the row the first one drops.
      sink.commitDocument({ rows: [row('docs:a.md', 0, 'one')], staleIds: ['docs:a.md#sec/1'], record: rec('docs:a.md', 1) }),
      sink.commitDocument({ rows: [row('docs:a.md', 0, 'one'), row('docs:a.md', 1, 'two')], staleIds: [], record: rec('docs:a.md', 2) }),
    ]);
    expect(writes).toEqual([3]);
    expect((await sink.listDocChunks('docs:a.md')).map((r) => r.id).sort()).toEqual(['docs:a.md#sec/0', 'docs:a.md#sec/1']);
    expect((await sink.getDocRecord('docs:a.md'))?.chunkCount).toBe(2);
    await sink.close();
  });

  it('completes a table pair that an interrupted re-embed left half-made (keyword search needs its index)', async () => {
    const dir = await tempDir();
    const live = new LanceDbSink(dir);
    await live.open(FP);
    const next = { ...FP, model: 'next/model', dim: 4 };
    // As if the process had died right after creating the chunk table: no indexes, no docs table.
    const db = await lancedb.connect(dir);
    await db.createEmptyTable(`chunks_${physicalName(next)}`, await (await db.openTable(`chunks_${physicalName(FP)}`)).schema().then((sc) => {
      const fields = sc.fields.map((f) => (f.name === 'vector' ? new Field('vector', new FixedSizeList(4, new Field('item', new Float32(), true)), false) : f));
      return new Schema(fields);
    }));
    await live.preparePending(next, { kind: 'fixed' });
    const writer = new LanceDbSink(dir);
    await writer.openCollection(next);
    await writer.upsert([{ ...row('docs:a.md', 0, 'brand new row'), vector: [1, 0, 0, 0] }]);
    await live.promotePending();
    const reader = new LanceDbSink(dir);
    expect(await reader.openExisting()).toEqual(next);
    expect((await reader.search({ mode: 'keyword', k: 3, text: 'brand new' })).map((h) => h.text)).toEqual(['brand new row']);
    for (const x of [live, writer, reader]) await x.close();
    db.close();
  });

  it('notices a lease taken over by another process and refuses to go on', async () => {
    const dir = await tempDir();
    const sink = new LanceDbSink(dir);
    const lease = await sink.acquireLease();
    await lease.check();
    await writeFile(path.join(dir, 'reembed.lease'), JSON.stringify({ id: 'other', host: 'elsewhere', pid: 42, startedAt: 'now' }));
    const err = await lease.check().catch((e) => e);
    expect(err.code).toBe('BUSY');
    expect(err.message).toMatch(/lost the lease to pid 42 on elsewhere/);
    await lease.release();
    // Releasing a lost lease leaves the new holder's record alone.
    expect(JSON.parse(await readFile(path.join(dir, 'reembed.lease'), 'utf8')).id).toBe('other');
  });

  it('merges concurrent upserts and keeps every row', async () => {
    const sink = new LanceDbSink(await tempDir());
    await sink.open(FP);
    await Promise.all(Array.from({ length: 20 }, (_, d) => sink.upsert([row(`docs:${d}.md`, 0, `a${d}`), row(`docs:${d}.md`, 1, `b${d}`)])));
    expect((await sink.stats()).chunks).toBe(40);
    await sink.optimize();
    expect((await sink.stats()).chunks).toBe(40);
    await sink.close();
  });

  it('fails only the caller whose rows are bad when concurrent upserts were merged', async () => {
    const sink = new LanceDbSink(await tempDir());
    await sink.open(FP);
    const results = await Promise.allSettled([
      sink.upsert([row('docs:first.md', 0, 'first')]),
      sink.upsert([row('docs:good.md', 0, 'good')]),
      sink.upsert([row('docs:bad.md', 0, 'bad', { vector: [1, 2, 3] })]),
      sink.upsert([row('docs:also-good.md', 0, 'also good')]),
    ]);
    expect(results.map((r) => r.status), JSON.stringify(results)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((await sink.listDocChunks('docs:good.md')).length).toBe(1);
    expect((await sink.listDocChunks('docs:also-good.md')).length).toBe(1);
    expect(await sink.listDocChunks('docs:bad.md')).toEqual([]);
    await sink.close();
  });

  it('reopens an existing store with its fingerprint', async () => {
    const dir = await tempDir();
    const a = new LanceDbSink(dir);
    expect(await a.openExisting()).toBeNull();
    await a.open(FP);
    await a.upsert([row('docs:a.md', 0, 'x')]);
    await a.close();
    const b = new LanceDbSink(dir);
    expect(await b.openExisting()).toEqual(FP);
    expect((await b.stats()).chunks).toBe(1);
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
