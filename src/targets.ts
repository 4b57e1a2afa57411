/**
 * Where a long-running writer writes: the store's live collection, and, while a re-embed is in
 * progress, its pending collection too (each with its own embedder), so nothing changed during a
 * backfill is missing after the swap. The store's layout is read again at most once per
 * `LAYOUT_REFRESH_MS`; after a swap or a rollback the writer follows the store (the collection
 * that became live is already open as the pending one).
 */
import type { Config } from './config.js';
import { RagsyncError, errorMessage } from './core/errors.js';
import type { SyncDeps } from './core/sync.js';
import type { CollectionInfo, Embedder, Sink, Source } from './core/types.js';
import { API_DEFAULTS } from './embed/api.js';
import { type EmbedderConfig, chunkLimits, createEmbedder } from './embed/index.js';
import type { Logger } from './log.js';
import { fingerprintKey } from './sink/fingerprint.js';
import { createSink } from './sink/index.js';
import { resolveConfig } from './config.js';

/** How stale a writer's view of the store's layout may be. A re-embed waits this long before it backfills. */
export const LAYOUT_REFRESH_MS = 1000;

export interface Targets {
  live: SyncDeps;
  /** The collection being backfilled by a re-embed, when one is in progress. */
  pending: SyncDeps | null;
}

export interface TargetProvider {
  current(): Promise<Targets>;
}

interface Target {
  name: string;
  deps: SyncDeps;
}

export class SyncTargets implements TargetProvider {
  private live: Target;
  private pending: Target | null = null;
  private checkedAt = 0;
  private refreshing: Promise<void> | undefined;
  private readonly opened = new Map<string, Promise<Target>>();
  private readonly sinks: Sink[] = [];

  /** `live` is the writer's open runtime (its sink opened on the live collection). */
  constructor(
    private readonly config: Config,
    live: SyncDeps,
    private readonly log?: Logger,
  ) {
    this.live = { name: '', deps: live };
  }

  async current(): Promise<Targets> {
    if (Date.now() - this.checkedAt >= LAYOUT_REFRESH_MS) {
      this.refreshing ??= this.refresh().finally(() => (this.refreshing = undefined));
      await this.refreshing;
    }
    return { live: this.live.deps, pending: this.pending?.deps ?? null };
  }

  private async refresh(): Promise<void> {
    const layout = await this.live.deps.sink.layout();
    this.checkedAt = Date.now();
    if (!this.live.name && layout.live && fingerprintKey(layout.live.fingerprint) === fingerprintKey(this.live.deps.embedder.fingerprint)) {
      this.live.name = layout.live.name;
    }
    if (layout.live && layout.live.name !== this.live.name) {
      const before = this.live.name;
      this.live = await this.target(layout.live);
      this.log?.info({ stage: 'reembed', from: before, to: layout.live.name, model: fingerprintKey(layout.live.fingerprint) }, 'the live collection changed: writing to the new one');
    }
    const pending = layout.pending;
    if (!pending) {
      if (this.pending) this.log?.info({ stage: 'reembed', collection: this.pending.name }, 'no re-embed pending any more: writing the live collection only');
      this.pending = null;
    } else if (this.pending?.name !== pending.name) {
      // A pending collection this process cannot open (its model or key is missing here) must not
      // stop the live index: write live only, say so, and try again at the next refresh. The
      // re-embed notices (job results without the new collection's part) and its verification
      // does not swap while documents are missing.
      try {
        this.pending = await this.target(pending);
        this.log?.info({ stage: 'reembed', collection: pending.name, model: fingerprintKey(pending.fingerprint) }, 're-embed in progress: writing both collections');
      } catch (err) {
        this.pending = null;
        this.log?.warn({ stage: 'reembed', collection: pending.name, err: errorMessage(err) }, 'cannot write the re-embed\'s new collection from this process: writing the live one only');
      }
    }
  }

  /** Opens (once) a collection with its own embedder. */
  private target(info: CollectionInfo): Promise<Target> {
    let t = this.opened.get(info.name);
    if (!t) {
      t = this.openTarget(info);
      t.catch(() => this.opened.delete(info.name));
      this.opened.set(info.name, t);
    }
    return t;
  }

  private async openTarget(info: CollectionInfo): Promise<Target> {
    const embedder = await embedderFor(info, this.config, [this.live.deps.embedder, this.pending?.deps.embedder]);
    const sink = createSink(this.config.sink);
    this.sinks.push(sink);
    await sink.openCollection(info.fingerprint);
    const source: Source = this.live.deps.source;
    return { name: info.name, deps: { source, sink, embedder, limits: chunkLimits(embedder, this.config.chunkTokens) } };
  }

  /** Closes the sinks this object opened (not the live runtime it was given). */
  async close(): Promise<void> {
    await Promise.all(this.sinks.map((s) => s.close().catch(() => undefined)));
  }
}

/**
 * The embedder of a collection: one already loaded with its fingerprint, else the configured one
 * when it matches, else the one the store recorded (its API key from this process's config or
 * environment). Throws when none gives the collection's fingerprint.
 */
export async function embedderFor(info: CollectionInfo, config: Config, loaded: Array<Embedder | undefined> = []): Promise<Embedder> {
  const want = fingerprintKey(info.fingerprint);
  const have = loaded.find((e) => e && fingerprintKey(e.fingerprint) === want);
  if (have) return have;
  const candidates: Array<{ config: EmbedderConfig; env: NodeJS.ProcessEnv; note?: string }> = [];
  if (info.embedder) candidates.push(storedEmbedderConfig(info.embedder, config));
  candidates.push({ config: config.embedder, env: process.env });
  const problems: string[] = [];
  for (const c of candidates) {
    try {
      const e = await createEmbedder(c.config, c.env);
      if (fingerprintKey(e.fingerprint) === want) return e;
      problems.push(`${c.config.kind} gives ${fingerprintKey(e.fingerprint)}`);
    } catch (err) {
      problems.push(`${c.config.kind}: ${errorMessage(err)}${c.note ? ` (${c.note})` : ''}`);
    }
  }
  throw new RagsyncError(
    'MODEL_UNAVAILABLE',
    `cannot load the embedder of collection ${info.name} (${want}): ${problems.join('; ')}` +
      (info.embedder ? '' : '; the store does not record how to load it: pass its --embedder options'),
    { stage: 'model', retryable: true },
  );
}

/**
 * A recorded embedder descriptor as a config, and the environment its API key may come from.
 * The store does not decide where this process's secrets go: a key (this process's configured
 * key for that kind, else its usual variable, `JINA_API_KEY` / `OPENAI_API_KEY`) is sent only to
 * the endpoint this process is configured with for that kind, or to the kind's default endpoint;
 * the store's `apiKeyEnv` is ignored.
 */
export function storedEmbedderConfig(stored: Record<string, unknown>, config: Config): { config: EmbedderConfig; env: NodeJS.ProcessEnv; note?: string } {
  const parsed = resolveConfig({ flags: { embedder: stored as never } }).embedder;
  if (parsed.kind !== 'jina-api' && parsed.kind !== 'openai') return { config: parsed, env: {} };
  const own = config.embedder.kind === parsed.kind ? config.embedder : undefined;
  const keyEnv = own?.apiKeyEnv ?? API_DEFAULTS[parsed.kind].apiKeyEnv;
  const trusted = parsed.url === (own?.url ?? API_DEFAULTS[parsed.kind].url) || parsed.url === API_DEFAULTS[parsed.kind].url;
  const withKey = { ...parsed, apiKeyEnv: keyEnv, apiKey: trusted ? own?.apiKey : undefined };
  return {
    config: withKey,
    env: trusted ? { [keyEnv]: process.env[keyEnv] } : {},
    note: trusted ? undefined : `no key sent to ${parsed.url}: this process is not configured with that endpoint (set embedder.url to trust it)`,
  };
}
