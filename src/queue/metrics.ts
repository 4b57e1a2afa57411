/**
 * Prometheus metrics (prom-client) and the `/metrics` + `/healthz` endpoint. The server binds to
 * loopback unless a host is given.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DocSyncResult } from '../core/sync-document.js';

export class Metrics {
  readonly registry = new Registry();
  readonly jobs = new Counter({
    name: 'ragsync_jobs_total',
    help: 'Sync jobs finished, by result',
    labelNames: ['result'],
    registers: [this.registry],
  });
  readonly embeddings = new Counter({
    name: 'ragsync_embeddings_total',
    help: 'Chunk vectors computed or reused from the store',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  readonly rows = new Counter({
    name: 'ragsync_rows_total',
    help: 'Chunk rows written or deleted',
    labelNames: ['op'],
    registers: [this.registry],
  });
  readonly freshness = new Histogram({
    name: 'ragsync_freshness_seconds',
    help: 'Seconds from a file change (event time) to its rows committed in the sink',
    buckets: [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });
  readonly heldDeletions = new Gauge({
    name: 'ragsync_deletions_held',
    help: 'Deletions the last reconcile held because they were more than the mass-deletion guard allows (0: none)',
    registers: [this.registry],
  });
  readonly heldReconciles = new Counter({
    name: 'ragsync_reconciles_held_total',
    help: 'Reconciles that held their deletions (mass-deletion guard)',
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'ragsync_queue_jobs',
    help: 'Jobs in the sync queue, by state',
    labelNames: ['state'],
    registers: [this.registry],
  });

  /** Records one finished job. */
  observe(result: DocSyncResult, eventAt: number): void {
    this.jobs.inc({ result: 'completed' });
    this.embeddings.inc({ kind: 'computed' }, result.embedded);
    this.embeddings.inc({ kind: 'reused' }, result.reused);
    this.rows.inc({ op: 'upserted' }, result.added + result.updated);
    this.rows.inc({ op: 'deleted' }, result.deleted);
    if (result.status !== 'unchanged') this.freshness.observe(Math.max(0, (Date.now() - eventAt) / 1000));
  }
}

/**
 * Serves `/metrics` and `/healthz` (200 when `healthy()` resolves true). `refresh` runs before
 * each scrape (queue depth). Resolves with the bound port.
 */
export async function serveMetrics(
  metrics: Metrics,
  opts: { port: number; host: string; healthy: () => Promise<boolean>; refresh?: () => Promise<void> },
): Promise<{ port: number; address: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    void (async () => {
      try {
        if (req.url === '/healthz') {
          const ok = await opts.healthy();
          res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'unhealthy\n');
        } else if (req.url === '/metrics') {
          await opts.refresh?.();
          res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(await metrics.registry.metrics());
        } else {
          res.writeHead(404).end();
        }
      } catch (err) {
        res.writeHead(500).end(String(err));
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    address: (server.address() as AddressInfo).address,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
