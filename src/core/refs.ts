/** What a document's diff reads of its stored rows, and what the vector cache keeps (re-exported by `types.ts`). */

/** A stored row as a document's diff reads it: `key` is empty for a row written before keys were stored. */
export interface ChunkRef {
  id: string;
  hash: string;
  key: string;
}

/** A vector kept by its key after its row was deleted or rewritten (the collection's vector cache). */
export interface CachedVector {
  key: string;
  vector: number[];
}
