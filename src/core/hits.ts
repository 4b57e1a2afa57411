/**
 * A search hit as people and programs read it: `search --json`, the HTTP API and the MCP server
 * give the same fields, and a snippet of the chunk's text around the query's words.
 */
import type { SearchHit } from './search-types.js';

/** Characters of chunk text a snippet shows, about. */
const SNIPPET_CHARS = 200;

/** One hit as `search --json` prints it. */
export interface HitJson extends Omit<SearchHit, 'metadata'> {
  /** 1 for the best hit. */
  rank: number;
  /** The document's front-matter `title`, when it has one. */
  title?: string;
  metadata: Record<string, unknown>;
  /** About 200 characters of the text around the query's first word found in it. */
  snippet: string;
}

/** The hits, best first, each with its rank, its fields (`lines` and `page` only when known), the front-matter `title`, `metadata` and the snippet. */
export function hitsJson(hits: readonly SearchHit[], query?: string): HitJson[] {
  const terms = queryTerms(query);
  return hits.map(({ metadata, ...h }, i) => ({
    rank: i + 1,
    ...h,
    ...(typeof metadata?.title === 'string' ? { title: metadata.title } : {}),
    metadata: metadata ?? {},
    snippet: snippet(hitBody({ ...h, metadata }), terms),
  }));
}

/** The chunk's text without the heading trail it starts with (`Guide > Install`): the heading is shown apart. */
export function hitBody(h: SearchHit): string {
  const end = h.text.indexOf('\n\n');
  if (h.heading && end > 0 && h.text.slice(0, end).endsWith(h.heading)) return h.text.slice(end + 2);
  return h.text;
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
