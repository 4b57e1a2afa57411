/** Structured logs (pino) on stderr, with secrets redacted wherever they appear in a log object. */
import pino from 'pino';

export type Logger = pino.Logger;

export const REDACT = ['password', 'token', 'apiKey', '*.password', '*.token', '*.apiKey', 'headers.authorization'];

export function createLogger(level: string): Logger {
  return pino({ level, base: undefined, redact: { paths: REDACT, censor: '[redacted]' } }, pino.destination(2));
}
