// How long `ragsync index` takes to end after its first SIGINT (issue 17 item 2).
// Usage: npm run build && node bench/stop-latency.mjs [--files 400] [--after-ms 6000] [--rounds 3]
// A corpus of generated Markdown files (6 sections of 300 words) is indexed with the tiny model
// from test/fixtures; SIGINT is sent after --after-ms; the time to the JSON summary and to the
// exit is printed per round, each on a fresh store.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '400' },
    'after-ms': { type: 'string', default: '6000' },
    rounds: { type: 'string', default: '3' },
  },
});
const work = mkdtempSync(path.join(os.tmpdir(), 'ragsync-stop-'));
const docs = path.join(work, 'docs');
mkdirSync(docs);
const words = ['heron', 'river', 'stone', 'bridge', 'lantern', 'orchard', 'meadow', 'harbor', 'copper', 'willow'];
let seed = 1;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
for (let i = 0; i < Number(values.files); i++) {
  const sections = Array.from(
    { length: 6 },
    (_, s) => `## S${s}\n\n${Array.from({ length: 300 }, () => words[Math.floor(rand() * words.length)]).join(' ')}\n`,
  );
  writeFileSync(path.join(docs, `d${i}.md`), `# Doc ${i}\n\n${sections.join('\n')}`);
}

function round() {
  return new Promise((resolve) => {
    const store = path.join(work, 'store');
    rmSync(store, { recursive: true, force: true });
    const args = [
      path.join(ROOT, 'bin/ragsync.js'),
      'index',
      docs,
      '--store',
      store,
      '--model-dir',
      path.join(ROOT, 'test/fixtures/tiny-clip'),
      '--json',
    ];
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let sent = 0;
    let summary = 0;
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
      summary ||= Date.now();
    });
    p.on('exit', (code) => {
      const j = JSON.parse(out);
      resolve({ code, summaryMs: summary - sent, exitMs: Date.now() - sent, done: j.docs?.scanned });
    });
    setTimeout(() => {
      sent = Date.now();
      p.kill('SIGINT');
    }, Number(values['after-ms']));
  });
}

for (let r = 1; r <= Number(values.rounds); r++) {
  const res = await round();
  console.log(
    `round ${r}: exit ${res.code}, summary ${res.summaryMs} ms and exit ${res.exitMs} ms after SIGINT, ${res.done} documents done`,
  );
}
rmSync(work, { recursive: true, force: true });
