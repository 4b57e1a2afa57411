/**
 * A fixed-cost embedder for benchmarks only: vectors derived from the content hash (equal inputs,
 * equal vectors), and a known sleep per batch, so a benchmark measures the pipeline, not a model.
 * Its vectors carry no meaning; its fingerprint says so (`ragsync/fixed-cost`). Like a model on
 * one device, it runs one batch at a time: concurrent calls queue, they do not overlap.
 */
import { createHash } from 'node:crypto';
import { approximateTokens } from '../core/tokens.js';
import type { Embedder, Fingerprint } from '../core/types.js';

export interface FixedOptions {
  dim: number;
  /** Milliseconds slept per batch. */
  delayMs: number;
  batchSize: number;
}

export class FixedCostEmbedder implements Embedder {
  readonly fingerprint: Fingerprint;
  private device: Promise<unknown> = Promise.resolve();
  readonly maxTokens = 8192;
  readonly tokenizer = { kind: 'chars', perToken: 4 } as const;

  constructor(private readonly opts: FixedOptions) {
    this.fingerprint = { model: 'ragsync/fixed-cost', revision: 'v1', dim: opts.dim, dtype: 'none', pooling: 'hash' };
  }

  get dim(): number {
    return this.opts.dim;
  }

  countTokens(text: string): number {
    return approximateTokens(text);
  }

  async embedTexts(texts: string[]): Promise<number[][]> {
    return this.embed(texts.map((t) => Buffer.from(t)));
  }

  async embedImages(images: Buffer[]): Promise<number[][]> {
    return this.embed(images);
  }

  private async embed(items: Buffer[]): Promise<number[][]> {
    const out: number[][] = [];
    for (let i = 0; i < items.length; i += this.opts.batchSize) {
      const busy = this.device.then(() => new Promise((r) => setTimeout(r, this.opts.delayMs)));
      this.device = busy;
      await busy;
      for (const item of items.slice(i, i + this.opts.batchSize)) out.push(vectorOf(item, this.opts.dim));
    }
    return out;
  }
}

/** The vector of an input: sha-256 blocks read as int16, L2-normalised (equal inputs, equal vectors). */
export function vectorOf(bytes: Buffer, dim: number): number[] {
  const v: number[] = [];
  let block = createHash('sha256').update(bytes).digest();
  while (v.length < dim) {
    for (let j = 0; j + 1 < block.length && v.length < dim; j += 2) v.push(block.readInt16LE(j) / 32768);
    block = createHash('sha256').update(block).digest();
  }
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => x / norm);
}
