// ragsync side by side with the tools a user would otherwise pick: LangChain.js's indexing API
// (`index()` + SQLite record manager + LangChain's Milvus store, see bench/peer/), on the same
// Milvus server, and CocoIndex (Python: its incremental `update` into SQLite with sqlite-vec, see
// bench/cocoindex/), on the same generated corpus and the same fixed-cost embedder (hash-derived
// vectors, a known sleep per batch of 16), so the figures measure the pipelines, not a model.
//   npm run bench                      # short: 1 000 files
//   npm run bench -- --full            # 10 000 files, and 100 000 small files for memory
//   node bench/compare.mjs [--files N] [--delay-ms 10] [--concurrency N (default: ragsync's own)]
// Prints one table and appends it, with date, commit and machine, to bench/RESULTS.md.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeCorpus } from './corpus.mjs';
import { arg, report } from './report.mjs';
import { startMilvusLite } from '../scripts/milvus-lite.mjs';

process.env.LANCEDB_LOG ??= 'error';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const peerDir = path.join(root, 'bench', 'peer');
if (!existsSync(path.join(peerDir, 'node_modules', '@langchain', 'core'))) {
  console.error('bench: installing the LangChain.js peer into bench/peer (once)');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: peerDir, stdio: 'inherit' });
}
const { openLangChain, FixedCostEmbeddings } = await import('./peer/langchain.mjs');
const { openCocoIndex } = await import('./cocoindex/cocoindex.mjs');
const { indexDirectory } = await import(path.join(root, 'dist/app/index.js'));
const { resolveConfig } = await import(path.join(root, 'dist/config/index.js'));
const { milvusStore } = await import(path.join(root, 'dist/sink/milvus/index.js'));
const { lanceDbStore } = await import(path.join(root, 'dist/sink/lancedb/index.js'));
const { MilvusClient } = await import('@zilliz/milvus2-sdk-node');

const full = process.argv.includes('--full');
const files = arg('files', full ? 10_000 : 1000);
const delayMs = arg('delay-ms', 10);
const concurrency = arg('concurrency', undefined);
const work = path.join(root, 'bench', '.work-compare');
const corpus = path.join(work, 'corpus');
await rm(work, { recursive: true, force: true });
await mkdir(work, { recursive: true });
const paths = await writeCorpus(root, corpus, files, 42, { mixed: true });
const markdown = paths.filter((p) => p.endsWith('.md'));

const server = await startMilvusLite({ dataDir: path.join(work, 'milvus') });
const client = new MilvusClient({ address: server.address, logLevel: 'error' });
const secs = (ms) => (ms / 1000).toFixed(2);
const rows = [];
let cocoVersion;
try {
  // ragsync
  const milvus = { kind: 'milvus', address: server.address };
  const config = resolveConfig({
    flags: { sink: { ...milvus, collection: 'rs' }, embedder: { kind: 'fixed', dim: 64, delayMs }, concurrency },
  });
  const rsFull = await indexDirectory(config, corpus);
  const rsRate = rsFull.chunks.upserted / (rsFull.durationMs / 1000);
  const rsNoop = await indexDirectory(config, corpus);

  // The same no-op on the embedded store: a full index into LanceDB, then the timed second pass.
  const lance = resolveConfig({
    flags: { sink: { path: path.join(work, 'noop-store') }, embedder: { kind: 'fixed', dim: 64, delayMs }, concurrency },
  });
  await indexDirectory(lance, corpus);
  const lanceNoop = await indexDirectory(lance, corpus);

  // The sink's limit: the same corpus with a free embedder (0 ms), then a raw batched upsert of
  // the very rows it wrote, into a twin collection of the same sink.
  const free = resolveConfig({
    flags: { sink: { ...milvus, collection: 'rs0' }, embedder: { kind: 'fixed', dim: 64, delayMs: 0 }, concurrency },
  });
  const rsFree = await indexDirectory(free, corpus);
  const freeRate = rsFree.chunks.upserted / (rsFree.durationMs / 1000);
  const { rate: raw, meanChars } = await rawUpsert(rsFree.chunks.upserted);

  // LangChain.js, its splitter sized so that it makes about as many chunks as ragsync.
  const chunkChars = Math.round(meanChars * 1.25);
  const embeddings = new FixedCostEmbeddings({ dim: 64, delayMs, batchSize: 16 });
  const lc = await openLangChain({
    address: server.address,
    collection: 'lc',
    recordDb: path.join(work, 'records.db'),
    embeddings,
    chunkChars,
  });
  let t = performance.now();
  const lcFull = await lc.indexFolder(corpus);
  const lcFullMs = performance.now() - t;
  t = performance.now();
  const lcNoop = await lc.indexFolder(corpus);
  const lcNoopMs = performance.now() - t;
  if (rsNoop.embeddings.computed !== 0 || rsNoop.chunks.upserted !== 0)
    throw new Error(`ragsync's no-op pass wrote something: ${JSON.stringify(rsNoop)}`);

  // CocoIndex, its splitter sized like LangChain's (the corpus is ASCII: its bytes are characters).
  const coco = openCocoIndex({
    corpus,
    state: path.join(work, 'cocoindex-state'),
    db: path.join(work, 'cocoindex.db'),
    delayMs,
    chunkBytes: chunkChars,
  });
  const ccFull = coco.update();
  const ccNoop = coco.update();

  // Edit churn: the same scripted edits, then one pass of each tool.
  const before = await hashes('rs_chunks');
  const edits = await churn(markdown);
  const rsChurn = await indexDirectory(config, corpus);
  const after = await hashes('rs_chunks');
  const newContent = [...after].filter((h) => !before.has(h)).length;
  const lcComputed = embeddings.computed;
  const lcChurn = await lc.indexFolder(corpus);
  const lcChurnEmbedded = embeddings.computed - lcComputed;
  const ccChurn = coco.update();
  const timesRagsync = (ms) => `**${(ms / rsNoop.durationMs).toFixed(1)}x**`;

  if (lanceNoop.embeddings.computed !== 0 || lanceNoop.chunks.upserted !== 0)
    throw new Error(`ragsync's LanceDB no-op pass wrote something: ${JSON.stringify(lanceNoop)}`);
  if (ccNoop.embedded !== 0 || ccNoop.rowsWritten !== 0)
    throw new Error(`CocoIndex's no-op pass wrote something: ${JSON.stringify(ccNoop)}`);
  cocoVersion = ccFull.version;
  rows.push(
    [
      'corpus',
      `${files} files: ${markdown.length} Markdown, ${paths.length - markdown.length} PDFs and PNGs (ragsync only: LangChain's index() and CocoIndex's flow here take the Markdown); ` +
        `ragsync ${rsFull.chunks.upserted} chunks (heading sections, ${config.concurrency} documents in flight), LangChain ${lcFull.numAdded} (MarkdownTextSplitter, ${chunkChars} characters), ` +
        `CocoIndex ${ccFull.rows} (RecursiveSplitter, markdown, ${chunkChars} bytes; ${(ccFull.embedded / ccFull.batches).toFixed(1)} texts per embedding batch)`,
    ],
    [
      'Milvus: full index with a free embedder, chunks/s: ragsync / raw batched upsert of the same rows',
      `${Math.round(freeRate)} / ${Math.round(raw)} = **${(freeRate / raw).toFixed(2)}**`,
    ],
    ['full index, s: ragsync / LangChain / CocoIndex', `${secs(rsFull.durationMs)} / ${secs(lcFullMs)} / ${secs(ccFull.ms)}`],
    [
      'full index, chunks/s: ragsync / LangChain / CocoIndex',
      `${Math.round(rsRate)} / ${Math.round(lcFull.numAdded / (lcFullMs / 1000))} / ${Math.round(ccFull.rows / (ccFull.ms / 1000))}`,
    ],
    [
      `no-op re-index of ${files} files, s: ragsync / LangChain / CocoIndex`,
      `${secs(rsNoop.durationMs)} / ${secs(lcNoopMs)} / ${secs(ccNoop.ms)} (LangChain ${timesRagsync(lcNoopMs)}, CocoIndex ${timesRagsync(ccNoop.ms)} ragsync's time)`,
    ],
    [`no-op re-index of ${files} files into LanceDB, s (ragsync)`, secs(lanceNoop.durationMs)],
    [
      'no-op re-index: chunks embedded + rows written, ragsync / LangChain / CocoIndex',
      `0 + 0 / ${lcNoop.numAdded} + ${lcNoop.numAdded + lcNoop.numDeleted} / ${ccNoop.embedded} + ${ccNoop.rowsWritten}`,
    ],
    [
      `edit churn (${edits}): embeddings computed, ragsync / LangChain / CocoIndex`,
      `${rsChurn.embeddings.computed} / ${lcChurnEmbedded} / ${ccChurn.embedded}`,
    ],
    [
      'edit churn: rows written (upserted + deleted), ragsync / LangChain / CocoIndex',
      `${rsChurn.chunks.upserted + rsChurn.chunks.deleted} / ${lcChurn.numAdded + lcChurn.numDeleted} / ${ccChurn.rowsWritten}`,
    ],
    [
      'edit churn: ragsync embeddings computed / chunks with new content',
      `${rsChurn.embeddings.computed} / ${newContent} = **${newContent ? (rsChurn.embeddings.computed / newContent).toFixed(2) : 'n/a'}**`,
    ],
  );
} finally {
  await client.closeConnection();
  await server.stop();
}

// The same limit on the embedded store: a free embedder into LanceDB, then a raw batched upsert
// (merge-insert on id, 1 000 rows a commit) of the same rows into a twin table.
{
  const store = path.join(work, 'free-store');
  const free = resolveConfig({ flags: { sink: { path: store }, embedder: { kind: 'fixed', dim: 64, delayMs: 0 }, concurrency } });
  const run = await indexDirectory(free, corpus);
  const rate = run.chunks.upserted / (run.durationMs / 1000);
  const raw = await rawLanceUpsert(store, run.chunks.upserted);
  rows.push([
    'LanceDB: full index with a free embedder, chunks/s: ragsync / raw batched upsert of the same rows',
    `${Math.round(rate)} / ${Math.round(raw)} = **${(rate / raw).toFixed(2)}**`,
  ]);
}

// The real model-loading path: the same corpus, the tiny ONNX model through the Jina CLIP code, LanceDB.
{
  const tiny = resolveConfig({
    flags: {
      sink: { path: path.join(work, 'tiny-store') },
      embedder: { modelDir: path.join(root, 'test/fixtures/tiny-clip') },
      concurrency,
    },
  });
  const run = await indexDirectory(tiny, corpus);
  rows.push([
    'full index with the tiny ONNX model (Jina CLIP path) into LanceDB, chunks/s',
    `${Math.round(run.chunks.upserted / (run.durationMs / 1000))} (${run.chunks.upserted} chunks, ${secs(run.durationMs)} s)`,
  ]);
}

if (full) {
  const small = await memoryRun(100_000);
  rows.push(['100 000 small files into LanceDB: wall s / peak RSS MB (ragsync)', `${secs(small.durationMs)} / **${small.rssMb}**`]);
}
const fresh = freshness();
rows.push(['daemon freshness at 10 edits/s, save -> searchable (LanceDB, settle 50 ms): p50 / p99 ms', `${fresh.p50} / ${fresh.p99}`]);
const startup = startupTimes();
if (startup) rows.push(['start-up ms / RSS MB (bench/startup.mjs)', startup]);

await report(
  root,
  'ragsync vs LangChain.js',
  `Command: \`node bench/compare.mjs --files ${files}${full ? ' --full' : ''} --delay-ms ${delayMs}${concurrency ? ` --concurrency ${concurrency}` : ''}\`. ` +
    `Store: Milvus Lite (ragsync and LangChain.js); CocoIndex writes SQLite, not Milvus (the store differs: an SQLite table with a sqlite-vec float[64] column). ` +
    `Embedder: fixed cost, ${delayMs} ms per batch of 16, 64-d; LangChain.js: @langchain/core 1.4 \`index()\`, ` +
    'cleanup "incremental", SQLiteRecordManager, @langchain/community Milvus store; ' +
    `CocoIndex ${cocoVersion} (Python): one \`app.update()\` per pass in a fresh process (its time: the update, without Python's start-up), ` +
    'its state in LMDB, memoized per-file components and per-chunk embeddings (as its SentenceTransformerEmbedder), batching by CocoIndex (up to 16).',
  rows,
);
await rm(work, { recursive: true, force: true });

/** Reads back every row ragsync wrote with the free embedder and upserts it raw, in batches of 1 000, into a twin collection: rows/s. */
async function rawUpsert(expected) {
  // Every stored field of the schema (the BM25 function computes `sparse` from the text).
  const desc = await client.describeCollection({ collection_name: 'rs0_chunks' });
  const fields = desc.schema.fields.filter((f) => !f.is_function_output).map((f) => f.name);
  const data = await queryAll('rs0_chunks', fields);
  if (data.length !== expected) throw new Error(`read back ${data.length} rows, indexed ${expected}`);
  const text = data.filter((r) => r.modality === 'text');
  const meanChars = text.reduce((n, r) => n + r.text.length, 0) / text.length;
  const fingerprint = JSON.parse(desc.properties.find((p) => p.key === 'ragsync.fingerprint').value);
  const twin = milvusStore({ address: server.address, collection: 'raw', partitionKey: false, timeoutMs: 60_000 });
  await twin.openLive(fingerprint);
  await twin.close();
  const t0 = performance.now();
  for (let i = 0; i < data.length; i += 1000) {
    const res = await client.upsert({ collection_name: 'raw_chunks', data: data.slice(i, i + 1000) });
    if (res.status.error_code !== 'Success') throw new Error(res.status.reason);
  }
  return { rate: data.length / ((performance.now() - t0) / 1000), meanChars };
}

/** Reads back every row of a ragsync LanceDB store and merge-inserts it, 1 000 rows a commit, into a twin store: rows/s. */
async function rawLanceUpsert(store, expected) {
  const lancedb = await import('@lancedb/lancedb');
  const manifest = JSON.parse(await readFile(path.join(store, 'ragsync.json'), 'utf8'));
  const db = await lancedb.connect(store);
  const source = await db.openTable(`chunks_${manifest.live}`);
  const data = await source.query().toArrow();
  if (data.numRows !== expected) throw new Error(`read back ${data.numRows} rows, indexed ${expected}`);
  const twinStore = path.join(work, 'raw-store');
  const twin = lanceDbStore(twinStore);
  await twin.openLive(manifest.collections[manifest.live].fingerprint);
  await twin.close();
  const tdb = await lancedb.connect(twinStore);
  const table = await tdb.openTable(`chunks_${manifest.live}`);
  const t0 = performance.now();
  for (let i = 0; i < data.numRows; i += 1000) {
    await table
      .mergeInsert('id')
      .whenMatchedUpdateAll()
      .whenNotMatchedInsertAll()
      .execute(data.slice(i, i + 1000));
  }
  const rate = data.numRows / ((performance.now() - t0) / 1000);
  for (const c of [source, table, db, tdb]) c.close();
  return rate;
}

async function queryAll(collection, fields) {
  const out = [];
  const parts = 64;
  for (let i = 0; i < parts; i++) {
    const [lo, hi] = [(2 ** 48 / parts) * i, (2 ** 48 / parts) * (i + 1)];
    const res = await client.query({
      collection_name: collection,
      filter: `bucket >= ${lo} and bucket < ${hi}`,
      output_fields: fields,
      limit: 16384,
      consistency_level: 'Strong',
    });
    out.push(...res.data);
  }
  return out;
}

async function hashes(collection) {
  return new Set((await queryAll(collection, ['hash'])).map((r) => r.hash));
}

/**
 * Realistic edits, five of each kind on different files: a paragraph inserted at the top of a
 * section, a word fixed, two sections swapped, a file renamed, a file deleted.
 */
async function churn(all) {
  const pick = (k) => all.slice(10 * k, 10 * k + 5);
  for (const p of pick(1))
    await edit(p, (s) => s.replace(/\n## ([^\n]+)\n\n/, '\n## $1\n\nA new opening paragraph, written today, about the section below.\n\n'));
  for (const p of pick(2)) await edit(p, (s) => s.replace(/\b([a-z]{4,})\b/, '$1s'));
  for (const p of pick(3)) {
    await edit(p, (s) => {
      const parts = s.split(/\n(?=## )/);
      if (parts.length < 3) return s;
      [parts[1], parts[2]] = [parts[2], parts[1]];
      return parts.join('\n');
    });
  }
  for (const p of pick(4)) await rename(path.join(corpus, p), path.join(corpus, p.replace('.md', '-renamed.md')));
  for (const p of pick(5)) await rm(path.join(corpus, p));
  return '5 inserted paragraphs, 5 fixed words, 5 moved sections, 5 renames, 5 deletions';
}

async function edit(p, fn) {
  const file = path.join(corpus, p);
  await writeFile(file, fn(await readFile(file, 'utf8')));
}

/** Indexes `n` small files into LanceDB in a child process (its own peak RSS). */
async function memoryRun(n) {
  const dir = path.join(work, 'small');
  for (let i = 0; i < n; i++) {
    const sub = path.join(dir, `d${String(Math.floor(i / 1000)).padStart(3, '0')}`);
    if (i % 1000 === 0) await mkdir(sub, { recursive: true });
    await writeFile(path.join(sub, `n${i}.md`), `# Note ${i}\n\nA short note, number ${i}, about nothing much.\n`);
  }
  const child = spawn(
    process.execPath,
    [path.join(root, 'bench', 'index-child.mjs'), dir, path.join(work, 'small-store'), String(delayMs)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  await new Promise((resolve) => child.on('exit', resolve));
  return JSON.parse(out);
}

/** Start-up of the CLI's commands from bench/startup.mjs, when that bench exists: `--version 80/45, status 120/60, ...` (ms/MB). */
function startupTimes() {
  const script = path.join(root, 'bench', 'startup.mjs');
  if (!existsSync(script)) return undefined;
  const out = execFileSync(process.execPath, [script, '--json'], { encoding: 'utf8' });
  return JSON.parse(out)
    .map((r) => `${r.command} ${Math.round(r.ms)}/${Math.round(r.rssMb)}`)
    .join(', ');
}

/** The daemon's freshness at 10 edits/s (bench/freshness.mjs, 10 s), read from its table. */
function freshness() {
  const out = execFileSync(
    process.execPath,
    [path.join(root, 'bench', 'freshness.mjs'), '--seconds', '10', '--settle-ms', '50', '--delay-ms', String(delayMs)],
    {
      encoding: 'utf8',
    },
  );
  const row = out.split('\n').find((l) => l.startsWith('| 10 |'));
  const cells = row.split('|').map((c) => c.trim());
  return { p50: cells[4], p99: cells[6] };
}
