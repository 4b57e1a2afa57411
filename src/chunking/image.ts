/** Image chunker: one image chunk per file; its text is the file name, for display and keyword search. */
import path from 'node:path';
import type { Chunker, Document } from '../core/types.js';
import { chunkId, contentHash } from '../ids/index.js';

const VERSION = 'image@1';

export const imageChunker: Chunker = {
  version: VERSION,
  supports: (type) => type === 'image',
  async chunk(doc: Document) {
    if (doc.size === 0) return { chunks: [], metadata: {} };
    return {
      chunks: [
        {
          id: chunkId(doc.docId, '', 0),
          section: '',
          index: 0,
          modality: 'image' as const,
          text: path.posix.basename(doc.path),
          image: doc.bytes,
          hash: contentHash(doc.bytes, VERSION),
        },
      ],
      metadata: {},
    };
  },
};
