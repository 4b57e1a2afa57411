/**
 * Cross-document batching. Documents are synced concurrently and most have few chunks, so left
 * alone each would send its own small batch: a local model would run batch-1 inferences side by
 * side, an API would get one request per document. This wrapper queues the inputs of every
 * caller and sends them in batches of up to `batchSize`, at most `parallel` batches at a time
 * (1 for a local model: one device; a few for an API). Each caller gets its own vectors, in
 * order. When a batch mixing several callers fails, each caller's inputs are tried again on
 * their own, so one document's bad image cannot fail the documents batched with it.
 */
import type { Embedder, Fingerprint, TokenizerSpec } from '../core/types.js';

/** Encoded bytes of the images of one batch at most (a batch holds at least one image). */
const IMAGE_BATCH_BYTES = 32 << 20;

interface Request {
  out: number[][];
  left: number;
  failed: boolean;
  resolve: (vectors: number[][]) => void;
  reject: (err: unknown) => void;
}

interface Item<T> {
  req: Request;
  index: number;
  input: T;
}

class BatchQueue<T> {
  private queue: Array<Item<T>> = [];
  private head = 0;
  private inFlight = 0;
  private stopped = false;

  constructor(
    private readonly embed: (inputs: T[]) => Promise<number[][]>,
    private readonly batchSize: number,
    private readonly parallel: number,
    /** Optional size of one input and the most a batch may hold (a batch holds at least one input). */
    private readonly bound?: { weigh: (input: T) => number; max: number },
  ) {}

  add(inputs: T[]): Promise<number[][]> {
    if (inputs.length === 0) return Promise.resolve([]);
    if (this.stopped) return Promise.reject(stoppedError());
    return new Promise((resolve, reject) => {
      const req: Request = { out: new Array<number[]>(inputs.length), left: inputs.length, failed: false, resolve, reject };
      inputs.forEach((input, index) => this.queue.push({ req, index, input }));
      this.pump();
    });
  }

  /** No batch starts any more: the inputs still queued fail with an AbortError; batches running finish. */
  stop(): void {
    this.stopped = true;
    for (const item of this.queue.slice(this.head)) fail(item.req, stoppedError());
    this.queue = [];
    this.head = 0;
  }

  private pump(): void {
    while (this.inFlight < this.parallel) {
      const batch: Array<Item<T>> = [];
      let weight = 0;
      while (batch.length < this.batchSize && this.head < this.queue.length) {
        const item = this.queue[this.head]!;
        const w = this.bound?.weigh(item.input) ?? 0;
        if (batch.length > 0 && this.bound && weight + w > this.bound.max) break;
        this.head++;
        if (item.req.failed) continue;
        batch.push(item);
        weight += w;
      }
      if (this.head === this.queue.length) {
        this.queue = [];
        this.head = 0;
      }
      if (batch.length === 0) return;
      this.inFlight++;
      void this.run(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async run(batch: Array<Item<T>>): Promise<void> {
    try {
      deliver(batch, await this.embed(batch.map((i) => i.input)));
    } catch (err) {
      const byReq = new Map<Request, Array<Item<T>>>();
      for (const item of batch) byReq.set(item.req, [...(byReq.get(item.req) ?? []), item]);
      if (byReq.size === 1) return fail(batch[0]!.req, err);
      for (const [req, items] of byReq) {
        if (req.failed) continue;
        try {
          deliver(items, await this.embed(items.map((i) => i.input)));
        } catch (own) {
          fail(req, own);
        }
      }
    }
  }
}

function stoppedError(): Error {
  const err = new Error('stopped: no new embedding batch starts');
  err.name = 'AbortError';
  return err;
}

function deliver<T>(items: Array<Item<T>>, vectors: number[][]): void {
  items.forEach((item, j) => {
    const { req } = item;
    if (req.failed) return;
    req.out[item.index] = vectors[j]!;
    if (--req.left === 0) req.resolve(req.out);
  });
}

function fail(req: Request, err: unknown): void {
  if (req.failed) return;
  req.failed = true;
  req.reject(err);
}

export class BatchingEmbedder implements Embedder {
  private readonly texts: BatchQueue<string>;
  private readonly images: BatchQueue<Buffer> | undefined;
  readonly embedImages?: (images: Buffer[]) => Promise<number[][]>;

  constructor(
    private readonly inner: Embedder,
    opts: { batchSize: number; parallel: number },
  ) {
    const size = Math.max(1, opts.batchSize);
    const parallel = Math.max(1, opts.parallel);
    this.texts = new BatchQueue((t) => inner.embedTexts(t), size, parallel);
    if (inner.embedImages) {
      const bound = { weigh: (b: Buffer) => b.length, max: IMAGE_BATCH_BYTES };
      this.images = new BatchQueue((b) => inner.embedImages!(b), size, parallel, bound);
      this.embedImages = (images) => this.images!.add(images);
    }
  }

  get fingerprint(): Fingerprint {
    return this.inner.fingerprint;
  }

  get dim(): number {
    return this.inner.dim;
  }

  get maxTokens(): number {
    return this.inner.maxTokens;
  }

  countTokens(text: string): number {
    return this.inner.countTokens(text);
  }

  get tokenizer(): TokenizerSpec | undefined {
    return this.inner.tokenizer;
  }

  get imageSize(): number | undefined {
    return this.inner.imageSize;
  }

  embedTexts(texts: string[]): Promise<number[][]> {
    return this.texts.add(texts);
  }

  /** After a stop (the first SIGINT/SIGTERM) no new batch starts: queued and later inputs fail with an AbortError. */
  stop(): void {
    this.texts.stop();
    this.images?.stop();
  }
}
