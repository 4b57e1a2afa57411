#!/usr/bin/env node
// Headless Chromium for the browser tests: installs Debian's chromium package if it is missing (as
// root, through apt-get) and launches it through playwright-core (no browser download).
//
//   node scripts/chromium.mjs            # install if needed, print the binary's path and version
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const CANDIDATES = ['/usr/bin/chromium', '/usr/lib/chromium/chromium', '/usr/bin/chromium-browser'];

/** The chromium binary, installed from Debian's package when missing. */
export function ensureChromium(log = (m) => process.stderr.write(`${m}\n`)) {
  const found = () => CANDIDATES.find((p) => existsSync(p));
  if (found()) return found();
  if (process.getuid?.() !== 0) throw new Error('chromium is missing: install it (apt-get install chromium)');
  log('chromium: installing the Debian package chromium (once)');
  execFileSync('apt-get', ['update', '-q'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'chromium', 'fonts-dejavu-core'], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (!found()) throw new Error('chromium was installed but is not on a known path');
  return found();
}

/**
 * Launches headless Chromium (the Debian binary) with playwright-core. `--no-sandbox` because
 * tests may run as root in a container, where Chromium's sandbox cannot start.
 */
export async function launchBrowser({ executablePath = ensureChromium() } = {}) {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const bin = ensureChromium();
  process.stdout.write(`${bin}\n${execFileSync(bin, ['--version']).toString()}`);
}
