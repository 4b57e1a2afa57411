// Re-embedding cost: index a generated Markdown corpus with the tiny model A, then move the store
// to model B (another dimension) with `reembed` (in-process backfill, verification, swap), then
// roll back (a catch-up pass with nothing changed, verification, swap), all on LanceDB.
//   node bench/reembed.mjs [--files 2000] [--concurrency N]
// Prints a table and appends it, with date, commit and machine, to bench/RESULTS.md.
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeCorpus } from './corpus.mjs';
import { arg, report } from './report.mjs';

process.env.LANCEDB_LOG ??= 'error';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { indexDirectory } = await import(path.join(root, 'dist/app/index.js'));
const { reembed } = await import(path.join(root, 'dist/app/index.js'));
const { resolveConfig } = await import(path.join(root, 'dist/config/index.js'));

const files = arg('files', 2000);
const concurrency = arg('concurrency', undefined);
const work = path.join(root, 'bench', '.work-reembed');
const corpus = path.join(work, 'corpus');
const store = path.join(work, 'store');
await rm(work, { recursive: true, force: true });
await mkdir(work, { recursive: true });
await writeCorpus(root, corpus, files);

const config = (model) =>
  resolveConfig({ flags: { sink: { path: store }, embedder: { modelDir: path.join(root, 'test/fixtures', model) }, concurrency } });
const full = await indexDirectory(config('tiny-clip'), corpus);
const forward = await reembed(config('tiny-clip-b'), corpus);
const back = await reembed(config('tiny-clip-b'), corpus, { rollback: true });
if (!forward.swapped || !back.swapped || back.backfill.embeddings.computed !== 0) throw new Error('benchmark run was not clean');

const s = (ms) => (ms / 1000).toFixed(2);
// reembed waits 1.25 s after marking the pending collection (writers' layout refresh) before it backfills.
const verifyMs = (r) => r.durationMs - r.backfill.durationMs - 1250;
const rows = [
  ['files / chunks', `${files} / ${full.chunks.upserted}`],
  ['index with A, s (chunks/s)', `${s(full.durationMs)} (${Math.round(full.chunks.upserted / (full.durationMs / 1000))})`],
  ['reembed A -> B total, s', s(forward.durationMs)],
  [
    '  backfill, s (chunks/s)',
    `${s(forward.backfill.durationMs)} (${Math.round(forward.backfill.chunks.upserted / (forward.backfill.durationMs / 1000))})`,
  ],
  ['  verify (stat + sha-256 of every file + row counts) and swap, s', s(verifyMs(forward))],
  ['  embeddings computed / chunks', `${forward.backfill.embeddings.computed} / ${forward.verify.chunks}`],
  ['rollback B -> A (nothing changed), total s', s(back.durationMs)],
  ['  embeddings computed', back.backfill.embeddings.computed],
  ['peak RSS, MB', Math.round(process.resourceUsage().maxRSS / 1024)],
];
await report(
  root,
  'Re-embedding',
  `Command: \`node bench/reembed.mjs --files ${files}${concurrency ? ` --concurrency ${concurrency}` : ''}\`. ` +
    'Models: tiny ONNX A (256-d) and B (128-d) through the Jina CLIP path; store: LanceDB; in-process backfill, no daemon.',
  rows,
);
await rm(work, { recursive: true, force: true });
