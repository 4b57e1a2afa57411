import { execFile } from 'node:child_process';
import { chmod, chown, mkdir, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { auditSource } from '../../src/app/audit.js';
import { syncSource } from '../../src/core/sync-source.js';
import { syncDocument } from '../../src/core/sync-document.js';
import { MAX_DOC_ID_BYTES, docId } from '../../src/ids/index.js';
import { DELETE_GUARD, FIXTURES, ROOT, TINY_MODEL, realDeps, tempDir } from '../helpers.js';

const exec = promisify(execFile);
const BIN = path.join(ROOT, 'bin', 'ragsync.js');

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

    const { deps, collection } = await realDeps(root);
    const res = await syncSource(deps, { concurrency: 4, deleteGuard: DELETE_GUARD });
    // A link that does not resolve to a file inside the folder is skipped (README: "What gets
    // indexed"); a loop never resolves.
    expect(res.failures.map((f) => f.path)).toEqual(['truncated.pdf']);
    expect(res.docs.scanned).toBe(3);
    expect(res.failures.find((f) => f.path === 'truncated.pdf')!.error).toMatch(/^truncated\.pdf: /);
    const long = docId('docs', `${deep}/deep.md`);
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(MAX_DOC_ID_BYTES);
    expect(await collection.listDocChunks(long)).toHaveLength(1);
    expect(await collection.listDocChunks(docId('docs', 'good.md'))).toHaveLength(1);
    // The audit finds only the PDF that could not be indexed.
    const audit = await auditSource(deps);
    expect(audit.drift.map((d) => `${d.kind} ${d.path}`)).toEqual(['missing truncated.pdf']);
  });

  it('a file that vanishes between the scan and the read is a deletion, not a failure', async () => {
    const root = await tempDir();
    await writeFile(path.join(root, 'a.md'), note(1));
    await writeFile(path.join(root, 'b.md'), note(2));
    const { deps, collection } = await realDeps(root);
    await syncSource(deps, { concurrency: 4, deleteGuard: DELETE_GUARD });
    const entries = [];
    for await (const e of deps.source.scan()) entries.push(e);
    await rm(path.join(root, 'a.md'));
    const results = await Promise.all(entries.map((e) => syncDocument(e, deps)));
    expect(results.map((r) => `${r.path} ${r.status}`).sort()).toEqual(['a.md deleted', 'b.md unchanged']);
    expect(await collection.listDocChunks(docId('docs', 'a.md'))).toEqual([]);
    expect(await collection.listDocChunks(docId('docs', 'b.md'))).toHaveLength(1);
  });
});

describe('a pass stopped by its signal', () => {
  it('during the scan deletes nothing; during the deletions stops starting them; both say interrupted', async () => {
    const root = await tempDir();
    for (let i = 0; i < 6; i++) await writeFile(path.join(root, `n${i}.md`), note(i));
    const { deps, collection } = await realDeps(root);
    expect((await syncSource(deps, { concurrency: 2, deleteGuard: DELETE_GUARD })).docs.changed).toBe(6);
    for (let i = 0; i < 3; i++) await rm(path.join(root, `n${i}.md`));
    await writeFile(path.join(root, 'n5.md'), note(55));

    // Stopped at once: the scan sees nothing, so nothing is deleted or synced.
    const early = new AbortController();
    early.abort();
    const none = await syncSource(deps, { concurrency: 2, deleteGuard: DELETE_GUARD, signal: early.signal });
    expect(none).toMatchObject({ interrupted: true, docs: { scanned: 0, changed: 0, deleted: 0 } });
    expect((await collection.stats()).docs).toBe(6);

    // Stopped after the first deletion: the other two wait for the next run.
    const late = new AbortController();
    const some = await syncSource(deps, {
      concurrency: 1,
      deleteGuard: DELETE_GUARD,
      signal: late.signal,
      onProgress: (_d, _f, last) => {
        if (last?.status === 'deleted') late.abort();
      },
    });
    expect(some).toMatchObject({ interrupted: true, docs: { changed: 1, deleted: 1, failed: 0 } });
    expect((await collection.stats()).docs).toBe(5);
    const rest = await syncSource(deps, { concurrency: 2, deleteGuard: DELETE_GUARD });
    expect(rest.interrupted).toBeUndefined();
    expect(rest.docs).toMatchObject({ deleted: 2, changed: 0 });
  });
});

describe('an unreadable file (mode 000)', () => {
  // Root reads any file whatever its mode: as root, the CLI runs as `nobody` for this test.
  const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
  const run = async (args: string[], home: string) => {
    try {
      const { stdout, stderr } = await exec(process.execPath, [BIN, ...args], {
        ...asUser,
        env: { PATH: process.env.PATH ?? '', HOME: home },
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  it('is a clear error naming the file; its indexed rows stay; the other files are indexed; audit says it could not be checked', async () => {
    const can = await run(['--version'], '/tmp');
    if (can.code !== 0)
      throw new Error(
        `this test runs the CLI as uid 65534, which cannot run ${process.execPath} ${BIN} (${can.code}: ${can.stderr}): make them readable to all, or run the tests as a user other than root`,
      );
    const work = await tempDir();
    const dir = path.join(work, 'docs');
    await mkdir(dir);
    await writeFile(path.join(dir, 'good.md'), '# Good\n\nthe word alpenglow is here\n');
    await writeFile(path.join(dir, 'secret.md'), '# Secret\n\nthe word brambleberry is here\n');
    if ('uid' in asUser) await chownTree(work, asUser.uid, asUser.gid);
    const store = ['--store', path.join(work, 'store'), '--model-dir', TINY_MODEL];
    expect((await run(['index', dir, ...store], work)).code).toBe(0);

    await writeFile(path.join(dir, 'secret.md'), '# Secret\n\nthe word cloudberry replaced it\n');
    await writeFile(path.join(dir, 'locked.md'), '# Locked\n\nnever readable\n');
    await writeFile(path.join(dir, 'new.md'), '# New\n\nthe word driftwood is new\n');
    for (const f of ['secret.md', 'locked.md']) await chmod(path.join(dir, f), 0o000);
    if ('uid' in asUser) await chownTree(work, asUser.uid, asUser.gid);

    const res = await run(['index', dir, ...store], work);
    expect(res.code, res.stderr).toBe(1);
    expect(res.stderr).toMatch(/^error: locked\.md: .*permission denied/im);
    expect(res.stderr).toMatch(/^error: secret\.md: .*permission denied/im);
    expect(res.stdout).toMatch(/1 changed, 1 unchanged, 0 deleted, 2 failed/);
    const search = async (word: string) =>
      JSON.parse((await run(['search', word, '--mode', 'keyword', '--json', ...store], work)).stdout).map((h: { path: string }) => h.path);
    // The unreadable file keeps the rows it had; nothing of its new content got in.
    expect(await search('brambleberry')).toEqual(['secret.md']);
    expect(await search('cloudberry')).toEqual([]);
    expect(await search('driftwood')).toEqual(['new.md']);
    expect(await search('alpenglow')).toEqual(['good.md']);

    const audit = await run(['audit', dir, '--json', ...store], work);
    expect(audit.code).toBe(1);
    const report = JSON.parse(audit.stdout).report;
    // Indexed before, unreadable now: its hash cannot be checked. Never indexed: missing.
    expect(report.unchecked).toEqual([{ path: 'secret.md', error: expect.stringMatching(/permission denied/i) }]);
    expect(report.drift.map((d: { kind: string; path: string }) => `${d.kind} ${d.path}`)).toEqual(['missing locked.md']);
  });
});

async function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  await chown(dir, uid, gid);
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) await chownTree(p, uid, gid);
    else await chown(p, uid, gid);
  }
}
