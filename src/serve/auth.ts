/**
 * Who may call the server. Bound to loopback (127.0.0.1, ::1, localhost) it needs no token unless
 * one is set; bound to any other address it refuses to start without one. With a token, every
 * route but `/healthz` needs it: `Authorization: Bearer <token>`, or the `ragsync_token` cookie
 * (HttpOnly, SameSite=Strict) that opening `/?token=<token>` sets, so a browser can use the page.
 *
 * Against other sites: a POST (it changes state) needs the `x-ragsync` header or a bearer token,
 * which a cross-origin form or a no-CORS fetch cannot send (no CORS is answered); a request whose
 * `Origin` is not this server (`null` included) or that the browser marks `Sec-Fetch-Site:
 * cross-site` is refused; and without a token only loopback `Host` names are served, so a
 * DNS-rebound name cannot reach a loopback server from a page.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RagsyncError } from '../core/errors.js';

/** The cookie a browser keeps the token in. */
export const TOKEN_COOKIE = 'ragsync_token';
/** The header every POST carries (the page sends it). */
export const REQUEST_HEADER = 'x-ragsync';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Whether `host` is a loopback address a server may bind without a token. */
export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host.replace(/^\[|\]$/g, ''));
}

/** Refuses a bind off loopback without a token (one line, what to do). */
export function checkBind(host: string, token: string | undefined): void {
  if (!isLoopback(host) && !token) {
    const why = `--host ${host} serves other machines: give a token (--token, or RAGSYNC_TOKEN; 16 characters at least)`;
    throw new RagsyncError('USAGE', `ragsync: ${why}`, { stage: 'config' });
  }
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieToken(req: FastifyRequest): string | undefined {
  const header = req.headers.cookie ?? '';
  const m = new RegExp(`(?:^|;\\s*)${TOKEN_COOKIE}=([^;]*)`).exec(header);
  try {
    return m ? decodeURIComponent(m[1]!) : undefined;
  } catch {
    return undefined; // not a cookie this server set
  }
}

function bearer(req: FastifyRequest): string | undefined {
  const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
  return m?.[1]?.trim();
}

function refuse(reply: FastifyReply, code: number, error: string) {
  return reply.code(code).header('cache-control', 'no-store').send({ error });
}

/** The host name of a `Host` header (`[::1]:7788` → `::1`). */
function hostName(host: string | undefined): string {
  if (!host) return '';
  const v6 = /^\[([^\]]+)\]/.exec(host);
  return v6 ? v6[1]! : host.replace(/:\d+$/, '');
}

/** Installs the checks of the header on every request of `app`. */
export function installAuth(app: FastifyInstance, opts: { token?: string }): void {
  const { token } = opts;
  app.addHook('onRequest', async (req, reply) => {
    // The path as the router sees it (no `..` resolved, no `\` turned into `/`): only /healthz itself is exempt.
    const pathname = req.url.split('?')[0];
    const url = new URL(req.url, 'http://x');
    if (!token && !isLoopback(hostName(req.headers.host))) return refuse(reply, 403, 'this server answers only loopback host names');
    // A request a page of another site makes (an <img>, a form): refused even where CORS would not stop it.
    if (req.headers['sec-fetch-site'] === 'cross-site') return refuse(reply, 403, 'cross-site requests are not allowed');
    const origin = req.headers.origin;
    if (origin) {
      let host = '';
      try {
        host = new URL(origin).host;
      } catch {}
      if (host !== req.headers.host) return refuse(reply, 403, `requests from ${origin} are not allowed`);
    }
    if (pathname === '/healthz') return;
    if (token) {
      const given = pathname === '/' ? url.searchParams.get('token') : null;
      if (given !== null && same(given, token)) {
        const cookie = `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`;
        return reply.code(303).header('set-cookie', cookie).header('location', '/').send();
      }
      const presented = bearer(req) ?? cookieToken(req);
      if (presented === undefined || !same(presented, token)) {
        reply.header('www-authenticate', 'Bearer realm="ragsync"');
        return refuse(reply, 401, 'a token is required: Authorization: Bearer <token>, or open /?token=<token> once');
      }
    }
    if (req.method !== 'GET' && req.method !== 'HEAD' && req.headers[REQUEST_HEADER] === undefined && bearer(req) === undefined) {
      return refuse(reply, 403, `a ${req.method} needs the header ${REQUEST_HEADER}: 1 (or a bearer token)`);
    }
  });
}
