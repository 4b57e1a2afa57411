import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import { afterAll, describe, expect, it } from 'vitest';
import { guard } from '../../../src/sink/lancedb/tables.js';
import { isCommitConflict, retryCommitConflicts } from '../../../src/sink/lancedb/retry.js';

const CONFLICT =
  'lance error: Retryable commit conflict for version 7: This Update transaction was preempted by concurrent transaction Delete at version 7. Please retry., /root/.cargo/registry/src/index.crates.io/lance-0.27/src/io/commit/conflict_resolver.rs:621:34';

describe('retryCommitConflicts', () => {
  it('runs a write again after a commit conflict, and returns its result', async () => {
    let calls = 0;
    const out = await retryCommitConflicts(
      async () => {
        if (++calls < 3) throw new Error(CONFLICT);
        return 'ok';
      },
      6,
      1,
    );
    expect(out).toBe('ok');
    expect(calls).toBe(3);
  });

  it('gives up after the bounded attempts, and does not retry other errors', async () => {
    let calls = 0;
    await expect(
      retryCommitConflicts(
        async () => {
          calls++;
          throw new Error(CONFLICT);
        },
        4,
        1,
      ),
    ).rejects.toThrow(/commit conflict/);
    expect(calls).toBe(4);
    calls = 0;
    await expect(
      retryCommitConflicts(
        async () => {
          calls++;
          throw new Error('table not found');
        },
        4,
        1,
      ),
    ).rejects.toThrow(/not found/);
    expect(calls).toBe(1);
    expect(isCommitConflict(new Error('Not found'))).toBe(false);
  });

  it('guard: a conflict that persists is one line without the Rust location', async () => {
    const err = await guard('upsert rows', async () => {
      throw new Error(CONFLICT);
    }).catch((e: Error) => e);
    expect(err.message).toMatch(/^LanceDB: cannot upsert rows: lance error: Retryable commit conflict/);
    expect(err.message).not.toMatch(/\.rs:\d+/);
    expect(err.message).not.toMatch(/\n/);
  }, 20_000);
});

describe('concurrent writers on one table', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ragsync-conflict-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('every write of several connections committing at once lands', async () => {
    const first = await lancedb.connect(dir);
    await first.createTable('t', [{ id: 'seed', n: 0 }]);
    const writers = await Promise.all(Array.from({ length: 6 }, () => lancedb.connect(dir).then((db) => db.openTable('t'))));
    await Promise.all(
      writers.map((t, w) =>
        (async () => {
          for (let i = 0; i < 5; i++) {
            const row = [{ id: `w${w}-${i}`, n: i }];
            await guard('upsert', () => t.mergeInsert('id').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(row));
            await guard('delete', () => t.delete(`id = 'w${w}-${i}-none'`));
          }
        })(),
      ),
    );
    const t = await first.openTable('t');
    expect(await t.countRows()).toBe(1 + 6 * 5);
  }, 60_000);
});
