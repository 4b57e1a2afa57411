/** `search`: the query, its checks (before the store opens), the filters and the printed hits. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { search } from '../app/index.js';
import { errorMessage } from '../core/errors.js';
import { looksLikeImage, parseFilters } from '../core/query.js';
import type { SearchFilter, SearchMode } from '../core/types.js';
import { type Flags, configOf, usage } from './commands.js';
import { EXIT } from './exit.js';
import { printHits, printHitsJson } from './search-output.js';

/** How a `--fresh` wait ended (`FreshResult` of the app layer). */
type FreshResult = Parameters<NonNullable<Parameters<typeof search>[1]['onFresh']>>[0];

/** `--filter key=value` pairs: exact matches on a fixed set of fields; values are data only. */
function parseFilterFlags(items: string[]): SearchFilter | undefined {
  try {
    return parseFilters(items);
  } catch (err) {
    throw usage(`--filter ${errorMessage(err)}`);
  }
}

function readImage(file: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw usage(`ragsync search: --image: cannot read ${file}: ${errorMessage(err)}`);
  }
  if (!looksLikeImage(bytes)) throw usage(`ragsync search: --image: ${file} is not an image (PNG, JPEG, GIF, WebP or BMP)`);
  return bytes;
}

/** `search [QUERY] [--image FILE]`: a search by an image alone is dense unless `--mode` says otherwise. */
export async function searchCommand(query: string | undefined, flags: Flags, cmd: Command): Promise<number> {
  const k = flags.topK as number;
  if (k < 1) throw usage(`ragsync search: --top-k must be at least 1 (got ${k})`);
  const config = configOf('search', flags);
  const image = flags.image ? readImage(String(flags.image)) : undefined;
  if (!query && !image) throw usage('ragsync search: give a query text, or --image FILE');
  const mode = image && !query && cmd.getOptionValueSource('mode') !== 'cli' ? 'dense' : (flags.mode as SearchMode);
  const filter = parseFilterFlags((flags.filter as string[] | undefined) ?? []);
  const perDoc = flags.perDoc as number;
  if (perDoc < 0) throw usage(`ragsync search: --per-doc must be 0 (no limit) or more (got ${perDoc})`);
  const fresh = flags.fresh === undefined ? undefined : String(flags.fresh);
  const freshTimeoutMs = flags.freshTimeoutMs as number;
  if (!(freshTimeoutMs >= 0 && freshTimeoutMs <= MAX_FRESH_MS))
    throw usage(`ragsync search: --fresh-timeout-ms must be 0 to ${MAX_FRESH_MS} (got ${freshTimeoutMs})`);
  let waited: FreshResult | undefined;
  const onFresh = (r: FreshResult) => {
    waited = r;
    process.stderr.write(`${freshLine(fresh!, r, freshTimeoutMs)}\n`);
  };
  const hits = await search(config, { mode, k, perDoc, text: query, image, filter, fresh, freshTimeoutMs, onFresh });
  const out = { query, scores: Boolean(flags.scores) };
  if (flags.json) printHitsJson(hits, out);
  else printHits(hits, out);
  return waited && (waited.timedOut || waited.state === 'not-indexed') ? EXIT.failures : EXIT.ok;
}

/** The bound of `--fresh-timeout-ms` (ms), as the API's. */
const MAX_FRESH_MS = 600_000;

const seconds = (ms: number) => `${Number((ms / 1000).toFixed(ms < 10_000 ? 1 : 0))} s`;

/** The one stderr line of a `--fresh` wait. */
function freshLine(file: string, r: FreshResult, timeoutMs: number): string {
  if (r.state === 'not-indexed')
    return `ragsync: ${file} is not a document of its source (excluded, or not a type ragsync reads): results do not include it`;
  if (r.timedOut) return `ragsync: ${file} was not indexed within ${seconds(timeoutMs)}: results may not include it`;
  const what = r.state === 'deleted' ? 'removed from the index' : 'indexed';
  return r.waited ? `ragsync: waited ${seconds(r.waitedMs)} for ${file} to be ${what}` : `ragsync: ${file} is ${what}`;
}
