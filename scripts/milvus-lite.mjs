#!/usr/bin/env node
// Milvus Lite 3 for tests and local use: provisions it from PyPI into the project venv (.venv),
// starts `milvus-lite server` on a free loopback port, waits until it answers, and stops it.
//
//   node scripts/milvus-lite.mjs [--port N] [--data-dir DIR]   # run one until Ctrl-C
//
// Tests import { ensureMilvusLite, startMilvusLite } from here (see test/global-setup.ts).
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const VENV = path.join(ROOT, '.venv');
const REQUIREMENTS = path.join(ROOT, 'scripts', 'requirements-milvus.txt');
const MARKER = path.join(VENV, '.ragsync-milvus-requirements');
export const MILVUS_LITE_BIN = path.join(VENV, 'bin', 'milvus-lite');

/** Installs the pinned Milvus Lite into .venv unless the same requirements are already there. */
export function ensureMilvusLite(log = (m) => process.stderr.write(`${m}\n`)) {
  const want = createHash('sha256').update(readFileSync(REQUIREMENTS)).digest('hex');
  if (existsSync(MILVUS_LITE_BIN) && existsSync(MARKER) && readFileSync(MARKER, 'utf8') === want) return MILVUS_LITE_BIN;
  const python = process.env.PYTHON ?? 'python3';
  if (!existsSync(path.join(VENV, 'bin', 'python'))) {
    log(`milvus-lite: creating ${VENV}`);
    execFileSync(python, ['-m', 'venv', VENV], { stdio: 'inherit' });
  }
  log('milvus-lite: installing scripts/requirements-milvus.txt from PyPI (once)');
  execFileSync(path.join(VENV, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', '-r', REQUIREMENTS], {
    stdio: 'inherit',
  });
  writeFileSync(MARKER, want);
  return MILVUS_LITE_BIN;
}

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function answers(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port }, () => {
      sock.end();
      resolve(true);
    });
    sock.on('error', () => resolve(false));
  });
}

/**
 * Starts a Milvus Lite server on loopback. Resolves once it accepts connections and its gRPC
 * health check answers. `stop()` ends it (SIGTERM, then SIGKILL) and removes a temp data dir.
 */
export async function startMilvusLite({ port, dataDir, timeoutMs = 60_000 } = {}) {
  const bin = ensureMilvusLite();
  const dir = dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'ragsync-milvus-'));
  const p = port ?? (await freePort());
  const child = spawn(bin, ['server', '--data-dir', dir, '--host', '127.0.0.1', '--port', String(p)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const deadline = Date.now() + timeoutMs;
  const address = `127.0.0.1:${p}`;
  while (!(await answers(p))) {
    if (child.exitCode !== null) throw new Error(`milvus-lite exited (${child.exitCode}) before answering:\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`milvus-lite did not answer on ${address} within ${timeoutMs} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await healthy(address, deadline);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    if (!dataDir) rmSync(dir, { recursive: true, force: true });
  };
  return { address, port: p, dataDir: dir, pid: child.pid, stop, output: () => output };
}

async function healthy(address, deadline) {
  const { MilvusClient } = await import('@zilliz/milvus2-sdk-node');
  const client = new MilvusClient({ address, timeout: 5000, logLevel: 'error' });
  try {
    for (;;) {
      const res = await client.checkHealth().catch(() => null);
      if (res?.isHealthy) return;
      if (Date.now() > deadline) throw new Error(`milvus-lite on ${address} is not healthy`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await client.closeConnection().catch(() => undefined);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const server = await startMilvusLite({ port: arg('port') ? Number(arg('port')) : undefined, dataDir: arg('data-dir') });
  process.stdout.write(`Milvus Lite listening on ${server.address} (data: ${server.dataDir}); Ctrl-C stops it\n`);
  const stop = () => server.stop().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
