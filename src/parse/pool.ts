/**
 * Bounded parsing: documents are chunked in a pool of child processes, one document at a time
 * each, so no input can take the machine. A child gets a heap limit (`--max-old-space-size`) and
 * a watchdog polls its resident set (native memory of pdf.js or sharp included); over the memory
 * limit, over the time limit, or when it crashes, the child is killed and replaced and that one
 * document fails with a non-retryable `PARSE` error naming it, the cause and the limit. Children
 * start with the first document and are stopped by `close()` (the pool can be used again after).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { RagsyncError } from '../core/errors.js';
import type { ChunkLimits, ChunkOutput, Chunking, ContentType, Document } from '../core/types.js';
import { type ParseReply, type ParseRequest, asBuffer } from './protocol.js';
import { residentBytes } from './rss.js';

export interface ParsePoolOptions {
  /** The child's entry module (it calls `serveParsing`). */
  entry: string;
  /** Node flags of the child besides the heap limit. */
  execArgv?: string[];
  /** Child processes at most. */
  size: number;
  /** Per document. */
  timeoutMs: number;
  /** Per child: heap limit and resident-set limit. */
  memoryMb: number;
  /** What a document's chunks depend on (computed in this process: it runs no parser). */
  signature: Chunking['signature'];
  /** How often the watchdog reads a busy child's resident set. */
  pollMs?: number;
}

interface Job {
  doc: Document;
  limits: ChunkLimits;
  resolve: (out: ChunkOutput) => void;
  reject: (err: unknown) => void;
  /** The child began this document: its time limit starts. */
  started?: () => void;
}

interface Child {
  proc: ChildProcess;
  job: Job | null;
  /** Why this child was killed (reported for its job); null while it is healthy. */
  killed: string | null;
  stderr: string;
  exited: Promise<void>;
  /** Stop this child once its document is done (the pool was closed meanwhile). */
  retireAfter?: true;
  /** Stops this child when it stays idle (a daemon between bursts keeps no parse process). */
  idleTimer?: NodeJS.Timeout;
}

/** An idle child is stopped after this long. */
const IDLE_MS = 30_000;
/** What a child may take, beyond the time limit, to start and load its tokenizer. */
const STARTUP_MS = 30_000;

export class ParsePool implements Chunking {
  private readonly children = new Set<Child>();
  private readonly waiting: Job[] = [];
  private nextId = 1;

  constructor(private readonly opts: ParsePoolOptions) {}

  signature(type: ContentType, limits: ChunkLimits): string {
    return this.opts.signature(type, limits);
  }

  /** Chunks `doc` in a child; rejects with a `PARSE` error (not retryable) when a limit stopped it or the child died. */
  chunk(doc: Document, limits: ChunkLimits): Promise<ChunkOutput> {
    if (!limits.tokenizer) {
      const why = 'the embedder gives no tokenizer description: documents cannot be chunked in a parse process';
      return Promise.reject(new RagsyncError('PARSE', why, { stage: 'parse', docId: doc.docId }));
    }
    return new Promise((resolve, reject) => {
      this.waiting.push({ doc, limits, resolve, reject });
      this.pump();
    });
  }

  /** Stops every child (an idle one now, a busy one after its document); resolves once they are gone. */
  async close(): Promise<void> {
    const all = [...this.children];
    for (const c of all) {
      if (c.job) c.retireAfter = true;
      else this.retire(c);
    }
    await Promise.all(all.map((c) => c.exited));
  }

  private pump(): void {
    while (this.waiting.length > 0) {
      const child =
        [...this.children].find((c) => !c.job && !c.killed && !c.retireAfter) ??
        (this.children.size < this.opts.size ? this.spawn() : null);
      if (!child) return;
      this.run(child, this.waiting.shift()!);
    }
  }

  private spawn(): Child {
    const execArgv = [`--max-old-space-size=${this.opts.memoryMb}`, ...(this.opts.execArgv ?? [])];
    const proc = fork(this.opts.entry, [], { execArgv, serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let exited!: () => void;
    const child: Child = { proc, job: null, killed: null, stderr: '', exited: new Promise((r) => (exited = r)) };
    proc.stderr!.on('data', (d: Buffer) => (child.stderr = (child.stderr + d.toString()).slice(-4000)));
    proc.on('message', (msg: ParseReply) => this.answered(child, msg));
    proc.on('error', () => undefined);
    proc.on('exit', (code, signal) => {
      this.children.delete(child);
      const job = child.job;
      child.job = null;
      if (job) job.reject(this.failure(job.doc, child.killed ?? crashed(child, code, signal, this.opts.memoryMb)));
      exited();
      this.pump();
    });
    this.children.add(child);
    return child;
  }

  private run(child: Child, job: Job): void {
    clearTimeout(child.idleTimer);
    child.job = job;
    child.proc.ref();
    (child.proc.channel as { ref?: () => void } | undefined)?.ref?.();
    const id = this.nextId++;
    const { countTokens: _count, tokenizer, ...rest } = job.limits;
    const req: ParseRequest = { id, doc: job.doc, limits: { ...rest, tokenizer: tokenizer! } };
    child.proc.send(req, (err) => {
      if (err) this.kill(child, `parsing stopped: cannot reach the parse process (${err.message})`);
    });
    // Until the child says it started (a new process, a tokenizer to load) it gets STARTUP_MS
    // more; from then on the document has parseTimeoutMs.
    const limit = `parsing stopped after ${duration(this.opts.timeoutMs)} (limit parseTimeoutMs)`;
    let timer = setTimeout(() => this.kill(child, limit), this.opts.timeoutMs + STARTUP_MS);
    job.started = () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.kill(child, limit), this.opts.timeoutMs);
    };
    const watch = setInterval(() => void this.checkMemory(child, job), this.opts.pollMs ?? 50);
    const done = () => {
      clearTimeout(timer);
      clearInterval(watch);
    };
    const { resolve, reject } = job;
    job.resolve = (out) => (done(), resolve(out));
    job.reject = (err) => (done(), reject(err));
  }

  private async checkMemory(child: Child, job: Job): Promise<void> {
    const pid = child.proc.pid;
    if (pid === undefined || child.job !== job || child.killed) return;
    const rss = await residentBytes(pid);
    if (rss !== null && rss > this.opts.memoryMb * 1024 * 1024 && child.job === job)
      this.kill(child, `parsing stopped at ${this.opts.memoryMb} MB (limit parseMemoryMb)`);
  }

  private answered(child: Child, msg: ParseReply): void {
    const job = child.job;
    if (!job || child.killed) return;
    if ('started' in msg) return job.started?.();
    child.job = null;
    if (msg.ok) job.resolve(revive(msg.out));
    else job.reject(new RagsyncError(msg.error.code, msg.error.message, { ...msg.error, docId: job.doc.docId }));
    if (child.retireAfter) this.retire(child);
    else this.idle(child);
    this.pump();
  }

  /** An idle child keeps neither this process nor its event loop alive. */
  private idle(child: Child): void {
    child.idleTimer = setTimeout(() => !child.job && this.retire(child), IDLE_MS).unref();
    child.proc.unref();
    (child.proc.channel as { unref?: () => void } | undefined)?.unref?.();
  }

  private kill(child: Child, why: string): void {
    if (child.killed) return;
    child.killed = why;
    child.proc.kill('SIGKILL');
  }

  private retire(child: Child): void {
    child.killed = 'parsing stopped: the parse pool closed';
    child.proc.ref(); // close() waits for its exit
    if (child.proc.connected) child.proc.disconnect();
    setTimeout(() => child.proc.kill('SIGKILL'), 2000).unref();
  }

  private failure(doc: Document, why: string): RagsyncError {
    return new RagsyncError('PARSE', `${doc.path}: ${why}`, { stage: 'parse', docId: doc.docId });
  }
}

/** Why a child that exited on its own died. */
function crashed(child: Child, code: number | null, signal: NodeJS.Signals | null, memoryMb: number): string {
  if (/heap out of memory|Allocation failed/i.test(child.stderr))
    return `parsing stopped at the ${memoryMb} MB heap limit (limit parseMemoryMb)`;
  const how = signal ? `signal ${signal}` : `exit code ${code}`;
  const last = child.stderr.trim().split('\n').pop()?.trim();
  return `parsing stopped: the parse process crashed (${how})${last ? `: ${last.slice(0, 200)}` : ''}`;
}

function duration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/** Chunk output from the channel: image bytes as `Buffer`s again. */
function revive(out: ChunkOutput): ChunkOutput {
  for (const c of out.chunks) if (c.image) c.image = asBuffer(c.image);
  return out;
}
