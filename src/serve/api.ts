/**
 * The `/api` routes: search (by text, or by an uploaded image), status, jobs and their retry, a
 * thumbnail of an indexed image, and the live syncs as server-sent events. Parameters are checked
 * by each route's JSON schema (a bad one is a 400 naming it, `server.ts`).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { SearchRequest, Service, SyncEvent } from '../app/index.js';
import { RagsyncError, errorMessage } from '../core/errors.js';
import { looksLikeImage, parseFilters } from '../core/query.js';
import type { SearchFilter, SearchMode } from '../core/types.js';
import { SEARCH_MODES } from '../config/options.js';

/** What `GET /api/search` takes; `POST` takes the same, and the image as its body. */
const SEARCH_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    q: { type: 'string', maxLength: 4096 },
    mode: { type: 'string', enum: SEARCH_MODES },
    k: { type: 'integer', minimum: 1, maximum: 100, default: 5 },
    perDoc: { type: 'integer', minimum: 0, maximum: 100, default: 2 },
    filter: { type: 'array', items: { type: 'string', pattern: '^(source|modality|doc|path)=', maxLength: 4096 }, maxItems: 8 },
    fresh: { type: 'string', minLength: 1, maxLength: 4096 },
    freshTimeoutMs: { type: 'integer', minimum: 0, maximum: 600_000 },
  },
} as const;

interface SearchQuery {
  q?: string;
  mode?: SearchMode;
  k: number;
  perDoc: number;
  filter?: string[];
  fresh?: string;
  freshTimeoutMs?: number;
}

/** The content types an image upload may have. */
export const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/bmp', 'application/octet-stream'];

/** A 400 naming the parameter. */
export class BadParameter extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

function filterOf(items: readonly string[] | undefined): SearchFilter | undefined {
  try {
    return parseFilters(items ?? []);
  } catch (err) {
    throw new BadParameter('filter', errorMessage(err));
  }
}

function requestOf(q: SearchQuery, image?: Buffer): SearchRequest {
  const text = q.q?.trim() || undefined;
  if (!text && !image) throw new BadParameter('q', 'give a query text (or POST an image)');
  if (image && !looksLikeImage(image)) throw new BadParameter('body', 'not an image (PNG, JPEG, GIF, WebP or BMP)');
  const mode = q.mode ?? (image && !text ? 'dense' : SEARCH_MODES[0]);
  if (mode === 'keyword' && !text) throw new BadParameter('q', 'a keyword search needs a query text');
  return { text, image, mode, k: q.k, perDoc: q.perDoc, filter: filterOf(q.filter), fresh: q.fresh, freshTimeoutMs: q.freshTimeoutMs };
}

/** A request cut short: the client went away, or the server is stopping. */
export class Cancelled extends Error {}

/** The fresh waits in progress: ended when the client goes away, all of them when the server stops (a close would wait for them). */
class Waits {
  private readonly open = new Set<AbortController>();
  signal(res: FastifyReply['raw']): AbortSignal {
    const controller = new AbortController();
    this.open.add(controller);
    res.once('close', () => {
      this.open.delete(controller);
      if (!res.writableFinished) controller.abort(new Cancelled('the client went away'));
    });
    return controller.signal;
  }
  stop(): void {
    for (const c of this.open) c.abort(new Cancelled('the server is stopping'));
  }
}

/** Event streams open at once at most (each page holds one). */
const MAX_STREAMS = 64;

/** Registers the `/api` routes on `app`. */
export function registerApi(app: FastifyInstance, service: Service, opts: { maxUploadBytes: number }): void {
  const waits = new Waits();
  app.get<{ Querystring: SearchQuery }>('/api/search', { schema: { querystring: SEARCH_QUERY } }, async (req, reply) =>
    service.search({ ...requestOf(req.query), signal: waits.signal(reply.raw) }).catch((err: unknown) => {
      // The one usage error of a search's source: `fresh` names a file in no source (or in several).
      if (req.query.fresh !== undefined && err instanceof RagsyncError && err.code === 'USAGE' && err.stage === 'source')
        throw new BadParameter('fresh', err.message);
      throw err;
    }),
  );
  app.post<{ Querystring: SearchQuery; Body: Buffer }>(
    '/api/search',
    { schema: { querystring: SEARCH_QUERY }, bodyLimit: opts.maxUploadBytes },
    async (req) => {
      if (!Buffer.isBuffer(req.body) || req.body.length === 0) throw new BadParameter('body', 'POST the image as the request body');
      return service.search(requestOf(req.query, req.body));
    },
  );
  app.get('/api/status', async () => service.status());
  const limit = {
    type: 'object',
    additionalProperties: false,
    properties: { limit: { type: 'integer', minimum: 1, maximum: 10_000, default: 100 } },
  };
  app.get<{ Querystring: { limit: number } }>('/api/jobs', { schema: { querystring: limit } }, async (req) => ({
    queues: await service.jobs(req.query.limit),
  }));
  app.post('/api/jobs/retry', async () => service.retry(null));
  const id = { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 8192 } }, required: ['id'] };
  app.post<{ Params: { id: string } }>('/api/jobs/:id/retry', { schema: { params: id } }, async (req, reply) => {
    const result = await service.retry(req.params.id);
    if (result.retried + result.deferred === 0)
      return reply.code(404).send({ error: `no failed job ${JSON.stringify(req.params.id)}`, field: 'id' });
    return result;
  });
  const thumb = {
    type: 'object',
    additionalProperties: false,
    required: ['doc'],
    properties: {
      doc: { type: 'string', minLength: 1, maxLength: 8192 },
      size: { type: 'integer', minimum: 16, maximum: 512, default: 128 },
    },
  };
  app.get<{ Querystring: { doc: string; size: number } }>('/api/thumbnail', { schema: { querystring: thumb } }, async (req, reply) => {
    const image = await service.thumbnail(req.query.doc, req.query.size);
    if (!image) return reply.code(404).send({ error: `${req.query.doc} is not an indexed image document`, field: 'doc' });
    return reply.type(image.type).header('cache-control', 'private, max-age=60').send(image.bytes);
  });
  // An event stream never ends by itself: closing the server ends them (else the close waits for them).
  const streams = new Set<FastifyReply['raw']>();
  app.addHook('preClose', async () => {
    waits.stop();
    for (const res of streams) res.end();
  });
  app.get('/api/events', { exposeHeadRoute: false }, (_req, reply) => {
    if (streams.size >= MAX_STREAMS) return reply.code(503).send({ error: `${MAX_STREAMS} event streams are open already` });
    events(service, reply, streams);
  });
}

/** Server-sent events: `sync` for every finished sync job of this process's daemon, a comment every 15 s. */
function events(service: Service, reply: FastifyReply, streams: Set<FastifyReply['raw']>): void {
  reply.hijack();
  const res = reply.raw;
  streams.add(res);
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
  res.write(`: ragsync ${service.daemon ? 'syncs' : 'no daemon in this process'}\n\n`);
  const send = (e: SyncEvent) => res.write(`event: sync\ndata: ${JSON.stringify(e)}\n\n`);
  const off = service.onSync(send);
  const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
  res.on('close', () => {
    streams.delete(res);
    clearInterval(ping);
    off();
  });
}

/** The HTTP status of an error a route threw. */
export function statusOf(err: unknown): number {
  if (err instanceof BadParameter) return 400;
  if (err instanceof Cancelled) return 503;
  if (!(err instanceof RagsyncError)) return 500;
  if (err.code === 'USAGE' || err.code === 'CONFIG') return 400;
  if (err.code === 'FINGERPRINT_MISMATCH') return 409;
  if (err.code === 'PARSE' || err.code === 'UNSUPPORTED' || err.code === 'TOO_LARGE') return 422;
  return 503;
}
