/** How `ragsync search` prints its hits: numbered, where (heading, file:line or page), a snippet around the query's words. */
import type { SearchHit } from '../core/types.js';

/** Characters of chunk text a snippet shows, about. */
const SNIPPET_CHARS = 200;

export interface HitsOutput {
  /** The query text, whose words the snippets are centred on. */
  query?: string;
  /** Show each hit's score. */
  scores?: boolean;
}

/** `search`: per hit, `N. heading — path:lines` (a score only when asked), then an indented snippet. */
export function printHits(hits: readonly SearchHit[], opts: HitsOutput = {}): void {
  if (hits.length === 0) {
    process.stdout.write('no results\n');
    return;
  }
  const terms = queryTerms(opts.query);
  const lines = hits.map((h, i) => {
    const heading = h.heading ?? (typeof h.metadata?.title === 'string' ? h.metadata.title : '');
    const kind = h.modality === 'image' ? ' [image]' : '';
    const score = opts.scores ? `  (score ${h.score.toPrecision(3)})` : '';
    const head = `${i + 1}. ${heading ? `${heading} — ` : ''}${where(h)}${kind}${score}`;
    return `${head}\n   ${snippet(body(h), terms)}`;
  });
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** `search --json`: per hit, best first, its rank, the hit's fields (`lines` and `page` only when known), the front-matter `title`, `metadata` and the snippet. */
export function printHitsJson(hits: readonly SearchHit[], opts: HitsOutput = {}): void {
  const terms = queryTerms(opts.query);
  const out = hits.map(({ metadata, ...h }, i) => ({
    rank: i + 1,
    ...h,
    ...(typeof metadata?.title === 'string' ? { title: metadata.title } : {}),
    metadata: metadata ?? {},
    snippet: snippet(body({ ...h, metadata }), terms),
  }));
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

/** The chunk's text without the heading trail it starts with (`Guide > Install`): the heading is shown apart. */
function body(h: SearchHit): string {
  const end = h.text.indexOf('\n\n');
  if (h.heading && end > 0 && h.text.slice(0, end).endsWith(h.heading)) return h.text.slice(end + 2);
  return h.text;
}

/** `path:12-30`, `path:12`, `path p.3` or the path alone. */
function where(h: SearchHit): string {
  if (h.lines) return `${h.path}:${h.lines[0] === h.lines[1] ? h.lines[0] : h.lines.join('-')}`;
  return h.page ? `${h.path} p.${h.page}` : h.path;
}

/** The query's words (letters and digits, lower case), longest first. */
export function queryTerms(query: string | undefined): string[] {
  const words = (query ?? '').toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  return [...new Set(words)].filter((w) => w.length > 1).sort((a, b) => b.length - a.length);
}

/**
 * About `width` characters of `text` around the first query word it contains (the start when none),
 * cut only between words, with `…` where text was cut.
 */
export function snippet(text: string, terms: readonly string[], width = SNIPPET_CHARS): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat.length <= width) return flat;
  const lower = flat.toLowerCase();
  const at = terms.map((t) => lower.indexOf(t)).filter((i) => i >= 0);
  const hit = at.length > 0 ? Math.min(...at) : 0;
  let start = Math.max(0, Math.min(hit - Math.floor(width / 3), flat.length - width));
  let end = Math.min(flat.length, start + width);
  // Move the cuts onto spaces: the start forward (never past the matched word), the end back.
  if (start > 0) {
    const space = flat.indexOf(' ', start - 1);
    start = space >= 0 && space < Math.max(hit, start + 1) ? space + 1 : flat.lastIndexOf(' ', start) + 1;
  }
  if (end < flat.length) {
    const space = flat.lastIndexOf(' ', end);
    end = space > start ? space : flat.indexOf(' ', end) < 0 ? flat.length : flat.indexOf(' ', end);
  }
  return `${start > 0 ? '…' : ''}${flat.slice(start, end).trim()}${end < flat.length ? '…' : ''}`;
}
