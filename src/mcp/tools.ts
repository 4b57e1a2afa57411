/** The tools, `search` and `status`: arguments checked by their schemas, results as text and as structured content. */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Service, ServiceStatus } from '../app/index.js';
import { errorMessage } from '../core/errors.js';
import type { HitJson } from '../core/hits.js';
import type { Logger } from '../core/log.js';
import type { SearchFilter } from '../core/types.js';
import { type McpHit, type SearchInput, type SearchOutput, type StatusOutput, searchInput, searchOutput, statusOutput } from './schemas.js';
import { searchText, statusText } from './text.js';

/** The service, opened on first use (and again after a failed opening). */
type ServiceOf = () => Promise<Service>;

function filterOf(f: SearchInput['filter']): SearchFilter | undefined {
  if (!f) return undefined;
  const out: SearchFilter = {
    ...(f.source !== undefined ? { source: f.source } : {}),
    ...(f.modality !== undefined ? { modality: f.modality } : {}),
    ...(f.doc !== undefined ? { docId: f.doc } : {}),
    ...(f.path !== undefined ? { path: f.path } : {}),
  };
  return Object.keys(out).length > 0 ? out : undefined;
}

function hitOf(h: HitJson): McpHit {
  return {
    rank: h.rank,
    path: h.path,
    docId: h.docId,
    id: h.id,
    section: h.section,
    modality: h.modality,
    ...(h.heading !== undefined ? { heading: h.heading } : {}),
    ...(h.lines ? { lines: [h.lines[0]!, h.lines[1]!] } : {}),
    ...(h.page !== undefined ? { page: h.page } : {}),
    ...(h.title !== undefined ? { title: h.title } : {}),
    text: h.text,
    score: h.score,
  };
}

function statusOf(s: ServiceStatus): StatusOutput {
  return {
    store: s.store,
    sink: s.sink,
    indexed: s.fingerprint !== null,
    model: s.fingerprint,
    documents: s.docs,
    chunks: s.chunks,
    pending: s.pending
      ? { collection: s.pending.name, model: s.pending.fingerprint, documents: s.pending.docs, chunks: s.pending.chunks }
      : null,
    sources: s.sources.map((src) => ({
      name: src.name,
      root: src.root,
      documents: src.documents,
      chunks: src.chunks,
      lastSyncAt: src.lastSyncAt,
    })),
  };
}

/** Runs a tool; a failure is an error result with its message (logged), never a protocol error or a crash. */
async function guarded(log: Logger, tool: string, run: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await run();
  } catch (err) {
    const message = errorMessage(err);
    log.warn({ stage: 'mcp', tool, err: message }, 'tool call failed');
    return { content: [{ type: 'text', text: `${tool} failed: ${message}` }], isError: true };
  }
}

/** Registers `search` and `status` on `server`. */
export function registerTools(server: McpServer, service: ServiceOf, log: Logger): void {
  server.registerTool(
    'search',
    {
      title: 'Search the index',
      description:
        'Search the documents ragsync keeps indexed (Markdown, text, PDF, images). Returns the best chunks, best first, ' +
        'each with its file path, heading, line range (or PDF page) and text.',
      inputSchema: searchInput,
      outputSchema: searchOutput,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    (args) =>
      guarded(log, 'search', async () => {
        const { query, mode, k, perDoc } = args;
        const res = await (await service()).search({ text: query, mode, k, perDoc, filter: filterOf(args.filter) });
        const out: SearchOutput = { query: args.query, mode: res.mode, hits: res.hits.map(hitOf) };
        return { content: [{ type: 'text', text: searchText(out) }], structuredContent: out };
      }),
  );
  server.registerTool(
    'status',
    {
      title: 'Index status',
      description: 'What the index holds: its store, the embedding model, documents and chunks, each source, a re-embed in progress.',
      outputSchema: statusOutput,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    () =>
      guarded(log, 'status', async () => {
        const out = statusOf(await (await service()).status());
        return { content: [{ type: 'text', text: statusText(out) }], structuredContent: out };
      }),
  );
}
