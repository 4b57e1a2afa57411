/**
 * The child side of the parse pool: answers one `ParseRequest` at a time, in the order received. It exits when the
 * channel to its parent closes, and a watchdog thread kills it when its parent is gone even while
 * the main thread is busy in a long synchronous parse (a parent killed with SIGKILL leaves no
 * orphan that runs on).
 */
import { Worker } from 'node:worker_threads';
import { RagsyncError, errorMessage } from '../core/errors.js';
import type { ChunkLimits, ChunkOutput, Document, TokenizerSpec } from '../core/types.js';
import { type ParseReply, type ParseRequest, asBuffer } from './protocol.js';

/** Chunks a document (the chunkers of the build). */
export type ChunkFn = (doc: Document, limits: ChunkLimits) => Promise<ChunkOutput>;
/** Builds a token counter from its description (a tokenizer loads once per child). */
export type CounterFn = (spec: TokenizerSpec) => Promise<(text: string) => number>;

/** The watchdog: polls the parent's pid from a thread of its own and kills this process when it changed. */
const WATCHDOG = `
const { workerData } = require('node:worker_threads');
setInterval(() => { if (process.ppid !== workerData.ppid) process.kill(process.pid, 'SIGKILL'); }, 500);
`;

/** Serves parse requests on the IPC channel until it closes. */
export function serveParsing(chunk: ChunkFn, counter: CounterFn): void {
  if (!process.send) throw new Error('serveParsing runs in a child process started with an IPC channel');
  process.on('disconnect', () => process.exit(0));
  // Ctrl-C on a terminal reaches the whole process group: the parent decides (its stop lets the
  // parses in flight finish); the child ends when the parent closes the channel or kills it.
  process.on('SIGINT', () => undefined);
  new Worker(WATCHDOG, { eval: true, workerData: { ppid: process.ppid } }).unref();
  const counters = new Map<string, Promise<(text: string) => number>>();
  const countFor = (spec: TokenizerSpec) => {
    const key = JSON.stringify(spec);
    let c = counters.get(key);
    if (!c) counters.set(key, (c = counter(spec)));
    return c;
  };
  // One document at a time, in the order sent (the parent may send the next before this one ends).
  let line = Promise.resolve();
  process.on('message', (req: ParseRequest) => {
    line = line
      .then(() => answer(req, chunk, countFor))
      .then((reply) => void process.send!(reply))
      .catch(() => undefined);
  });
}

async function answer(req: ParseRequest, chunk: ChunkFn, countFor: CounterFn): Promise<ParseReply> {
  try {
    const countTokens = await countFor(req.limits.tokenizer);
    process.send!({ id: req.id, started: true } satisfies ParseReply);
    const doc = { ...req.doc, bytes: asBuffer(req.doc.bytes) };
    return { id: req.id, ok: true, out: await chunk(doc, { ...req.limits, countTokens }) };
  } catch (err) {
    const e = err instanceof RagsyncError ? err : null;
    const message = e ? e.message : `${req.doc.path}: ${errorMessage(err)}`;
    return {
      id: req.id,
      ok: false,
      error: { code: e?.code ?? 'PARSE', stage: e?.stage ?? 'parse', message, retryable: e?.retryable ?? false },
    };
  }
}

/** A counter for a `chars` description (no tokenizer to load). */
export function charCounter(perToken: number): (text: string) => number {
  return (text) => Math.ceil(text.length / perToken);
}
