/**
 * The HTTP server (fastify): the API (`api.ts`), the status page (`page.ts`), `/metrics` and
 * `/healthz`, behind the checks of `auth.ts`. A bad parameter is a 400 with the field named, an
 * upload over the limit a 413, a store or model that is not there a 503; errors are one JSON
 * object `{ error, field? }` and never carry a stack or a secret.
 */
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { Histogram, Registry } from 'prom-client';
import type { Service } from '../app/index.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { BadParameter, Cancelled, IMAGE_TYPES, registerApi, statusOf } from './api.js';
import { installAuth } from './auth.js';
import { registerPage } from './page.js';

export interface ServerOptions {
  token?: string;
  maxUploadBytes: number;
  log: Logger;
}

/** The field a schema error names: `k` for `querystring/k must be <= 100`. */
function fieldOf(err: FastifyError): string | undefined {
  const v = err.validation?.[0];
  if (!v) return undefined;
  const params = v.params as { missingProperty?: string; additionalProperty?: string };
  return params.missingProperty ?? params.additionalProperty ?? (v.instancePath.replace(/^\//, '').split('/')[0] || undefined);
}

function messageOf(err: FastifyError): string {
  const v = err.validation?.[0];
  const field = fieldOf(err);
  if (!v) return err.message;
  const params = v.params as { additionalProperty?: string };
  if (params.additionalProperty) return `${field}: unknown parameter`;
  return `${field ?? err.validationContext}: ${v.message ?? 'invalid'}`;
}

/** Builds the server (not listening yet). */
export async function buildServer(service: Service, opts: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    // Bodies are images for POST /api/search only (its own limit); anything else is small.
    bodyLimit: 64 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
    routerOptions: { maxParamLength: 8192 },
  });
  // The one body this server reads is an image: any other content type is a 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(IMAGE_TYPES, { parseAs: 'buffer', bodyLimit: opts.maxUploadBytes }, (_req, body, done) => done(null, body));
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.validation) return reply.code(400).send({ error: messageOf(err), field: fieldOf(err) });
    if (err instanceof BadParameter) return reply.code(400).send({ error: err.message, field: err.field });
    if (err.statusCode === 413) return reply.code(413).send({ error: `the body is larger than ${opts.maxUploadBytes} bytes` });
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return reply.code(err.statusCode).send({ error: err.message });
    const code = statusOf(err);
    if (code >= 500 && !(err instanceof Cancelled))
      opts.log.warn({ stage: 'serve', url: req.url.split('?')[0], err: errorMessage(err) }, 'request failed');
    return reply.code(code).send({ error: errorMessage(err) });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]}` }));
  installAuth(app, { token: opts.token });
  const registry = service.daemon?.metrics.registry ?? new Registry();
  const searches = new Histogram({
    name: 'ragsync_search_seconds',
    help: 'Seconds a search request took in this server',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  app.addHook('onResponse', async (req, reply) => {
    if (req.routeOptions.url === '/api/search' && reply.statusCode === 200) searches.observe(reply.elapsedTime / 1000);
  });
  app.get('/healthz', async (_req, reply) => {
    const ok = service.daemon ? await service.daemon.queue.healthy() : true;
    return reply
      .code(ok ? 200 : 503)
      .type('text/plain')
      .send(ok ? 'ok\n' : 'unhealthy\n');
  });
  app.get('/metrics', async (_req, reply) => {
    if (service.daemon)
      for (const [state, n] of Object.entries(await service.daemon.queue.counts())) service.daemon.metrics.queueDepth.set({ state }, n);
    return reply.type(registry.contentType).send(await registry.metrics());
  });
  registerApi(app, service, { maxUploadBytes: opts.maxUploadBytes });
  await registerPage(app);
  return app;
}
