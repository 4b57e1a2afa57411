/** Retry requests to a local queue from other processes (`ragsync jobs --retry`, `serve`): two at once are both kept. */
import path from 'node:path';
import { expect, it } from 'vitest';
import { RagsyncError } from '../../src/core/errors.js';
import { LocalQueue } from '../../src/queue/local.js';
import { requestRetry } from '../../src/queue/local-state.js';
import { tempDir } from '../helpers.js';

async function until(check: () => Promise<boolean>): Promise<void> {
  for (const end = Date.now() + 15_000; !(await check());) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

it('runs both of two retry requests of single jobs made at once', async () => {
  const file = path.join(await tempDir('ragsync-retry-'), 'queue', 'docs.json');
  const q = await LocalQueue.open({ source: 'docs', file, attempts: 1 });
  try {
    let fixed = false;
    const runs: string[] = [];
    q.work(
      async (job) => {
        runs.push(job.path);
        if (!fixed) throw new RagsyncError('PARSE', `${job.path}: broken`, { stage: 'parse', retryable: false });
      },
      { concurrency: 2 },
    );
    for (const p of ['a.md', 'b.md', 'c.md']) await q.enqueue({ source: 'docs', path: p });
    await until(async () => (await q.failed()).length === 3);
    fixed = true;
    const [a, b] = ['a.md', 'b.md'].map((p) => `docs:${p}`);
    expect(await Promise.all([requestRetry(file, 10_000, [a!]), requestRetry(file, 10_000, [b!])])).toEqual([true, true]);
    await until(async () => (await q.failed()).length === 1);
    expect((await q.failed()).map((f) => f.path)).toEqual(['c.md']);
    expect(runs.slice(3).sort()).toEqual(['a.md', 'b.md']);
  } finally {
    await q.close();
  }
});
