/**
 * Each command: its config from the parsed flags, the app function it runs, what it prints and the
 * exit code it returns. Errors are thrown (`main` maps them to a line and an exit code).
 */
import path from 'node:path';
import type { Command } from 'commander';
import {
  abortReembed,
  type Daemon,
  checkDirectory,
  auditDirectory,
  defaultSourceName,
  dropOld,
  indexDirectory,
  jobsReport,
  reembed,
  removeSource,
  runWatch,
  runWorker,
  status,
} from '../app/index.js';
import { CONFIG_DEFAULTS, type CommandName, type Config, DAEMON_LOG_LEVEL, loadConfig } from '../config/index.js';
import { RagsyncError } from '../core/errors.js';
import { type Logger, createLogger } from '../core/log.js';
import { confirm, givenOptions } from './confirm.js';
import { EXIT } from './exit.js';
import { flagsLayer } from './options.js';
import * as print from './print.js';
import { progress } from './progress.js';
import { onInterrupt, untilSignal } from './signals.js';

/** A command's parsed flags, as commander gives them. */
export type Flags = Record<string, unknown>;

export function configOf(command: CommandName, flags: Flags): Config {
  return loadConfig(flagsLayer(command, flags), { configFile: flags.config as string | undefined });
}

export function usage(message: string): RagsyncError {
  return new RagsyncError('USAGE', message, { stage: 'config' });
}

/** `index DIR`: one pass, with a progress bar; the first signal stops it cleanly. */
export async function indexCommand(dir: string, flags: Flags): Promise<number> {
  await checkDirectory('index', dir);
  const config = configOf('index', flags);
  const log = createLogger(config.logLevel, config.logFormat);
  const queued = Boolean(config.redis.url) && flags.dryRun !== true;
  const bar = progress(flags, 'indexing');
  const interrupt = onInterrupt(
    queued ? 'nothing more is queued; jobs already queued stay for the workers' : 'the documents in progress finish; nothing new starts',
    () => bar?.stop(),
  );
  let summary: Awaited<ReturnType<typeof indexDirectory>>;
  try {
    summary = await indexDirectory(config, dir, {
      log,
      signal: interrupt.signal,
      noWorker: flags.worker === false,
      dryRun: flags.dryRun === true,
      onFound: (found) => bar?.found(found),
      onScanned: (found) => bar?.scanned(found),
      onProgress: (done, found, last) => {
        if (interrupt.signal.aborted) return;
        bar?.update(done, found, last?.path ?? '');
        if (last)
          log.debug(
            { stage: 'sync', docId: last.docId, status: last.status, embedded: last.embedded, reused: last.reused },
            'document synced',
          );
      },
      onWarning: (message) => log.warn({ stage: 'sink' }, message),
      onFailure: (p, err) => log.info({ stage: err.stage, docId: err.docId, path: p, err: err.message }, 'document failed'),
    });
  } finally {
    bar?.stop();
    interrupt.dispose();
  }
  if (flags.json) print.printJson(summary);
  else print.printIndex(summary, { received: interrupt.received, queued });
  if (summary.interrupted) return interrupt.exitCode;
  return summary.docs.failed > 0 || summary.held ? EXIT.failures : EXIT.ok;
}

/** `audit DIR [--repair]`: exit 0 only when nothing drifted and everything could be checked. */
export async function auditCommand(dir: string, flags: Flags): Promise<number> {
  await checkDirectory('audit', dir);
  const config = configOf('audit', flags);
  const log = createLogger(config.logLevel, config.logFormat);
  const hooks = { log, noWorker: flags.worker === false };
  const result = await auditDirectory(config, dir, { repair: flags.repair === true, dryRun: flags.dryRun === true, hooks });
  if (flags.json) print.printJson(result);
  else print.printAudit(result);
  return result.report.drift.length === 0 && result.report.unchecked.length === 0 ? EXIT.ok : EXIT.failures;
}

/** `reembed [DIR]`: backfill, verify, swap (exit 1 when not swapped); or `--abort`, `--drop-old`. */
export async function reembedCommand(dir: string | undefined, flags: Flags, cmd?: Command): Promise<number> {
  const config = configOf('reembed', flags);
  const again = cmd ? givenOptions(cmd) : '';
  if (flags.abort || flags.dropOld) return reembedAdmin(config, flags);
  if (!dir) throw usage('ragsync reembed: give the directory to re-embed (or --abort / --drop-old)');
  await checkDirectory('reembed', dir);
  const log = createLogger(config.logLevel, config.logFormat);
  const out = flags.json ? () => undefined : print.say;
  const bar = progress(flags, 'backfill');
  let report: Awaited<ReturnType<typeof reembed>>;
  try {
    report = await reembed(config, dir, {
      log,
      rollback: Boolean(flags.rollback),
      noWorker: flags.worker === false,
      onStart: (s) => out(print.reembedStartLine(s, path.resolve(dir))),
      onPhase: (phase) => {
        if (phase !== 'backfill') bar?.stop();
        const line = print.REEMBED_PHASE_LINES[phase];
        if (line) out(line);
      },
      onScanned: (found) => bar?.scanned(found),
      onProgress: (done, found, file) => bar?.update(done, found, file ?? ''),
      onBackfilled: (b) => {
        bar?.stop();
        out(print.backfillLine(b));
      },
      onWarning: (message) => log.warn({ stage: 'reembed' }, message),
      onFailure: (p, err) => log.info({ stage: err.stage, path: p, err: err.message }, 'document failed'),
    });
  } finally {
    bar?.stop();
  }
  if (flags.json) print.printJson(report);
  else print.printReembed(report, dir, again);
  return report.swapped ? EXIT.ok : EXIT.failures;
}

async function reembedAdmin(config: Config, flags: Flags): Promise<number> {
  if (flags.abort && flags.dropOld) throw usage('give --abort or --drop-old, not both');
  if (flags.abort) {
    const aborted = await abortReembed(config);
    if (flags.json) print.printJson({ aborted });
    else print.printAborted(aborted);
    return EXIT.ok;
  }
  if (
    !(await confirm(
      flags,
      'ragsync reembed --drop-old',
      'Drop the collection kept for rollback (reembed --rollback is no longer possible)? [y/N] ',
    ))
  )
    return EXIT.failures;
  const dropped = await dropOld(config);
  if (flags.json) print.printJson({ dropped });
  else print.printDropped(dropped);
  return EXIT.ok;
}

/** `status`. */
export async function statusCommand(flags: Flags): Promise<number> {
  const s = await status(configOf('status', flags));
  if (flags.json) print.printJson(s);
  else print.printStatus(s);
  return EXIT.ok;
}

/**
 * `remove-source NAME`: asks on a terminal unless `--yes`; without a terminal `--yes` is required
 * (exit 2 otherwise: nothing is removed). Exit 1 when the answer was no.
 */
export async function removeSourceCommand(name: string, flags: Flags): Promise<number> {
  const result = await removeSource(configOf('remove-source', flags), name, async (plan) => {
    return confirm(
      flags,
      `ragsync remove-source ${name}`,
      `Remove source "${plan.name}" (${plan.root ?? 'root not recorded'}): ${plan.documents} documents, ${plan.chunks} chunks? [y/N] `,
    );
  });
  if (flags.json) print.printJson(result);
  else print.printRemoved(result);
  return result.removed ? EXIT.ok : EXIT.failures;
}

/**
 * The config of a daemon or `jobs`. `watch` and `jobs` work with the local queue when no Redis is
 * configured; `worker`, and `watch --no-worker`, exist for a shared queue and need one.
 */
async function queueConfig(command: 'watch' | 'worker' | 'jobs', flags: Flags, dir?: string): Promise<Config> {
  if (dir !== undefined && command !== 'jobs') await checkDirectory(command, dir);
  const config = configOf(command, flags);
  const shared = command === 'worker' ? 'ragsync worker' : command === 'watch' && flags.worker === false ? 'ragsync watch --no-worker' : '';
  if (shared && !config.redis.url)
    throw usage(`${shared} works with a shared job queue: pass --redis redis://host:port or set RAGSYNC_REDIS_URL`);
  return config;
}

/**
 * Daemons log their life events: with no level given (flag or RAGSYNC_LOG_LEVEL) they log at
 * `DAEMON_LOG_LEVEL`; a level given, `warn` included, is honoured.
 */
export function daemonLogger(config: Config, flags: Flags) {
  const given = flags.logLevel !== undefined || process.env.RAGSYNC_LOG_LEVEL !== undefined;
  const level = given || config.logLevel !== CONFIG_DEFAULTS.logLevel ? config.logLevel : DAEMON_LOG_LEVEL;
  return createLogger(level, config.logFormat);
}

/** `watch DIR`: runs until SIGINT/SIGTERM, then drains; exit 130 (SIGINT) or 143 (SIGTERM). `serve`: `--serve`'s server. */
export async function watchCommand(
  dir: string,
  flags: Flags,
  serve?: { check(config: Config): void; start(config: Config, d: Daemon, log: Logger): Promise<Daemon & { url: string }> },
): Promise<number> {
  const config = await queueConfig('watch', flags, dir);
  // A bind the server would refuse is refused before the daemon starts (and syncs anything).
  serve?.check(config);
  const worker = flags.worker !== false;
  const log = daemonLogger(config, flags);
  return untilSignal(
    async () => {
      const d = await runWatch(config, dir, { worker, log });
      return serve ? await serve.start(config, d, log) : d;
    },
    (d) =>
      print.daemonLine(
        `watching ${path.resolve(dir)}`,
        [
          d.queue === 'local' ? 'local queue' : `queue ${d.queue}`,
          ...(worker ? [] : ['no worker']),
          ...('url' in d ? [`serving ${d.url}`] : []),
        ],
        {
          host: config.metrics.host,
          port: d.metricsPort,
        },
      ),
  );
}

/** `worker DIR`: runs until SIGINT/SIGTERM, then drains; exit 130 (SIGINT) or 143 (SIGTERM). */
export async function workerCommand(dir: string, flags: Flags): Promise<number> {
  const config = await queueConfig('worker', flags, dir);
  return untilSignal(
    () => runWorker(config, dir, { log: daemonLogger(config, flags) }),
    (d) =>
      print.daemonLine(`worker for ${path.resolve(dir)}`, [`queue ${d.queue}`, `concurrency ${config.worker.concurrency}`], {
        host: config.metrics.host,
        port: d.metricsPort,
      }),
  );
}

/** `jobs [DIR] [--retry]`: the queue of the directory's source (or `--source`). */
export async function jobsCommand(dir: string | undefined, flags: Flags): Promise<number> {
  const config = await queueConfig('jobs', flags);
  const source = config.source ?? (dir ? await defaultSourceName(dir) : undefined);
  if (!source) throw usage('ragsync jobs: give the directory or --source NAME');
  const report = await jobsReport(config, source, { retry: Boolean(flags.retry) });
  if (flags.json) print.printJson(report);
  else print.printJobs(report, Boolean(flags.retry));
  // Failed jobs listed are exit 1, as failed documents are; a retry asked for all of them is exit 0.
  return report.failed.length > 0 && report.retried + (report.deferred ?? 0) === 0 ? EXIT.failures : EXIT.ok;
}
