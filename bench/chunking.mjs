// Chunking time and memory against input size (issue 15 item 4): one line of 1, 2, 5 and 10 MB
// and a Markdown document of 100 000 headings, with the tiny model's tokenizer (the real
// transformers.js BERT tokenizer of test/fixtures/tiny-clip) and with the approximate counter.
// Each case runs in a child process of its own, so its peak RSS is its own.
//   npm run build && node bench/chunking.mjs [--max-tokens 512]
// Prints a table and appends it, with date, commit and machine, to bench/RESULTS.md.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg, report } from './report.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const maxTokens = arg('max-tokens', 512);

/** About `size` characters of words on one line (a word list that repeats, some long base64-like words). */
function oneLine(size) {
  const words = ['river', 'flows', 'past', 'the', 'old', 'mill,', 'and', 'on', 'to', 'sea', 'aB3+/x9QzKp0', 'naïve', 'bread'];
  const parts = [];
  let n = 0;
  for (let i = 0; n < size; i++) {
    const w = words[(i * 7) % words.length];
    parts.push(w);
    n += w.length + 1;
  }
  return parts.join(' ');
}

const headings = (n) => Array.from({ length: n }, (_, i) => `## Step ${i}\n\nStir pot ${i} well.\n`).join('\n');

async function runCase(name, counter) {
  const { chunking } = await import(path.join(root, 'dist/chunking/index.js'));
  const { approximateTokens } = await import(path.join(root, 'dist/core/tokens.js'));
  const { loadJinaClip } = await import(path.join(root, 'dist/embed/jina-clip.js'));
  let countTokens = approximateTokens;
  if (counter === 'tiny') {
    const e = await loadJinaClip({
      model: 'unused',
      modelDir: path.join(root, 'test/fixtures/tiny-clip'),
      dtype: 'fp32',
      cacheDir: '/tmp/ragsync-model-cache',
      offline: true,
      batchSize: 16,
    });
    countTokens = (t) => e.countTokens(t);
  }
  const [kind, size] = name.split(':');
  const text = kind === 'line' ? oneLine(Number(size) * 2 ** 20) : headings(Number(size));
  const bytes = Buffer.from(text);
  const contentType = kind === 'line' ? 'text' : 'markdown';
  const doc = {
    source: 'b',
    path: `x.${kind === 'line' ? 'txt' : 'md'}`,
    docId: 'b:x',
    contentType,
    bytes,
    size: bytes.length,
    mtimeMs: 0,
  };
  const rssBefore = process.resourceUsage().maxRSS;
  const t0 = performance.now();
  const { chunks } = await chunking.chunk(doc, { maxTokens, countTokens });
  const ms = performance.now() - t0;
  const out = {
    ms,
    chunks: chunks.length,
    bytes: bytes.length,
    rssBeforeMB: rssBefore / 1024,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
  };
  process.stdout.write(JSON.stringify(out));
}

if (process.argv[2] === '--case') {
  await runCase(process.argv[3], process.argv[4]);
} else {
  const cases = ['line:1', 'line:2', 'line:5', 'line:10', 'headings:100000'];
  const rows = [];
  const table = [
    '| input | counter | MB | chunks | time, s | s per MB | peak RSS, MB (before chunking) |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const counter of ['tiny', 'approx']) {
    for (const c of cases) {
      const r = JSON.parse(
        execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--case', c, counter], { maxBuffer: 1 << 20 }).toString(),
      );
      const mb = r.bytes / 2 ** 20;
      const label = c.startsWith('line') ? `one line, ${c.split(':')[1]} MB` : '100 000 headings';
      table.push(
        `| ${label} | ${counter} | ${mb.toFixed(2)} | ${r.chunks} | ${(r.ms / 1000).toFixed(2)} | ${(r.ms / 1000 / mb).toFixed(2)} | ${Math.round(r.peakRssMB)} (${Math.round(r.rssBeforeMB)}) |`,
      );
      console.error(table[table.length - 1]);
      rows.push([`${label}, ${counter}: s (peak RSS MB)`, `${(r.ms / 1000).toFixed(2)} (${Math.round(r.peakRssMB)})`]);
    }
  }
  await report(
    root,
    'Chunking time against input size',
    `Command: \`npm run build && node bench/chunking.mjs\` (maxTokens ${maxTokens}; "tiny": the tiny model's transformers.js tokenizer, "approx": 4 characters a token). Each case in a child process of its own.`,
    rows,
  );
  console.log(table.join('\n'));
}
