import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { MilvusClient } from '@zilliz/milvus2-sdk-node';
import { describe, expect, inject, it } from 'vitest';
import { type SinkKind, children } from '../children.js';
import { ROOT, tempDir } from '../helpers.js';

const exec = promisify(execFile);
const { cli, status, setup } = children();

const note = (n: number) => `# Note ${n}\n\nThe note number ${n} is about kingfishers.\n`;

async function notes(dir: string, names: string[]): Promise<void> {
  for (const [i, n] of names.entries()) {
    await mkdir(path.dirname(path.join(dir, n)), { recursive: true });
    await writeFile(path.join(dir, n), note(i));
  }
}

const range = (n: number, prefix = '') => Array.from({ length: n }, (_, i) => `${prefix}n${i}.md`);
const heldLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('held: '));

describe('the mass-deletion guard (CLI, LanceDB)', () => {
  it('an emptied folder: nothing deleted, exit 1, one line naming the count and the flag; with --allow-delete the deletions happen', async () => {
    const work = await tempDir();
    const dir = path.join(work, 'docs');
    await notes(dir, range(20));
    const e = setup('LanceDB', path.join(work, 'store'));
    expect((await cli(['index', dir, ...e.sink, ...e.model])).code).toBe(0);
    await rename(dir, path.join(work, 'away'));
    await mkdir(dir);

    const res = await cli(['index', dir, ...e.sink, ...e.model]);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/^0 documents scanned: 0 changed, 0 unchanged, 0 deleted, 0 failed$/m);
    expect(heldLines(res.stderr)).toHaveLength(1);
    expect(heldLines(res.stderr)[0]).toMatch(
      /^held: the scan of \S+ found no document, and 20 of source "docs" are indexed: their deletion is held\. An unmounted or empty folder, a narrower --include, or another folder indexed under the source name "docs"\? .*--allow-delete/,
    );
    expect(await status(e)).toMatchObject({ docs: 20, chunks: 20 });
    const json = await cli(['index', dir, ...e.sink, ...e.model, '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).held).toMatchObject({
      deletions: 20,
      indexed: 20,
      found: 0,
      reason: expect.stringContaining('--allow-delete'),
    });

    // audit --repair runs the same pass: it holds too, and the audit after it still finds the orphans.
    const repair = await cli(['audit', dir, ...e.sink, ...e.model, '--repair']);
    expect(repair.code).toBe(1);
    expect(heldLines(repair.stderr)).toHaveLength(1);
    expect(repair.stdout).toMatch(/^0 documents, \d+ rows: drift in 20 documents \(20 orphaned\)/m);
    expect(await status(e)).toMatchObject({ docs: 20 });

    const allowed = await cli(['index', dir, ...e.sink, ...e.model, '--allow-delete', '--json']);
    expect(allowed.code, allowed.stderr).toBe(0);
    const sum = JSON.parse(allowed.stdout);
    expect(sum.held).toBeUndefined();
    expect(sum.docs).toMatchObject({ deleted: 20, failed: 0 });
    expect(await status(e)).toMatchObject({ docs: 0, chunks: 0 });
  });

  it('a narrower --include that would drop 90% is refused; small deletions happen as before; RAGSYNC_ALLOW_DELETE allows', async () => {
    const work = await tempDir();
    const dir = path.join(work, 'docs');
    await notes(dir, [...range(2), ...range(18, 'sub/')]);
    const e = setup('LanceDB', path.join(work, 'store'));
    expect((await cli(['index', dir, ...e.sink, ...e.model])).code).toBe(0);

    // `/*.md` matches only top-level files: 18 of the 20 documents would go.
    const narrow = await cli(['index', dir, ...e.sink, ...e.model, '--include', '/*.md']);
    expect(narrow.code).toBe(1);
    expect(heldLines(narrow.stderr)[0]).toMatch(/^held: 18 of the 20 indexed documents of source "docs" \(90%\) are not in /);
    expect(await status(e)).toMatchObject({ docs: 20 });

    for (const n of ['sub/n0.md', 'sub/n1.md', 'sub/n2.md']) await rm(path.join(dir, n));
    const small = await cli(['index', dir, ...e.sink, ...e.model, '--json']);
    expect(small.code, small.stderr).toBe(0);
    expect(JSON.parse(small.stdout).docs).toMatchObject({ deleted: 3, failed: 0 });

    const env = await cli(['index', dir, ...e.sink, ...e.model, '--include', '/*.md', '--json'], { RAGSYNC_ALLOW_DELETE: 'true' });
    expect(env.code, env.stderr).toBe(0);
    expect(JSON.parse(env.stdout).docs.deleted).toBe(15);
  });

  it('an empty tmpfs mounted over an indexed folder deletes nothing; after the unmount nothing is embedded again', async (ctx) => {
    if (process.getuid?.() !== 0) return ctx.skip('mounting a tmpfs needs root');
    const work = await tempDir();
    const dir = path.join(work, 'share');
    await notes(dir, range(12));
    const e = setup('LanceDB', path.join(work, 'store'));
    expect((await cli(['index', dir, ...e.sink, ...e.model])).code).toBe(0);
    try {
      await exec('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir]);
    } catch (err) {
      return ctx.skip(`mount -t tmpfs is not permitted here: ${String((err as { stderr?: string }).stderr ?? err).trim()}`);
    }
    try {
      expect(await readdir(dir)).toEqual([]);
      const res = await cli(['index', dir, ...e.sink, ...e.model, '--json']);
      expect(res.code).toBe(1);
      expect(JSON.parse(res.stdout)).toMatchObject({ docs: { deleted: 0 }, held: { deletions: 12, found: 0 } });
      expect(await status(e)).toMatchObject({ docs: 12, chunks: 12 });
    } finally {
      await exec('umount', [dir]);
    }
    const after = JSON.parse((await cli(['index', dir, ...e.sink, ...e.model, '--json'])).stdout);
    expect(after).toMatchObject({ docs: { unchanged: 12, deleted: 0 }, embeddings: { computed: 0 } });
  });
});

/** Every file under `dir`: its path, size, mtime and a hash of its bytes. */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const file = path.join(entry.parentPath, entry.name);
    const rel = path.relative(dir, file);
    if (!entry.isFile()) {
      out.push(`${rel}/`);
      continue;
    }
    const s = await stat(file);
    out.push(
      `${rel} ${s.size} ${s.mtimeMs} ${createHash('sha256')
        .update(await readFile(file))
        .digest('hex')}`,
    );
  }
  return out.sort();
}

const counts = (s: { docs: unknown; chunks: unknown; embeddings: unknown; failures: unknown }) => ({
  docs: s.docs,
  chunks: s.chunks,
  embeddings: s.embeddings,
  failures: s.failures,
});

describe.each<SinkKind>(['LanceDB', 'Milvus Lite'])('--dry-run on %s', (kind) => {
  it('index --dry-run and audit --repair --dry-run plan what the real runs then report, write nothing and create no store', async () => {
    const work = await tempDir();
    const dir = path.join(work, 'docs');
    await cp(path.join(ROOT, 'examples', 'corpus'), dir, { recursive: true });
    const store = path.join(work, 'store');
    const e = setup(kind, store);
    const tag = e.sink[e.sink.indexOf('--milvus-collection') + 1];
    const collections = async () => {
      const client = new MilvusClient({ address: inject('milvusAddress'), logLevel: 'error' });
      const all = (await client.listCollections()).data.map((c) => c.name);
      await client.closeConnection();
      return all.filter((n) => n.startsWith(`${tag}_`));
    };
    /** What the store holds, as this sink lets a test see it: the LanceDB tree, or Milvus's collections and an audit. */
    const holds = async () =>
      kind === 'LanceDB'
        ? existsSync(store)
          ? await tree(store)
          : null
        : {
            collections: await collections(),
            status: await status(e),
            audit: JSON.parse((await cli(['audit', dir, ...e.sink, ...e.model, '--json'])).stdout).report.drift,
          };
    const index = async (...more: string[]) => {
      const res = await cli(['index', dir, ...e.sink, ...e.model, ...more]);
      expect(res.code, res.stderr).toBe(0);
      return res;
    };

    const fresh = JSON.parse((await index('--dry-run', '--json')).stdout);
    expect(Object.keys(fresh)).toEqual(['docs', 'chunks', 'embeddings', 'failures', 'durationMs', 'dryRun', 'plan']);
    expect(fresh.plan).toMatchObject({ added: 7, updated: 0, images: 1 });
    expect(fresh.plan.tokens).toBeGreaterThan(0);
    if (kind === 'LanceDB') expect(existsSync(store)).toBe(false);
    else expect(await collections()).toEqual([]);
    const first = JSON.parse((await index('--json')).stdout);
    expect(counts(fresh)).toEqual(counts(first));
    expect(first.embeddings.computed).toBeGreaterThan(0);

    // Edits, an addition, a deletion: the plan, nothing written, then the real run's counts.
    await writeFile(path.join(dir, 'sourdough-bread.md'), '# Sourdough bread\n\nRewritten: only flour, water and salt.\n');
    await writeFile(path.join(dir, 'new.md'), '# New\n\nA new note about herons.\n');
    await rm(path.join(dir, 'meeting-notes.txt'));
    const before = await holds();
    if (kind === 'LanceDB') {
      const human = await index('--dry-run');
      expect(human.stdout).toMatch(
        /^dry run, nothing written: 7 documents scanned: 1 to add, 1 to update, 1 to delete, 5 unchanged, 0 failed$/m,
      );
      expect(human.stdout).toMatch(
        /^chunks: \d+ to write, \d+ to delete, \d+ unchanged; embeddings: \d+ to compute \(\d+ tokens\), \d+ to reuse; /m,
      );
    }
    const plan = JSON.parse((await index('--dry-run', '--json')).stdout);
    expect(await holds()).toEqual(before);
    const real = JSON.parse((await index('--json')).stdout);
    expect(counts(plan)).toEqual(counts(real));
    expect(real.docs).toMatchObject({ changed: 2, deleted: 1 });

    // audit --repair --dry-run: the repair's plan, nothing written; the real repair reports the same.
    await writeFile(path.join(dir, 'new.md'), '# New\n\nHerons, rewritten.\n');
    await rm(path.join(dir, 'guides', 'solar-panels.md'));
    const drifted = await holds();
    const planned = await cli(['audit', dir, ...e.sink, ...e.model, '--repair', '--dry-run', '--json']);
    expect(planned.code).toBe(1);
    const out = JSON.parse(planned.stdout);
    expect(out.repair).toMatchObject({ dryRun: true, plan: { added: 0, updated: 1 }, docs: { changed: 1, deleted: 1 } });
    expect(out.report.drift.map((d: { kind: string }) => d.kind).sort()).toEqual(['orphaned', 'stale']);
    expect(await holds()).toEqual(drifted);
    const repaired = await cli(['audit', dir, ...e.sink, ...e.model, '--repair', '--json']);
    expect(repaired.code, repaired.stderr).toBe(0);
    expect(counts(out.repair)).toEqual(counts(JSON.parse(repaired.stdout).repair));
  }, 180_000);
});
