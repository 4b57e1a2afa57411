/**
 * The bulk path (a new source's documents: rows appended, not merged) killed in the middle of a
 * write: SIGKILL right after an append of chunk rows committed (rows without their records), and
 * while one runs. The next `ragsync index` must converge: `audit` finds no drift (every record
 * matches its rows, no duplicate ID, no orphan), and the store holds the very rows an index from
 * scratch writes.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: plain ESM scripts without type declarations
import { writeCorpus } from '../../bench/corpus.mjs';
import { BIN, children } from '../children.js';
import { FIXTURES, ROOT, TINY_MODEL, tempDir } from '../helpers.js';

const exec = promisify(execFile);
const { cli } = children();
const HOOK = path.join(FIXTURES, 'crash-on-add.cjs');

/** Runs `ragsync index` with the crash hook; resolves with the signal that ended it. */
async function crashingIndex(dir: string, store: string, crash: string): Promise<string | null> {
  const args = ['--require', HOOK, BIN, 'index', dir, '--store', store, '--model-dir', TINY_MODEL, '--concurrency', '16'];
  try {
    await exec(process.execPath, args, { env: { PATH: process.env.PATH ?? '', HOME: '/tmp', CRASH_ON_ADD: crash } });
    return null;
  } catch (err) {
    return (err as { signal: string | null }).signal;
  }
}

describe('bulk path crash', () => {
  it.each(['after:2', 'during:3'])(
    'SIGKILL %s appends of chunk rows, then a run that converges with no drift',
    async (crash) => {
      const work = await tempDir();
      const dir = path.join(work, 'docs');
      const store = path.join(work, 'store');
      await writeCorpus(ROOT, dir, 120, 7, { mixed: true });

      expect(await crashingIndex(dir, store, crash)).toBe('SIGKILL');
      // The kill came in the middle: the store holds rows, and documents not (or not fully) indexed.
      const midway = await cli(['audit', dir, '--store', store, '--model-dir', TINY_MODEL, '--json']);
      expect(midway.code).toBe(1);
      const drift: Array<{ kind: string; detail: string }> = JSON.parse(midway.stdout).report.drift;
      expect(drift.filter((d) => d.kind === 'missing').length).toBeGreaterThan(0);
      if (crash.startsWith('after')) expect(drift.filter((d) => /rows but no record/.test(d.detail)).length).toBeGreaterThan(0);

      const next = await cli(['index', dir, '--store', store, '--model-dir', TINY_MODEL, '--json']);
      expect(next.code, next.stderr).toBe(0);
      const audit = await cli(['audit', dir, '--store', store, '--model-dir', TINY_MODEL, '--json']);
      expect(audit.code, audit.stdout).toBe(0);
      const { report } = JSON.parse(audit.stdout);
      expect(report.drift).toEqual([]);

      const fresh = await cli(['index', dir, '--store', path.join(work, 'fresh'), '--model-dir', TINY_MODEL, '--json']);
      expect(report.rows).toBe(JSON.parse(fresh.stdout).chunks.upserted);
    },
    240_000,
  );
});
