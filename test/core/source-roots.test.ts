import { describe, expect, it } from 'vitest';
import { rootRelation } from '../../src/core/source-roots.js';

describe('rootRelation', () => {
  it('tells the same folder, a folder inside, a folder around, and folders apart', () => {
    expect(rootRelation('/a/docs', '/a/docs')).toBe('same');
    expect(rootRelation('/a/docs/', '/a/docs')).toBe('same');
    expect(rootRelation('/a/docs/sub', '/a/docs')).toBe('inside');
    expect(rootRelation('/a/docs/sub/deeper', '/a/docs')).toBe('inside');
    expect(rootRelation('/a', '/a/docs/sub')).toBe('contains');
    expect(rootRelation('/', '/a')).toBe('contains');
    expect(rootRelation('/b/docs', '/a/docs')).toBeNull();
  });

  it('compares whole path segments: a sibling whose name starts alike is apart', () => {
    expect(rootRelation('/a/docs2', '/a/docs')).toBeNull();
    expect(rootRelation('/a/docs', '/a/docs2')).toBeNull();
    expect(rootRelation('/a/..docs', '/a')).toBe('inside');
    expect(rootRelation('/a/docs/../docs2', '/a/docs')).toBeNull();
  });
});
