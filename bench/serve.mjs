// Search latency through `ragsync serve` (issue 19): one server process, the store opened and the
// model loaded once, answering `GET /api/search` one client at a time (p50, p99, mean, max over
// --queries queries, each mode), then 8 clients at once (queries/s), against a `ragsync search
// --json` process per query (the same queries, the first --process-queries of them). Two stores,
// both indexed with the tiny model (test/fixtures/tiny-clip): the README's sample corpus
// (examples/corpus) and a generated --files-file Markdown corpus (bench/corpus.mjs, seed 42),
// kept between runs under --cache (--rebuild indexes it again). Queries are 1 to 3 words drawn
// from the corpus's own text, seeded, all distinct; the first query of each mode (store open,
// model load) is reported apart, outside the percentiles.
// Usage: npm run build && node bench/serve.mjs [--queries 1000] [--process-queries 100] [--full]
//   [--files 10000] [--modes keyword,hybrid,dense] [--stores sample,large] [--clients 8] [--cache DIR] [--rebuild]
//   [--bin path/to/bin/ragsync.js] [--json]
// --full runs 1 000 search processes per store and mode (about 8 min each); --json prints
// [{"store", "mode", "serve": {...}, "clients": {...}, "process": {...}}] on stdout, else Markdown.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { rng, writeCorpus } from './corpus.mjs';
import { commit, machine } from './report.mjs';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { values } = parseArgs({
  options: {
    queries: { type: 'string', default: '1000' },
    'process-queries': { type: 'string' },
    full: { type: 'boolean', default: false },
    files: { type: 'string', default: '10000' },
    modes: { type: 'string', default: 'keyword,hybrid,dense' },
    stores: { type: 'string', default: 'sample,large' },
    clients: { type: 'string', default: '8' },
    cache: { type: 'string', default: path.join(os.tmpdir(), 'ragsync-bench-serve') },
    rebuild: { type: 'boolean', default: false },
    bin: { type: 'string', default: path.join(ROOT, 'bin/ragsync.js') },
    json: { type: 'boolean', default: false },
  },
});
const nQueries = Number(values.queries);
const nProcess = Number(values['process-queries'] ?? (values.full ? nQueries : 100));
const files = Number(values.files);
const modes = values.modes.split(',');
const clients = Number(values.clients);
const bin = path.resolve(values.bin);
const modelDir = path.join(ROOT, 'test/fixtures/tiny-clip');
const env = { ...process.env, RAGSYNC_LOG_LEVEL: 'error', LANCEDB_LOG: 'error' };
const log = (m) => process.stderr.write(`bench: ${m}\n`);

/** Indexes `dir` into `store` with the tiny model through the CLI; the summary's chunk count and the wall seconds. */
function index(dir, store) {
  const t0 = performance.now();
  const out = execFileSync(process.execPath, [bin, 'index', dir, '--store', store, '--model-dir', modelDir, '--json'], {
    env,
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return { chunks: JSON.parse(out).chunks.upserted, seconds: (performance.now() - t0) / 1000 };
}

/** The generated store, built once and kept under --cache (its `ready.json` says it is complete). */
async function largeStore() {
  const dir = path.join(values.cache, `files-${files}-seed-42`);
  const ready = path.join(dir, 'ready.json');
  if (values.rebuild || !existsSync(ready)) {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    log(`generating ${files} files and indexing them once into ${dir} (kept for the next runs)`);
    await writeCorpus(ROOT, path.join(dir, 'corpus'), files, 42);
    const run = index(path.join(dir, 'corpus'), path.join(dir, 'store'));
    await writeFile(ready, JSON.stringify({ ...run, at: new Date().toISOString(), commit: commit(ROOT) }));
  }
  const meta = JSON.parse(readFileSync(ready, 'utf8'));
  return { name: `${files} files (generated)`, corpus: path.join(dir, 'corpus'), store: path.join(dir, 'store'), ...meta };
}

async function sampleStore(work) {
  const corpus = path.join(ROOT, 'examples/corpus');
  const store = path.join(work, 'sample-store');
  return { name: 'sample (examples/corpus)', corpus, store, ...index(corpus, store) };
}

/** Every Markdown and text file under `dir`, sorted (the walk's order does not change the queries). */
function textFiles(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...textFiles(p));
    else if (/\.(md|txt)$/.test(e.name)) out.push(p);
  }
  return out.sort();
}

/** `n` distinct queries of 1 to 3 words of 4+ letters drawn (seeded) from the corpus's first 500 text files. */
function queries(corpus, n, seed) {
  const words = new Set();
  for (const f of textFiles(corpus).slice(0, 500))
    for (const w of readFileSync(f, 'utf8')
      .toLowerCase()
      .match(/[a-z]{4,}/g) ?? [])
      words.add(w);
  const list = [...words].sort();
  const rand = rng(seed);
  const out = new Set();
  for (let tries = 0; out.size < n && tries < n * 100; tries++) {
    const len = 1 + Math.floor(rand() * 3);
    out.add(Array.from({ length: len }, () => list[Math.floor(rand() * list.length)]).join(' '));
  }
  if (out.size < n) throw new Error(`only ${out.size} distinct queries from ${list.length} words`);
  return [...out];
}

/** `ragsync serve --port 0` on the store; resolves once it prints its URL. */
function startServe(store) {
  const t0 = performance.now();
  const child = spawn(process.execPath, [bin, 'serve', '--store', store, '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const server = { child, exited: null, killed: false };
  server.gone = new Promise((resolve) => child.once('exit', resolve));
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => {
    err += d;
    if (/SIG(TERM|INT): stopping/.test(err) && !server.stopping) server.killed = true;
  });
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const m = /serving (http:\/\/\S+)/.exec(out);
      if (m) resolve(Object.assign(server, { url: m[1], readyMs: performance.now() - t0 }));
    });
    child.on('exit', (code, signal) => {
      server.exited = `serve exited ${code ?? signal}: ${err.trim()}`;
      server.killed ||= signal !== null || [130, 137, 143].includes(code);
      reject(new Error(server.exited));
    });
  });
}

async function stopServe(server) {
  if (server.exited) return;
  server.stopping = true;
  server.child.kill('SIGTERM');
  await server.gone;
}

function rssMb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

/** One `GET /api/search`: the wall ms seen by the client, the server's own tookMs, the hit IDs. */
async function ask(server, mode, q) {
  const t0 = performance.now();
  const res = await fetch(`${server.url}/api/search?${new URLSearchParams({ q, mode })}`).catch((err) => {
    throw new Error(`${mode} ${JSON.stringify(q)}: ${err.cause?.message ?? err.message}; ${server.exited ?? 'serve still running'}`);
  });
  const body = await res.json();
  const ms = performance.now() - t0;
  if (!res.ok) throw new Error(`${res.status} for ${mode} ${JSON.stringify(q)}: ${JSON.stringify(body)}`);
  return { ms, tookMs: body.tookMs, ids: body.hits.map((h) => h.id) };
}

/** One `ragsync search --json` process: its wall ms and hit IDs. */
function askProcess(store, mode, q) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [bin, 'search', '--store', store, '--mode', mode, '--json', q], {
    env,
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`search ${mode} ${JSON.stringify(q)} exited ${r.status}: ${r.stderr}`);
  return { ms, ids: JSON.parse(r.stdout).map((h) => h.id) };
}

/** p50, p99 (nearest rank), mean and max of a list of ms. */
function stats(ms) {
  const s = [...ms].sort((a, b) => a - b);
  const rank = (p) => s[Math.max(0, Math.ceil(p * s.length) - 1)];
  return { n: s.length, p50: rank(0.5), p99: rank(0.99), mean: s.reduce((a, b) => a + b, 0) / s.length, max: s.at(-1) };
}

/** `clients` clients at once, each taking the next query until none is left: queries/s and the latency under that load. */
async function concurrent(server, mode, list) {
  let next = 0;
  const ms = [];
  const t0 = performance.now();
  const worker = async () => {
    while (next < list.length) ms.push((await ask(server, mode, list[next++])).ms);
  };
  await Promise.all(Array.from({ length: clients }, worker));
  const wall = (performance.now() - t0) / 1000;
  return { clients, qps: list.length / wall, ...stats(ms) };
}

/** Every mode through one serve process, then the same queries as search processes (serve stopped by then: no idle keep-alive socket, no server beside them). */
/** One mode through the server: the first query apart, the rest one at a time, then other queries from `clients` clients at once. */
async function serveMode(server, mode, warm, list, other) {
  const first = await ask(server, mode, warm);
  const answers = [];
  for (const q of list) answers.push(await ask(server, mode, q));
  const serve = { ...stats(answers.map((a) => a.ms)), firstMs: first.ms, serverTookP50: stats(answers.map((a) => a.tookMs)).p50 };
  serve.empty = answers.filter((a) => a.ids.length === 0).length;
  return { mode, serve, clients: await concurrent(server, mode, other), answers };
}

/**
 * Every mode through one serve process, then the same queries as search processes (serve stopped
 * by then: no idle keep-alive socket, no server beside them). A server killed by a signal this
 * bench did not send (another process on the machine) is started again and the mode run again,
 * at most twice; the table says how many times.
 */
async function measure(store) {
  const [warm, ...list] = queries(store.corpus, nQueries + 1, 19);
  const other = queries(store.corpus, nQueries * 2, 1019)
    .filter((q) => !list.includes(q) && q !== warm)
    .slice(0, nQueries);
  let server = await startServe(store.store);
  const rows = [];
  let restarts = 0;
  try {
    for (const mode of modes) {
      log(`${store.name}, ${mode}: ${list.length} queries through serve, then ${other.length} with ${clients} clients`);
      for (;;) {
        try {
          rows.push({ store: store.name, chunks: store.chunks, ...(await serveMode(server, mode, warm, list, other)) });
          break;
        } catch (err) {
          if (!server.killed || restarts === 2) throw err;
          restarts++;
          log(`serve (pid ${server.child.pid}) killed from outside: starting it again and running ${mode} again`);
          server = await startServe(store.store);
        }
      }
    }
    for (const r of rows) Object.assign(r, { serveRssMb: rssMb(server.child.pid), serveReadyMs: server.readyMs, serveRestarts: restarts });
  } finally {
    await stopServe(server);
  }
  for (const r of rows) {
    log(`${store.name}, ${r.mode}: ${nProcess} search processes`);
    const procs = list.slice(0, nProcess).map((q) => askProcess(store.store, r.mode, q));
    const same = procs.filter((p, i) => p.ids.join() === r.answers[i].ids.join()).length;
    r.process = nProcess ? { ...stats(procs.map((p) => p.ms)), sameHits: same } : null;
    delete r.answers;
    log(JSON.stringify(r));
  }
  return rows;
}

const loadBefore = os.loadavg();
const work = path.join(os.tmpdir(), `ragsync-bench-serve-${process.pid}`);
await mkdir(work, { recursive: true });
const results = [];
let large;
try {
  const wanted = values.stores.split(',');
  large = await largeStore();
  const stores = [...(wanted.includes('sample') ? [await sampleStore(work)] : []), ...(wanted.includes('large') ? [large] : [])];
  for (const store of stores) results.push(...(await measure(store)));
} finally {
  await rm(work, { recursive: true, force: true });
}
const loadAfter = os.loadavg();

const f = (n) => (Number.isFinite(n) ? (n < 10 ? n.toFixed(1) : String(Math.round(n))) : '–');
if (values.json) process.stdout.write(`${JSON.stringify({ loadBefore, loadAfter, results })}\n`);
else {
  const lines = [
    '| store (chunks) | mode | serve p50 / p99 / mean / max ms | first query ms | ' +
      `${clients} clients q/s (p50 / p99 ms) | search processes | process p50 / p99 / mean / max ms | same hits | p50 process / serve |`,
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of results) {
    const s = r.serve;
    const c = r.clients;
    const p = r.process;
    lines.push(
      `| ${r.store} (${r.chunks}) | ${r.mode} | ${f(s.p50)} / ${f(s.p99)} / ${f(s.mean)} / ${f(s.max)} | ${f(s.firstMs)} | ` +
        `${f(c.qps)} (${f(c.p50)} / ${f(c.p99)}) | ${p ? p.n : 0} | ` +
        (p ? `${f(p.p50)} / ${f(p.p99)} / ${f(p.mean)} / ${f(p.max)} | ${p.sameHits}/${p.n} | **${f(p.p50 / s.p50)}x** |` : '– | – | – |'),
    );
  }
  const byStore = [...new Map(results.map((r) => [r.store, r])).values()];
  const la = (l) => l.map((x) => x.toFixed(2)).join(' ');
  process.stdout.write(
    `${lines.join('\n')}\n\n` +
      `${nQueries} queries per mode through serve (one client, keep-alive fetch; the first query of each mode apart), ` +
      `${nQueries} other queries with ${clients} clients, the first ${nProcess} of the same queries as search processes. ` +
      byStore
        .map(
          (r) =>
            `${r.store}: serve ready in ${f(r.serveReadyMs)} ms, RSS ${r.serveRssMb} MB at the end` +
            (r.serveRestarts ? `, killed from outside and started again ${r.serveRestarts} time(s)` : ''),
        )
        .join('; ') +
      `. ${files}-file store indexed ${large.at} at ${large.commit} in ${large.seconds.toFixed(1)} s. ` +
      `Machine: ${machine()}, commit ${commit(ROOT)}, load average ${la(loadBefore)} before, ${la(loadAfter)} after.\n`,
  );
}
