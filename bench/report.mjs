// What every benchmark shares: `--name value` arguments, and appending a result table with the
// date, commit and machine to bench/RESULTS.md.
import { execSync } from 'node:child_process';
import { appendFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** The number after `--name` on the command line, or `dflt`. */
export function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

export function commit(root) {
  try {
    return execSync('git rev-parse --short HEAD', { cwd: root }).toString().trim();
  } catch {
    return 'unknown';
  }
}

export function machine() {
  return `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

/** Prints a `| measure | value |` table under a heading and appends both to bench/RESULTS.md. */
export async function report(root, title, description, rows) {
  const table = ['| measure | value |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join('\n');
  const header = `\n## ${title}, ${new Date().toISOString().slice(0, 10)}, commit ${commit(root)}\n\nMachine: ${machine()}. ${description}\n\n`;
  console.log(header + table);
  await appendFile(path.join(root, 'bench', 'RESULTS.md'), `${header}${table}\n`);
}
