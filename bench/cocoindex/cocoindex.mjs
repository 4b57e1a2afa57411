// The CocoIndex peer of bench/compare.mjs: flow.py in a venv of its own (bench/cocoindex/.venv,
// made on first use from requirements.txt, from PyPI). CocoIndex 1.0 loads sqlite-vec into
// Python's sqlite3, which needs a Python built with loadable SQLite extensions: Debian's
// /usr/bin/python3 is (uv's and pyenv's builds often are not), hence that interpreter.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const venv = path.join(here, '.venv');
const python = path.join(venv, 'bin', 'python');

/** Creates the venv and installs the pinned packages, once: the `cocoindex` script is the mark of a finished install. */
function ensureVenv() {
  if (existsSync(path.join(venv, 'bin', 'cocoindex'))) return;
  console.error('bench: installing the CocoIndex peer into bench/cocoindex/.venv (once)');
  execFileSync('/usr/bin/python3', ['-m', 'venv', '--clear', venv], { stdio: 'inherit' });
  execFileSync(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', path.join(here, 'requirements.txt')], {
    stdio: 'inherit',
  });
}

/**
 * Opens the peer on one folder: CocoIndex's state (LMDB) in `state`, the SQLite target in `db`.
 * Each `update()` is one `app.update()` in a fresh process, as `cocoindex update` would be.
 */
export function openCocoIndex({ corpus, state, db, delayMs, chunkBytes }) {
  ensureVenv();
  const flags = ['--corpus', corpus, '--state', state, '--db', db, '--delay-ms', String(delayMs), '--chunk-bytes', String(chunkBytes)];
  return {
    /** One update pass: `{ version, ms, embedded, batches, rowsWritten, rows }` (ms: the update, inside the process). */
    update() {
      const out = execFileSync(python, [path.join(here, 'flow.py'), ...flags], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      return JSON.parse(out.trim().split('\n').at(-1));
    },
  };
}
