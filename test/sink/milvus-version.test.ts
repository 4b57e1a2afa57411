import { describe, expect, it } from 'vitest';
import { RagsyncError } from '../../src/core/errors.js';
import { checkServerVersion, isLite } from '../../src/sink/milvus/version.js';

const refusal = (version: string): RagsyncError | undefined => {
  try {
    checkServerVersion(version, 'db.example:19530');
    return undefined;
  } catch (err) {
    return err as RagsyncError;
  }
};

describe('Milvus server versions', () => {
  it('refuses a Milvus before 2.5 (no BM25 functions) in one line that names the server, its version and what is needed', () => {
    for (const v of ['v2.4.13', 'v2.4.0', '2.3.21', 'v2.2.16-hotfix']) {
      const err = refusal(v);
      expect(err, v).toBeInstanceOf(RagsyncError);
      expect(err!.code).toBe('SINK');
      expect(err!.retryable).toBe(false);
      expect(err!.message).toBe(
        `Milvus at db.example:19530 reports version ${v}: ragsync needs Milvus 2.5 or later (BM25 full-text search)`,
      );
    }
  });

  it('accepts Milvus 2.5, 2.6 and later, pre-releases of 2.5 included', () => {
    for (const v of ['v2.5.0', 'v2.5.0-beta', '2.5.4', 'v2.6.3', 'v2.6.0-rc1', 'v3.0.0', 'v10.1.0']) expect(refusal(v), v).toBeUndefined();
  });

  it('accepts the Milvus Lite the tests run (it reports its own numbering) and refuses a Lite before 3.2', () => {
    expect(refusal('milvus_lite-3.2.2')).toBeUndefined();
    expect(refusal('milvus_lite-3.10.0')).toBeUndefined();
    expect(refusal('milvus_lite-3.1.4')?.message).toBe(
      'Milvus at db.example:19530 reports version milvus_lite-3.1.4: ragsync needs Milvus Lite 3.2 or later',
    );
    expect(refusal('milvus_lite-2.5.1')?.code).toBe('SINK');
    expect(isLite('milvus_lite-3.2.2')).toBe(true);
    expect(isLite('v2.5.4')).toBe(false);
  });

  it('accepts a version it cannot read (a development build, a managed service): the first unsupported call fails on its own', () => {
    for (const v of ['', 'master-20250101-abcdef', 'unknown']) expect(refusal(v), v).toBeUndefined();
  });
});
