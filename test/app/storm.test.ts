/**
 * "No lost events" (issue 16): a storm of file changes in several directories at once, under CPU
 * load, watched with the periodic reconcile off. After the last file event the index must equal
 * the tree without any reconcile: every event the watcher drops, or the queue coalesces away,
 * leaves an orphaned, missing or stale document behind. The storm is drawn from a seeded PRNG;
 * a failure prints its seed (`STORM_SEED=<seed>` replays it).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lanceDbStore } from '../../src/sink/lancedb/index.js';
import { tempDir } from '../helpers.js';
// @ts-expect-error: plain ESM script without type declarations
import { rng } from '../../bench/corpus.mjs';
import { type QueueKind, children } from '../children.js';

const { cli, daemon, until, status, setup } = children();

/** The queues a daemon can run on: its own local queue, and BullMQ on the test run's Redis. */
const QUEUES: QueueKind[] = ['local', 'redis'];

const DIRS = ['guide', 'api', 'blog', 'ref/deep'];
const FILES_PER_DIR = 30;
const OPERATIONS = 320;
const CONVERGE_MS = 90_000;

/** A Markdown document whose content depends on `n` (a few sections, so several rows). */
function markdown(name: string, n: number): string {
  const sections = 1 + (n % 4);
  const parts = Array.from({ length: sections }, (_, s) => `## Part ${s}\n\n${name} version ${n} part ${s} ${'lorem '.repeat(n % 9)}\n`);
  return [`# ${name}`, '', ...parts].join('\n');
}

/** Busy loops on every core, stopped by `stop`: the storm runs with the daemon starved of CPU. */
function cpuLoad(): { stop: () => void } {
  const hogs: ChildProcess[] = Array.from({ length: os.availableParallelism() }, () =>
    spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }),
  );
  return { stop: () => hogs.forEach((h) => h.kill('SIGKILL')) };
}

/** Every file below `root`, as POSIX relative paths, sorted. */
async function tree(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort();
}

/** The paths the store holds a document record of, sorted. */
async function indexed(store: string, source: string): Promise<string[]> {
  const s = lanceDbStore(store);
  try {
    const live = await s.live();
    if (!live) return [];
    return [...(await live.listDocRecords(source)).values()].map((r) => r.path).sort();
  } finally {
    await s.close();
  }
}

/**
 * Applies `OPERATIONS` random operations to the tree, in `DIRS.length` lanes at once (one per
 * directory, as a `git pull` touches many folders), with no pause between them. Each lane keeps
 * its own list of files that exist and its own PRNG. Returns when every lane is done.
 */
async function storm(root: string, seed: number, log: string[]): Promise<void> {
  // One PRNG per lane: what each lane does does not depend on how the lanes interleave.
  const lane = async (dir: string, live: string[], ops: number, random: () => number) => {
    const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)]!;
    let counter = 0;
    const abs = (name: string) => path.join(root, dir, name);
    const fresh = () => `n${counter++}.md`;
    for (let i = 0; i < ops; i++) {
      const r = random();
      const note = (what: string) => log.push(`${dir} #${i} ${what}`);
      if (live.length === 0 || r < 0.15) {
        const name = fresh();
        note(`add ${name}`);
        await writeFile(abs(name), markdown(name, counter));
        live.push(name);
      } else if (r < 0.3) {
        // An editor's atomic save: write a temporary file, rename it over the document.
        const name = pick(live);
        note(`atomic save ${name}`);
        await writeFile(abs(`${name}.tmp`), markdown(name, counter++));
        await rename(abs(`${name}.tmp`), abs(name));
      } else if (r < 0.45) {
        const name = pick(live);
        note(`edit ${name}`);
        await writeFile(abs(name), markdown('edited', counter++));
      } else if (r < 0.57) {
        const name = live.splice(Math.floor(random() * live.length), 1)[0]!;
        note(`delete ${name}`);
        await unlink(abs(name));
      } else if (r < 0.67) {
        const from = live.splice(Math.floor(random() * live.length), 1)[0]!;
        const to = fresh();
        note(`rename ${from} ${to}`);
        await rename(abs(from), abs(to));
        live.push(to);
      } else if (r < 0.78) {
        // Added, then modified and deleted in the next commits, at the pace of a checkout
        // (the add is indexed first); in the background, while the lane goes on.
        const name = fresh();
        note(`add, modify, delete paced ${name}`);
        paced.push(addModifyDelete(abs(name), random() * 200, random() * 150));
      } else if (r < 0.9) {
        // Added, modified (as git checks out: unlink, write anew) and deleted in quick succession.
        const name = fresh();
        const keep = random() >= 0.8;
        note(`add-modify-${keep ? 'keep' : 'delete'} ${name}`);
        await writeFile(abs(name), markdown(name, 1));
        await unlink(abs(name));
        await writeFile(abs(name), markdown(name, 2));
        if (keep) live.push(name);
        else await unlink(abs(name));
      } else if (r < 0.95) {
        const name = pick(live);
        note(`append ${name}`);
        await writeFile(abs(name), markdown('touched', counter++), { flag: 'a' });
      } else {
        // The directory removed and recreated with a few files (a branch switch).
        note('rm -r and mkdir');
        // (Retried: a paced writer in the background may add a file while it empties the directory.)
        await rm(path.join(root, dir), { recursive: true, maxRetries: 20, retryDelay: 5 });
        live.splice(0);
        await mkdir(path.join(root, dir), { recursive: true });
        for (let k = 0; k < 3; k++) {
          const name = fresh();
          note(`add ${name}`);
          await writeFile(abs(name), markdown(name, counter));
          live.push(name);
        }
      }
    }
  };
  const paced: Array<Promise<void>> = [];
  const lanes = DIRS.map((dir, i) => {
    const live = Array.from({ length: FILES_PER_DIR }, (_, k) => `f${k}.md`);
    return lane(dir, live, Math.ceil(OPERATIONS / DIRS.length), rng(seed + i));
  });
  await Promise.all(lanes);
  await Promise.all(paced);
}

/**
 * One file through three commits: added, modified `firstMs` later (unlinked and written anew, as
 * git checks a file out), deleted `secondMs` after that. A directory removed meanwhile takes the
 * file with it (ENOENT is the end of the story then).
 */
async function addModifyDelete(file: string, firstMs: number, secondMs: number): Promise<void> {
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  try {
    await writeFile(file, markdown(path.basename(file), 1));
    await pause(firstMs);
    await unlink(file);
    await writeFile(file, markdown(path.basename(file), 2));
    await pause(secondMs);
    await unlink(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await rm(file, { force: true });
  }
}

async function seedTree(root: string): Promise<void> {
  for (const dir of DIRS) {
    await mkdir(path.join(root, dir), { recursive: true });
    for (let i = 0; i < FILES_PER_DIR; i++) await writeFile(path.join(root, dir, `f${i}.md`), markdown(`f${i}`, i));
  }
}

describe.each(QUEUES)('a storm of file events on the %s queue', (queue) => {
  it('ends, with no reconcile, in an index equal to the tree', async () => {
    const seed = Number(process.env.STORM_SEED ?? Math.floor(Math.random() * 2 ** 31));
    process.stderr.write(`storm seed ${seed} (STORM_SEED=${seed} replays it)\n`);
    const work = await tempDir();
    const root = path.join(work, 'docs');
    await seedTree(root);
    const store = path.join(work, 'store');
    const e = setup('LanceDB', store, undefined, queue);
    const d = await daemon(['watch', root, ...e.sink, ...e.queue, ...e.model, '--settle-ms', '50', '--reconcile-seconds', '0']);
    await until(async () => (await status(e)).docs === DIRS.length * FILES_PER_DIR, 60_000);

    const load = cpuLoad();
    const log: string[] = [];
    try {
      await storm(root, seed, log);
    } finally {
      load.stop();
    }

    const expected = await tree(root);
    let seen: string[] = [];
    let audit: { report: { drift: Array<{ kind: string; path: string; detail: string }> } } | undefined;
    const converged = async () => {
      seen = await indexed(store, 'docs');
      if (seen.join('\n') !== expected.join('\n')) return false;
      const res = await cli(['audit', root, ...e.sink, ...e.model, '--json']);
      audit = JSON.parse(res.stdout);
      return res.code === 0 && audit!.report.drift.length === 0;
    };
    await until(converged, CONVERGE_MS).catch(() => {
      const missing = expected.filter((p) => !seen.includes(p));
      const extra = seen.filter((p) => !expected.includes(p));
      const wrong = [...missing, ...extra];
      const history = log.filter((l) =>
        wrong.some(
          (p) => l.startsWith(`${path.posix.dirname(p)} `) && (` ${l} `.includes(` ${path.posix.basename(p)} `) || l.endsWith('mkdir')),
        ),
      );
      throw new Error(
        `seed ${seed}: the index did not converge on the tree in ${CONVERGE_MS / 1000} s: ` +
          `missing ${JSON.stringify(missing)}, orphaned ${JSON.stringify(extra)}, ` +
          `last audit drift ${JSON.stringify(audit?.report.drift ?? null)}; what the storm did to them:\n${history.join('\n')}`,
      );
    });
    expect(seen).toEqual(expected);
    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(143);
  }, 240_000);
});
