// Issue 15 acceptance at the default parse limits (60 s, 512 MB): `ragsync index` over a
// decompression-bomb PDF (4 GiB of zeros behind two Flate filters), a 16 000 x 16 000 PNG, a
// 50 MB one-line text, Markdown with a 1 MB data URI and ordinary files, after an earlier pass
// whose file was deleted since. Measures the wall time and the peak resident set of the whole
// process tree (the CLI and its parse children, summed, polled every 100 ms).
//   npm run build && node bench/hostile.mjs
// Prints one table and appends it, with date, commit and machine, to bench/RESULTS.md.
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { report } from './report.mjs';
import { writeBombPdf, writeDataUriMarkdown, writeHugePng, writeLongLine } from '../scripts/hostile-files.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'ragsync.js');
const model = path.join(root, 'test', 'fixtures', 'tiny-clip');
const dir = await mkdtemp(path.join(os.tmpdir(), 'ragsync-hostile-'));
const docs = path.join(dir, 'docs');
const store = ['--store', path.join(dir, 'store'), '--model-dir', model];
/** Extra flags for the measured pass (e.g. `-- --parse-workers 1`), after `--`. */
const extra = process.argv.includes('--') ? process.argv.slice(process.argv.indexOf('--') + 1) : [];

/** Resident bytes of `pid` and all its descendants (Linux /proc). */
async function treeRss(pid) {
  const parents = new Map();
  for (const p of await readdir('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    const stat = await readFile(`/proc/${p}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid) parents.set(Number(p), ppid);
  }
  const inTree = (p) => p === pid || (parents.has(p) && p !== 1 && inTree(parents.get(p)));
  let total = 0;
  let count = 0;
  let own = 0;
  for (const p of parents.keys()) {
    if (!inTree(p)) continue;
    const status = await readFile(`/proc/${p}/status`, 'utf8').catch(() => '');
    const rss = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0) * 1024;
    total += rss;
    if (p === pid) own = rss;
    count++;
  }
  return { total, count, own };
}

function run(args, poll) {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    let peak = { total: 0, count: 0 };
    let procs = 0;
    let own = 0;
    const timer = poll
      ? setInterval(async () => {
          const now = await treeRss(child.pid);
          if (now.total > peak.total) peak = now;
          procs = Math.max(procs, now.count);
          own = Math.max(own, now.own);
        }, 100)
      : null;
    child.on('exit', (code) => {
      if (timer) clearInterval(timer);
      resolve({ code, out, seconds: (performance.now() - started) / 1000, peak: peak.total, procs, own });
    });
  });
}

await mkdir(docs);
await writeFile(path.join(docs, 'bread.md'), '# Bread\n\nProofing and baking sourdough loaves.\n');
await writeFile(path.join(docs, 'kettle.txt'), 'Notes about descaling the kettle.\n');
await copyFile(path.join(root, 'test', 'fixtures', 'files', 'two-pages.pdf'), path.join(docs, 'two-pages.pdf'));
await copyFile(path.join(root, 'test', 'fixtures', 'files', 'blue.png'), path.join(docs, 'blue.png'));
await writeFile(path.join(docs, 'gone.md'), '# Gone\n\nA page about zeppelins.\n');
const first = await run(['index', docs, ...store], false);
if (first.code !== 0) throw new Error(`first pass failed:\n${first.out}`);
await rm(path.join(docs, 'gone.md'));
await writeBombPdf(path.join(docs, 'bomb.pdf'));
await writeHugePng(path.join(docs, 'huge.png'));
await writeLongLine(path.join(docs, 'long.txt'));
await writeDataUriMarkdown(path.join(docs, 'datauri.md'));
const r = await run(['index', docs, ...store, ...extra], true);
console.log(r.out);
const line = (file) => r.out.match(new RegExp(`^error: ${file.replace('.', '\\.')}: (.*)$`, 'm'))?.[1] ?? 'indexed';
const gone = (await run(['search', 'zeppelins', '--mode', 'keyword', '--json', ...store], false)).out.includes('gone.md');
await report(
  root,
  'Hostile inputs (issue 15)',
  'Command: `npm run build && node bench/hostile.mjs` (default limits: parseTimeoutMs 60 000, parseMemoryMb 512, ' +
    'parseWorkers cores - 1, maxImagePixels 100 MP). Embedder: tiny ONNX model; store: LanceDB. ' +
    'Files: bomb.pdf (4 GiB of zeros behind two Flate filters), huge.png (16 000 × 16 000), long.txt (50 MB, one line), ' +
    'datauri.md (1 MB base64 data URI), 4 ordinary files; gone.md indexed by a first pass and deleted before this one.',
  [
    ['exit code', r.code],
    ['wall time, s', r.seconds.toFixed(1)],
    ['peak RSS of the process tree, MB', Math.round(r.peak / 2 ** 20)],
    ['peak RSS of the CLI process alone, MB', Math.round(r.own / 2 ** 20)],
    ['processes in the tree at most', r.procs],
    ['bomb.pdf', line('bomb.pdf')],
    ['huge.png', line('huge.png')],
    ['long.txt', line('long.txt')],
    ['datauri.md', line('datauri.md')],
    ['deleted file still found', gone ? 'yes' : 'no'],
    ['summary', r.out.match(/^\d+ documents scanned.*$/m)?.[0] ?? '?'],
  ],
);
await rm(dir, { recursive: true, force: true });
