// Chunks/s indexing a generated Markdown corpus into Milvus Lite through ragsync, against a raw
// batched SDK upsert of the very same rows into a collection of the same schema (the limit):
// the ratio is the pipeline's overhead (reading, hashing, chunking, embedding with the tiny
// model, the diff reads, the document records).
//   node bench/milvus-throughput.mjs [--files 1000] [--concurrency N] [--batch 1000]
import { execSync } from 'node:child_process';
import { appendFile, mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg } from './report.mjs';
import { writeCorpus } from './corpus.mjs';
import { startMilvusLite } from '../scripts/milvus-lite.mjs';

process.env.LANCEDB_LOG ??= 'error';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { indexDirectory } = await import(path.join(root, 'dist/app/index.js'));
const { resolveConfig } = await import(path.join(root, 'dist/config/index.js'));
const { milvusStore } = await import(path.join(root, 'dist/sink/milvus/index.js'));
const { MilvusClient } = await import('@zilliz/milvus2-sdk-node');

const files = arg('files', 1000);
const concurrency = arg('concurrency', undefined);
const batch = arg('batch', 1000);
const work = path.join(root, 'bench', '.work', 'milvus');
await rm(work, { recursive: true, force: true });
await mkdir(work, { recursive: true });
await writeCorpus(root, path.join(work, 'corpus'), files);
const server = await startMilvusLite({ dataDir: path.join(work, 'data') });
try {
  const config = resolveConfig({
    flags: {
      sink: { kind: 'milvus', address: server.address, collection: 'bench' },
      embedder: { modelDir: path.join(root, 'test/fixtures/tiny-clip') },
      concurrency,
    },
  });
  const full = await indexDirectory(config, path.join(work, 'corpus'));
  const noop = await indexDirectory(config, path.join(work, 'corpus'));

  // The same rows, read back, then upserted raw in batches into a twin collection.
  const client = new MilvusClient({ address: server.address, logLevel: 'error' });
  const fields = [
    'id',
    'doc_id',
    'source',
    'path',
    'section',
    'chunk_index',
    'modality',
    'hash',
    'text',
    'metadata',
    'updated_at',
    'bucket',
    'vector',
  ];
  const rows = [];
  const parts = 64;
  for (let i = 0; i < parts; i++) {
    const [lo, hi] = [(2 ** 48 / parts) * i, (2 ** 48 / parts) * (i + 1)];
    const res = await client.query({
      collection_name: 'bench_chunks',
      filter: `bucket >= ${lo} and bucket < ${hi}`,
      output_fields: fields,
      limit: 16384,
      consistency_level: 'Strong',
    });
    rows.push(...res.data);
  }
  if (rows.length !== full.chunks.upserted) throw new Error(`read back ${rows.length} rows, indexed ${full.chunks.upserted}`);
  const { fingerprint } = await client.describeCollection({ collection_name: 'bench_chunks' }).then((d) => ({
    fingerprint: JSON.parse(d.properties.find((p) => p.key === 'ragsync.fingerprint').value),
  }));
  const twin = milvusStore({ address: server.address, collection: 'raw', partitionKey: false, timeoutMs: 60_000 });
  await twin.openLive(fingerprint);
  await twin.close();
  const t0 = performance.now();
  for (let i = 0; i < rows.length; i += batch) {
    const res = await client.upsert({ collection_name: 'raw_chunks', data: rows.slice(i, i + batch) });
    if (res.status.error_code !== 'Success') throw new Error(res.status.reason);
  }
  const rawMs = performance.now() - t0;
  await client.closeConnection();

  const ours = full.chunks.upserted / (full.durationMs / 1000);
  const raw = rows.length / (rawMs / 1000);
  const commit = execSync('git rev-parse --short HEAD', { cwd: root }).toString().trim();
  const machine = `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  const table = [
    '| measure | value |',
    '|---|---|',
    `| files / chunks | ${files} / ${full.chunks.upserted} |`,
    `| ragsync index into Milvus Lite, chunks/s | ${Math.round(ours)} (${(full.durationMs / 1000).toFixed(1)} s) |`,
    `| raw SDK upsert of the same ${rows.length} rows, batches of ${batch}, chunks/s | ${Math.round(raw)} (${(rawMs / 1000).toFixed(1)} s) |`,
    `| ratio ragsync / raw | ${(ours / raw).toFixed(2)} |`,
    `| no-op re-index, s | ${(noop.durationMs / 1000).toFixed(2)} |`,
  ].join('\n');
  const header =
    `\n## Milvus Lite throughput, ${new Date().toISOString().slice(0, 10)}, commit ${commit}\n\n` +
    `Machine: ${machine}. Command: \`node bench/milvus-throughput.mjs --files ${files}${concurrency ? ` --concurrency ${concurrency}` : ''} --batch ${batch}\`. ` +
    'Milvus Lite 3.2.2 on loopback; embedder: the tiny ONNX model.\n\n';
  console.log(header + table);
  await appendFile(path.join(root, 'bench', 'RESULTS.md'), `${header}${table}\n`);
} finally {
  await server.stop();
  await rm(work, { recursive: true, force: true });
}
