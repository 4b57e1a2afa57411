/**
 * `ragsync serve` and `watch --serve`: a long-lived service over the store (`app/service.ts`)
 * behind the HTTP server (`server.ts`), on loopback unless told otherwise (`auth.ts`).
 */
import type { AddressInfo } from 'node:net';
import { type DaemonView, openService } from '../app/index.js';
import type { Config } from '../config/index.js';
import type { Logger } from '../core/log.js';
import { checkBind } from './auth.js';

export { checkBind };
import { buildServer } from './server.js';

export interface Serving {
  /** `http://host:port`, as a browser opens it. */
  url: string;
  port: number;
  /** Stops taking requests, closes the store. */
  close(): Promise<void>;
}

/** Opens the store and listens (`config.serve`); `daemon`: the daemon of this process, under `watch --serve`. */
export async function startServer(config: Config, opts: { log: Logger; version: string; daemon?: DaemonView }): Promise<Serving> {
  const { host, port, token, maxUploadBytes } = config.serve;
  checkBind(host, token);
  const service = await openService(config, { log: opts.log, daemon: opts.daemon, version: opts.version });
  let app: Awaited<ReturnType<typeof buildServer>>;
  try {
    app = await buildServer(service, { token, maxUploadBytes, log: opts.log });
    await app.listen({ host, port });
  } catch (err) {
    await service.close();
    throw err;
  }
  const bound = (app.server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${bound}`,
    port: bound,
    close: async () => {
      await app.close();
      await service.close();
    },
  };
}
