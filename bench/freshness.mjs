// Freshness: save -> searchable, with the daemon running (`ragsync watch` on a real redis-server,
// embedded LanceDB store, the fixed-cost embedder: hash vectors and a known sleep per batch).
// Edits at 10/s and 100/s, round-robin over `--files` files (100: at 100/s each file is edited once
// a second); each edit writes a unique word, and a poller in this process searches the store
// (one keyword search a round for every word it waits for) until it sees it. A word not seen
// before its file is edited again counts as not seen. `--queue local` runs the daemon without
// Redis (its in-process queue), `--queue redis` on a real redis-server.
//   node bench/freshness.mjs [--seconds 10] [--settle-ms 50] [--delay-ms 10] [--files 100] [--queue local|redis]
//     [--rates 10,100] [--profile DIR: a CPU profile of the daemon]
import { execSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { appendFile, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg } from './report.mjs';
import { startRedis } from '../scripts/redis-server.mjs';

process.env.LANCEDB_LOG ??= 'error';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { lanceDbStore } = await import(path.join(root, 'dist/sink/lancedb/index.js'));
const seconds = arg('seconds', 10);
const settleMs = arg('settle-ms', 50);
const delayMs = arg('delay-ms', 10);
const FILES = arg('files', 100);
// --rates 10,100 (the default): the edit rates measured, one row each.
const rates = process.argv.includes('--rates') ? process.argv[process.argv.indexOf('--rates') + 1].split(',').map(Number) : [10, 100];
const qi = process.argv.indexOf('--queue');
const queue = qi > 0 ? process.argv[qi + 1] : 'local';
if (queue !== 'local' && queue !== 'redis') throw new Error(`--queue local|redis, not ${queue}`);
const work = path.join(root, 'bench', '.work', 'freshness');
await rm(work, { recursive: true, force: true });
const dir = path.join(work, 'docs');
await mkdir(dir, { recursive: true });
const body = (i, word) => `# Note ${i}\n\nSome text about topic ${i}.\n\n## Latest\n\n${word}\n`;
for (let i = 0; i < FILES; i++) await writeFile(path.join(dir, `n${i}.md`), body(i, 'initial'));

const redis = queue === 'redis' ? await startRedis() : null;
const store = path.join(work, 'store');
// --profile DIR: a CPU profile of the daemon's main thread (node --cpu-prof) written there at its exit.
const profile = process.argv.includes('--profile') ? process.argv[process.argv.indexOf('--profile') + 1] : undefined;
const daemon = spawn(
  process.execPath,
  [
    ...(profile ? ['--cpu-prof', '--cpu-prof-dir', profile] : []),
    path.join(root, 'bin/ragsync.js'),
    'watch',
    dir,
    '--store',
    store,
    ...(redis ? ['--redis', redis.url] : []),
    '--embedder',
    `fixed:${delayMs}`,
    '--settle-ms',
    String(settleMs),
    '--reconcile-seconds',
    '0',
  ],
  { env: { ...process.env, LANCEDB_LOG: 'error' } },
);
let out = '';
daemon.stdout.on('data', (d) => (out += d));
daemon.stderr.on('data', (d) => (out += d));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
while (!/ragsync: watching/.test(out)) {
  if (daemon.exitCode !== null) throw new Error(out);
  await sleep(50);
}
const opened = lanceDbStore(store);
let sink = await opened.live();
while (!sink) {
  await sleep(200);
  sink = await opened.live();
}
while ((await sink.stats()).docs < FILES) await sleep(200);

// CPU seconds (user + system) of the daemon and its child processes (parse pool) so far; Linux only.
const tick = 100;
const cpuOf = (pid) => {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    return (Number(f[11]) + Number(f[12])) / tick + kids.reduce((t, k) => t + cpuOf(Number(k)), 0);
  } catch {
    return NaN;
  }
};
const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const rows = [];
for (const rate of rates) {
  // word -> when its edit started; file -> the word it holds that is not seen yet
  const pending = new Map();
  const waiting = new Map();
  const latencies = [];
  let k = 0;
  const total = rate * seconds;
  const started = Date.now();
  const cpu0 = cpuOf(daemon.pid);
  const poller = (async () => {
    while (k < total || pending.size > 0) {
      if (pending.size > 0) {
        const words = [...pending.keys()];
        const hits = await sink.search({ mode: 'keyword', k: 2 * words.length, text: words.join(' ') });
        const now = Date.now();
        const texts = hits.map((h) => h.text).join('\n');
        for (const word of words) {
          if (!pending.has(word) || !texts.includes(word)) continue;
          latencies.push(now - pending.get(word));
          pending.delete(word);
        }
        for (const [word, t0] of pending) if (now - t0 > 30_000) pending.delete(word);
      }
      if (Date.now() - started > (seconds + 60) * 1000) break;
      await sleep(10);
    }
  })();
  while (k < total) {
    const word = `fresh${rate}q${k.toString(36)}z`;
    const file = k % FILES;
    // Edited again before its word was seen: that word counts as not seen.
    pending.delete(waiting.get(file));
    const t0 = Date.now();
    await writeFile(path.join(dir, `n${file}.md`), body(file, word));
    pending.set(word, t0);
    waiting.set(file, word);
    k++;
    const next = started + (k * 1000) / rate;
    await sleep(Math.max(0, next - Date.now()));
  }
  await poller;
  const cpu = cpuOf(daemon.pid) - cpu0;
  latencies.sort((a, b) => a - b);
  const files = Math.min(FILES, total);
  rows.push({
    rate,
    files,
    edits: total,
    seen: latencies.length,
    p50: pct(latencies, 50),
    p95: pct(latencies, 95),
    p99: pct(latencies, 99),
    cpu,
  });
}
daemon.kill('SIGTERM');
await new Promise((r) => daemon.once('exit', r));
await opened.close();
await redis?.stop();

const commit = execSync('git rev-parse --short HEAD', { cwd: root }).toString().trim();
const machine = `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
const table = [
  '| edits/s | files | edits | seen | p50 ms | p95 ms | p99 ms | settle ms | queue | daemon CPU s |',
  '|---|---|---|---|---|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.rate} | ${r.files} | ${r.edits} | ${r.seen} | ${r.p50} | ${r.p95} | ${r.p99} | ${settleMs} | ${queue} | ${Number.isNaN(r.cpu) ? '' : r.cpu.toFixed(1)} |`,
  ),
].join('\n');
const header =
  `\n## Freshness (save -> searchable), ${new Date().toISOString().slice(0, 10)}, commit ${commit}\n\n` +
  `Machine: ${machine}. Command: \`node bench/freshness.mjs --seconds ${seconds} --settle-ms ${settleMs} --delay-ms ${delayMs} --files ${FILES} --queue ${queue}\`. ` +
  `Daemon: \`ragsync watch\`, in-process worker (default concurrency), ${redis ? 'real redis-server' : 'local queue (no Redis)'}, LanceDB store, fixed-cost embedder (${delayMs} ms per batch), ` +
  `write-settle ${settleMs} ms (included in the figures), ${FILES} files edited round-robin; latency = write start -> a keyword search in another process sees the new word ` +
  `(one search a round for all the words awaited). A word not seen before its file is edited again counts as not seen. Daemon CPU: user + system seconds of the daemon and its parse processes during the row, load average ${os.loadavg()[0].toFixed(1)} at the end.\n\n`;
console.log(header + table);
await appendFile(path.join(root, 'bench', 'RESULTS.md'), `${header}${table}\n`);
await rm(work, { recursive: true, force: true });
