#!/usr/bin/env node
// The ragsync command: runs the compiled CLI (npm ci builds it; `npm run build` rebuilds it).
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// `ragsync --version` alone is answered before any module loads (scripts and prompts call it often).
if (process.argv.length === 3 && (process.argv[2] === '--version' || process.argv[2] === '-V')) {
  process.stdout.write(`${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`);
  process.exit(0);
}

// LanceDB's native core logs deprecation notices at warn level; keep its errors only unless asked.
process.env.LANCEDB_LOG ??= 'error';

// A reader that goes away (`ragsync ... | head`) must not abort the work half-way: stop printing.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code !== 'EPIPE') throw err;
  });
}

const cli = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  process.stderr.write('ragsync: not built yet: run `npm run build` (npm ci does it) in the ragsync directory\n');
  process.exit(3);
}
// A signal during start-up (while the modules and the model load) is acted on once the command runs.
const signals = await import(new URL('../dist/cli/signals.js', import.meta.url).href);
signals.catchEarlySignals();
const { main } = await import(cli.href);
const code = await main(process.argv);
process.exitCode = signals.earlyExitCode() ?? code;
