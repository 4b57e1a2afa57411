/**
 * Where a writer writes: the store's live collection, and, while a re-embed is in progress, its
 * pending collection too (each with its own embedder), so nothing changed during a backfill is
 * missing after the swap. The store's layout is read again at most once per `LAYOUT_REFRESH_MS`;
 * after a swap or a rollback the writer follows the store (the collection that became live is
 * already open as the pending one).
 */
import { errorMessage } from './errors.js';
import { fingerprintKey } from './fingerprint.js';
import type { Logger } from './log.js';
import type { Store } from './store.js';
import { type DocSyncResult, type Known, type SyncDeps, syncDocument } from './sync-document.js';
import type { CollectionInfo, DocRef } from './types.js';

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

/** The sync of one document: the live collection's result, and the pending one's while a re-embed runs. */
export type TargetsResult = DocSyncResult & { next?: DocSyncResult };

/**
 * Syncs one document into every target: live first (a failure of the pending side fails the
 * call, and on the retry live is a no-op), then the pending collection. `known` is what the caller
 * read of the document in the collection `of` (used while that is still live).
 */
export async function syncToTargets(ref: DocRef, targets: TargetProvider, known?: { known: Known; of: SyncDeps }): Promise<TargetsResult> {
  const { live, pending } = await targets.current();
  const result: TargetsResult = await syncDocument(ref, live, known?.of === live ? known.known : undefined);
  if (pending) result.next = await syncDocument(ref, pending);
  return result;
}

/** Opens the deps (collection, embedder, limits) of a collection of the store. */
export type OpenTarget = (info: CollectionInfo) => Promise<SyncDeps>;

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

  /** `live` is the writer's open runtime (the store's live collection); `open` opens any other. */
  constructor(
    private readonly store: Store,
    live: SyncDeps,
    private readonly open: OpenTarget,
    private readonly log?: Logger,
  ) {
    this.live = { name: live.collection.info.name, deps: live };
  }

  async current(): Promise<Targets> {
    if (Date.now() - this.checkedAt >= LAYOUT_REFRESH_MS) {
      this.refreshing ??= this.refresh().finally(() => (this.refreshing = undefined));
      await this.refreshing;
    }
    return { live: this.live.deps, pending: this.pending?.deps ?? null };
  }

  private async refresh(): Promise<void> {
    const layout = await this.store.layout();
    this.checkedAt = Date.now();
    if (layout.live && layout.live.name !== this.live.name) {
      const before = this.live.name;
      this.live = await this.target(layout.live);
      const model = fingerprintKey(layout.live.fingerprint);
      this.log?.info(
        { stage: 'reembed', from: before, to: layout.live.name, model },
        'the live collection changed: writing to the new one',
      );
    }
    const pending = layout.pending;
    if (!pending) {
      if (this.pending)
        this.log?.info(
          { stage: 'reembed', collection: this.pending.name },
          'no re-embed pending any more: writing the live collection only',
        );
      this.pending = null;
    } else if (this.pending?.name !== pending.name) {
      // A pending collection this process cannot open (its model or key is missing here) must not
      // stop the live index: write live only, say so, and try again at the next refresh. The
      // re-embed notices (job results without the new collection's part) and its verification
      // does not swap while documents are missing.
      try {
        this.pending = await this.target(pending);
        const model = fingerprintKey(pending.fingerprint);
        this.log?.info({ stage: 'reembed', collection: pending.name, model }, 're-embed in progress: writing both collections');
      } catch (err) {
        this.pending = null;
        const fields = { stage: 'reembed', collection: pending.name, err: errorMessage(err) };
        this.log?.warn(fields, "cannot write the re-embed's new collection from this process: writing the live one only");
      }
    }
  }

  /** Opens (once) a collection with its own embedder. */
  private target(info: CollectionInfo): Promise<Target> {
    if (info.name === this.live.name) return Promise.resolve(this.live);
    let t = this.opened.get(info.name);
    if (!t) {
      t = this.open(info).then((deps) => ({ name: info.name, deps }));
      t.catch(() => this.opened.delete(info.name));
      this.opened.set(info.name, t);
    }
    return t;
  }
}
