/** The readable text of the tools' results: what a model reads when it does not read `structuredContent`. */
import type { McpHit, SearchOutput, StatusOutput } from './schemas.js';

/** `path:12-30`, `path:12`, `path p.3` or the path alone. */
function where(h: McpHit): string {
  if (h.lines) return `${h.path}:${h.lines[0] === h.lines[1] ? h.lines[0] : h.lines.join('-')}`;
  return h.page ? `${h.path} p.${h.page}` : h.path;
}

/** Per hit: `N. heading — path:lines (score s)`, then its text; an image hit names its file only. */
export function searchText(out: SearchOutput): string {
  if (out.hits.length === 0) return `no results for ${JSON.stringify(out.query)} (${out.mode})`;
  const head = `${out.hits.length} result${out.hits.length === 1 ? '' : 's'} for ${JSON.stringify(out.query)} (${out.mode}):`;
  const hits = out.hits.map((h) => {
    const heading = h.heading ?? h.title;
    const line = `${h.rank}. ${heading ? `${heading} — ` : ''}${where(h)}${h.modality === 'image' ? ' [image]' : ''} (score ${h.score.toPrecision(3)})`;
    return h.modality === 'image' ? line : `${line}\n${h.text.trim()}`;
  });
  return [head, ...hits].join('\n\n');
}

/** The store, its model, counts, a re-embed in progress and each source, one line each. */
export function statusText(s: StatusOutput): string {
  if (!s.indexed) return `${s.store} (${s.sink}) holds no index yet: run \`ragsync index DIR\` first`;
  const model = s.model ? `${s.model.model} (dim ${s.model.dim}, ${s.model.dtype})` : 'unknown';
  const lines = [`store: ${s.store} (${s.sink})`, `model: ${model}`, `documents: ${s.documents}, chunks: ${s.chunks}`];
  if (s.pending) {
    lines.push(
      `re-embed pending: ${s.pending.model.model} (dim ${s.pending.model.dim}): ${s.pending.documents} of ${s.documents} documents backfilled`,
    );
  }
  for (const src of s.sources) {
    const synced = src.lastSyncAt ? `, last sync ${src.lastSyncAt}` : '';
    lines.push(`source ${src.name}: ${src.documents} documents, ${src.chunks} chunks${src.root ? `, from ${src.root}` : ''}${synced}`);
  }
  return lines.join('\n');
}
