import { mkdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { auditSource } from '../../src/app/audit.js';
import { syncSource } from '../../src/core/sync-source.js';
import { belongsTo, chunkId, docId } from '../../src/ids/index.js';
import * as lancedb from '@lancedb/lancedb';
import { physicalName } from '../../src/core/fingerprint.js';
import { sqlEq } from '../../src/sink/lancedb/sql.js';
import { DELETE_GUARD, STORES, type StoreMaker, realDeps as baseDeps, tempDir } from '../helpers.js';

async function write(root: string, rel: string, content: string): Promise<void> {
  await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
  await writeFile(path.join(root, rel), content);
}

const note = (n: number) => `# Note ${n}\n\n## Part one\n\nFirst part of note ${n}.\n\n## Part two\n\nSecond part of note ${n}.\n`;

describe.each(STORES)('audit on real files and a real %s store', (_name: string, makeStore: StoreMaker) => {
  it('reports no drift after an index, each kind of drift after it is made, and none after a re-sync', async () => {
    const root = await tempDir();
    for (let i = 0; i < 6; i++) await write(root, `n${i}.md`, note(i));
    const { deps, collection } = await baseDeps(root, { makeStore });
    await syncSource(deps, { concurrency: 4, deleteGuard: DELETE_GUARD });
    const clean = await auditSource(deps);
    expect(clean.drift).toEqual([]);
    expect(clean).toMatchObject({ documents: 6, rows: 12 });

    const id = (n: number) => docId('docs', `n${n}.md`);
    await write(root, 'new.md', note(9)); // missing
    await rm(path.join(root, 'n0.md')); // orphaned
    await write(root, 'n1.md', note(1).replace('First', 'Edited')); // stale
    const r2 = (await collection.getDocRecord(id(2)))!;
    await collection.commitDocument({ rows: [], staleIds: [], record: { ...r2, fingerprint: 'other/model' } }); // wrong fingerprint
    const r3 = (await collection.getDocRecord(id(3)))!;
    await collection.commitDocument({ rows: [], staleIds: [(await collection.listDocChunks(id(3)))[0]!.id], record: r3 }); // a row lost
    // A row of n4 whose ID is another document's.
    const [own] = await collection.listDocChunks(id(4));
    const vector = (await collection.findVectors([own!.key])).get(own!.key)!;
    const foreign = {
      id: chunkId(id(5), 'x', 0),
      docId: id(4),
      source: 'docs',
      path: 'n4.md',
      section: 'x',
      chunkIndex: 0,
      modality: 'text' as const,
      hash: own!.hash,
      key: own!.key,
      text: 't',
      vector,
      metadata: '{}',
      updatedAt: 1,
    };
    const r4 = (await collection.getDocRecord(id(4)))!;
    await collection.commitDocument({ rows: [foreign], staleIds: [], record: { ...r4, chunkCount: r4.chunkCount + 1 } });

    const report = await auditSource(deps);
    const found = report.drift.map((d) => `${d.kind} ${d.path}`).sort();
    expect(found).toEqual(['fingerprint n2.md', 'malformed-id n4.md', 'missing new.md', 'orphaned n0.md', 'rows n3.md', 'stale n1.md']);
    expect(report.drift.find((d) => d.kind === 'rows')!.detail).toBe('1 rows, the record says 2');

    // The repair path: clear documents with foreign row IDs, sync, audit again.
    await collection.deleteDoc(id(4));
    await syncSource(deps, { concurrency: 4, deleteGuard: DELETE_GUARD });
    const after = await auditSource(deps);
    expect(after.drift).toEqual([]);
    expect(after).toMatchObject({ documents: 6, rows: 12 });
  });
});

describe('a LanceDB store damaged by concurrent writers of an older version (no primary key constraint)', () => {
  it('audit reports duplicate rows and records; the next sync pass rewrites those documents once each, embedding nothing', async () => {
    const root = await tempDir();
    for (let i = 0; i < 4; i++) await write(root, `n${i}.md`, note(i));
    const { deps, store, embedder } = await baseDeps(root);
    await syncSource(deps, { concurrency: 4, deleteGuard: DELETE_GUARD });
    // What two concurrent merge_inserts of the same new keys left: the same rows and records twice.
    const db = await lancedb.connect(store.location);
    const name = physicalName(deps.embedder.fingerprint);
    const [chunks, docs] = [await db.openTable(`chunks_${name}`), await db.openTable(`docs_${name}`)];
    const twice = async (table: lancedb.Table, file: string) =>
      table.add(
        await table
          .query()
          .where(sqlEq('doc_id', docId('docs', file)))
          .toArrow(),
      );
    await twice(chunks, 'n1.md');
    await twice(docs, 'n2.md');
    await twice(chunks, 'n3.md');
    await twice(docs, 'n3.md');
    chunks.close();
    docs.close();
    db.close();

    const report = await auditSource(deps);
    expect(report.drift.map((d) => `${d.kind} ${d.path}`).sort()).toEqual([
      'duplicate-id n1.md',
      'duplicate-id n3.md',
      'duplicate-record n2.md',
      'duplicate-record n3.md',
      'rows n1.md',
      'rows n3.md',
    ]);
    expect(report.drift.find((d) => d.kind === 'duplicate-id')!.detail).toMatch(/ x2$/);
    expect(report.drift.find((d) => d.kind === 'duplicate-record')!.detail).toBe('2 records of one document');
    expect(await deps.collection.stats()).toEqual({ docs: 6, chunks: 12 });

    const computed = embedder.texts;
    const sum = await syncSource(deps, { concurrency: 4, deleteGuard: DELETE_GUARD });
    expect(sum.docs).toMatchObject({ changed: 3, unchanged: 1, failed: 0 });
    expect(sum.embeddings.computed).toBe(0);
    expect(embedder.texts).toBe(computed);
    expect((await auditSource(deps)).drift).toEqual([]);
    expect(await deps.collection.stats()).toEqual({ docs: 4, chunks: 8 });
    // Converged: the pass after it finds nothing to do.
    expect((await syncSource(deps, { concurrency: 4, deleteGuard: DELETE_GUARD })).docs).toMatchObject({ changed: 0, unchanged: 4 });
  });
});

describe('audit hashes every file', () => {
  it('finds a file rewritten with the same size and mtime, which a sync pass trusts by stat', async () => {
    const root = await tempDir();
    await write(root, 'a.md', note(1));
    const { deps } = await baseDeps(root);
    const file = path.join(root, 'a.md');
    const old = new Date(Date.now() - 60_000);
    await utimes(file, old, old);
    await syncSource(deps, { concurrency: 4, deleteGuard: DELETE_GUARD });
    const before = await stat(file);
    await writeFile(file, note(2));
    await utimes(file, before.atime, before.mtime);
    expect((await stat(file)).size).toBe(before.size);
    const report = await auditSource(deps);
    expect(report.drift).toEqual([
      {
        docId: docId('docs', 'a.md'),
        path: 'a.md',
        kind: 'stale',
        detail: 'the file changed since it was indexed (size and mtime unchanged)',
      },
    ]);
  });
});

describe('belongsTo', () => {
  it("accepts the IDs chunkId makes for a document, bounded ones too, and refuses another document's", () => {
    const doc = docId('docs', 'a.md');
    expect(belongsTo(chunkId(doc, 'intro', 0), doc)).toBe(true);
    expect(belongsTo(chunkId(doc, '', 3), doc)).toBe(true);
    expect(belongsTo(chunkId(doc, 'x'.repeat(900), 0), doc)).toBe(true);
    expect(belongsTo(chunkId(docId('docs', 'b.md'), 'intro', 0), doc)).toBe(false);
    expect(belongsTo(`${doc}#`, doc)).toBe(false);
    expect(belongsTo(`docs:a.md2#intro/0`, doc)).toBe(false);
    const long = docId('docs', `${'d'.repeat(700)}.md`);
    expect(belongsTo(chunkId(long, 's', 0), long)).toBe(true);
    expect(belongsTo(chunkId(long, 's', 0), docId('docs', 'short.md'))).toBe(false);
  });
});
