import { type ChildProcess, execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: plain ESM scripts without type declarations
import { writeCorpus } from '../../bench/corpus.mjs';
// @ts-expect-error: plain ESM scripts without type declarations
import { startMilvusLite } from '../../scripts/milvus-lite.mjs';
import { ROOT, TINY_MODEL, tempDir } from '../helpers.js';

const exec = promisify(execFile);
const BIN = path.join(ROOT, 'bin', 'ragsync.js');
const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' };

async function index(args: string[]) {
  try {
    const { stdout } = await exec(process.execPath, [BIN, 'index', ...args, '--model-dir', TINY_MODEL, '--json'], { env });
    return { code: 0, summary: JSON.parse(stdout) };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, summary: e.stdout ? JSON.parse(e.stdout) : null, stderr: e.stderr };
  }
}

describe('Milvus stopped in the middle of a run', () => {
  it('fails the documents it could not write, exits 1, and a re-run after the restart converges', async () => {
    const work = await tempDir();
    const corpus = path.join(work, 'corpus');
    const data = path.join(work, 'milvus-data');
    await writeCorpus(ROOT, corpus, 150, 7);
    let server = await startMilvusLite({ dataDir: data });
    const milvus = ['--milvus-address', server.address];
    try {
      const child: ChildProcess = spawn(
        process.execPath,
        [BIN, 'index', corpus, ...milvus, '--model-dir', TINY_MODEL, '--json', '--log-level', 'debug'],
        { env },
      );
      let stdout = '';
      let synced = 0;
      let killed = false;
      child.stdout!.on('data', (d) => (stdout += d));
      child.stderr!.on('data', (d: Buffer) => {
        synced += (d.toString().match(/document synced/g) ?? []).length;
        if (!killed && synced >= 30) {
          killed = true;
          process.kill(server.pid, 'SIGKILL');
        }
      });
      const code = await new Promise((resolve) => child.on('exit', resolve));
      expect(killed).toBe(true);
      expect(code).toBe(1);
      const broken = JSON.parse(stdout);
      expect(broken.docs.failed).toBeGreaterThan(0);
      expect(broken.docs.changed).toBeGreaterThanOrEqual(20);
      for (const f of broken.failures)
        expect(f.error).toMatch(new RegExp(`^${f.path.replace(/[.]/g, '\\.')}: cannot reach Milvus at ${server.address}`));

      await server.stop();
      server = await startMilvusLite({ dataDir: data, port: server.port });
      const again = await index([corpus, ...milvus]);
      expect(again.code).toBe(0);
      expect(again.summary.docs.failed).toBe(0);
      const noop = await index([corpus, ...milvus]);
      expect(noop.summary.docs).toMatchObject({ scanned: 150, changed: 0, unchanged: 150, failed: 0 });
      expect(noop.summary.embeddings.computed).toBe(0);

      // The same corpus indexed from scratch into a new store: the same rows, no more, no fewer.
      const fresh = await index([corpus, '--store', path.join(work, 'fresh')]);
      const { stdout: st } = await exec(process.execPath, [BIN, 'status', ...milvus, '--json'], { env });
      const status = JSON.parse(st);
      expect(status.docs).toBe(150);
      expect(status.chunks).toBe(fresh.summary.chunks.upserted);
    } finally {
      await server.stop();
    }
  }, 240_000);
});
