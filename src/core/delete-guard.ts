/**
 * The mass-deletion guard of a scan-driven pass (invariant 9: nothing silently wipes the index).
 * When a complete scan no longer finds most of a source's documents, the scan more likely looked
 * in the wrong place (an unmounted share, a narrower `--include`, another folder under the same
 * source name) than the user deleted them: the pass applies its adds and updates and holds the
 * deletions until a run allows them.
 */

/** When a pass holds its deletions (`null` where a pass is allowed to delete anything). */
export interface DeleteGuard {
  /** A pass may delete at most this share (0 to 1) of the source's indexed documents... */
  share: number;
  /** ...unless it deletes at most this many: small deletions always run. */
  min: number;
}

/** The deletions a pass held, and why. */
export interface HeldDeletions {
  /** Documents the pass would have deleted (none was). */
  deletions: number;
  /** Documents of the source the store held when the pass began. */
  indexed: number;
  /** Documents the scan found. */
  found: number;
  /** One sentence: what was held, the likely causes, and the flag that allows it. */
  reason: string;
}

/**
 * Whether a pass that would delete `deletions` of the `indexed` documents of a source, after a
 * complete scan that found `found`, must hold them: when the scan found no document at all, or
 * when they are more than `share` of the indexed documents and more than `min`. Null: delete.
 */
export function heldDeletions(
  guard: DeleteGuard | null,
  counts: { deletions: number; indexed: number; found: number },
  source: { name: string; location: string },
): HeldDeletions | null {
  const { deletions, indexed, found } = counts;
  if (!guard || deletions === 0) return null;
  if (found > 0 && (deletions <= guard.share * indexed || deletions <= guard.min)) return null;
  const name = JSON.stringify(source.name);
  const what =
    found === 0
      ? `the scan of ${source.location} found no document, and ${deletions} of source ${name} are indexed`
      : `${deletions} of the ${indexed} indexed documents of source ${name} (${Math.round((100 * deletions) / indexed)}%) ` +
        `are not in ${source.location} (the limit: ${Math.round(guard.share * 100)}%, when more than ${guard.min})`;
  const reason =
    `${what}: their deletion is held. An unmounted or empty folder, a narrower --include, or another folder indexed ` +
    `under the source name ${name}? If the files are really gone, run again with --allow-delete (config: allowDelete: true)`;
  return { deletions, indexed, found, reason };
}
