/** Asking before a destructive step, and the options to repeat in a printed follow-up command. */
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { RagsyncError } from '../core/errors.js';

/** The options that pick the store, as the user gave them on the command line (secrets left out: give them again). */
const STORE_OPTIONS = [
  'config',
  'source',
  'sink',
  'store',
  'milvusAddress',
  'milvusUser',
  'milvusDatabase',
  'milvusSsl',
  'milvusCa',
  'milvusCollection',
  'milvusPartitionKey',
  'redis',
  'redisPrefix',
];

/** The store options given on the command line, as ` --store DIR ...` (empty when none). */
export function givenOptions(cmd: Command): string {
  const opts = cmd.opts();
  let out = '';
  for (const key of STORE_OPTIONS) {
    if (cmd.getOptionValueSource(key) !== 'cli') continue;
    const flag = `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    const value: unknown = opts[key];
    out += value === true ? ` ${flag}` : ` ${flag} ${shellWord(String(value))}`;
  }
  return out;
}

function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Asks a yes/no question on the terminal (stderr); true only for y or yes. */
async function ask(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

/**
 * Asks before a destructive step: on a terminal unless `--yes`; without a terminal `--yes` is
 * required (a usage error, exit 2, otherwise: nothing is done).
 */
export async function confirm(flags: Record<string, unknown>, what: string, question: string): Promise<boolean> {
  if (flags.yes === true) return true;
  if (!process.stdin.isTTY) {
    throw new RagsyncError('USAGE', `${what}: not on a terminal: pass --yes to go on without asking`, { stage: 'config' });
  }
  return ask(question);
}
