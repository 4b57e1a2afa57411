/**
 * Who may talk to `ragsync serve`: off 127.0.0.1 it needs a token (127.0.0.2 is another loopback
 * address, so the rule runs here without leaving the machine); the token is checked on every route
 * but /healthz, by header or by the cookie the page's `?token=` link sets; a POST needs the
 * `x-ragsync` header; another origin and a rebound host name are refused; no response carries the
 * token.
 */
import http from 'node:http';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers.js';
import { children } from '../children.js';

const { cli, daemon, setup } = children();
const TOKEN = 'correct-horse-battery-staple-42';
const READY = /^ragsync: serving (http:\S+)/m;

async function store() {
  const dir = path.join(await tempDir(), 'docs');
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'a.md'), '# A\n\nthe lighthouse keeper\n');
  const e = setup('LanceDB', path.join(path.dirname(dir), 'store'));
  expect((await cli(['index', dir, ...e.sink, ...e.model])).code).toBe(0);
  return e;
}

/** A request with any Host header and any path (fetch allows neither). */
function raw(url: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // The path as written (a URL would resolve `..` and turn `\\` into `/`).
    const { hostname, port, origin } = new URL(url);
    const request = { hostname, port, path: url.slice(origin.length), method: opts.method ?? 'GET', headers: opts.headers };
    const req = http.request(request, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('ragsync serve: security', () => {
  it('refuses to bind off 127.0.0.1 without a token, with one line saying what to do', async () => {
    const e = await store();
    const res = await cli(['serve', ...e.sink, '--host', '127.0.0.2', '--port', '0']);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/--host 127\.0\.0\.2 serves other machines: give a token \(--token, or RAGSYNC_TOKEN/);
  });

  it('off 127.0.0.1 checks the token on every route but /healthz, by header or cookie, and never echoes it', async () => {
    const e = await store();
    const d = await daemon(['serve', ...e.sink, '--host', '127.0.0.2', '--port', '0'], READY, { RAGSYNC_TOKEN: TOKEN });
    const url = READY.exec(d.output())![1]!;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.2:\d+$/);
    expect(d.output()).toContain('token required');
    for (const route of ['/', '/api/status', '/api/search?q=lighthouse', '/api/jobs', '/metrics', '/api/events']) {
      const res = await fetch(`${url}${route}`);
      expect(res.status, route).toBe(401);
      expect(await res.text()).not.toContain(TOKEN);
      expect((await fetch(`${url}${route}`, { headers: { authorization: 'Bearer wrong-token-of-some-length' } })).status, route).toBe(401);
    }
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    // Only /healthz itself is exempt, as the router reads the path; a cookie that is not ours is no token.
    expect((await raw(`${url}/assets/x\\..\\..\\healthz`)).status).toBe(401);
    expect((await raw(`${url}/api/status;/../../healthz`)).status).toBe(401);
    expect((await raw(`${url}/api/status`, { headers: { cookie: 'ragsync_token=%ZZ' } })).status).toBe(401);
    const auth = { authorization: `Bearer ${TOKEN}` };
    const status = await fetch(`${url}/api/status`, { headers: auth });
    expect(status.status).toBe(200);
    expect(await status.text()).not.toContain(TOKEN);
    expect((await fetch(`${url}/api/search?q=lighthouse&mode=keyword`, { headers: auth })).status).toBe(200);

    // The page's link: ?token= sets an HttpOnly, SameSite=Strict cookie and redirects to the page.
    const wrong = await fetch(`${url}/?token=nope`, { redirect: 'manual' });
    expect(wrong.status).toBe(401);
    const link = await fetch(`${url}/?token=${TOKEN}`, { redirect: 'manual' });
    expect(link.status).toBe(303);
    expect(link.headers.get('location')).toBe('/');
    const cookie = link.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^ragsync_token=[^;]+; HttpOnly; SameSite=Strict; Path=\//);
    const jar = { cookie: cookie.split(';')[0]! };
    expect((await fetch(`${url}/api/status`, { headers: jar })).status).toBe(200);
    expect((await fetch(`${url}/`, { headers: jar })).status).toBe(200);

    // A POST with the cookie alone (what a form on another site would send) is refused; with the header it runs.
    expect((await fetch(`${url}/api/jobs/retry`, { method: 'POST', headers: jar })).status).toBe(403);
    expect((await fetch(`${url}/api/jobs/retry`, { method: 'POST', headers: { ...jar, 'x-ragsync': '1' } })).status).toBe(200);
    const other = { ...jar, 'x-ragsync': '1', origin: 'http://evil.example' };
    expect((await fetch(`${url}/api/jobs/retry`, { method: 'POST', headers: other })).status).toBe(403);
  });

  it('on 127.0.0.1 without a token: answers loopback host names only, refuses other origins and POSTs without the header', async () => {
    const e = await store();
    const d = await daemon(['serve', ...e.sink, '--port', '0'], READY);
    const url = READY.exec(d.output())![1]!;
    const port = new URL(url).port;
    expect((await raw(`${url}/api/status`)).status).toBe(200);
    expect((await raw(`${url}/api/status`, { headers: { host: `localhost:${port}` } })).status).toBe(200);
    // A DNS-rebound name pointing at 127.0.0.1: a page of that site must not read the index.
    const rebound = await raw(`${url}/api/status`, { headers: { host: `attacker.example:${port}` } });
    expect(rebound.status).toBe(403);
    expect(rebound.body).not.toContain('lighthouse');
    expect((await raw(`${url}/api/search?q=lighthouse`, { headers: { origin: 'http://attacker.example' } })).status).toBe(403);
    expect((await raw(`${url}/api/search?q=lighthouse`, { headers: { origin: url } })).status).toBe(200);
    expect((await raw(`${url}/api/search?q=lighthouse`, { headers: { origin: 'null' } })).status).toBe(403);
    // An <img> or a form of another site carries no Origin on a GET; the browser marks it cross-site.
    expect((await raw(`${url}/api/search?q=lighthouse`, { headers: { 'sec-fetch-site': 'cross-site' } })).status).toBe(403);
    expect((await raw(`${url}/api/search?q=lighthouse`, { headers: { 'sec-fetch-site': 'same-origin' } })).status).toBe(200);
    expect((await raw(`${url}/api/jobs/retry`, { method: 'POST' })).status).toBe(403);
    expect(
      (await raw(`${url}/api/jobs/retry`, { method: 'POST', headers: { 'content-type': 'text/plain', 'x-ragsync': '1' } })).status,
    ).toBe(415);
    expect((await raw(`${url}/api/jobs/retry`, { method: 'POST', headers: { 'x-ragsync': '1' } })).status).toBe(200);
    expect((await raw(`${url}/api/status`, { method: 'DELETE', headers: { 'x-ragsync': '1' } })).status).toBe(404);
  });
});
