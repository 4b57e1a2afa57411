#!/usr/bin/env node
// redis-server for tests and local use: installs Debian's redis-server if it is missing (as root,
// through apt-get), starts it on a free loopback port with no persistence, waits until it answers
// PING, and stops it.
//
//   node scripts/redis-server.mjs [--port N]    # run one until Ctrl-C
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './milvus-lite.mjs';

const CANDIDATES = ['/usr/bin/redis-server', '/usr/local/bin/redis-server', '/usr/sbin/redis-server'];

/** The redis-server binary, installed from Debian's package when missing. */
export function ensureRedis(log = (m) => process.stderr.write(`${m}\n`)) {
  const found = () => CANDIDATES.find((p) => existsSync(p));
  if (found()) return found();
  if (process.getuid?.() !== 0) throw new Error('redis-server is missing: install it (apt-get install redis-server)');
  log('redis-server: installing the Debian package redis-server (once)');
  execFileSync('apt-get', ['update', '-q'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'redis-server'], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  // The package starts a system service on 6379; tests use their own servers.
  try {
    execFileSync('sh', ['-c', 'service redis-server stop || true'], { stdio: 'ignore' });
  } catch {}
  if (!found()) throw new Error('redis-server was installed but is not on a known path');
  return found();
}

function ping(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port }, () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      sock.end();
      resolve(d.toString().startsWith('+PONG'));
    });
    sock.on('error', () => resolve(false));
  });
}

/** Starts redis-server on loopback; resolves once it answers PING. `stop()` ends it. */
export async function startRedis({ port, timeoutMs = 20_000 } = {}) {
  const bin = ensureRedis();
  const p = port ?? (await freePort());
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ragsync-redis-'));
  const child = spawn(
    bin,
    ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--maxmemory-policy', 'noeviction'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const deadline = Date.now() + timeoutMs;
  while (!(await ping(p))) {
    if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}):\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server did not answer on port ${p}:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return { url: `redis://127.0.0.1:${p}`, port: p, pid: child.pid, stop };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--port');
  const server = await startRedis({ port: i > 0 ? Number(process.argv[i + 1]) : undefined });
  process.stdout.write(`redis-server listening on ${server.url}; Ctrl-C stops it\n`);
  const stop = () => server.stop().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
