/**
 * Hosted embedding APIs over HTTP: Jina's embeddings API (`jina-clip-v2`: text and images in one
 * space, Matryoshka dimensions) and any OpenAI-compatible `/embeddings` endpoint (OpenAI, Ollama,
 * vLLM; text only). Requests are batched within the API's limits; 429 and 5xx answers and network
 * failures are retried with exponential backoff and jitter, honouring `Retry-After`; 400/401/403/
 * 422 answers fail at once with the API's own explanation. The API key is sent only in the
 * `Authorization` header and is never part of a message, a log line or a stored descriptor.
 */
import { sizedBatches } from '../core/batches.js';
import { RagsyncError, errorMessage } from '../core/errors.js';
import type { Embedder, Fingerprint } from '../core/types.js';

export type ApiProtocol = 'jina' | 'openai';

export interface ApiEmbedderOptions {
  protocol: ApiProtocol;
  /** The embeddings endpoint (for example https://api.jina.ai/v1/embeddings). */
  url: string;
  model: string;
  /** Output dimension: Matryoshka truncation for Jina; `dimensions` for OpenAI. */
  dimensions?: number;
  apiKey?: string;
  /** Inputs per request. */
  batchSize: number;
  /** Largest input the model takes, in tokens (chunks are made smaller). */
  maxTokens: number;
  timeoutMs: number;
  /** Attempts after the first one, for 429, 5xx and network failures. */
  maxRetries: number;
  /** First backoff delay; doubles per attempt (with jitter), capped at `maxBackoffMs`. */
  backoffMs?: number;
  maxBackoffMs?: number;
}

/** Request bodies are kept below this (images travel base64-encoded). */
const MAX_REQUEST_BYTES = 8 * 1024 * 1024;

type Input = { text: string } | { image: string };

interface ApiResponse {
  data?: Array<{ index?: number; embedding?: unknown }>;
  detail?: unknown;
  error?: unknown;
}

export class ApiEmbedder implements Embedder {
  readonly fingerprint: Fingerprint;
  readonly maxTokens: number;
  readonly embedImages?: (images: Buffer[]) => Promise<number[][]>;

  private constructor(
    private readonly opts: ApiEmbedderOptions,
    readonly dim: number,
  ) {
    this.maxTokens = opts.maxTokens;
    // Hosted weights cannot be pinned: the model name is the identity, the protocol the revision.
    this.fingerprint = { model: opts.model, revision: `${opts.protocol}-api`, dim, dtype: 'float32', pooling: 'api' };
    if (opts.protocol === 'jina') this.embedImages = (images) => this.embed(images.map((b) => ({ image: b.toString('base64') })));
  }

  /** Builds the embedder; an OpenAI-compatible endpoint without `dimensions` is asked once for its size. */
  static async create(opts: ApiEmbedderOptions): Promise<ApiEmbedder> {
    if (opts.dimensions !== undefined) return new ApiEmbedder(opts, opts.dimensions);
    if (opts.protocol === 'jina') return new ApiEmbedder(opts, 1024);
    const probe = new ApiEmbedder(opts, 0);
    const [v] = await probe.request([{ text: 'ragsync' }], 0);
    return new ApiEmbedder(opts, v!.length);
  }

  readonly tokenizer = { kind: 'chars', perToken: 3 } as const;

  countTokens(text: string): number {
    // No tokenizer runs locally: a conservative estimate (API tokenizers average ~4 characters
    // per token on English; this counts 3), so chunks stay under the model's limit.
    return Math.ceil(text.length / 3);
  }

  embedTexts(texts: string[]): Promise<number[][]> {
    return this.embed(texts.map((text) => ({ text })));
  }

  private async embed(inputs: Input[]): Promise<number[][]> {
    const out: number[][] = [];
    // At most batchSize inputs and about MAX_REQUEST_BYTES of body per request.
    const sizeOf = (i: Input) => ('text' in i ? Buffer.byteLength(i.text) : i.image.length) + 16;
    for (const batch of sizedBatches(inputs, sizeOf, MAX_REQUEST_BYTES, this.opts.batchSize))
      out.push(...(await this.request(batch, this.dim)));
    return out;
  }

  private body(inputs: Input[]): string {
    const o = this.opts;
    if (o.protocol === 'jina') {
      return JSON.stringify({
        model: o.model,
        input: inputs,
        normalized: true,
        embedding_type: 'float',
        ...(o.dimensions !== undefined ? { dimensions: o.dimensions } : {}),
      });
    }
    return JSON.stringify({
      model: o.model,
      input: inputs.map((i) => ('text' in i ? i.text : '')),
      encoding_format: 'float',
      ...(o.dimensions !== undefined ? { dimensions: o.dimensions } : {}),
    });
  }

  /** One request, retried; returns one L2-normalised vector per input, in input order. */
  private async request(inputs: Input[], dim: number): Promise<number[][]> {
    const o = this.opts;
    const body = this.body(inputs);
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(o.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json',
            ...(o.apiKey ? { authorization: `Bearer ${o.apiKey}` } : {}),
          },
          body,
          signal: AbortSignal.timeout(o.timeoutMs),
        });
      } catch (err) {
        const cause = err instanceof Error && err.name === 'TimeoutError' ? `no answer within ${o.timeoutMs} ms` : causeOf(err);
        if (attempt < o.maxRetries) {
          await sleep(this.backoff(attempt));
          continue;
        }
        throw this.error(`cannot reach ${o.url}: ${cause} (after ${attempt + 1} attempts)`, true, err);
      }
      const text = await res.text().catch(() => '');
      if (res.ok) return this.parse(text, inputs.length, dim);
      const detail = this.detail(text);
      const retryable = res.status === 429 || res.status === 408 || res.status >= 500;
      if (retryable && attempt < o.maxRetries) {
        await sleep(retryAfter(res.headers.get('retry-after'), o.maxBackoffMs ?? 60_000) ?? this.backoff(attempt));
        continue;
      }
      if (res.status === 401 || res.status === 403) {
        const hint = o.apiKey
          ? 'check the API key'
          : 'no API key is set (config embedder.apiKey, or the environment variable named by embedder.apiKeyEnv)';
        throw this.error(`${o.url} refused the request (${res.status}): ${detail}; ${hint}`, false);
      }
      const what = retryable ? `still failing after ${attempt + 1} attempts` : 'the request was rejected';
      throw this.error(`${o.url} answered ${res.status} (${what}): ${detail}`, retryable);
    }
  }

  private parse(text: string, count: number, dim: number): number[][] {
    let json: ApiResponse;
    try {
      json = JSON.parse(text) as ApiResponse;
    } catch {
      throw this.error(`${this.opts.url} answered with something that is not JSON: ${this.redact(text.slice(0, 200))}`, true);
    }
    const data = Array.isArray(json.data) ? json.data : [];
    if (data.length !== count) throw this.error(`${this.opts.url} returned ${data.length} embeddings for ${count} inputs`, true);
    const out: number[][] = new Array(count);
    data.forEach((d, i) => {
      const index = typeof d.index === 'number' ? d.index : i;
      const v = d.embedding;
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
        throw this.error(`${this.opts.url}: embedding ${index} is not an array of numbers (is embedding_type float?)`, false);
      }
      if (dim > 0 && v.length !== dim) {
        throw this.error(
          `${this.opts.url} returned ${v.length}-dimensional vectors, but ${dim} are configured (embedder.dimensions)`,
          false,
        );
      }
      if (index < 0 || index >= count || out[index]) throw this.error(`${this.opts.url}: bad or repeated embedding index ${index}`, true);
      out[index] = normalise(v as number[]);
    });
    return out;
  }

  /** The API's explanation of a failure (`detail` for Jina, `error.message` for OpenAI). */
  private detail(text: string): string {
    try {
      const json = JSON.parse(text) as ApiResponse;
      const d = json.detail ?? (json.error as { message?: unknown } | undefined)?.message ?? json.error;
      if (d !== undefined) return this.redact(typeof d === 'string' ? d : JSON.stringify(d)).slice(0, 500);
    } catch {
      // not JSON: use the text
    }
    return this.redact(text.replace(/\s+/g, ' ').trim()).slice(0, 500) || '(no explanation given)';
  }

  private backoff(attempt: number): number {
    const base = this.opts.backoffMs ?? 500;
    const cap = this.opts.maxBackoffMs ?? 60_000;
    const full = Math.min(cap, base * 2 ** attempt);
    return full / 2 + Math.random() * (full / 2);
  }

  private redact(s: string): string {
    const key = this.opts.apiKey;
    return key && key.length >= 4 ? s.split(key).join('[redacted]') : s;
  }

  private error(message: string, retryable: boolean, cause?: unknown): RagsyncError {
    return new RagsyncError('EMBED', `embedding API (${this.opts.model}): ${this.redact(message)}`, { stage: 'embed', retryable, cause });
  }
}

/** `Retry-After` in milliseconds (delta seconds or an HTTP date), capped; undefined when absent or unreadable. */
export function retryAfter(header: string | null, capMs: number, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const s = header.trim();
  const ms = /^\d+(\.\d+)?$/.test(s) ? Number(s) * 1000 : Date.parse(s) - now;
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(Math.max(0, ms), capMs);
}

function normalise(v: number[]): number[] {
  let sum = 0;
  for (const x of v) sum += x * x;
  const norm = Math.sqrt(sum) || 1;
  return v.map((x) => x / norm);
}

function causeOf(err: unknown): string {
  const c = (err as { cause?: unknown }).cause;
  return c ? errorMessage(c) : errorMessage(err);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
