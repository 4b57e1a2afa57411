/**
 * Bounded parsing: documents are chunked in a pool of child processes, one document at a time
 * each, so no input can take the machine. While every child is busy, a small text or Markdown
 * document is sent to a child busy with another such document (`LINE` at most): it starts there
 * as soon as the one before ends, without a round trip through this process's event loop. A child gets a heap limit (`--max-old-space-size`) and
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
  /** The request's ID once sent to a child. */
  id?: number;
  /** The child began this document: its time limit starts. */
  started?: () => void;
  /** Stops the job's timers (armed when it is first in its child's line). */
  disarm?: () => void;
}

interface Child {
  proc: ChildProcess;
  /** The documents sent to this child, in order: the first is being parsed, the others wait in the child. */
  line: Job[];
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
/** Documents sent to one child at most (the one it parses and those waiting behind it). */
const LINE = 2;
/** A document that may wait in a child's line (behind another such): small text or Markdown. */
const LIGHT_BYTES = 256 * 1024;
const light = (job: Job) => (job.doc.contentType === 'text' || job.doc.contentType === 'markdown') && job.doc.size <= LIGHT_BYTES;

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

  /**
   * A stop: the documents still waiting for a child fail at once with `err()` (those a child has
   * in its line finish), so a stopped pass ends without parsing what it will not embed.
   */
  dropWaiting(err: () => Error): void {
    for (const job of this.waiting.splice(0)) job.reject(err());
  }

  /** Stops every child (an idle one now, a busy one after its document); resolves once they are gone. */
  async close(): Promise<void> {
    const all = [...this.children];
    for (const c of all) {
      if (c.line.length > 0) c.retireAfter = true;
      else this.retire(c);
    }
    await Promise.all(all.map((c) => c.exited));
  }

  private pump(): void {
    while (this.waiting.length > 0) {
      const next = this.waiting[0]!;
      const open = [...this.children].filter((c) => !c.killed && !c.retireAfter);
      const child =
        open.find((c) => c.line.length === 0) ??
        (this.children.size < this.opts.size ? this.spawn() : null) ??
        (light(next) ? open.find((c) => c.line.length < LINE && c.line.every(light)) : undefined);
      if (!child) return;
      this.run(child, this.waiting.shift()!);
    }
  }

  private spawn(): Child {
    const execArgv = [`--max-old-space-size=${this.opts.memoryMb}`, ...(this.opts.execArgv ?? [])];
    const proc = fork(this.opts.entry, [], { execArgv, serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let exited!: () => void;
    const child: Child = { proc, line: [], killed: null, stderr: '', exited: new Promise((r) => (exited = r)) };
    proc.stderr!.on('data', (d: Buffer) => (child.stderr = (child.stderr + d.toString()).slice(-4000)));
    proc.on('message', (msg: ParseReply) => this.answered(child, msg));
    proc.on('error', () => undefined);
    proc.on('exit', (code, signal) => {
      this.children.delete(child);
      const [job, ...behind] = child.line;
      child.line = [];
      job?.disarm?.();
      if (job) job.reject(this.failure(job.doc, child.killed ?? crashed(child, code, signal, this.opts.memoryMb)));
      // The documents waiting behind it never started: another child parses them.
      this.waiting.unshift(...behind);
      exited();
      this.pump();
    });
    this.children.add(child);
    return child;
  }

  private run(child: Child, job: Job): void {
    clearTimeout(child.idleTimer);
    child.line.push(job);
    child.proc.ref();
    (child.proc.channel as { ref?: () => void } | undefined)?.ref?.();
    job.id = this.nextId++;
    const { countTokens: _count, tokenizer, ...rest } = job.limits;
    const req: ParseRequest = { id: job.id, doc: job.doc, limits: { ...rest, tokenizer: tokenizer! } };
    child.proc.send(req, (err) => {
      if (err) this.kill(child, `parsing stopped: cannot reach the parse process (${err.message})`);
    });
    if (child.line.length === 1) this.arm(child, job);
  }

  /** Starts the limits of the document first in its child's line. */
  private arm(child: Child, job: Job): void {
    // Until the child says it started (a new process, a tokenizer to load) it gets STARTUP_MS
    // more; from then on the document has parseTimeoutMs.
    const limit = `parsing stopped after ${duration(this.opts.timeoutMs)} (limit parseTimeoutMs)`;
    let timer = setTimeout(() => this.kill(child, limit), this.opts.timeoutMs + STARTUP_MS);
    job.started = () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.kill(child, limit), this.opts.timeoutMs);
    };
    const watch = setInterval(() => void this.checkMemory(child, job), this.opts.pollMs ?? 50);
    job.disarm = () => {
      clearTimeout(timer);
      clearInterval(watch);
    };
  }

  private async checkMemory(child: Child, job: Job): Promise<void> {
    const pid = child.proc.pid;
    if (pid === undefined || child.line[0] !== job || child.killed) return;
    const rss = await residentBytes(pid);
    if (rss !== null && rss > this.opts.memoryMb * 1024 * 1024 && child.line[0] === job)
      this.kill(child, `parsing stopped at ${this.opts.memoryMb} MB (limit parseMemoryMb)`);
  }

  private answered(child: Child, msg: ParseReply): void {
    const job = child.line[0];
    if (!job || job.id !== msg.id || child.killed) return;
    if ('started' in msg) return job.started?.();
    child.line.shift();
    job.disarm?.();
    if (msg.ok) job.resolve(revive(msg.out));
    else job.reject(new RagsyncError(msg.error.code, msg.error.message, { ...msg.error, docId: job.doc.docId }));
    if (child.line.length > 0) this.arm(child, child.line[0]!);
    else if (child.retireAfter) this.retire(child);
    else this.idle(child);
    this.pump();
  }

  /** An idle child keeps neither this process nor its event loop alive. */
  private idle(child: Child): void {
    child.idleTimer = setTimeout(() => child.line.length === 0 && this.retire(child), IDLE_MS).unref();
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
