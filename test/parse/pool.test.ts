import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RagsyncError } from '../../src/core/errors.js';
import type { ChunkLimits, Document } from '../../src/core/types.js';
import { ParsePool } from '../../src/parse/index.js';
import { FIXTURES } from '../helpers.js';

const CHILD = path.join(FIXTURES, 'parse', 'child.mjs');
const limits: ChunkLimits = { maxTokens: 64, countTokens: (t) => t.length, tokenizer: { kind: 'chars', perToken: 4 } };
const pools: ParsePool[] = [];

function pool(opts: Partial<{ size: number; timeoutMs: number; memoryMb: number }> = {}): ParsePool {
  const p = new ParsePool({ entry: CHILD, size: 1, timeoutMs: 5000, memoryMb: 256, signature: () => 'sig', ...opts });
  pools.push(p);
  return p;
}

function doc(name: string, content = 'hello'): Document {
  const bytes = Buffer.from(content);
  return { source: 's', path: name, docId: `s:${name}`, contentType: 'text', bytes, size: bytes.length, mtimeMs: 0 };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const pidOf = async (p: ParsePool, name = 'ok.txt') => (await p.chunk(doc(name), limits)).metadata.pid as number;

async function failure(p: ParsePool, name: string): Promise<RagsyncError> {
  const err = await p.chunk(doc(name), limits).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RagsyncError);
  return err as RagsyncError;
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

describe('parse pool', () => {
  it('chunks in a child: limits cross as data, image bytes come back as Buffers', async () => {
    const out = await pool().chunk(doc('ok.txt', 'bytes'), limits);
    expect(out.chunks[0]!.text).toBe('bytes (chars)');
    expect(Buffer.isBuffer(out.chunks[0]!.image)).toBe(true);
    expect(out.metadata.pid).not.toBe(process.pid);
  });

  it('stops a document over the time limit with one line naming it and the limit, and replaces the child', async () => {
    const p = pool({ timeoutMs: 800 });
    const before = await pidOf(p);
    const started = Date.now();
    const err = await failure(p, 'loop.txt');
    expect(Date.now() - started).toBeLessThan(3000);
    expect(err.message).toBe('loop.txt: parsing stopped after 800 ms (limit parseTimeoutMs)');
    expect(err).toMatchObject({ code: 'PARSE', stage: 'parse', retryable: false, docId: 's:loop.txt' });
    const after = await pidOf(p);
    expect(after).not.toBe(before);
    expect(alive(before)).toBe(false);
  });

  it('sends a small document to a busy child: it waits there, and goes to the next child when the one before it is stopped', async () => {
    const p = pool({ timeoutMs: 800 });
    const before = await pidOf(p);
    const stopped = failure(p, 'loop.txt');
    const behind = p.chunk(doc('ok.txt'), limits);
    expect((await stopped).message).toBe('loop.txt: parsing stopped after 800 ms (limit parseTimeoutMs)');
    const out = await behind;
    expect(out.metadata.pid).not.toBe(before);
    // In line behind a small document that ends: parsed by the same child, in order.
    const outs = await Promise.all(['a', 'b', 'c'].map((n) => p.chunk(doc(`${n}.txt`, n), limits)));
    expect(outs.map((o) => o.chunks[0]!.text)).toEqual(['a (chars)', 'b (chars)', 'c (chars)']);
    expect(new Set(outs.map((o) => o.metadata.pid)).size).toBe(1);
  });

  it('stops a child whose resident set (native memory) goes over the memory limit', async () => {
    const err = await failure(pool({ memoryMb: 200 }), 'native.txt');
    expect(err.message).toBe('native.txt: parsing stopped at 200 MB (limit parseMemoryMb)');
  });

  it('reports a child that runs out of heap as over the memory limit', async () => {
    const err = await failure(pool({ memoryMb: 96 }), 'heap.txt');
    expect(err.message).toMatch(/^heap\.txt: parsing stopped at (the )?96 MB (heap limit )?\(limit parseMemoryMb\)$/);
  });

  it('reports a child that crashes, and goes on with the next document', async () => {
    const p = pool();
    const err = await failure(p, 'abort.txt');
    expect(err.message).toMatch(/^abort\.txt: parsing stopped: the parse process crashed \(signal SIGABRT\)/);
    expect(await pidOf(p)).toBeGreaterThan(0);
  });

  it("passes a parser's own error on, with the document's ID", async () => {
    const err = await failure(pool(), 'bad.txt');
    expect(err).toMatchObject({ message: 'bad.txt: unreadable', code: 'PARSE', retryable: false, docId: 's:bad.txt' });
  });

  it('runs at most `size` children, one document each at a time, and close() stops them all', async () => {
    const p = pool({ size: 2 });
    const outs = await Promise.all(['a', 'b', 'c', 'd', 'e', 'f'].map((n) => p.chunk(doc(`${n}.txt`), limits)));
    const pids = [...new Set(outs.map((o) => o.metadata.pid as number))];
    expect(pids.length).toBeLessThanOrEqual(2);
    await p.close();
    expect(pids.filter(alive)).toEqual([]);
    expect(await pidOf(p)).toBeGreaterThan(0);
  });

  it('dropWaiting (a stopped pass): documents still waiting fail at once as aborted, those in a child finish', async () => {
    const p = pool({ size: 1 });
    const runs = ['a', 'b', 'c', 'd', 'e'].map((n) =>
      p.chunk(doc(`${n}.txt`), limits).then(
        () => 'parsed',
        (e: Error) => e.name,
      ),
    );
    p.dropWaiting(() => Object.assign(new Error('stopped'), { name: 'AbortError' }));
    // One child: `a` in it, `b` (small) in its line; the other three were waiting.
    expect(await Promise.all(runs)).toEqual(['parsed', 'parsed', 'AbortError', 'AbortError', 'AbortError']);
    expect(await pidOf(p)).toBeGreaterThan(0);
  });

  it('refuses limits without a tokenizer description', async () => {
    const err = await pool()
      .chunk(doc('ok.txt'), { maxTokens: 8, countTokens: (t) => t.length })
      .catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/no tokenizer description/);
  });
});
