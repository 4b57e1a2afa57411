/**
 * What the tools need of the long-lived service (`openService` of `app/`): a search and the
 * store's status. The types are the parts of the service's own the tools read.
 */
import type { Config } from '../config/index.js';
import type { Logger } from '../core/log.js';
import type { Fingerprint, SearchFilter, SearchMode } from '../core/types.js';

/** One search, as the tools ask it. */
export interface BackendSearch {
  text: string;
  mode: SearchMode;
  k: number;
  perDoc: number;
  filter?: SearchFilter;
}

/** One hit, as `ragsync search --json` prints it (the fields the tools return). */
export interface BackendHit {
  id: string;
  docId: string;
  path: string;
  section: string;
  modality: 'text' | 'image';
  text: string;
  score: number;
  lines?: readonly [number, number] | readonly number[];
  page?: number;
  heading?: string;
  title?: string;
}

interface BackendCollection {
  name: string;
  fingerprint: Fingerprint;
  docs: number;
  chunks: number;
}

/** The store's status (the fields the tools return). */
export interface BackendStatus {
  store: string;
  sink: string;
  fingerprint: Fingerprint | null;
  docs: number;
  chunks: number;
  pending: BackendCollection | null;
  sources: ReadonlyArray<{ name: string; root: string | null; documents: number; chunks: number; lastSyncAt: string | null }>;
}

/** The store opened once, its embedder loaded once. */
export interface Backend {
  search(req: BackendSearch): Promise<{ mode: SearchMode; hits: readonly BackendHit[] }>;
  status(): Promise<BackendStatus>;
  close(): Promise<void>;
}

/** Opens the backend of `config`'s store. */
export async function openBackend(config: Config, _log: Logger): Promise<Backend> {
  const app = await import('../app/index.js');
  return {
    async search(req) {
      const hits = await app.search(config, { ...req, text: req.text });
      const mode = req.mode;
      return {
        mode,
        hits: hits.map(({ metadata, ...h }) => ({ ...h, ...(typeof metadata?.title === 'string' ? { title: metadata.title } : {}) })),
      };
    },
    status: () => app.status(config),
    close: async () => undefined,
  };
}
