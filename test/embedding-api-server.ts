/**
 * A local stand-in for the hosted embeddings APIs, speaking their documented wire formats:
 *
 * - Jina (`POST /v1/embeddings`): `{model, input: [{text}|{image: base64}], dimensions?,
 *   normalized, embedding_type}` → `{model, object: 'list', usage, data: [{object: 'embedding',
 *   index, embedding}]}`; errors as `{detail}` with 401, 422 (bad request) and 429 (+ Retry-After).
 * - OpenAI-compatible (`POST /openai/v1/embeddings`): `{model, input: string[], dimensions?,
 *   encoding_format}` → `{object: 'list', data: [...], model, usage}`; errors as `{error: {message}}`.
 *
 * Vectors are meaningful (feature-hashed bag of words, so search finds related text) and
 * deterministic; `dimensions` truncates Matryoshka-style. Tests can script failures, count what
 * was embedded, and hold requests (to kill a client at a known point).
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ScriptedFailure {
  status: number;
  retryAfter?: string;
  body?: unknown;
}

export interface EmbeddingApiServer {
  url: string;
  openaiUrl: string;
  /** Inputs embedded in answered requests (the texts and images whose vectors were sent). */
  embedded: number;
  requests: Array<{ inputs: number; at: number; auth: string | undefined; dimensions?: number }>;
  /** The next requests fail like this, in order. */
  failNext(...failures: ScriptedFailure[]): void;
  /** Once fewer inputs than a request's remain of this budget, hold every request until `release()`. */
  holdAfter(inputs: number): void;
  release(): void;
  /** Forgets held requests without answering them (their client is gone); stops holding. */
  dropHeld(): void;
  /** Resolves once a request is being held. */
  holding(): Promise<void>;
  /** Answers with vectors of this dimension whatever was asked for (an endpoint that ignores `dimensions`). */
  ignoreDimensions(dim: number | undefined): void;
  close(): Promise<void>;
}

export const API_KEY = 'test-key-0123456789';
export const MAX_INPUTS = 32;
const FULL_DIM = 1024;

export async function startEmbeddingApi(opts: { key?: string } = {}): Promise<EmbeddingApiServer> {
  const key = opts.key ?? API_KEY;
  const failures: ScriptedFailure[] = [];
  let budget = Infinity;
  const held: Array<() => void> = [];
  let onHold: Array<() => void> = [];
  let forcedDim: number | undefined;
  const state = {
    embedded: 0,
    requests: [] as EmbeddingApiServer['requests'],
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const openai = req.url === '/openai/v1/embeddings';
      const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(body));
      };
      const fail = (status: number, message: string, headers: Record<string, string> = {}) =>
        send(status, openai ? { error: { message, type: 'invalid_request_error' } } : { detail: message }, headers);
      if (req.method !== 'POST' || (req.url !== '/v1/embeddings' && !openai)) return fail(404, `no route ${req.method} ${req.url}`);
      const auth = req.headers.authorization;
      if (auth !== `Bearer ${key}`) return fail(401, 'Unauthorized: invalid or missing API key');
      const scripted = failures.shift();
      if (scripted) {
        res.writeHead(scripted.status, {
          'content-type': 'application/json',
          ...(scripted.retryAfter ? { 'retry-after': scripted.retryAfter } : {}),
        });
        return res.end(JSON.stringify(scripted.body ?? { detail: `scripted ${scripted.status}` }));
      }
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        return fail(400, 'request body is not JSON');
      }
      const input = body.input;
      if (!Array.isArray(input) || input.length === 0) return fail(422, 'input: a non-empty list is required');
      if (input.length > MAX_INPUTS) return fail(422, `input: at most ${MAX_INPUTS} items per request`);
      const asked = body.dimensions === undefined ? FULL_DIM : Number(body.dimensions);
      if (!Number.isInteger(asked) || asked < 64 || asked > FULL_DIM) return fail(422, `dimensions: must be between 64 and ${FULL_DIM}`);
      const dims = forcedDim ?? asked;
      if (!openai && body.embedding_type !== undefined && body.embedding_type !== 'float')
        return fail(422, 'embedding_type: only float here');
      const vectors: number[][] = [];
      for (const item of input as unknown[]) {
        if (openai) {
          if (typeof item !== 'string') return fail(400, 'input: strings only');
          vectors.push(vectorOf(item, dims));
        } else if (item && typeof item === 'object' && typeof (item as { text?: unknown }).text === 'string') {
          vectors.push(vectorOf((item as { text: string }).text, dims));
        } else if (item && typeof item === 'object' && typeof (item as { image?: unknown }).image === 'string') {
          const image = Buffer.from((item as { image: string }).image, 'base64');
          if (image.length < 8) return fail(422, 'image: cannot decode the image');
          vectors.push(vectorOf(`image ${createHash('sha256').update(image).digest('hex')}`, dims));
        } else {
          return fail(422, 'input: each item needs text or image');
        }
      }
      const answer = () => {
        state.embedded += input.length;
        state.requests.push({ inputs: input.length, at: Date.now(), auth, dimensions: body.dimensions as number | undefined });
        const data = vectors.map((embedding, index) => ({ object: 'embedding', index, embedding }));
        // Answers list embeddings out of order: clients must use `index`.
        data.reverse();
        send(200, { model: body.model, object: 'list', usage: { total_tokens: input.length, prompt_tokens: input.length }, data });
      };
      if (budget < input.length) {
        // A held request whose client has gone is never answered (nor counted) on release.
        held.push(() => {
          if (!res.socket?.destroyed) answer();
        });
        for (const f of onHold.splice(0)) f();
        return;
      }
      budget -= input.length;
      answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1/embeddings`,
    openaiUrl: `http://127.0.0.1:${port}/openai/v1/embeddings`,
    get embedded() {
      return state.embedded;
    },
    get requests() {
      return state.requests;
    },
    failNext: (...f) => void failures.push(...f),
    holdAfter: (inputs) => void (budget = inputs),
    release: () => {
      budget = Infinity;
      for (const answer of held.splice(0)) answer();
    },
    dropHeld: () => {
      budget = Infinity;
      held.length = 0;
    },
    ignoreDimensions: (dim) => void (forcedDim = dim),
    holding: () => (held.length > 0 ? Promise.resolve() : new Promise((resolve) => onHold.push(resolve))),
    close: () =>
      new Promise<void>((resolve) => {
        held.length = 0;
        onHold = [];
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Feature-hashed bag of words into `dims` buckets, L2-normalised. */
function vectorOf(text: string, dims: number): number[] {
  const v: number[] = new Array<number>(dims).fill(0);
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  for (const w of words) {
    const h = createHash('sha256').update(w).digest();
    v[h.readUInt32LE(0) % dims]! += h[4]! & 1 ? 1 : -1;
  }
  if (v.every((x) => x === 0)) v[0] = 1;
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}
