/**
 * Structured logs (pino) on stderr, with secrets redacted wherever they appear in a log object.
 * On a terminal (format `auto` with a TTY stdout, or `pretty`) each record is one readable line,
 * written by a small formatter on the main thread (no worker-thread transport: a daemon's last
 * lines must not be lost on exit, and pino-pretty is one more dependency); otherwise JSON lines.
 * pino itself is loaded by the first `createLogger`: `status` or `search` never make one.
 */
import { createRequire } from 'node:module';
import type pino from 'pino';

const require = createRequire(import.meta.url);

export type Logger = pino.Logger;
export type LogFormat = 'auto' | 'pretty' | 'json';

export const REDACT = ['password', 'token', 'apiKey', '*.password', '*.token', '*.apiKey', 'headers.authorization'];

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'stage']);

function clock(ms: number): string {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

function value(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return /[\s"]/.test(s) ? JSON.stringify(s) : s;
}

/** One readable line for one pino record: `✓ doc  counts, ms`, `✗ doc: cause`, or `HH:MM:SS warn  msg key=value`. */
export function prettyLine(rec: Record<string, unknown>): string {
  if (rec.msg === 'document synced' && typeof rec.doc === 'string') {
    const del = Number(rec.deleted) > 0 ? `, ${String(rec.deleted)} deleted` : '';
    return `✓ ${rec.doc}  ${String(rec.written)} written, ${String(rec.embedded)} embedded${del}, ${String(rec.ms)} ms`;
  }
  if (rec.msg === 'sync job failed' && typeof rec.doc === 'string') {
    const err = String(rec.err);
    return `✗ ${rec.doc}: ${err.startsWith(`${rec.doc}: `) ? err.slice(rec.doc.length + 2) : err}`;
  }
  const level = LEVELS[Number(rec.level)] ?? String(rec.level);
  const extra = Object.entries(rec)
    .filter(([k, v]) => !HIDDEN.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${value(v)}`);
  return [`${clock(Number(rec.time ?? Date.now()))} ${level.padEnd(5)} ${String(rec.msg ?? '')}`, ...extra].join(' ');
}

const prettyStderr = {
  write(line: string): void {
    let text = line.trimEnd();
    try {
      text = prettyLine(JSON.parse(text) as Record<string, unknown>);
    } catch {
      // not JSON: written as it is
    }
    process.stderr.write(`${text}\n`);
  },
};

export function createLogger(level: string, format: LogFormat = 'auto'): Logger {
  const pretty = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true);
  const options = { level, base: undefined, redact: { paths: REDACT, censor: '[redacted]' } };
  const make = require('pino') as typeof pino;
  return make(options, pretty ? prettyStderr : make.destination(2));
}
