import { copyFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { planSource } from '../../src/core/dry-run.js';
import type { Collection } from '../../src/core/store.js';
import type { SyncDeps } from '../../src/core/sync-document.js';
import { type SyncSummary, syncSource } from '../../src/core/sync-source.js';
import type { Embedder } from '../../src/core/types.js';
import { DELETE_GUARD, FIXTURES, STORES, type StoreMaker, realDeps, tempDir } from '../helpers.js';

async function write(root: string, rel: string, content: string): Promise<void> {
  await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
  await writeFile(path.join(root, rel), content);
}

const doc = (n: number, sections = 2, edited = -1) =>
  [
    `# Doc ${n}`,
    ...Array.from({ length: sections }, (_, s) => `## Part ${s}\n\nPart ${s} of doc ${n} ${s === edited ? 'was edited' : 'as written'}.`),
  ].join('\n\n');

/** An embedder that passes everything to `inner` and keeps the texts it was given. */
function recording(inner: Embedder): Embedder & { texts: string[]; images: number } {
  const out = {
    texts: [] as string[],
    images: 0,
    fingerprint: inner.fingerprint,
    dim: inner.dim,
    maxTokens: inner.maxTokens,
    countTokens: (t: string) => inner.countTokens(t),
    embedTexts: async (texts: string[]) => {
      out.texts.push(...texts);
      return inner.embedTexts(texts);
    },
    embedImages: async (images: Buffer[]) => {
      out.images += images.length;
      return inner.embedImages!(images);
    },
  };
  return out;
}

/** Everything a collection holds for a source: records and every document's rows. */
async function snapshot(c: Collection, source: string) {
  const records = [...(await c.listDocRecords(source))].sort(([a], [b]) => (a < b ? -1 : 1));
  const rows = await Promise.all(records.map(async ([id]) => [id, (await c.listDocChunks(id)).sort((a, b) => (a.id < b.id ? -1 : 1))]));
  return { stats: await c.stats(), records, rows };
}

const counts = (s: SyncSummary) => ({ docs: s.docs, chunks: s.chunks, embeddings: s.embeddings, failures: s.failures, held: s.held });

describe.each(STORES)('a dry run (planSource) on a real %s store', (_name: string, makeStore: StoreMaker) => {
  it('plans what the next real pass then does, through the same code, and writes and embeds nothing', async () => {
    const root = await tempDir();
    for (let i = 0; i < 8; i++) await write(root, `d${i}.md`, doc(i, 2 + (i % 3)));
    await write(root, 'notes.txt', 'one paragraph\n\nanother paragraph');
    await copyFile(path.join(FIXTURES, 'files', 'two-pages.pdf'), path.join(root, 'b.pdf'));
    await copyFile(path.join(FIXTURES, 'files', 'blue.png'), path.join(root, 'img.png'));
    const base = await realDeps(root, { makeStore });
    const embedder = recording(base.embedder);
    const deps: SyncDeps = { ...base.deps, embedder };
    const opts = { concurrency: 4, deleteGuard: DELETE_GUARD };

    /** A dry run, proof that it changed and embedded nothing, then the real pass: both counts must agree. */
    const planThenRun = async () => {
      const before = await snapshot(base.collection, 'docs');
      const plan = await planSource(deps, opts);
      expect(embedder.texts.length + embedder.images).toBe(0);
      expect(await snapshot(base.collection, 'docs')).toEqual(before);
      const real = await syncSource(deps, opts);
      expect(counts(plan)).toEqual(counts(real));
      expect(plan.plan.tokens).toBe(embedder.texts.reduce((n, t) => n + embedder.countTokens(t), 0));
      expect(plan.plan.images).toBe(embedder.images);
      expect(plan.plan.added + plan.plan.updated).toBe(real.docs.changed);
      embedder.texts = [];
      embedder.images = 0;
      return plan;
    };

    const first = await planThenRun();
    expect(first).toMatchObject({ dryRun: true, plan: { added: 11, updated: 0, images: 1 } });
    expect(first.plan.tokens).toBeGreaterThan(0);
    expect(first.docs).toMatchObject({ scanned: 11, changed: 11, failed: 0 });

    // An edit, a rename, a deletion, a new file, a bad file; then a no-op.
    await write(root, 'd1.md', doc(1, 3, 1));
    await rename(path.join(root, 'd2.md'), path.join(root, 'moved.md'));
    await rm(path.join(root, 'd3.md'));
    await write(root, 'new.md', doc(50, 4));
    await write(root, 'bad.md', '\u0000\u0001binary');
    const second = await planThenRun();
    expect(second.plan).toMatchObject({ added: 2, updated: 1, images: 0 });
    expect(second.docs).toMatchObject({ changed: 3, deleted: 2, failed: 1 });
    expect(second.embeddings.reused).toBeGreaterThan(0);
    const noop = await planThenRun();
    expect(noop.plan).toEqual({ added: 0, updated: 0, tokens: 0, images: 0 });

    // Most of the folder gone: the plan holds the deletions as the real pass does.
    for (let i = 4; i < 8; i++) await rm(path.join(root, `d${i}.md`));
    for (const f of ['d0.md', 'd1.md', 'moved.md', 'new.md', 'notes.txt', 'b.pdf', 'img.png']) await rm(path.join(root, f));
    const held = await planThenRun();
    expect(held.held).toMatchObject({ deletions: 11, found: 1 });
    expect(held.docs.deleted).toBe(0);
  });
});
