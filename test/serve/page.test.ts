/**
 * The status page in a real browser (Debian's chromium, driven by playwright-core) against real
 * `ragsync serve` and `ragsync watch --serve` processes on a copy of the sample corpus. With
 * RAGSYNC_SCREENSHOTS_DIR set (e.g. docs/screenshots), the screenshots of docs/status-page.md are
 * written there.
 */
import { copyFile, cp, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { children } from '../children.js';
import { FIXTURES, ROOT, TINY_MODEL, tempDir } from '../helpers.js';
// @ts-expect-error: a plain ESM script without type declarations
import { launchBrowser } from '../../scripts/chromium.mjs';

const CORPUS = path.join(ROOT, 'examples', 'corpus');
/** `serve` prints `ragsync: serving URL (store …)`, `watch --serve` `ragsync: watching DIR (…, serving URL)`. */
const READY = /serving (http:\/\/[^\s)]+)/;
const SHOTS = process.env.RAGSYNC_SCREENSHOTS_DIR;

interface SourceJson {
  name: string;
  documents: number;
  chunks: number;
}

describe('the status page', () => {
  const { cli, daemon } = children();
  let browser: Browser;

  beforeAll(async () => {
    browser = (await launchBrowser()) as Browser;
  });
  afterAll(async () => {
    await browser?.close();
  });

  /** A page on `url` that fails the test on any script error. */
  async function open(url: string): Promise<{ page: Page; errors: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    return { page, errors };
  }

  async function shot(page: Page, name: string): Promise<void> {
    if (SHOTS) await page.screenshot({ path: path.join(path.resolve(ROOT, SHOTS), name), fullPage: true });
  }

  /** A copy of the sample corpus, and a plain-text file whose text looks like markup. */
  async function corpus(work: string): Promise<string> {
    const dir = path.join(work, 'corpus');
    await cp(CORPUS, dir, { recursive: true });
    await writeFile(path.join(dir, 'markup.txt'), 'zanzibar notes: <img src=x onerror="window.__injected=1"> <b>not bold</b>\n');
    return dir;
  }

  async function search(page: Page, q: string, mode: string): Promise<string[]> {
    await page.fill('#search-q', q);
    await page.selectOption('#search-mode', mode);
    await page.click('#search-form button[type=submit]');
    await page.locator('#search-summary', { hasText: q }).waitFor();
    return page.locator('#hits li.hit').evaluateAll((items) => items.map((li) => (li as HTMLElement).dataset.path ?? ''));
  }

  it("shows the store's counts, searches, and shows an image hit's thumbnail; API errors are shown", async () => {
    const work = await tempDir();
    const dir = await corpus(work);
    const flags = ['--store', path.join(work, 'store'), '--model-dir', TINY_MODEL];
    expect((await cli(['index', dir, ...flags])).code).toBe(0);
    const status = JSON.parse((await cli(['status', '--json', ...flags.slice(0, 2)])).stdout) as {
      docs: number;
      chunks: number;
      sources: SourceJson[];
    };
    expect(status.docs).toBe(8);
    expect((await cli(['audit', dir, ...flags])).code).toBe(0);
    const d = await daemon(['serve', ...flags, '--port', '0'], READY);
    const url = READY.exec(d.output())![1]!;
    const { page, errors } = await open(url);

    await expect.poll(() => page.textContent('#glance-docs')).toBe(String(status.docs));
    expect(await page.textContent('#glance-chunks')).toBe(String(status.chunks));
    for (const s of status.sources) {
      const row = page.locator(`#sources-body tr[data-source="${s.name}"]`);
      expect(await row.locator('[data-field=documents]').textContent()).toBe(String(s.documents));
      expect(await row.locator('[data-field=chunks]').textContent()).toBe(String(s.chunks));
    }
    expect(await page.textContent('#freshness-note')).toMatch(/No daemon in this process/);
    expect(await page.textContent(`#audit-body li[data-source="${status.sources[0]!.name}"]`)).toMatch(/^in sync .*8 documents/);

    const cliFirst = JSON.parse((await cli(['search', 'sourdough', '--mode', 'keyword', '--json', ...flags])).stdout)[0].path;
    expect(cliFirst).toBe('sourdough-bread.md');
    expect((await search(page, 'sourdough', 'keyword'))[0]).toBe(cliFirst);
    expect(await page.locator('#hits li.hit').first().locator('.where').textContent()).toMatch(/^sourdough-bread\.md:\d+/);
    await shot(page, 'status.png');

    // Text is data: markup in a document is shown as text, never run.
    expect(await search(page, 'zanzibar', 'keyword')).toEqual(['markup.txt']);
    expect(await page.locator('#hits .snippet').first().textContent()).toContain('<img src=x onerror=');
    expect(await page.locator('#hits img:not(.thumb)').count()).toBe(0);
    expect(await page.evaluate(() => (window as { __injected?: number }).__injected)).toBeUndefined();

    // An image query (the file itself): that image first, with its thumbnail loaded.
    await page.setInputFiles('#search-image', path.join(CORPUS, 'images', 'red-square.png'));
    await page.fill('#search-q', '');
    await page.click('#search-form button[type=submit]');
    await page.locator('#search-summary', { hasText: 'the image' }).waitFor();
    const first = page.locator('#hits li.hit').first();
    expect(await first.getAttribute('data-path')).toBe('images/red-square.png');
    const thumb = first.locator('img.thumb');
    expect(await thumb.getAttribute('src')).toMatch(/^\/api\/thumbnail\?doc=.+&size=128$/);
    await expect
      .poll(() => thumb.evaluate((img) => (img as HTMLImageElement).complete && (img as HTMLImageElement).naturalWidth))
      .toBeGreaterThan(0);
    await shot(page, 'image-search.png');
    expect(errors).toEqual([]);

    // The server gone (killed): the page says so instead of showing stale numbers silently.
    d.child.kill('SIGKILL');
    await d.exited;
    await page.locator('#errors').waitFor({ state: 'visible', timeout: 15_000 });
    expect(await page.textContent('#errors')).toMatch(/GET \/api\/(status|jobs): the server cannot be reached/);
    expect(await page.textContent('#live')).toMatch(/reconnecting|stopped/);
  }, 180_000);

  it('runs a failed job again with its Retry button once the file is fixed (watch --serve, live syncs, freshness)', async () => {
    const work = await tempDir();
    const dir = await corpus(work);
    const files = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).length;
    await copyFile(path.join(FIXTURES, 'files', 'corrupt.pdf'), path.join(dir, 'broken.pdf'));
    // The watcher reports the fix only after 60 s of quiet (and no periodic reconcile): within
    // this test only the Retry button can run the job again.
    const flags = ['--store', path.join(work, 'store'), '--model-dir', TINY_MODEL, '--settle-ms', '60000', '--reconcile-seconds', '0'];
    const d = await daemon(['watch', dir, ...flags, '--serve', '--port', '0'], READY);
    const url = READY.exec(d.output())![1]!;
    const { page, errors } = await open(url);

    const failed = page.locator('#failed-body tr[data-job]', { hasText: 'broken.pdf' });
    await failed.waitFor({ timeout: 60_000 });
    expect(await failed.locator('.reason').textContent()).toMatch(/broken\.pdf/);
    await expect.poll(() => page.textContent('#glance-docs'), { timeout: 60_000 }).toBe(String(files));
    expect(await page.textContent('#glance-failed')).toBe('1');
    expect(await page.isEnabled('#retry-all')).toBe(true);
    await expect.poll(() => page.locator('#freshness-chart').isVisible()).toBe(true);
    expect(await page.textContent('#freshness-note')).toMatch(/^[1-9]\d* documents synced since the daemon started/);
    expect(await page.locator('#syncs-body tr[data-path]').count()).toBeGreaterThan(0);
    await shot(page, 'failed-job.png');

    await copyFile(path.join(FIXTURES, 'files', 'two-pages.pdf'), path.join(dir, 'broken.pdf'));
    await failed.getByRole('button', { name: 'Retry broken.pdf' }).click();
    await page.locator('#retry-note', { hasText: 'Retry broken.pdf: 1 job queued again.' }).waitFor();
    await page.locator('#failed-body', { hasText: 'No failed job.' }).waitFor({ timeout: 30_000 });
    await expect.poll(() => page.textContent('#glance-docs'), { timeout: 30_000 }).toBe(String(files + 1));
    expect(await page.textContent('#glance-failed')).toBe('0');
    expect(await page.isEnabled('#retry-all')).toBe(false);
    // The sync came in live: the newest row is the fixed file's, without an error.
    await page.locator('#syncs-body tr[data-path="broken.pdf"]:not(.bad)').first().waitFor({ timeout: 15_000 });
    expect((await search(page, 'orchards', 'keyword'))[0]).toBe('broken.pdf');
    expect(await page.locator('#hits li.hit').first().locator('.where').textContent()).toMatch(/^broken\.pdf · page 1/);
    await shot(page, 'retried.png');
    expect(errors).toEqual([]);
  }, 180_000);

  it('works with a token: refused without it, then /?token= once and the page, its API calls and live events use the cookie', async () => {
    const work = await tempDir();
    const dir = await corpus(work);
    const flags = ['--store', path.join(work, 'store'), '--model-dir', TINY_MODEL];
    expect((await cli(['index', dir, ...flags])).code).toBe(0);
    const token = 'page-test-token-0123456789';
    const d = await daemon(['serve', ...flags, '--port', '0', '--host', '127.0.0.2', '--token', token], READY);
    const url = READY.exec(d.output())![1]!;
    const { page, errors } = await open(url);
    expect(await page.textContent('body')).toMatch(/a token is required/);
    await page.goto(`${url}/?token=${token}`);
    expect(page.url()).toBe(`${url}/`);
    await expect.poll(() => page.textContent('#glance-docs')).toBe('8');
    await expect.poll(() => page.textContent('#live')).toBe('live');
    expect(await page.isHidden('#errors')).toBe(true);
    expect((await search(page, 'sourdough', 'keyword'))[0]).toBe('sourdough-bread.md');
    expect(errors).toEqual([]);
  }, 120_000);
});
