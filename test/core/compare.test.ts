import { utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareSource } from '../../src/core/compare.js';
import { syncSource } from '../../src/core/sync-source.js';
import { docId } from '../../src/ids/index.js';
import { FilesystemSource } from '../../src/sources/filesystem.js';
import { realDeps, tempDir } from '../helpers.js';

const note = (n: number) => `# Note ${n}\n\nThe body of note ${n}.\n`;

describe('compareSource', () => {
  it('reports every difference when every file is hashed, only the first when stat decides', async () => {
    const root = await tempDir();
    for (const n of [1, 2]) await writeFile(path.join(root, `n${n}.md`), note(n));
    const { deps, collection } = await realDeps(root);
    const old = new Date(Date.now() - 60_000);
    for (const n of [1, 2]) await utimes(path.join(root, `n${n}.md`), old, old);
    await syncSource(deps, { concurrency: 2 });
    // n1: written by another model, and edited since.
    const r1 = (await collection.getDocRecord(docId('docs', 'n1.md')))!;
    await collection.commitDocument({ rows: [], staleIds: [], record: { ...r1, fingerprint: 'other/model' } });
    await writeFile(path.join(root, 'n1.md'), note(11));
    const kinds = async (hash: 'every-file' | 'if-stat-agrees') =>
      (await compareSource(deps, { hash, rows: 'always' })).drift.map((d) => `${d.kind} ${d.path}`);
    expect(await kinds('every-file')).toEqual(['fingerprint n1.md', 'stale n1.md']);
    expect(await kinds('if-stat-agrees')).toEqual(['fingerprint n1.md']);
    await collection.commitDocument({ rows: [], staleIds: [], record: r1 });
    expect(await kinds('if-stat-agrees')).toEqual(['changed n1.md']);
  });

  it('lists a file it cannot read as unchecked, or ignores it when told to', async () => {
    const root = await tempDir();
    await writeFile(path.join(root, 'a.md'), note(1));
    const { deps } = await realDeps(root);
    await syncSource(deps, { concurrency: 2 });
    const failing = new FilesystemSource({
      name: 'docs',
      root,
      include: ['**/*'],
      exclude: [],
      maxFileBytes: 1 << 20,
      onChecked: async () => {
        throw new Error('EIO: i/o error');
      },
    });
    const broken = { ...deps, source: failing };
    const audit = await compareSource(broken, { hash: 'every-file', rows: 'always' });
    expect(audit.unchecked).toEqual([{ path: 'a.md', error: 'EIO: i/o error' }]);
    expect(audit.drift).toEqual([]);
    const verify = await compareSource(broken, { hash: 'every-file', rows: 'always', readErrors: 'ignore' });
    expect(verify.unchecked).toEqual([]);
  });
});
