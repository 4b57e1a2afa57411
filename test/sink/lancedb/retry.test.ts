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
    expect(err.message).not.toMatch(/\n|Caused by/);
  }, 20_000);
});

describe('concurrent writers on one table', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ragsync-conflict-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('real commit conflicts (compaction, index rebuild, delete and add racing on two connections, as two processes) are retried to success', async () => {
    const first = await lancedb.connect(dir);
    await first.createTable(
      't',
      Array.from({ length: 300 }, (_, i) => ({ id: `s${i}`, n: i })),
    );
    const writers = await Promise.all(
      Array.from({ length: 2 }, () => lancedb.connect(dir, { readConsistencyInterval: 0 }).then((db) => db.openTable('t'))),
    );
    let conflicts = 0;
    // Counts the conflicts LanceDB really raised inside guard (each one retried).
    const seen = (fn: () => Promise<unknown>) => async () => {
      try {
        return await fn();
      } catch (err) {
        if (isCommitConflict(err)) conflicts++;
        throw err;
      }
    };
    let added = 0;
    for (let round = 0; round < 3 && conflicts === 0; round++) {
      await Promise.all(
        writers.map((t, w) =>
          (async () => {
            for (let i = 0; i < 4; i++) {
              await Promise.all([
                guard(
                  'add',
                  seen(() => t.add([{ id: `r${round}w${w}-${i}`, n: 1000 + i }])),
                ),
                guard(
                  'optimize',
                  seen(() => t.optimize({ cleanupOlderThan: new Date(Date.now() - 60_000) })),
                ),
                guard(
                  'index',
                  seen(() => t.createIndex('id', { config: lancedb.Index.btree(), replace: true })),
                ),
                guard(
                  'delete',
                  seen(() => t.delete(`n = ${round * 8 + w * 4 + i}`)),
                ),
              ]);
            }
          })(),
        ),
      );
      added += 8;
    }
    expect(conflicts, 'the race produced no conflict to retry').toBeGreaterThan(0);
    const t = await first.openTable('t');
    expect(await t.countRows()).toBe(300 - added + added);
  }, 60_000);
});
