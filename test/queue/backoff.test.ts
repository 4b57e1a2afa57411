import { describe, expect, it } from 'vitest';
import { BACKOFF, jobOptions, retryDelay } from '../../src/queue/queue.js';
import { resolveConfig } from '../../src/config/index.js';

describe('retry backoff of sync jobs', () => {
  it('doubles from 1 s, stops at 30 s, and takes off at most a quarter at random', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 11].map((n) => retryDelay(n, 0))).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
    expect(retryDelay(6, 1)).toBe(22_500);
    for (let n = 1; n < 20; n++) {
      const d = retryDelay(n);
      expect(d).toBeGreaterThanOrEqual(retryDelay(n, 1));
      expect(d).toBeLessThanOrEqual(retryDelay(n, 0));
    }
  });

  it('with the default attempts, rides out a 2.5-minute outage and retries within 30 s of its end', () => {
    const { attempts } = resolveConfig({}).worker;
    const shortest = Array.from({ length: attempts - 1 }, (_, i) => retryDelay(i + 1, 1)).reduce((a, b) => a + b, 0);
    expect(shortest).toBeGreaterThan(150_000);
    expect(Math.max(...Array.from({ length: attempts }, (_, i) => retryDelay(i + 1, 0)))).toBe(30_000);
    expect(jobOptions({ source: 's', path: 'a.md' }, attempts)).toMatchObject({ attempts, backoff: { type: BACKOFF } });
  });
});
