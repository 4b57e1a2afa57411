/**
 * The LanceDB store's write lock across real processes (the built `dist/`): mutual exclusion
 * under contention, and a holder killed with SIGKILL taken over.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers.js';

const LOCK = pathToFileURL(path.join(ROOT, 'dist', 'sink', 'lancedb', 'lock.js')).href;

/**
 * A child that runs `rounds` critical sections: each checks that nobody else is inside (an
 * O_EXCL marker), increments a counter file by read-sleep-write, and leaves.
 */
const CONTENDER = `
import { open, readFile, unlink, writeFile } from 'node:fs/promises';
const { WriteLock } = await import(process.env.LOCK);
const [dir, rounds] = [process.env.DIR, Number(process.env.ROUNDS)];
const lock = new WriteLock(dir + '/write.lock');
let overlaps = 0;
for (let i = 0; i < rounds; i++) {
  await lock.run(async () => {
    const inside = await open(dir + '/inside', 'wx').catch(() => null);
    if (!inside) overlaps++;
    const n = Number(await readFile(dir + '/counter', 'utf8'));
    await new Promise((r) => setTimeout(r, Math.random() * Number(process.env.HOLD_MS ?? 3)));
    await writeFile(dir + '/counter', String(n + 1));
    if (inside) { await inside.close(); await unlink(dir + '/inside'); }
  });
}
process.stdout.write(String(overlaps));
`;

/** A child that takes the lock and dies holding it. */
const DIES_HOLDING = `
const { WriteLock } = await import(process.env.LOCK);
await new WriteLock(process.env.DIR + '/write.lock').run(async () => {
  process.stdout.write('holding\\n');
  await new Promise(() => setInterval(() => undefined, 1000));
});
`;

function run(script: string, env: Record<string, string>) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, LOCK, ...env } });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, exited, output: () => out };
}

describe('the LanceDB write lock (real processes)', () => {
  it('four processes, 40 writes each: never two inside at once, no increment lost', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'counter'), '0');
    const kids = Array.from({ length: 4 }, () => run(CONTENDER, { DIR: dir, ROUNDS: '40' }));
    const codes = await Promise.all(kids.map((k) => k.exited));
    expect(codes, kids.map((k) => k.output()).join('\n')).toEqual([0, 0, 0, 0]);
    expect(kids.map((k) => k.output())).toEqual(['0', '0', '0', '0']);
    expect(await readFile(path.join(dir, 'counter'), 'utf8')).toBe('160');
    expect(existsSync(path.join(dir, 'write.lock'))).toBe(false);
  });

  it('a holder killed with SIGKILL leaves its lock file; the next writer on this host takes it over at once', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'counter'), '0');
    const holder = run(DIES_HOLDING, { DIR: dir });
    for (let i = 0; i < 200 && !holder.output().includes('holding'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(holder.output()).toContain('holding');
    const held = JSON.parse(await readFile(path.join(dir, 'write.lock'), 'utf8')) as { pid: number };
    expect(held.pid).toBe(holder.child.pid);

    // While it lives, a writer waits.
    const waiting = run(CONTENDER, { DIR: dir, ROUNDS: '1' });
    await new Promise((r) => setTimeout(r, 1000));
    expect(waiting.child.exitCode).toBeNull();
    expect(await readFile(path.join(dir, 'counter'), 'utf8')).toBe('0');

    holder.child.kill('SIGKILL');
    await holder.exited;
    const started = Date.now();
    expect(await waiting.exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await readFile(path.join(dir, 'counter'), 'utf8')).toBe('1');
  });

  it('a holder killed while eight writers wait: one at a time takes over, never two at once; the litter of killed writers is swept', async () => {
    for (let trial = 0; trial < 4; trial++) {
      const dir = await tempDir();
      await writeFile(path.join(dir, 'counter'), '0');
      const holder = run(DIES_HOLDING, { DIR: dir });
      for (let i = 0; i < 200 && !holder.output().includes('holding'); i++) await new Promise((r) => setTimeout(r, 50));
      // What a writer killed between writing its record aside and linking it leaves.
      await writeFile(path.join(dir, 'write.lock.killed'), '{}');
      await utimes(path.join(dir, 'write.lock.killed'), new Date(0), new Date(0));
      const kids = Array.from({ length: 8 }, () => run(CONTENDER, { DIR: dir, ROUNDS: '2', HOLD_MS: '30' }));
      // All of them polling the lock when its holder dies: they find it dead at about the same moment.
      await new Promise((r) => setTimeout(r, 2000));
      holder.child.kill('SIGKILL');
      const codes = await Promise.all(kids.map((k) => k.exited));
      expect(codes, kids.map((k) => k.output()).join('\n')).toEqual(Array(8).fill(0));
      expect({ trial, overlaps: kids.map((k) => k.output()) }).toEqual({ trial, overlaps: Array(8).fill('0') });
      expect(await readFile(path.join(dir, 'counter'), 'utf8')).toBe('16');
      expect((await readdir(dir)).filter((f) => f.startsWith('write.lock'))).toEqual([]);
    }
  }, 120_000);
});
