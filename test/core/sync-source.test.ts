import { chmod, copyFile, mkdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { syncSource } from '../../src/core/sync-source.js';
import { syncDocument } from '../../src/core/sync-document.js';
import type { Source } from '../../src/core/types.js';
import { docId } from '../../src/ids/index.js';
import { DELETE_GUARD, FIXTURES, STORES, type StoreMaker, loseRecord, realDeps as baseDeps, tempDir, withCommit } from '../helpers.js';

const run = (deps: Awaited<ReturnType<typeof baseDeps>>['deps']) => syncSource(deps, { concurrency: 4, deleteGuard: DELETE_GUARD });

async function write(root: string, rel: string, content: string | Buffer): Promise<void> {
  await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
  await writeFile(path.join(root, rel), content);
}

function handbook(sections: number, edited?: number): string {
  const out = ['# Handbook', ''];
  for (let i = 0; i < sections; i++) {
    out.push(`## Chapter ${i}`, '', `The first paragraph of chapter ${i} talks about rivers and boats.`, '');
    out.push(
      i === edited
        ? `The second paragraph of chapter ${i} was rewritten about mountains.`
        : `The second paragraph of chapter ${i} talks about trees.`,
      '',
    );
  }
  return out.join('\n');
}

async function rowIds(collection: { listDocChunks(id: string): Promise<Array<{ id: string; hash: string }>> }, id: string) {
  return new Map((await collection.listDocChunks(id)).map((r) => [r.id, r.hash]));
}

describe.each(STORES)('syncSource on real files and a real %s store', (_name: string, makeStore: StoreMaker) => {
  const realDeps = (root: string) => baseDeps(root, { makeStore });

  it('indexes a corpus, then a second pass computes and writes nothing', async () => {
    const root = await tempDir();
    await write(root, 'a.md', handbook(3));
    await write(root, 'notes.txt', 'one paragraph\n\nanother paragraph');
    await copyFile(path.join(FIXTURES, 'files', 'two-pages.pdf'), path.join(root, 'b.pdf'));
    await copyFile(path.join(FIXTURES, 'files', 'blue.png'), path.join(root, 'img.png'));
    const { deps, embedder, collection } = await realDeps(root);
    const first = await run(deps);
    expect(first.docs).toEqual({ scanned: 4, changed: 4, unchanged: 0, deleted: 0, failed: 0 });
    expect(first.embeddings.computed).toBe(first.chunks.upserted);
    expect(embedder.images).toBe(1);
    const stats = await collection.stats();
    expect(stats).toEqual({ docs: 4, chunks: first.chunks.upserted });

    embedder.texts = embedder.images = 0;
    const second = await run(deps);
    expect(second.docs).toMatchObject({ scanned: 4, changed: 0, unchanged: 4 });
    expect(second.chunks).toEqual({ upserted: 0, deleted: 0, unchanged: stats.chunks });
    expect(second.embeddings).toEqual({ computed: 0, reused: 0 });
    expect(embedder.texts + embedder.images).toBe(0);
  });

  it('a touched but unchanged file is hashed, not re-chunked or re-embedded', async () => {
    const root = await tempDir();
    await write(root, 'a.md', handbook(2));
    const { deps, embedder } = await realDeps(root);
    await run(deps);
    await new Promise((r) => setTimeout(r, 20));
    await write(root, 'a.md', handbook(2));
    embedder.texts = 0;
    const again = await run(deps);
    expect(again.docs).toMatchObject({ changed: 0, unchanged: 1 });
    expect(again.chunks.upserted).toBe(0);
    expect(embedder.texts).toBe(0);
  });

  /** A file indexed with an mtime a minute old (not racily clean), and a counter of the source's reads. */
  async function indexedOld(text: string) {
    const root = await tempDir();
    await write(root, 'a.md', text);
    const file = path.join(root, 'a.md');
    const old = new Date(Date.now() - 60_000);
    await utimes(file, old, old);
    const base = await realDeps(root);
    const reads = { n: 0 };
    const source = new Proxy(base.deps.source, {
      get(target, prop) {
        if (prop === 'read') return (...a: Parameters<Source['read']>) => (reads.n++, target.read(...a));
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const deps = { ...base.deps, source };
    expect((await run(deps)).docs.changed).toBe(1);
    const record = async () => (await base.collection.getDocRecord(docId('docs', 'a.md')))!;
    return { ...base, deps, root, file, reads, record };
  }

  it('a same-size edit with atime and mtime put back (touch -r, rsync -t) is indexed on the next run', async () => {
    const { deps, file, collection, embedder, record } = await indexedOld(handbook(2));
    const before = await stat(file);
    const edited = handbook(2).replace('chapter 1 talks about trees', 'chapter 1 talks about ferns');
    expect(edited.length).toBe(handbook(2).length);
    await writeFile(file, edited);
    await utimes(file, before.atime, before.mtime);
    expect((await stat(file)).mtimeMs).toBe(before.mtimeMs);
    embedder.texts = 0;
    const again = await run(deps);
    expect(again.docs).toMatchObject({ changed: 1, unchanged: 0 });
    expect(again.chunks.upserted).toBe(1);
    expect(embedder.texts).toBe(1);
    expect((await record()).mtimeMs).toBe(before.mtimeMs);
    const hits = await collection.search({ mode: 'keyword', k: 3, text: 'ferns' });
    expect(hits.map((h) => h.text).join('\n')).toContain('chapter 1 talks about ferns');
    expect((await run(deps)).docs).toMatchObject({ changed: 0, unchanged: 1 });
  });

  it('chmod of an indexed file: the next run hashes it and embeds nothing, the run after reads nothing', async () => {
    const { deps, file, embedder, reads, record } = await indexedOld(handbook(2));
    const first = await record();
    await chmod(file, 0o600);
    reads.n = embedder.texts = 0;
    const next = await run(deps);
    expect(next.docs).toMatchObject({ changed: 0, unchanged: 1 });
    expect(next.chunks.upserted + next.embeddings.computed + embedder.texts).toBe(0);
    expect(reads.n).toBe(1);
    const refreshed = await record();
    expect(refreshed.updatedAt).toBeGreaterThan(first.updatedAt);
    expect(refreshed.updatedAt).toBeGreaterThanOrEqual((await stat(file)).ctimeMs);
    reads.n = 0;
    const after = await run(deps);
    expect(after.docs).toMatchObject({ changed: 0, unchanged: 1 });
    expect(reads.n).toBe(0);
    expect(await record()).toEqual(refreshed);
  });

  it('rehash reads every file: an unchanged one writes nothing, a record that hides an edit is caught', async () => {
    const { deps, file, embedder, reads, record, collection } = await indexedOld(handbook(2));
    const first = await record();
    reads.n = embedder.texts = 0;
    const same = await run({ ...deps, rehash: true });
    expect(reads.n).toBe(1);
    expect(same.docs).toMatchObject({ changed: 0, unchanged: 1 });
    expect(same.chunks.upserted + same.embeddings.computed + embedder.texts).toBe(0);
    expect(await record()).toEqual(first);

    // An edit that stat cannot see: size and mtime kept, and a record written after the ctime
    // (a store restored from a backup, a write that raced its record).
    const before = await stat(file);
    await writeFile(file, handbook(2).replace('chapter 0 talks about trees', 'chapter 0 talks about ferns'));
    await utimes(file, before.atime, before.mtime);
    await new Promise((r) => setTimeout(r, 20));
    await collection.commitDocument({ rows: [], staleIds: [], record: { ...first, updatedAt: Date.now() } });
    expect((await run(deps)).docs).toMatchObject({ changed: 0, unchanged: 1 });
    const caught = await run({ ...deps, rehash: true });
    expect(caught.docs).toMatchObject({ changed: 1 });
    expect(caught.chunks.upserted).toBe(1);
  });

  it('editing one paragraph of one of 40 sections embeds one chunk and changes no other ID', async () => {
    const root = await tempDir();
    await write(root, 'big.md', handbook(40));
    const { deps, collection } = await realDeps(root);
    await run(deps);
    const id = docId('docs', 'big.md');
    const before = await rowIds(collection, id);
    expect(before.size).toBe(40);
    await write(root, 'big.md', handbook(40, 23));
    const edit = await run(deps);
    expect(edit.embeddings.computed).toBe(1);
    expect(edit.chunks).toEqual({ upserted: 1, deleted: 0, unchanged: 39 });
    const after = await rowIds(collection, id);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    const changed = [...after].filter(([k, h]) => before.get(k) !== h).map(([k]) => k);
    expect(changed).toEqual([`${id}#handbook/chapter-23/0`]);
  });

  it('a renamed file reuses every vector and leaves no row of the old name', async () => {
    const root = await tempDir();
    await write(root, 'old/name.md', handbook(5));
    await copyFile(path.join(FIXTURES, 'files', 'green.jpg'), path.join(root, 'pic.jpg'));
    const { deps, collection, embedder } = await realDeps(root);
    const first = await run(deps);
    await rename(path.join(root, 'old/name.md'), path.join(root, 'new-name.md'));
    await rename(path.join(root, 'pic.jpg'), path.join(root, 'photo.jpg'));
    embedder.texts = embedder.images = 0;
    const moved = await run(deps);
    expect(moved.embeddings.computed).toBe(0);
    expect(embedder.texts + embedder.images).toBe(0);
    expect(moved.embeddings.reused).toBe(first.chunks.upserted);
    expect(moved.docs).toMatchObject({ changed: 2, deleted: 2 });
    expect(await collection.listDocChunks(docId('docs', 'old/name.md'))).toEqual([]);
    expect(await collection.getDocRecord(docId('docs', 'old/name.md'))).toBeNull();
    expect((await collection.listDocChunks(docId('docs', 'new-name.md'))).length).toBe(5);
    expect((await collection.listDocChunks(docId('docs', 'photo.jpg'))).length).toBe(1);
    expect((await collection.stats()).chunks).toBe(first.chunks.upserted);
  });

  it('a deleted file loses every row; other documents are untouched', async () => {
    const root = await tempDir();
    await write(root, 'keep.md', handbook(3));
    await write(root, 'gone.md', handbook(4));
    const { deps, collection } = await realDeps(root);
    await run(deps);
    const keep = await rowIds(collection, docId('docs', 'keep.md'));
    await rm(path.join(root, 'gone.md'));
    const after = await run(deps);
    expect(after.docs.deleted).toBe(1);
    expect(after.chunks.deleted).toBe(4);
    expect(await collection.listDocChunks(docId('docs', 'gone.md'))).toEqual([]);
    expect(await rowIds(collection, docId('docs', 'keep.md'))).toEqual(keep);
  });

  it('bad files fail with path and cause, the run goes on, and rows of an earlier good version stay', async () => {
    const root = await tempDir();
    await copyFile(path.join(FIXTURES, 'files', 'two-pages.pdf'), path.join(root, 'report.pdf'));
    await write(root, 'page.md', handbook(2));
    await write(root, 'fine.md', handbook(1));
    const { deps, collection } = await realDeps(root);
    await run(deps);
    const pdfRows = await rowIds(collection, docId('docs', 'report.pdf'));
    const mdRows = await rowIds(collection, docId('docs', 'page.md'));
    expect(pdfRows.size).toBe(2);

    await copyFile(path.join(FIXTURES, 'files', 'corrupt.pdf'), path.join(root, 'report.pdf'));
    await write(root, 'page.md', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x00, 0x00, 0x01]));
    await copyFile(path.join(FIXTURES, 'files', 'encrypted.pdf'), path.join(root, 'locked.pdf'));
    await write(root, 'fake.png', 'this is text, not a PNG');
    await write(root, 'new.md', '# New\n\nA new good file.');
    const res = await run(deps);
    expect(res.docs.failed).toBe(4);
    expect(res.failures.map((f) => f.path)).toEqual(['fake.png', 'locked.pdf', 'page.md', 'report.pdf']);
    expect(res.failures.find((f) => f.path === 'locked.pdf')!.error).toMatch(/^locked\.pdf: the PDF is encrypted/);
    expect(res.failures.find((f) => f.path === 'page.md')!.error).toBe('page.md: binary content in a markdown file');
    expect(res.failures.find((f) => f.path === 'report.pdf')!.error).toMatch(/^report\.pdf: /);
    expect(res.failures.find((f) => f.path === 'fake.png')!.error).toMatch(/^fake\.png: not a PNG image/);
    expect(await rowIds(collection, docId('docs', 'report.pdf'))).toEqual(pdfRows);
    expect(await rowIds(collection, docId('docs', 'page.md'))).toEqual(mdRows);
    expect((await collection.listDocChunks(docId('docs', 'new.md'))).length).toBe(1);
  });

  it('indexes a zero-byte file as an empty document and text that is not UTF-8 as Windows-1252', async () => {
    const root = await tempDir();
    await write(root, 'empty.md', '');
    await write(root, 'latin.txt', Buffer.from('Ol\xe9 se\xf1or', 'latin1'));
    const { deps, collection } = await realDeps(root);
    const res = await run(deps);
    expect(res.docs).toMatchObject({ changed: 2, failed: 0 });
    expect(await collection.getDocRecord(docId('docs', 'empty.md'))).toMatchObject({ chunkCount: 0, size: 0 });
    const hits = await collection.search({ mode: 'keyword', k: 1, text: 'señor' });
    expect(hits[0]?.text).toBe('Olé señor');
  });

  it('gives files with quotes, backslashes, spaces, newlines and NFC/NFD twins their own IDs', async () => {
    const root = await tempDir();
    const names = [
      `quote".md`,
      `apo'strophe.md`,
      `back\\slash.md`,
      `with space.md`,
      `new\nline.md`,
      'caf\u00e9.md',
      'cafe\u0301.md',
      `x" or id != ".md`,
      `x' or id != '.md`,
      `brace {doc}.md`,
      `tpl {doc_0} and {ids}.md`,
    ];
    for (const [i, n] of names.entries()) await write(root, n, `# Doc ${i}\n\nContent number ${i}.`);
    const { deps, collection } = await realDeps(root);
    const res = await run(deps);
    expect(res.docs).toMatchObject({ scanned: names.length, changed: names.length, failed: 0 });
    const ids = names.map((n) => docId('docs', n));
    expect(new Set(ids).size).toBe(names.length);
    for (const id of ids) expect((await collection.listDocChunks(id)).map((r) => r.id)).toEqual([`${id}#doc-${ids.indexOf(id)}/0`]);

    for (const victim of [`quote".md`, 'cafe\u0301.md', `back\\slash.md`]) {
      await rm(path.join(root, victim));
      const after = await run(deps);
      expect(after.docs.deleted).toBe(1);
      expect(await collection.listDocChunks(docId('docs', victim))).toEqual([]);
    }
    for (const victim of [`x" or id != ".md`, `brace {doc}.md`]) {
      await rm(path.join(root, victim));
      expect((await run(deps)).docs.deleted).toBe(1);
    }
    const kept = [`apo'strophe.md`, `with space.md`, `new\nline.md`, 'caf\u00e9.md', `x' or id != '.md`, `tpl {doc_0} and {ids}.md`];
    for (const name of kept) expect(await collection.listDocChunks(docId('docs', name))).toHaveLength(1);
    expect((await collection.stats()).chunks).toBe(kept.length);
  });

  it('converges after a crash between writing rows and writing the record', async () => {
    const root = await tempDir();
    await write(root, 'a.md', handbook(3));
    const { deps, collection, embedder, store } = await realDeps(root);
    // A crash after a document's rows were written and before its record (the commit marker):
    // this collection writes each commit, then loses its record and fails, as a process killed
    // between the two steps leaves it.
    let crash: string | undefined = 'crash before the commit marker';
    const crashing = {
      ...deps,
      collection: withCommit(collection, async (change) => {
        await collection.commitDocument(change);
        if (!crash) return;
        await loseRecord(store, change.record.docId);
        throw new Error(crash);
      }),
    };
    const setPut = (what: 'crash' | 'real', message = 'crash again') => (crash = what === 'crash' ? message : undefined);
    const crashed = await run(crashing);
    expect(crashed.docs.failed).toBe(1);
    setPut('real');
    embedder.texts = 0;
    const next = await run(deps);
    expect(next.docs).toMatchObject({ changed: 1, failed: 0 });
    // Without a record the rows' metadata is unknown: they are rewritten, their vectors reused.
    expect(next.chunks.upserted).toBe(3);
    expect(next.embeddings).toEqual({ computed: 0, reused: 3 });
    expect(embedder.texts).toBe(0);
    expect(await collection.getDocRecord(docId('docs', 'a.md'))).toMatchObject({ chunkCount: 3 });

    setPut('crash');
    await write(root, 'b.md', handbook(1));
    await run(crashing);
    setPut('real');
    await rm(path.join(root, 'b.md'));
    const cleaned = await run(deps);
    expect(cleaned.docs.deleted).toBe(1);
    expect(await collection.listDocChunks(docId('docs', 'b.md'))).toEqual([]);
  });

  it('repairs a document whose rows the store lost while its record survived', async () => {
    const root = await tempDir();
    await write(root, 'a.md', handbook(3));
    await write(root, 'b.md', handbook(2));
    const { deps, collection, embedder } = await realDeps(root);
    await run(deps);
    const id = docId('docs', 'a.md');
    const rows = await rowIds(collection, id);
    // The store loses two rows; the record survives.
    await collection.commitDocument({ rows: [], staleIds: [...rows.keys()].slice(0, 2), record: (await collection.getDocRecord(id))! });
    embedder.texts = 0;
    const repaired = await run(deps);
    expect(repaired.docs).toMatchObject({ changed: 1, unchanged: 1, failed: 0 });
    expect(repaired.chunks.upserted).toBe(3);
    expect(embedder.texts).toBe(0);
    expect(await rowIds(collection, id)).toEqual(rows);
    expect((await run(deps)).docs).toMatchObject({ changed: 0, unchanged: 2 });
  });

  it('a front matter edit rewrites the rows with their vectors reused, and embeds nothing', async () => {
    const root = await tempDir();
    await write(root, 'fm.md', `---\ntags: [a]\n---\n${handbook(3)}`);
    const { deps, embedder } = await realDeps(root);
    await run(deps);
    await write(root, 'fm.md', `---\ntags: [b, c]\n---\n${handbook(3)}`);
    embedder.texts = 0;
    const res = await run(deps);
    expect(res.chunks).toEqual({ upserted: 3, deleted: 0, unchanged: 0 });
    expect(res.embeddings).toEqual({ computed: 0, reused: 3 });
    expect(embedder.texts).toBe(0);
    expect((await run(deps)).chunks.upserted).toBe(0);
  });

  it('a heading that looks like a disambiguated duplicate keeps every chunk, and a re-run settles', async () => {
    const root = await tempDir();
    await write(root, 'dup.md', '# Foo\n\none\n\n# Foo\n\ntwo\n\n# Foo 2\n\nthree\n');
    const { deps, collection } = await realDeps(root);
    const first = await run(deps);
    expect(first.chunks.upserted).toBe(3);
    expect((await collection.listDocChunks(docId('docs', 'dup.md'))).map((r) => r.id).sort()).toEqual(
      ['docs:dup.md#foo-2-2/0', 'docs:dup.md#foo-2/0', 'docs:dup.md#foo/0'].sort(),
    );
    const again = await run(deps);
    expect(again.docs).toMatchObject({ changed: 0, unchanged: 1 });
  });

  it('syncDocument is idempotent and deletes a document that is gone', async () => {
    const root = await tempDir();
    await write(root, 'x.md', handbook(2));
    const { deps, collection } = await realDeps(root);
    const ref = { source: 'docs', path: 'x.md' };
    const a = await syncDocument(ref, deps);
    expect(a).toMatchObject({ status: 'changed', added: 2, embedded: 2 });
    const b = await syncDocument(ref, deps);
    expect(b).toMatchObject({ status: 'unchanged', added: 0, embedded: 0, unchanged: 2 });
    await rm(path.join(root, 'x.md'));
    expect(await syncDocument(ref, deps)).toMatchObject({ status: 'deleted', deleted: 2 });
    expect(await syncDocument(ref, deps)).toMatchObject({ status: 'unchanged', deleted: 0 });
    expect((await collection.stats()).chunks).toBe(0);
  });

  it('reuses vectors for repeated content instead of embedding it again', async () => {
    const root = await tempDir();
    const boiler = '# Legal\n\nThis boilerplate paragraph appears in many files.';
    await write(root, 'one.md', boiler);
    const { deps, embedder } = await realDeps(root);
    await run(deps);
    await write(root, 'two.md', boiler);
    await write(root, 'three.md', boiler);
    embedder.texts = 0;
    const res = await run(deps);
    expect(res.embeddings).toEqual({ computed: 0, reused: 2 });
    expect(embedder.texts).toBe(0);
  });

  it('does not delete documents under a directory the scan could not read', async () => {
    const root = await tempDir();
    await write(root, 'locked/a.md', handbook(1));
    await write(root, 'open.md', handbook(1));
    await write(root, 'gone.md', handbook(1));
    const { deps, collection } = await realDeps(root);
    await run(deps);
    await rm(path.join(root, 'gone.md'));
    // A source whose scan could not read `locked/` (as an EACCES readdir would leave it).
    const real = deps.source;
    const partial: typeof real = {
      name: real.name,
      location: real.location,
      stat: (r) => real.stat(r),
      read: (r) => real.read(r),
      unreadable: () => [{ path: 'locked', error: 'cannot read directory: EACCES: permission denied' }],
      async *scan() {
        for await (const e of real.scan()) if (!e.path.startsWith('locked/')) yield e;
      },
    };
    const res = await run({ ...deps, source: partial });
    expect(res.docs.deleted).toBe(1);
    expect(res.failures).toEqual([{ path: 'locked', error: 'locked: cannot read directory: EACCES: permission denied' }]);
    expect(await collection.listDocChunks(docId('docs', 'gone.md'))).toEqual([]);
    expect((await collection.listDocChunks(docId('docs', 'locked/a.md'))).length).toBe(1);
  });

  it('reports a file over the size limit and keeps its earlier rows', async () => {
    const root = await tempDir();
    await write(root, 'grow.md', handbook(1));
    const { deps, collection } = await realDeps(root);
    await run(deps);
    const small = await rowIds(collection, docId('docs', 'grow.md'));
    await write(root, 'grow.md', handbook(400));
    const { FilesystemSource } = await import('../../src/sources/filesystem.js');
    const limited = new FilesystemSource({ name: 'docs', root, include: ['**/*'], exclude: [], maxFileBytes: 4096 });
    const res = await run({ ...deps, source: limited });
    expect(res.failures).toEqual([{ path: 'grow.md', error: expect.stringMatching(/^grow\.md: \d+ bytes is over the limit of 4096/) }]);
    expect(await rowIds(collection, docId('docs', 'grow.md'))).toEqual(small);
  });
});
