// Index throughput and no-op re-index time on a generated Markdown corpus, with the tiny ONNX
// model through the real Jina CLIP loading path and the embedded LanceDB store.
//   node bench/index-throughput.mjs [--files 2000] [--concurrency N]
// Prints a table and appends it, with date, commit and machine, to bench/RESULTS.md.
import { execSync } from 'node:child_process';
import { appendFile, mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg } from './report.mjs';
import { writeCorpus } from './corpus.mjs';

process.env.LANCEDB_LOG ??= 'error';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { indexDirectory } = await import(path.join(root, 'dist/app/index.js'));
const { resolveConfig } = await import(path.join(root, 'dist/config/index.js'));

const files = arg('files', 2000);
const concurrency = arg('concurrency', undefined);
const work = path.join(root, 'bench', '.work');
const corpus = path.join(work, `corpus-${files}`);
const store = path.join(work, `store-${files}`);

await rm(work, { recursive: true, force: true });
await mkdir(work, { recursive: true });
const t0 = performance.now();
await writeCorpus(root, corpus, files);
const genMs = performance.now() - t0;

const config = resolveConfig({
  flags: { sink: { path: store }, embedder: { modelDir: path.join(root, 'test/fixtures/tiny-clip') }, concurrency },
});
const full = await indexDirectory(config, corpus);
const noop = await indexDirectory(config, corpus);
const rssMb = process.resourceUsage().maxRSS / 1024;
if (full.docs.failed > 0 || noop.embeddings.computed !== 0) throw new Error('benchmark run was not clean');

const commit = (() => {
  try {
    return execSync('git rev-parse --short HEAD', { cwd: root }).toString().trim();
  } catch {
    return 'unknown';
  }
})();
const machine = `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
const rows = [
  ['files', files],
  ['chunks', full.chunks.upserted],
  ['full index, s', (full.durationMs / 1000).toFixed(2)],
  ['full index, chunks/s', Math.round(full.chunks.upserted / (full.durationMs / 1000))],
  ['full index, files/s', Math.round(files / (full.durationMs / 1000))],
  ['no-op re-index, s', (noop.durationMs / 1000).toFixed(3)],
  ['no-op re-index: embeddings / rows written', `${noop.embeddings.computed} / ${noop.chunks.upserted + noop.chunks.deleted}`],
  ['peak RSS, MB', Math.round(rssMb)],
];
const table = ['| measure | value |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join('\n');
const header =
  `\n## Index throughput, ${new Date().toISOString().slice(0, 10)}, commit ${commit}\n\n` +
  `Machine: ${machine}. Command: \`node bench/index-throughput.mjs --files ${files}${concurrency ? ` --concurrency ${concurrency}` : ''}\`. ` +
  `Embedder: tiny ONNX model (test/fixtures/tiny-clip) through the Jina CLIP path; store: LanceDB. ` +
  `Corpus generation (${(genMs / 1000).toFixed(1)} s) not included.\n\n`;
console.log(header + table);
await appendFile(path.join(root, 'bench', 'RESULTS.md'), `${header}${table}\n`);
await rm(work, { recursive: true, force: true });
