import path from 'node:path';
import type { Config } from '../config.js';
import type { Sink } from '../core/types.js';
import { LanceDbSink } from './lancedb.js';
import { MilvusSink } from './milvus.js';

export { fingerprintKey } from './fingerprint.js';

/** Builds (without connecting) the sink the configuration names. */
export function createSink(config: Config['sink'], cwd = process.cwd()): Sink {
  switch (config.kind) {
    case 'lancedb':
      return new LanceDbSink(path.resolve(cwd, config.path));
    case 'milvus':
      return new MilvusSink({ ...config, caPath: config.caPath ? path.resolve(cwd, config.caPath) : undefined });
  }
}
