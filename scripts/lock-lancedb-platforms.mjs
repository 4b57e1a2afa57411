#!/usr/bin/env node
// The npm registry reachable where ragsync is developed lacks the non-Linux-x64 native packages
// of @lancedb/lancedb 0.37.1, so `npm install` writes a lockfile without them and `npm ci` then
// refuses it ("Missing: @lancedb/lancedb-darwin-arm64@ from lock file"). This adds the entries npm
// would have written: optional, platform-restricted, so npm ci skips them on other platforms and
// fetches them by their resolved URL on theirs. Run it after any `npm install` that rewrites the lock.
import { readFileSync, writeFileSync } from 'node:fs';

const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
const version = lock.packages['node_modules/@lancedb/lancedb'].version;
const platforms = {
  'darwin-arm64': { os: ['darwin'], cpu: ['arm64'] },
  'linux-arm64-gnu': { os: ['linux'], cpu: ['arm64'], libc: ['glibc'] },
  'linux-arm64-musl': { os: ['linux'], cpu: ['arm64'], libc: ['musl'] },
  'linux-x64-gnu': { os: ['linux'], cpu: ['x64'], libc: ['glibc'] },
  'linux-x64-musl': { os: ['linux'], cpu: ['x64'], libc: ['musl'] },
  'win32-arm64-msvc': { os: ['win32'], cpu: ['arm64'] },
  'win32-x64-msvc': { os: ['win32'], cpu: ['x64'] },
};
let added = 0;
for (const [suffix, target] of Object.entries(platforms)) {
  const name = `@lancedb/lancedb-${suffix}`;
  const key = `node_modules/${name}`;
  if (lock.packages[key]) continue;
  lock.packages[key] = {
    version,
    resolved: `https://registry.npmjs.org/${name}/-/lancedb-${suffix}-${version}.tgz`,
    cpu: target.cpu,
    license: 'Apache-2.0',
    optional: true,
    os: target.os,
    ...(target.libc ? { libc: target.libc } : {}),
    engines: { node: '>= 18' },
  };
  added++;
}
const keys = Object.keys(lock.packages).sort((a, b) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0));
lock.packages = Object.fromEntries(keys.map((k) => [k, lock.packages[k]]));
writeFileSync('package-lock.json', `${JSON.stringify(lock, null, 2)}\n`);
console.log(`added ${added} @lancedb/lancedb platform entries to package-lock.json`);
