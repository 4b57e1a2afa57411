/** `serve`, `watch --serve` and `mcp`: the long-lived readers of a store. */
import { packageVersion } from '../core/version.js';
import type { Daemon } from '../app/index.js';
import type { Config } from '../config/index.js';
import { RagsyncError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { checkBind, startServer } from '../serve/index.js';
import { type Flags, configOf, daemonLogger } from './commands.js';
import { untilSignal } from './signals.js';

/** The server, with a start-up failure said in one line (a port in use, an address not on this machine). */
async function listen(config: Config, log: Logger, daemon?: Daemon) {
  try {
    return await startServer(config, { log, version: packageVersion(), daemon: daemon?.view });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const where = `${config.serve.host}:${config.serve.port}`;
    if (code === 'EADDRINUSE')
      throw new RagsyncError('BUSY', `cannot serve on ${where}: the port is in use (--port, 0 for any free one)`, {
        stage: 'config',
        cause: err,
      });
    if (code === 'EADDRNOTAVAIL')
      throw new RagsyncError('USAGE', `cannot serve on ${where}: no such address on this machine (--host)`, {
        stage: 'config',
        cause: err,
      });
    throw err;
  }
}

/** `watch --serve`: the server in the daemon's process; stopping stops the server first, then the daemon. */
async function serveDaemon(config: Config, daemon: Daemon, log: Logger): Promise<Daemon & { url: string }> {
  const server = await listen(config, log, daemon).catch(async (err: unknown) => {
    await daemon.stop();
    throw err;
  });
  const stop = async () => {
    await server.close();
    await daemon.stop();
  };
  let stopping: Promise<void> | undefined;
  return { ...daemon, url: server.url, stop: () => (stopping ??= stop()) };
}

/** `serve`: runs until SIGINT/SIGTERM; exit 130 (SIGINT) or 143 (SIGTERM). */
export async function serveCommand(flags: Flags): Promise<number> {
  const config = configOf('serve', flags);
  const log = daemonLogger(config, flags);
  return untilSignal(
    () => listen(config, log).then((s) => ({ ...s, stop: s.close })),
    (s) => `ragsync: serving ${s.url} (store ${storeOf(config)}${config.serve.token ? ', token required' : ''})`,
    'requests in progress finish',
  );
}

function storeOf(config: Config): string {
  return config.sink.kind === 'lancedb' ? config.sink.path : `milvus ${config.sink.address}`;
}

/** What `watch --serve` adds to the daemon: the bind checked before it starts, the server once it runs. */
export const DAEMON_SERVER = {
  check: (config: Config) => checkBind(config.serve.host, config.serve.token),
  start: serveDaemon,
};
