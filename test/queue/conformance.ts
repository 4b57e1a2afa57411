/**
 * The queue contract (`src/core/job-queue.ts`), run on every implementation the way BullMQ tests
 * its adapters: `queues.test.ts` runs it on the local queue and on BullMQ over a real Redis.
 */
import { describe, expect, it } from 'vitest';
import { RagsyncError } from '../../src/core/errors.js';
import type { JobProcessor, JobQueue, SyncJob } from '../../src/core/job-queue.js';

/** A queue of source `docs` with `attempts` tries and a backoff of 150 ms × the try number. */
export interface QueueFactory {
  /** Opens a fresh queue (its own state), or the same one again after `close` (`reopen`). */
  open(opts: { attempts: number; reopen?: boolean }): Promise<JobQueue>;
}

export const BACKOFF_MS = 150;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  for (const end = Date.now() + ms; !(await what());) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(20);
  }
}

/** A gate a processor waits at until the test opens it. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

interface Run {
  job: SyncJob;
  attempt: number;
  start: number;
  end?: number;
}

/** A processor that records its runs; `behave` decides what each run does. */
function recorder(behave: (job: SyncJob, attempt: number, n: number) => Promise<void> = async () => undefined) {
  const runs: Run[] = [];
  let active = 0;
  let maxActive = 0;
  const perDoc = new Map<string, number>();
  let overlap = false;
  const processor: JobProcessor = async (job, attempt) => {
    const run: Run = { job, attempt, start: Date.now() };
    runs.push(run);
    active++;
    maxActive = Math.max(maxActive, active);
    const mine = (perDoc.get(job.path) ?? 0) + 1;
    perDoc.set(job.path, mine);
    if (mine > 1) overlap = true;
    try {
      await behave(job, attempt, runs.filter((r) => r.job.path === job.path).length);
    } finally {
      active--;
      perDoc.set(job.path, perDoc.get(job.path)! - 1);
      run.end = Date.now();
    }
  };
  return {
    processor,
    runs,
    maxActive: () => maxActive,
    overlapped: () => overlap,
    of: (p: string) => runs.filter((r) => r.job.path === p),
  };
}

const ref = (p: string) => ({ source: 'docs', path: p });

export function queueContract(name: string, factory: QueueFactory): void {
  describe(`the queue contract: ${name}`, () => {
    const opened: JobQueue[] = [];
    const open = async (attempts = 3, reopen = false) => {
      const q = await factory.open({ attempts, reopen });
      opened.push(q);
      return q;
    };
    const closeAll = async () => {
      for (const q of opened.splice(0)) await q.close().catch(() => undefined);
    };

    it('runs an enqueued job with its reference and event time, and several documents at once', async () => {
      const q = await open();
      try {
        const release = gate();
        const r = recorder(() => release.opened);
        q.work(r.processor, { concurrency: 4 });
        for (const p of ['a.md', 'b.md', 'c.md', 'd.md', 'e.md']) await q.enqueue(ref(p), 1234);
        await until(() => r.runs.length === 4);
        expect(r.maxActive()).toBe(4);
        release.open();
        await until(() => r.runs.length === 5 && r.runs.every((x) => x.end));
        expect(r.runs.map((x) => x.job.path).sort()).toEqual(['a.md', 'b.md', 'c.md', 'd.md', 'e.md']);
        expect(r.runs[0]).toMatchObject({ job: { source: 'docs', at: 1234 }, attempt: 1 });
      } finally {
        await closeAll();
      }
    });

    it('keeps one pending job per document: changes while it waits add nothing, changes while it runs make exactly one follow-up after it', async () => {
      const q = await open();
      try {
        // Waiting: nothing works yet, five enqueues are one job.
        for (let i = 0; i < 5; i++) await q.enqueue(ref('a.md'), i);
        const first = gate();
        const r = recorder((_, __, n) => (n === 1 ? first.opened : Promise.resolve()));
        q.work(r.processor, { concurrency: 4 });
        await until(() => r.runs.length === 1);
        // Running: five more enqueues make one follow-up, which waits for the running job.
        for (let i = 0; i < 5; i++) await q.enqueue(ref('a.md'), 100 + i);
        await sleep(300);
        expect(r.runs).toHaveLength(1);
        first.open();
        await until(() => r.runs.length === 2 && r.runs[1]!.end !== undefined);
        await sleep(400);
        expect(r.runs).toHaveLength(2);
        expect(r.overlapped()).toBe(false);
        expect(r.runs[1]!.start).toBeGreaterThanOrEqual(r.runs[0]!.end!);
        expect(r.runs[1]!.job.at).toBeGreaterThanOrEqual(100);
        expect((await q.counts()).waiting ?? 0).toBe(0);
      } finally {
        await closeAll();
      }
    });

    it('retries a retryable failure with backoff, and fails bad content at once, listing both', async () => {
      const q = await open(3);
      try {
        const r = recorder(async (job, attempt) => {
          if (job.path === 'flaky.md' && attempt < 3) throw new RagsyncError('SINK', 'store away', { stage: 'sink', retryable: true });
          if (job.path === 'down.md') throw new RagsyncError('EMBED', 'model away', { stage: 'embed', retryable: true });
          if (job.path === 'bad.pdf') throw new RagsyncError('PARSE', 'bad.pdf: not a PDF', { stage: 'parse', retryable: false });
        });
        q.work(r.processor, { concurrency: 4 });
        for (const p of ['flaky.md', 'down.md', 'bad.pdf']) await q.enqueue(ref(p));
        await until(async () => r.of('flaky.md').length === 3 && (await q.failed()).length === 2);
        const flaky = r.of('flaky.md');
        expect(flaky.map((x) => x.attempt)).toEqual([1, 2, 3]);
        // The backoff of try n is BACKOFF_MS × n (the factory's): each retry waited at least that.
        expect(flaky[1]!.start - flaky[0]!.end!).toBeGreaterThanOrEqual(BACKOFF_MS - 20);
        expect(flaky[2]!.start - flaky[1]!.end!).toBeGreaterThanOrEqual(2 * BACKOFF_MS - 20);
        expect(r.of('bad.pdf')).toHaveLength(1);
        expect(r.of('down.md')).toHaveLength(3);
        const failed = await q.failed();
        expect(failed.map((f) => f.path).sort()).toEqual(['bad.pdf', 'down.md']);
        expect(failed.find((f) => f.path === 'bad.pdf')).toMatchObject({ attempts: 1, reason: expect.stringContaining('not a PDF') });
        expect(failed.find((f) => f.path === 'down.md')).toMatchObject({ attempts: 3, reason: expect.stringContaining('model away') });
        expect((await q.counts()).failed).toBe(2);
      } finally {
        await closeAll();
      }
    });

    it('retries failed jobs on demand; a retry that succeeds leaves none failed', async () => {
      const q = await open(1);
      try {
        let fixed = false;
        const r = recorder(async (job) => {
          if (!fixed) throw new RagsyncError('PARSE', `${job.path}: broken`, { stage: 'parse', retryable: false });
        });
        q.work(r.processor, { concurrency: 2 });
        await q.enqueue(ref('a.md'));
        await q.enqueue(ref('b.md'));
        await until(async () => (await q.failed()).length === 2);
        fixed = true;
        expect(await q.retryFailed()).toBe(2);
        await until(() => r.runs.length === 4 && r.runs.every((x) => x.end));
        await until(async () => (await q.failed()).length === 0);
        expect((await q.counts()).failed).toBe(0);
      } finally {
        await closeAll();
      }
    });

    it('retries one failed job by its ID: only that one runs again; an unknown ID retries nothing', async () => {
      const q = await open(1);
      try {
        let fixed = false;
        const r = recorder(async (job) => {
          if (!fixed) throw new RagsyncError('PARSE', `${job.path}: broken`, { stage: 'parse', retryable: false });
        });
        q.work(r.processor, { concurrency: 2 });
        await q.enqueue(ref('a.md'));
        await q.enqueue(ref('b.md'));
        await until(async () => (await q.failed()).length === 2);
        fixed = true;
        expect(await q.retryFailed(['no-such-job'])).toBe(0);
        const a = (await q.failed()).find((f) => f.path === 'a.md')!;
        expect(await q.retryFailed([a.id])).toBe(1);
        await until(() => r.runs.length === 3 && r.runs.every((x) => x.end));
        await until(async () => (await q.failed()).length === 1);
        expect((await q.failed()).map((f) => f.path)).toEqual(['b.md']);
        expect(r.runs.map((x) => x.job.path).slice(2)).toEqual(['a.md']);
      } finally {
        await closeAll();
      }
    });

    it('drains: intake stops, the active job finishes, nothing new starts; a job slower than the wait is a timeout', async () => {
      const q = await open();
      try {
        const release = gate();
        const r = recorder((job) => (job.path === 'slow.md' ? release.opened : Promise.resolve()));
        q.work(r.processor, { concurrency: 1 });
        await q.enqueue(ref('slow.md'));
        await until(() => r.runs.length === 1);
        await q.enqueue(ref('next.md'));
        const drained = q.drain(10_000);
        await sleep(200);
        setTimeout(release.open, 300);
        expect(await drained).toBe('drained');
        expect(r.runs[0]!.end).toBeDefined();
        await sleep(300);
        expect(r.runs.map((x) => x.job.path)).toEqual(['slow.md']);
      } finally {
        await closeAll();
      }
      const q2 = await open();
      try {
        const never = gate();
        const r = recorder(() => never.opened);
        q2.work(r.processor, { concurrency: 1 });
        await q2.enqueue(ref('stuck.md'));
        await until(() => r.runs.length === 1);
        const t0 = Date.now();
        expect(await q2.drain(300)).toBe('timeout');
        expect(Date.now() - t0).toBeLessThan(5000);
        never.open();
      } finally {
        await closeAll();
      }
    });

    it('after a crash (closed without draining), failed jobs are still listed, and a durable queue still runs what was queued', async () => {
      const q = await open(1);
      const r = recorder(async (job) => {
        if (job.path === 'bad.pdf') throw new RagsyncError('PARSE', 'bad.pdf: not a PDF', { stage: 'parse', retryable: false });
      });
      q.work(r.processor, { concurrency: 1 });
      await q.enqueue(ref('bad.pdf'));
      await until(async () => (await q.failed()).length === 1);
      await q.drain(0);
      await q.enqueue(ref('queued.md'));
      await q.close();
      opened.splice(0);
      const again = await open(1, true);
      try {
        expect((await again.failed()).map((f) => f.path)).toEqual(['bad.pdf']);
        const r2 = recorder();
        again.work(r2.processor, { concurrency: 1 });
        if (again.durable) {
          await until(() => r2.runs.length === 1);
          expect(r2.runs[0]!.job.path).toBe('queued.md');
        } else {
          // Not durable: what was queued is gone (the daemon's first reconcile queues it again).
          await sleep(500);
          expect(r2.runs).toHaveLength(0);
        }
        expect(await again.healthy()).toBe(true);
      } finally {
        await closeAll();
      }
    });
  });
}
