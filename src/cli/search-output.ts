/** How `ragsync search` prints its hits: numbered, where (heading, file:line or page), a snippet around the query's words. */
import { hitBody, hitsJson, queryTerms, snippet } from '../core/hits.js';
import type { SearchHit } from '../core/types.js';

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
    return `${head}\n   ${snippet(hitBody(h), terms)}`;
  });
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** `search --json`: the hits as `core/hits.ts` gives them (the HTTP API and MCP give the same). */
export function printHitsJson(hits: readonly SearchHit[], opts: HitsOutput = {}): void {
  process.stdout.write(`${JSON.stringify(hitsJson(hits, opts.query), null, 2)}\n`);
}

/** `path:12-30`, `path:12`, `path p.3` or the path alone. */
function where(h: SearchHit): string {
  if (h.lines) return `${h.path}:${h.lines[0] === h.lines[1] ? h.lines[0] : h.lines.join('-')}`;
  return h.page ? `${h.path} p.${h.page}` : h.path;
}
