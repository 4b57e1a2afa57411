/**
 * Child-process helpers for daemon, worker and re-embed tests: run the real `ragsync` binary,
 * start long-running commands, poll until a condition holds. Every started child is killed after
 * its test; a failed test prints their output.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, inject } from 'vitest';
import { ROOT, TINY_MODEL } from './helpers.js';

const exec = promisify(execFile);
export const BIN = path.join(ROOT, 'bin', 'ragsync.js');
export type SinkKind = 'LanceDB' | 'Milvus Lite';
export type Env = { sink: string[]; queue: string[]; model: string[] };
/** The queue a daemon works with: its own local queue (no flag), or the test run's Redis. */
export type QueueKind = 'local' | 'redis';

let n = 0;

export function children() {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' };
  const started: ChildProcess[] = [];
  const outputs: Array<() => string> = [];

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') for (const o of outputs) process.stderr.write(`--- child output ---\n${o().slice(-4000)}\n`);
    outputs.splice(0);
    for (const c of started.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  /** Store, queue and model flags of a fresh, isolated test setup on one sink. */
  function setup(kind: SinkKind, store: string, model = TINY_MODEL, queueKind: QueueKind = 'redis'): Env {
    const tag = `t${process.pid}x${Date.now().toString(36)}x${n++}`;
    const sink = kind === 'LanceDB' ? ['--store', store] : ['--milvus-address', inject('milvusAddress'), '--milvus-collection', tag];
    const queue = queueKind === 'redis' ? ['--redis', inject('redisUrl'), '--redis-prefix', tag] : [];
    return { sink, queue, model: ['--model-dir', model] };
  }

  /** Runs one command to its end. */
  async function cli(args: string[], extraEnv: Record<string, string> = {}) {
    try {
      const { stdout, stderr } = await exec(process.execPath, [BIN, ...args], { env: { ...env, ...extraEnv }, maxBuffer: 64 << 20 });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  /** Starts a long-running command and resolves once its output matches `ready`. */
  async function daemon(args: string[], ready = /^ragsync: (watching|worker for)/m, extraEnv: Record<string, string> = {}) {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...env, ...extraEnv } });
    started.push(child);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    outputs.push(() => out);
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    await until(() => ready.test(out) || child.exitCode !== null || child.signalCode !== null, 60_000);
    if (!ready.test(out)) throw new Error(`exited ${child.exitCode}:\n${out}`);
    return { child, output: () => out, exited };
  }

  async function hits(e: Env, query: string, mode = 'keyword', model = e.model): Promise<Array<{ path: string; text: string }>> {
    const res = await cli(['search', query, '--mode', mode, '-k', '50', '--per-doc', '0', '--json', ...e.sink, ...model]);
    return res.code === 0 ? JSON.parse(res.stdout) : [];
  }

  async function status(e: Env): Promise<{
    docs: number;
    chunks: number;
    fingerprint: { model: string; dim: number } | null;
    pending: { docs: number; chunks: number; fingerprint: { model: string } } | null;
    previous: { fingerprint: { model: string } } | null;
  }> {
    const res = await cli(['status', '--json', ...e.sink]);
    return res.code === 0 ? JSON.parse(res.stdout) : { docs: -1, chunks: -1, fingerprint: null, pending: null, previous: null };
  }

  return { cli, daemon, until, hits, status, setup };
}

export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}
