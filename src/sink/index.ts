/**
 * The stores: an embedded LanceDB directory (the default) and Milvus. Both are a `BlueGreenStore`
 * over a backend (`blue-green.ts`); `app/runtime.ts` picks one from the configuration.
 */
export { lanceDbStore } from './lancedb/index.js';
export { milvusStore } from './milvus/index.js';
