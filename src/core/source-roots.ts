/**
 * How two source roots relate: the same folder, one inside the other, or apart. Files under a
 * root that sits inside another source's root are indexed under both sources (twice).
 */
import path from 'node:path';

/** `root` compared with `other`: the same folder, inside it, containing it. */
export type RootRelation = 'same' | 'inside' | 'contains';

/**
 * Whether `root` is `other`, sits inside it or contains it; null when neither holds. Both are
 * absolute real paths (symlinks resolved), compared by whole path segments: `/a/docs2` is not
 * inside `/a/docs`.
 */
export function rootRelation(root: string, other: string): RootRelation | null {
  const a = path.resolve(root);
  const b = path.resolve(other);
  if (a === b) return 'same';
  if (isUnder(a, b)) return 'inside';
  if (isUnder(b, a)) return 'contains';
  return null;
}

/** Whether `child` is strictly below `parent`. */
function isUnder(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}
