import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { auditSource } from '../../src/core/audit.js';
import { syncSource } from '../../src/core/sync-source.js';
import { syncDocument } from '../../src/core/sync.js';
import { MAX_DOC_ID_BYTES, docId } from '../../src/ids/index.js';
import { FIXTURES, realDeps, tempDir } from '../helpers.js';

const note = (n: number) => `# Note ${n}\n\nA note, number ${n}.\n`;

describe('bad input the run survives (LanceDB, real files)', () => {
  it('a symlink loop, a very long path, a truncated PDF: each a clear outcome, the rest indexed, audit clean', async () => {
    const root = await tempDir();
    await writeFile(path.join(root, 'good.md'), note(1));
    await symlink('loop-b.md', path.join(root, 'loop-a.md'));
    await symlink('loop-a.md', path.join(root, 'loop-b.md'));
    // 14 directories of 250 bytes: a path of ~3 500 bytes, a doc ID over the bound.
    const deep = Array.from({ length: 14 }, (_, i) => `${String(i).padStart(2, '0')}${'d'.repeat(248)}`).join('/');
    await mkdir(path.join(root, deep), { recursive: true });
    await writeFile(path.join(root, deep, 'deep.md'), note(2));
    const pdf = await readFile(path.join(FIXTURES, 'files', 'two-pages.pdf'));
    await writeFile(path.join(root, 'truncated.pdf'), pdf.subarray(0, Math.floor(pdf.length / 2)));

    const { deps, sink } = await realDeps(root);
    const res = await syncSource(deps, { concurrency: 4 });
    // A link that does not resolve to a file inside the folder is skipped (README: "What gets
    // indexed"); a loop never resolves.
    expect(res.failures.map((f) => f.path)).toEqual(['truncated.pdf']);
    expect(res.docs.scanned).toBe(3);
    expect(res.failures.find((f) => f.path === 'truncated.pdf')!.error).toMatch(/^truncated\.pdf: /);
    const long = docId('docs', `${deep}/deep.md`);
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(MAX_DOC_ID_BYTES);
    expect(await sink.listDocChunks(long)).toHaveLength(1);
    expect(await sink.listDocChunks(docId('docs', 'good.md'))).toHaveLength(1);
    // The audit finds only the PDF that could not be indexed.
    const audit = await auditSource(deps);
    expect(audit.drift.map((d) => `${d.kind} ${d.path}`)).toEqual(['missing truncated.pdf']);
  });

  it('a file that vanishes between the scan and the read is a deletion, not a failure', async () => {
    const root = await tempDir();
    await writeFile(path.join(root, 'a.md'), note(1));
    await writeFile(path.join(root, 'b.md'), note(2));
    const { deps, sink } = await realDeps(root);
    await syncSource(deps, { concurrency: 4 });
    const entries = [];
    for await (const e of deps.source.scan()) entries.push(e);
    await rm(path.join(root, 'a.md'));
    const results = await Promise.all(entries.map((e) => syncDocument(e, deps)));
    expect(results.map((r) => `${r.path} ${r.status}`).sort()).toEqual(['a.md deleted', 'b.md unchanged']);
    expect(await sink.listDocChunks(docId('docs', 'a.md'))).toEqual([]);
    expect(await sink.listDocChunks(docId('docs', 'b.md'))).toHaveLength(1);
  });
});
