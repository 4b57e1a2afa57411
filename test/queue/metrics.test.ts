import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/index.js';
import { Metrics, serveMetrics } from '../../src/queue/metrics.js';

/** True when a TCP connection to host:port is accepted. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

describe('metrics and health server', () => {
  it('binds to loopback by default', async () => {
    const config = resolveConfig({});
    expect(config.metrics.host).toBe('127.0.0.1');
    const server = await serveMetrics(new Metrics(), { port: 0, host: config.metrics.host, healthy: async () => true });
    try {
      // Bound to the loopback address, not to all interfaces (0.0.0.0 / ::).
      expect(server.address).toBe('127.0.0.1');
      expect(await accepts('127.0.0.1', server.port)).toBe(true);
    } finally {
      await server.close();
    }
  });
});
