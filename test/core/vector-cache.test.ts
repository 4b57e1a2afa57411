/**
 * Vectors are keyed on what is embedded, not on the chunker: a chunker upgrade embeds only texts
 * it changed, and a deleted, moved or reverted chunk's vector is kept (the vector cache), so
 * bringing it back embeds nothing. Real files, real stores, the tiny model.
 */
import { copyFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { chunking as real } from '../../src/chunking/index.js';
import { syncSource } from '../../src/core/sync-source.js';
import type { Chunking, ChunkLimits, Document } from '../../src/core/types.js';
import { contentHash } from '../../src/ids/index.js';
import { DELETE_GUARD, FIXTURES, STORES, type StoreMaker, realDeps as baseDeps, tempDir } from '../helpers.js';

type Deps = Awaited<ReturnType<typeof baseDeps>>['deps'];
const run = (deps: Deps) => syncSource(deps, { concurrency: 4, deleteGuard: DELETE_GUARD });

async function write(root: string, rel: string, content: string): Promise<void> {
  await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
  await writeFile(path.join(root, rel), content);
}

function guide(n: number): string {
  const out = [`# Guide ${n}`, ''];
  for (let i = 0; i < 4; i++) out.push(`## Step ${i}`, '', `Step ${i} of guide ${n}: knead the dough NOTE and let it rest.`, '');
  return out.join('\n');
}

/** The real chunking as a later version of it: another signature and hashes, texts through `edit`. */
function upgraded(version: string, edit: (text: string) => string = (t) => t): Chunking {
  return {
    signature: (type, limits) => `${real.signature(type, limits)};${version}`,
    async chunk(doc: Document, limits: ChunkLimits) {
      const out = await real.chunk(doc, limits);
      const chunks = out.chunks.map((c) => {
        const text = c.modality === 'text' ? edit(c.text) : c.text;
        return { ...c, text, hash: contentHash(text, version) };
      });
      return { ...out, chunks };
    },
  };
}

describe.each(STORES)('vectors keyed on what is embedded (%s)', (_name: string, makeStore: StoreMaker) => {
  const realDeps = (root: string) => baseDeps(root, { makeStore });

  it('a chunker upgrade that leaves every text as it was embeds nothing; one that changes some texts embeds exactly those', async () => {
    const root = await tempDir();
    for (let n = 0; n < 3; n++) await write(root, `g${n}.md`, guide(n));
    await write(root, 'plain.md', '# Plain\n\nNothing to change here.\n');
    const { deps, embedder, collection } = await realDeps(root);
    const first = await run(deps);
    const chunks = first.chunks.upserted;
    expect(embedder.texts).toBe(chunks);

    embedder.texts = 0;
    const bumped = await run({ ...deps, chunking: upgraded('v2') });
    expect(bumped.docs).toMatchObject({ changed: 4, failed: 0 });
    expect([bumped.chunks.upserted, bumped.embeddings.computed, embedder.texts]).toEqual([chunks, 0, 0]);

    // A change that drops the marker "NOTE" from the texts that have it.
    const strip = upgraded('v3', (t) => t.replace(/ NOTE/g, ''));
    const texts = async () => {
      const all: string[] = [];
      for (const f of ['g0.md', 'g1.md', 'g2.md', 'plain.md']) {
        const doc = (await deps.source.read({ path: f }))!;
        all.push(...(await real.chunk(doc, deps.limits)).chunks.map((c) => c.text));
      }
      return all;
    };
    const changedTexts = (await texts()).filter((t) => t.includes(' NOTE')).length;
    expect(changedTexts).toBeGreaterThan(0);
    expect(changedTexts).toBeLessThan(chunks);
    embedder.texts = 0;
    const stripped = await run({ ...deps, chunking: strip });
    expect([stripped.embeddings.computed, embedder.texts]).toEqual([changedTexts, changedTexts]);
    expect(await collection.stats()).toEqual({ docs: 4, chunks });
  });

  it('a file deleted and restored, a folder moved out and back, an edit reverted: nothing is embedded again', async () => {
    const root = await tempDir();
    await write(root, 'keep.md', guide(0));
    await write(root, 'gone.md', guide(1));
    await write(root, 'sub/a.md', guide(2));
    await write(root, 'edit.md', guide(3));
    await copyFile(path.join(FIXTURES, 'files', 'blue.png'), path.join(root, 'blue.png'));
    const { deps, embedder, collection } = await realDeps(root);
    await run(deps);
    const stats = await collection.stats();
    const backup = path.join(await tempDir(), 'moved');
    await mkdir(backup);

    // Deleted (gone.md, blue.png), moved out (sub/), edited (edit.md): their old vectors are kept.
    await rm(path.join(root, 'gone.md'));
    await rename(path.join(root, 'blue.png'), path.join(backup, 'blue.png'));
    await rename(path.join(root, 'sub'), path.join(backup, 'sub'));
    await write(root, 'edit.md', guide(3).replace('Step 2 of guide 3', 'Step two of guide three'));
    embedder.texts = embedder.images = 0;
    const away = await run(deps);
    expect(away.docs).toMatchObject({ deleted: 3, changed: 1, failed: 0 });
    expect([embedder.texts, embedder.images]).toEqual([1, 0]);
    expect(await collection.countCachedVectors()).toBe(4 + 4 + 1 + 1);

    // All back as they were, sub/ under another name: no embedding at all.
    await write(root, 'gone.md', guide(1));
    await rename(path.join(backup, 'blue.png'), path.join(root, 'blue.png'));
    await rename(path.join(backup, 'sub'), path.join(root, 'other'));
    await write(root, 'edit.md', guide(3));
    embedder.texts = embedder.images = 0;
    const back = await run(deps);
    expect(back.docs).toMatchObject({ changed: 4, deleted: 0, failed: 0 });
    expect([back.embeddings.computed, embedder.texts, embedder.images]).toEqual([0, 0, 0]);
    expect(back.embeddings.reused).toBeGreaterThan(0);
    expect(await collection.stats()).toEqual(stats);
    // The vectors found again are the very ones: a dense search for a chunk's text finds it first.
    const vector = (await deps.embedder.embedTexts([(await collection.search({ mode: 'keyword', text: 'guide 1', k: 1 }))[0]!.text]))[0]!;
    expect((await collection.search({ mode: 'dense', vector, k: 1 }))[0]!.score).toBeCloseTo(1, 4);
  });
});
