/**
 * The pointers of a Milvus store are aliases: `<prefix>_chunks` and `<prefix>_docs` (live, what
 * users query), `_chunks_next` / `_docs_next` (pending), `_chunks_prev` / `_docs_prev` (previous).
 */
import type { MilvusClient } from '@zilliz/milvus2-sdk-node';
import type { StoreLayout } from '../../core/types.js';
import type { PointerMove } from '../blue-green.js';
import { type MilvusConnection, isSuccess, sinkError } from './client.js';
import { describeCollection, physical } from './schema.js';

const ROLES = { live: '', pending: '_next', previous: '_prev' } as const;

/** The alias of a role for the chunk or the document collections. */
export function alias(prefix: string, kind: 'chunks' | 'docs', role: keyof typeof ROLES): string {
  return `${prefix}_${kind}${ROLES[role]}`;
}

/** Where the aliases point, and every collection of the prefix. */
export async function readLayout(conn: MilvusConnection): Promise<StoreLayout> {
  const prefix = conn.opts.collection;
  const roles = ['live', 'pending', 'previous'] as const;
  const [live = null, next = null, prev = null] = await Promise.all(roles.map((r) => aliasTarget(conn, alias(prefix, 'chunks', r))));
  const listed = await conn.call('list collections', (c) => c.listCollections());
  const start = `${prefix}_chunks_v`;
  const names = (listed.data ?? []).map((c) => c.name).filter((n) => n.startsWith(start) && /^[0-9a-f]+$/.test(n.slice(start.length)));
  const all = await Promise.all(names.map((n) => describeCollection(conn, n)));
  const byPhysical = (p: string | null) => all.find((c) => p === physical(prefix, 'chunks', c.name)) ?? null;
  // A swap that stopped after moving the live alias leaves `next` on the live collection: done.
  return { live: byPhysical(live), pending: next && next !== live ? byPhysical(next) : null, previous: byPhysical(prev), all };
}

/**
 * Moves the aliases, previous first, then live, then pending. `readLayout` reads only the chunk
 * aliases, so a move stopped half-way must leave them telling the truth: a chunk alias is set
 * before its document alias and cleared after it, except live, where the document alias moves
 * first (writers never use it: they find the document collection from the chunk collection's
 * name) and then the switch: one alterAlias of the chunk alias moves every query at once.
 * Stopped anywhere, a re-run moves again (each step is idempotent); after the switch only the
 * `next` aliases are left, and `readLayout` reads the swap as done.
 */
export async function moveAliases(conn: MilvusConnection, move: PointerMove): Promise<void> {
  const prefix = conn.opts.collection;
  for (const role of ['previous', 'live', 'pending'] as const) {
    const to = move[role];
    if (to === undefined) continue;
    const order = to === null || role === 'live' ? (['docs', 'chunks'] as const) : (['chunks', 'docs'] as const);
    for (const kind of order) {
      const name = alias(prefix, kind, role);
      if (to === null) await dropAlias(conn, name);
      else await setAlias(conn, name, physical(prefix, kind, to));
    }
  }
}

/** Drops the pending and previous aliases that point at collection pair `name` (before it is dropped). */
export async function dropAliasesOf(conn: MilvusConnection, name: string): Promise<void> {
  const prefix = conn.opts.collection;
  for (const role of ['pending', 'previous'] as const) {
    for (const kind of ['docs', 'chunks'] as const) {
      const a = alias(prefix, kind, role);
      if ((await aliasTarget(conn, a)) === physical(prefix, kind, name)) await dropAlias(conn, a);
    }
  }
}

/** The collection an alias points at; null when there is no such alias. */
async function aliasTarget(conn: MilvusConnection, name: string): Promise<string | null> {
  const client = await conn.connect();
  let res: Awaited<ReturnType<MilvusClient['describeAlias']>>;
  try {
    // (The SDK's request validation wants a collection name even here.)
    res = await client.describeAlias({ alias: name, collection_name: name });
  } catch (err) {
    throw sinkError('describe an alias', conn.opts.address, err);
  }
  if (isSuccess(res.status)) return res.collection || null;
  if (/does not exist|not found/i.test(res.status.reason)) return null;
  throw sinkError('describe an alias', conn.opts.address, new Error(res.status.reason));
}

/**
 * Points an alias at a collection. Two first runs at once both find no alias and both create it:
 * the server refuses the second, which then reads what the first set and moves it if it differs.
 */
async function setAlias(conn: MilvusConnection, name: string, collection: string): Promise<void> {
  let current = await aliasTarget(conn, name);
  if (current === collection) return;
  if (!current) {
    try {
      await conn.call('create an alias', (c) => c.createAlias({ alias: name, collection_name: collection }));
      return;
    } catch (err) {
      current = await aliasTarget(conn, name).catch(() => null);
      if (current === null) throw err;
      if (current === collection) return;
    }
  }
  await conn.call('move an alias', (c) => c.alterAlias({ alias: name, collection_name: collection }));
}

async function dropAlias(conn: MilvusConnection, name: string): Promise<void> {
  if (await aliasTarget(conn, name)) await conn.call('drop an alias', (c) => c.dropAlias({ alias: name }));
}
