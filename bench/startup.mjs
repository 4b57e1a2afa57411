// Start-up time and memory of each command (issue 18 item 1): `node -e 0` (the floor), `--version`,
// `--help`, `status` and `search --mode keyword` on a small LanceDB store built first (20 Markdown
// files, the fixed embedder: no model). Each command runs --runs times as a child process under
// /usr/bin/time; the median wall time and the peak RSS of the median run are reported.
// Usage: npm run build && node bench/startup.mjs [--runs 5] [--bin path/to/bin/ragsync.js] [--json]
// --bin measures another checkout (its dist must be built); --json prints
// [{"command": "...", "ms": N, "rssMb": N}] on stdout, else a Markdown table.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const TIME = '/usr/bin/time';
const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    bin: { type: 'string', default: path.join(ROOT, 'bin/ragsync.js') },
    json: { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
const bin = path.resolve(values.bin);
if (!existsSync(TIME)) throw new Error(`${TIME} is needed for the peak RSS of each run (Debian: apt-get install time)`);

const work = mkdtempSync(path.join(os.tmpdir(), 'ragsync-startup-'));
const docs = path.join(work, 'docs');
const store = path.join(work, 'store');
mkdirSync(docs);
for (let i = 0; i < 20; i++) {
  writeFileSync(path.join(docs, `d${i}.md`), `# Doc ${i}\n\n## Intro\n\nThe heron waits by the river ${i}.\n\n## More\n\nStone bridge.\n`);
}
// The store's own settings come from the environment, so every command line stays the user's.
const env = { ...process.env, RAGSYNC_STORE: store, RAGSYNC_LOG_LEVEL: 'error' };
execFileSync(process.execPath, [bin, 'index', docs, '--embedder', 'fixed:0', '--json'], { env, stdio: ['ignore', 'ignore', 'inherit'] });

/** One run under /usr/bin/time: wall ms (measured here) and peak RSS in MB (time's %M, in KiB). */
function once(args) {
  const started = process.hrtime.bigint();
  const r = spawnSync(TIME, ['-f', '%M', process.execPath, ...args], { env, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  const kib = Number(r.stderr.trim().split('\n').at(-1));
  return { ms, rssMb: kib / 1024 };
}

const COMMANDS = [
  ['node -e 0', ['-e', '0']],
  ['--version', [bin, '--version']],
  ['--help', [bin, '--help']],
  ['status', [bin, 'status']],
  ['search --mode keyword heron', [bin, 'search', '--mode', 'keyword', 'heron']],
];

const results = [];
try {
  for (const [command, args] of COMMANDS) {
    once(args); // warms the file cache
    const samples = Array.from({ length: runs }, () => once(args)).sort((a, b) => a.ms - b.ms);
    const median = samples[Math.floor(samples.length / 2)];
    results.push({ command, ms: Math.round(median.ms), rssMb: Math.round(median.rssMb) });
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

if (values.json) process.stdout.write(`${JSON.stringify(results)}\n`);
else {
  const lines = ['| command | median ms | peak RSS MB |', '|---|---:|---:|'];
  for (const r of results) lines.push(`| \`${r.command}\` | ${r.ms} | ${r.rssMb} |`);
  process.stdout.write(
    `${lines.join('\n')}\n\n${runs} runs each, ${os.availableParallelism()} cores, Node ${process.versions.node}, ${bin}\n`,
  );
}
