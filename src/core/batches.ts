/**
 * Splits items, in order, into batches of at most `maxCount` items and about `maxBytes` (an item
 * larger than `maxBytes` gets a batch of its own). `sizeOf` estimates an item's bytes.
 */
export function sizedBatches<T>(items: T[], sizeOf: (item: T) => number, maxBytes: number, maxCount = Infinity): T[][] {
  const out: T[][] = [];
  let cur: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (cur.length > 0 && (cur.length >= maxCount || bytes + size > maxBytes)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(item);
    bytes += size;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}
