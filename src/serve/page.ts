/**
 * The status page: `/` (web/index.html), `/assets/*` (the other files of web/) and
 * `/assets/vendor/chart.umd.min.js` (chart.js from its installed package, not copied). The page
 * is static; it reads everything it shows from the `/api` routes, with the same authentication.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** web/ at the package root: two levels above this file, from src/serve/ and from dist/serve/ alike. */
const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'web');
const CHART_FILE = 'chart.umd.min.js';

/**
 * What the page may load: its own files only (scripts, styles, images, fetches, events), no
 * inline script, never framed.
 */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

function pageHeaders(reply: FastifyReply): void {
  reply.header('content-security-policy', CSP);
  reply.header('x-content-type-options', 'nosniff');
  reply.header('referrer-policy', 'no-referrer');
}

/** The dist folder of the installed chart.js package. */
function chartDir(): string {
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve('chart.js'));
}

/**
 * Registers the page routes on `app`. Call it after the authentication hook is in place: the
 * page and its assets are guarded like every `/api` route.
 */
export async function registerPage(app: FastifyInstance): Promise<void> {
  const vendor = chartDir();
  await app.register(fastifyStatic, {
    root: WEB_DIR,
    prefix: '/assets/',
    index: false,
    list: false,
    dotfiles: 'deny',
    cacheControl: false,
    allowedPath: (pathName) => pathName !== '/index.html',
    setHeaders: (res) => {
      res.setHeader('x-content-type-options', 'nosniff');
      res.setHeader('cache-control', 'no-cache');
    },
  });
  app.get(`/assets/vendor/${CHART_FILE}`, (_req, reply) => {
    reply.header('cache-control', 'max-age=86400');
    return reply.sendFile(CHART_FILE, vendor);
  });
  app.get('/', (_req, reply) => {
    pageHeaders(reply);
    reply.header('cache-control', 'no-cache');
    return reply.sendFile('index.html', WEB_DIR);
  });
}
