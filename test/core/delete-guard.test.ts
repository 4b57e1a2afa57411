import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DeleteGuard } from '../../src/core/delete-guard.js';
import type { SyncDeps } from '../../src/core/sync-document.js';
import { syncSource } from '../../src/core/sync-source.js';
import { docId } from '../../src/ids/index.js';
import { FilesystemSource } from '../../src/sources/filesystem.js';
import { DELETE_GUARD, STORES, type StoreMaker, realDeps, tempDir } from '../helpers.js';

const note = (n: number, extra = '') => `# Note ${n}\n\nThe note number ${n} about otters${extra}.\n`;

async function write(root: string, rel: string, content: string): Promise<void> {
  await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
  await writeFile(path.join(root, rel), content);
}

/** Moves files between two folders (the way a user moves them out of, or back into, the indexed one). */
async function move(from: string, to: string, names: string[]): Promise<void> {
  for (const n of names) await rename(path.join(from, n), path.join(to, n));
}

const names = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `n${from + i}.md`);
const pass = (deps: SyncDeps, deleteGuard: DeleteGuard | null = DELETE_GUARD) => syncSource(deps, { concurrency: 4, deleteGuard });

describe.each(STORES)('the mass-deletion guard of syncSource on a real %s store', (_name: string, makeStore: StoreMaker) => {
  it('an emptied folder: every deletion held and every row kept; adds and updates still apply; without the guard they run', async () => {
    const root = await tempDir();
    const away = await tempDir();
    for (const [i, n] of names(0, 20).entries()) await write(root, n, note(i));
    const { deps, collection } = await realDeps(root, { makeStore });
    expect((await pass(deps)).docs.changed).toBe(20);
    const rows = (await collection.stats()).chunks;

    await move(root, away, names(0, 20));
    const empty = await pass(deps);
    expect(empty.held).toMatchObject({ deletions: 20, indexed: 20, found: 0 });
    expect(empty.held!.reason).toContain('found no document, and 20 of source "docs" are indexed');
    expect(empty.held!.reason).toContain('--allow-delete');
    expect(empty.docs).toMatchObject({ scanned: 0, deleted: 0, failed: 0 });
    expect(await collection.stats()).toEqual({ docs: 20, chunks: rows });

    // Two files back, one of them edited, one new: those apply; the 18 deletions are held.
    await move(away, root, ['n0.md', 'n1.md']);
    await write(root, 'n1.md', note(1, ' and beavers'));
    await write(root, 'new.md', note(99));
    const most = await pass(deps);
    expect(most.held).toMatchObject({ deletions: 18, indexed: 20, found: 3 });
    expect(most.held!.reason).toMatch(/^18 of the 20 indexed documents of source "docs" \(90%\) are not in /);
    expect(most.docs).toMatchObject({ scanned: 3, changed: 2, unchanged: 1, deleted: 0 });
    expect((await collection.stats()).docs).toBe(21);
    expect(await collection.getDocRecord(docId('docs', 'n7.md'))).not.toBeNull();

    // The files come back: nothing is held, nothing changes.
    await move(away, root, names(2, 20));
    const back = await pass(deps);
    expect(back.held).toBeUndefined();
    expect(back.docs).toMatchObject({ scanned: 21, changed: 0, unchanged: 21, deleted: 0 });

    // Small deletions run as before.
    for (const n of ['n2.md', 'n3.md', 'n4.md']) await rm(path.join(root, n));
    const small = await pass(deps);
    expect(small.held).toBeUndefined();
    expect(small.docs.deleted).toBe(3);

    // Allowed (no guard): an emptied folder deletes everything.
    await move(root, away, [...names(0, 2), ...names(5, 20), 'new.md']);
    const allowed = await pass(deps, null);
    expect(allowed.held).toBeUndefined();
    expect(allowed.docs.deleted).toBe(18);
    expect(await collection.stats()).toEqual({ docs: 0, chunks: 0 });
  });

  it('a narrower include that drops 90% is held; a small source emptied is held; the share is configurable', async () => {
    const root = await tempDir();
    for (const [i, n] of names(0, 18).entries()) await write(root, `deep/${n}`, note(i));
    await write(root, 'keep/a.md', note(100));
    await write(root, 'keep/b.md', note(101));
    const { deps, collection } = await realDeps(root, { makeStore });
    await pass(deps);
    const narrow = new FilesystemSource({ name: 'docs', root, include: ['keep/**'], exclude: [], maxFileBytes: 1 << 20 });
    const refused = await pass({ ...deps, source: narrow });
    expect(refused.held).toMatchObject({ deletions: 18, indexed: 20, found: 2 });
    expect((await collection.stats()).docs).toBe(20);
    // A guard that allows 90% lets these go.
    const lenient = await pass({ ...deps, source: narrow }, { share: 0.9, min: 10 });
    expect(lenient.held).toBeUndefined();
    expect(lenient.docs.deleted).toBe(18);

    // Under `min` deletions run, unless the scan found no document at all.
    await rm(path.join(root, 'keep/a.md'));
    expect((await pass({ ...deps, source: narrow })).docs.deleted).toBe(1);
    await rm(path.join(root, 'keep/b.md'));
    const none = await pass({ ...deps, source: narrow });
    expect(none.held).toMatchObject({ deletions: 1, indexed: 1, found: 0 });
    expect((await collection.stats()).docs).toBe(1);
  });
});
