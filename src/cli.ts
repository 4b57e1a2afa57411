/**
 * The `ragsync` command line: parses arguments into a config (config file < RAGSYNC_* env <
 * flags), calls `app.ts`, prints. Exit codes: 0 success; 1 some documents failed (the rest were
 * indexed); 2 usage or configuration error; 3 could not run (model, store or source unavailable).
 */
import { readFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import cliProgress from 'cli-progress';
import { parse as parseYaml } from 'yaml';
import { auditDirectory, defaultSourceName, indexDirectory, search, status } from './app.js';
import { abortReembed, dropOld, reembed } from './reembed.js';
import { type Daemon, runWatch, runWorker } from './workers/daemon.js';
import { jobsReport } from './workers/jobs.js';
import { safeRedisUrl } from './workers/redis.js';
import { type Config, type ConfigLayer, resolveConfig } from './config.js';
import { RagsyncError, errorMessage } from './core/errors.js';
import type { SyncSummary } from './core/sync-source.js';
import type { SearchFilter } from './core/types.js';
import { createLogger } from './log.js';
import { fingerprintKey } from './sink/fingerprint.js';

export const EXIT = { ok: 0, failures: 1, usage: 2, unavailable: 3 } as const;
 /** Failed documents listed one per line in the human summary; --json lists every one. */
const MAX_FAILURE_LINES = 20;
const CONFIG_FILES = ['ragsync.config.json', 'ragsync.config.yaml', 'ragsync.config.yml'];

interface CommonFlags {
  config?: string;
  store?: string;
  source?: string;
  embedder?: string;
  modelDir?: string;
  dtype?: string;
  offline?: boolean;
  embedderUrl?: string;
  dimensions?: number;
  json?: boolean;
  logLevel?: string;
}

const int = (name: string) => (v: string) => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`${name} must be a whole number`);
  return Number(v);
};
const collect = (v: string, prev: string[] = []) => [...prev, v];

function common(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'config file (JSON or YAML); default ./ragsync.config.{json,yaml,yml} if present')
    .addOption(new Option('--sink <kind>', 'where rows go (default lancedb)').choices(['lancedb', 'milvus']))
    .option('--store <dir>', 'LanceDB store directory (default .ragsync)')
    .option('--milvus-address <host:port>', 'Milvus address (selects --sink milvus; default 127.0.0.1:19530)')
    .option('--milvus-token <token>', 'Milvus / Zilliz Cloud token (prefer RAGSYNC_MILVUS_TOKEN)')
    .option('--milvus-user <name>', 'Milvus user')
    .option('--milvus-password <password>', 'Milvus password (prefer RAGSYNC_MILVUS_PASSWORD)')
    .option('--milvus-database <name>', 'Milvus database')
    .option('--milvus-ssl', 'connect with TLS')
    .option('--milvus-ca <file>', 'CA certificate for TLS (implies --milvus-ssl)')
    .option('--milvus-collection <prefix>', 'collection and alias name prefix (default ragsync)')
    .option('--milvus-partition-key', 'partition key on source, when creating the collection')
    .option('--source <name>', 'source name, the prefix of doc IDs (default: the directory name)')
    .option(
      '--embedder <name>',
      'embedder: jina-clip[:<hub model id>] (default jina-clip:jinaai/jina-clip-v1, local); jina-api[:<model>] (Jina\'s hosted API, default jina-clip-v2, key in $JINA_API_KEY); openai:<model> (an OpenAI-compatible endpoint, key in $OPENAI_API_KEY); fixed[:<ms per batch>] for benchmarks',
    )
    .option('--embedder-url <url>', 'endpoint of an API embedder (e.g. http://127.0.0.1:11434/v1/embeddings for Ollama)')
    .option('--dimensions <n>', 'API embedders: output dimension (jina-clip-v2: 64 to 1024, Matryoshka)', int('--dimensions'))
    .option('--model-dir <dir>', 'load the model from this local directory instead of the hub')
    .addOption(new Option('--dtype <dtype>', 'model weights variant').choices(['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4', 'bnb4', 'q4f16']))
    .option('--offline', 'never download a model')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent')
    .option('--json', 'print machine-readable JSON');
}

function configFrom(flags: CommonFlags & Record<string, unknown>): Config {
  const env = process.env;
  const file = flags.config ?? env.RAGSYNC_CONFIG ?? CONFIG_FILES.find((f) => existsSync(f));
  const layer: ConfigLayer = {
    // (watch and worker pass --concurrency as the worker's concurrency)
    source: flags.source,
    include: flags.include as string[] | undefined,
    exclude: flags.exclude as string[] | undefined,
    maxFileBytes: flags.maxFileBytes as number | undefined,
    chunkTokens: flags.chunkTokens as number | undefined,
    concurrency: flags.concurrency as number | undefined,
    logLevel: flags.logLevel as ConfigLayer['logLevel'],
    sink: sinkFlags(flags),
    redis: stripUndefined({ url: flags.redis as string | undefined, prefix: flags.redisPrefix as string | undefined }),
    watch: stripUndefined({ reconcileSeconds: flags.reconcileSeconds as number | undefined, settleMs: flags.settleMs as number | undefined }),
    worker: stripUndefined({
      concurrency: flags.workerConcurrency as number | undefined,
      lockMs: flags.lockMs as number | undefined,
      drainSeconds: flags.drainSeconds as number | undefined,
    }),
    metrics: stripUndefined({ port: flags.metricsPort as number | undefined, host: flags.metricsHost as string | undefined }),
    embedder: embedderFlags(flags),
  };
  return resolveConfig({ file: file ? readConfigFile(file) : undefined, env, flags: stripUndefined(layer) });
}

function sinkFlags(flags: CommonFlags & Record<string, unknown>): ConfigLayer['sink'] {
  const out = stripUndefined({
    kind: flags.sink as 'lancedb' | 'milvus' | undefined,
    path: flags.store as string | undefined,
    address: flags.milvusAddress as string | undefined,
    token: flags.milvusToken as string | undefined,
    username: flags.milvusUser as string | undefined,
    password: flags.milvusPassword as string | undefined,
    database: flags.milvusDatabase as string | undefined,
    ssl: flags.milvusSsl as boolean | undefined,
    caPath: flags.milvusCa as string | undefined,
    collection: flags.milvusCollection as string | undefined,
    partitionKey: flags.milvusPartitionKey as boolean | undefined,
  });
  return Object.keys(out).length > 0 ? out : undefined;
}

const EMBEDDER_KINDS = ['jina-clip', 'jina-api', 'openai', 'fixed'] as const;

function embedderFlags(flags: CommonFlags): ConfigLayer['embedder'] {
  const out: NonNullable<ConfigLayer['embedder']> = {};
  if (flags.embedder) {
    const [kind, ...rest] = flags.embedder.split(':');
    if (!EMBEDDER_KINDS.includes(kind as (typeof EMBEDDER_KINDS)[number])) {
      throw new RagsyncError('USAGE', `--embedder: unknown embedder ${JSON.stringify(kind)} (known: ${EMBEDDER_KINDS.join(', ')})`, { stage: 'config' });
    }
    out.kind = kind as (typeof EMBEDDER_KINDS)[number];
    if (rest.length > 0 && kind === 'fixed') out.delayMs = Number(rest[0]);
    else if (rest.length > 0) out.model = rest.join(':');
  }
  if (flags.modelDir) out.modelDir = flags.modelDir;
  if (flags.dtype) out.dtype = flags.dtype as NonNullable<ConfigLayer['embedder']>['dtype'];
  if (flags.offline) out.offline = true;
  if (flags.embedderUrl) out.url = flags.embedderUrl;
  if (flags.dimensions !== undefined) out.dimensions = flags.dimensions;
  return Object.keys(out).length > 0 ? out : undefined;
}

function readConfigFile(file: string): { name: string; data: unknown } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new RagsyncError('CONFIG', `cannot read config file ${file}: ${errorMessage(err)}`, { stage: 'config' });
  }
  try {
    return { name: file, data: file.endsWith('.json') ? JSON.parse(text) : parseYaml(text) };
  } catch (err) {
    throw new RagsyncError('CONFIG', `config file ${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${errorMessage(err)}`, { stage: 'config' });
  }
}

function stripUndefined<T extends object>(obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as T;
}

/** A progress bar with an ETA on a terminal (none with --json, --no-progress, or no TTY). */
function progressBar(flags: CommonFlags & Record<string, unknown>, label: string): cliProgress.SingleBar | undefined {
  if (flags.json || !process.stderr.isTTY || flags.progress === false) return undefined;
  return new cliProgress.SingleBar(
    { format: `${label} [{bar}] {value}/{total} docs | {eta_formatted} left | {file}`, stream: process.stderr, hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
}

async function runIndex(dir: string, flags: CommonFlags & Record<string, unknown>): Promise<number> {
  const config = configFrom(flags);
  const log = createLogger(config.logLevel);
  const bar = progressBar(flags, 'indexing');
  bar?.start(0, 0, { file: '' });
  const interrupt = onInterrupt(
    config.redis.url ? 'nothing more is queued; jobs already queued stay for the workers' : 'the documents in progress finish; nothing new starts',
    () => bar?.stop(),
  );
  let summary: SyncSummary;
  try {
    summary = await indexDirectory(config, dir, {
      log,
      signal: interrupt.signal,
      noWorker: flags.worker === false,
      onProgress: (done, found, last) => {
        bar?.setTotal(found);
        bar?.update(done, { file: last?.path ?? '' });
        if (last) log.debug({ stage: 'sync', docId: last.docId, status: last.status, embedded: last.embedded, reused: last.reused }, 'document synced');
      },
      onWarning: (message) => log.warn({ stage: 'sink' }, message),
      onFailure: (p, err) => log.info({ stage: err.stage, docId: err.docId, path: p, err: err.message }, 'document failed'),
    });
  } finally {
    bar?.stop();
    interrupt.dispose();
  }
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } else {
    const shown = summary.failures.slice(0, MAX_FAILURE_LINES);
    for (const f of shown) process.stderr.write(`error: ${f.error}\n`);
    if (summary.failures.length > shown.length) {
      process.stderr.write(`... and ${summary.failures.length - shown.length} more failed documents (--json lists them all)\n`);
    }
    const { docs, chunks, embeddings } = summary;
    process.stdout.write(
      `${docs.scanned} documents scanned: ${docs.changed} changed, ${docs.unchanged} unchanged, ${docs.deleted} deleted, ${docs.failed} failed\n` +
        `chunks: ${chunks.upserted} written, ${chunks.deleted} deleted, ${chunks.unchanged} unchanged; ` +
        `embeddings: ${embeddings.computed} computed, ${embeddings.reused} reused; ${(summary.durationMs / 1000).toFixed(1)} s\n`,
    );
    if (summary.interrupted) {
      const queued = config.redis.url ? 'jobs already queued stay for the workers; ' : '';
      process.stdout.write(`interrupted by ${interrupt.received}: ${queued}the files not reached and the deletions not started wait for the next run\n`);
    }
  }
  if (summary.interrupted) return interrupt.exitCode;
  return summary.docs.failed > 0 ? EXIT.failures : EXIT.ok;
}

/**
 * SIGINT/SIGTERM during a one-shot command: the first asks it to stop cleanly (`signal` fires),
 * a second ends the process at once. Either way the exit code is 128 + the signal's number.
 */
function onInterrupt(what: string, beforeExit: () => void = () => undefined) {
  const controller = new AbortController();
  const state = { signal: controller.signal, received: '', exitCode: 130, dispose: () => undefined as void };
  const handler = (sig: NodeJS.Signals) => {
    const code = 128 + (os.constants.signals[sig] ?? 2);
    if (controller.signal.aborted) {
      beforeExit();
      process.stderr.write(`ragsync: ${sig} again: stopping now (a document cut short is synced again next run)\n`);
      process.exit(code);
    }
    state.received = sig;
    state.exitCode = code;
    process.stderr.write(`ragsync: ${sig}: stopping (${what}); send it again to stop at once\n`);
    controller.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  state.dispose = () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
  return state;
}

async function runAudit(dir: string, flags: CommonFlags & Record<string, unknown>): Promise<number> {
  const config = configFrom(flags);
  const log = createLogger(config.logLevel);
  const result = await auditDirectory(config, dir, { repair: flags.repair === true, hooks: { log, noWorker: flags.worker === false } });
  const { report } = result;
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    if (result.before) {
      const b = result.before;
      process.stdout.write(`before repair: ${plural(b.drift.length, 'drift finding')}; repair pass: ${result.repair!.docs.changed} changed, ${result.repair!.docs.deleted} deleted, ${result.repair!.docs.failed} failed\n`);
    }
    for (const d of report.drift.slice(0, MAX_FAILURE_LINES)) process.stdout.write(`${d.kind}: ${d.path}: ${d.detail}\n`);
    if (report.drift.length > MAX_FAILURE_LINES) process.stdout.write(`... and ${report.drift.length - MAX_FAILURE_LINES} more (--json lists them all)\n`);
    for (const u of report.unchecked) process.stderr.write(`error: ${u.path}: ${u.error}\n`);
    const kinds = new Map<string, number>();
    for (const d of report.drift) kinds.set(d.kind, (kinds.get(d.kind) ?? 0) + 1);
    const detail = [...kinds].map(([k, n]) => `${n} ${k}`).join(', ');
    process.stdout.write(
      `${report.documents} documents, ${report.rows} rows: ${report.drift.length === 0 ? 'no drift' : `drift in ${plural(new Set(report.drift.map((d) => d.docId)).size, 'document')} (${detail})`}` +
        `${report.unchecked.length > 0 ? `; ${report.unchecked.length} could not be checked` : ''}; ${(report.durationMs / 1000).toFixed(1)} s\n`,
    );
  }
  return report.drift.length === 0 && report.unchecked.length === 0 ? EXIT.ok : EXIT.failures;
}

async function runReembed(dir: string | undefined, flags: CommonFlags & Record<string, unknown>): Promise<number> {
  const config = configFrom(flags);
  const log = createLogger(config.logLevel);
  const out = (line: string) => {
    if (!flags.json) process.stdout.write(`${line}\n`);
  };
  if (flags.abort || flags.dropOld) {
    if (flags.abort && flags.dropOld) throw new RagsyncError('USAGE', 'give --abort or --drop-old, not both', { stage: 'config' });
    if (flags.abort) {
      const aborted = await abortReembed(config);
      if (flags.json) process.stdout.write(`${JSON.stringify({ aborted })}\n`);
      out(aborted ? `cancelled the re-embed to ${fingerprintKey(aborted.fingerprint)}; the live collection is unchanged` : 'no re-embed was pending');
      return EXIT.ok;
    }
    const dropped = await dropOld(config);
    if (flags.json) process.stdout.write(`${JSON.stringify({ dropped })}\n`);
    out(dropped.length > 0 ? dropped.map((c) => `dropped ${c.name} (${fingerprintKey(c.fingerprint)})`).join('\n') : 'no old collection to drop');
    return EXIT.ok;
  }
  if (!dir) throw new RagsyncError('USAGE', 'ragsync reembed: give the directory to re-embed (or --abort / --drop-old)', { stage: 'config' });
  const bar = progressBar(flags, '{phase}');
  let report;
  try {
    report = await reembed(config, dir, {
      log,
      rollback: Boolean(flags.rollback),
      noWorker: flags.worker === false,
      onStart: (s) =>
        out(`${s.resumed ? 'resuming the re-embed' : 're-embedding'} ${path.resolve(dir)}: ${fingerprintKey(s.from)} -> ${fingerprintKey(s.to)} (collection ${s.collection}); search keeps answering from the live collection`),
      onPhase: (phase) => {
        if (phase === 'backfill') bar?.start(0, 0, { phase: 'backfill', file: '' });
        else bar?.stop();
        if (phase === 'verify') out('verifying the new collection against the sources...');
        if (phase === 'repair') out('the sources changed during the backfill: one more pass...');
      },
      onProgress: (done, found, file) => {
        bar?.setTotal(found);
        bar?.update(done, { phase: 'backfill', file: file ?? '' });
      },
      onWarning: (message) => log.warn({ stage: 'reembed' }, message),
      onFailure: (p, err) => log.info({ stage: err.stage, path: p, err: err.message }, 'document failed'),
    });
  } finally {
    bar?.stop();
  }
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } else {
    const { backfill: b, verify: v } = report;
    out(
      `backfill: ${b.docs.changed} documents embedded, ${b.docs.unchanged} already done; embeddings: ${b.embeddings.computed} computed, ${b.embeddings.reused} reused; ${(report.durationMs / 1000).toFixed(1)} s`,
    );
    for (const s of v.skipped.slice(0, MAX_FAILURE_LINES)) process.stderr.write(`skipped: ${s.reason}\n`);
    for (const p of v.problems.slice(0, MAX_FAILURE_LINES)) process.stderr.write(`not ready: ${p.path}: ${p.problem}\n`);
    if (v.problems.length > MAX_FAILURE_LINES) process.stderr.write(`... and ${v.problems.length - MAX_FAILURE_LINES} more (--json lists them all)\n`);
    if (report.swapped) {
      out(`verified ${v.checked} documents (${v.chunks} chunks) against the sources`);
      out(`swapped: search now answers from ${fingerprintKey(report.to)}`);
      out(`kept ${fingerprintKey(report.from)} for \`ragsync reembed ${dir} --rollback\`; drop it with \`ragsync reembed --drop-old\``);
      out('update the embedder in your config (or flags) for the next `index`, `watch` or `worker` start; running daemons follow the store already');
    } else {
      process.stderr.write(`not swapped: ${v.problems.length} documents do not match the sources; search still answers from ${fingerprintKey(report.from)}. Fix them and run the same command again: it resumes.\n`);
    }
  }
  return report.swapped ? EXIT.ok : EXIT.failures;
}

async function runSearch(query: string | undefined, flags: CommonFlags & Record<string, unknown>): Promise<number> {
  const config = configFrom(flags);
  const image = flags.image ? readImage(String(flags.image)) : undefined;
  if (!query && !image) throw new RagsyncError('USAGE', 'give a query text, or --image FILE', { stage: 'config' });
  const mode = (flags.mode as 'dense' | 'keyword' | 'hybrid' | undefined) ?? (image && !query ? 'dense' : 'hybrid');
  const filter = parseFilters((flags.filter as string[] | undefined) ?? []);
  const hits = await search(config, { mode, k: Number(flags.k ?? 5), text: query, image, filter });
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(hits)}\n`);
    return EXIT.ok;
  }
  if (hits.length === 0) process.stdout.write('no results\n');
  hits.forEach((h, i) => {
    const where = h.section ? `${h.path} § ${h.section}` : h.path;
    const snippet = h.text.replace(/\s+/g, ' ').slice(0, 160);
    process.stdout.write(`${i + 1}. ${where}  (${h.modality}, score ${h.score.toFixed(4)})\n   ${snippet}\n`);
  });
  return EXIT.ok;
}

const FILTER_KEYS = { source: 'source', modality: 'modality', doc: 'docId', path: 'path' } as const;

/** `--filter key=value` pairs: exact matches on a fixed set of fields; values are data only. */
export function parseFilters(items: string[]): SearchFilter | undefined {
  if (items.length === 0) return undefined;
  const out: SearchFilter = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    const key = item.slice(0, eq) as keyof typeof FILTER_KEYS;
    if (eq <= 0 || !(key in FILTER_KEYS)) {
      throw new RagsyncError('USAGE', `--filter ${JSON.stringify(item)}: expected KEY=VALUE with KEY one of ${Object.keys(FILTER_KEYS).join(', ')}`, { stage: 'config' });
    }
    const value = item.slice(eq + 1);
    if (key === 'modality' && value !== 'text' && value !== 'image') {
      throw new RagsyncError('USAGE', `--filter modality=${value}: expected text or image`, { stage: 'config' });
    }
    (out as Record<string, string>)[FILTER_KEYS[key]] = value;
  }
  return out;
}

function readImage(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new RagsyncError('USAGE', `--image: cannot read ${file}: ${errorMessage(err)}`, { stage: 'config' });
  }
}

async function runStatus(flags: CommonFlags & Record<string, unknown>): Promise<number> {
  const s = await status(configFrom(flags));
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(s)}\n`);
  } else {
    process.stdout.write(
      `store:       ${s.store} (${s.sink})\nmodel:       ${s.fingerprint ? fingerprintKey(s.fingerprint) : '(empty store)'}\n` +
        `documents:   ${s.docs}\nchunks:      ${s.chunks}\n`,
    );
    if (s.pending) {
      const pct = s.docs > 0 ? Math.min(100, Math.floor((100 * s.pending.docs) / s.docs)) : 100;
      process.stdout.write(
        `re-embed:    pending to ${fingerprintKey(s.pending.fingerprint)}: ${s.pending.docs}/${s.docs} documents (${pct}%), ${s.pending.chunks} chunks\n`,
      );
    }
    if (s.previous) process.stdout.write(`previous:    ${fingerprintKey(s.previous.fingerprint)} (kept for reembed --rollback; reembed --drop-old drops it)\n`);
  }
  return EXIT.ok;
}

/** Exit code and one readable line for an error. */
export function describeError(err: unknown): { code: number; line: string } {
  if (err instanceof RagsyncError) {
    // BUSY (another re-embed holds the store) is "could not run": try again later.
    const code = err.code === 'CONFIG' || err.code === 'USAGE' || err.code === 'FINGERPRINT_MISMATCH' ? EXIT.usage : EXIT.unavailable;
    return { code, line: `ragsync: ${err.message}` };
  }
  return { code: EXIT.unavailable, line: `ragsync: unexpected error: ${errorMessage(err)}` };
}

function queueOptions(cmd: Command): Command {
  return cmd
    .option('--redis <url>', 'Redis URL of the job queue (redis://[user:pass@]host:port[/db], rediss:// for TLS); env RAGSYNC_REDIS_URL')
    .option('--redis-prefix <prefix>', 'key prefix of this project in Redis (default ragsync)')
    .option('--lock-ms <ms>', 'job lock; a dead worker\'s jobs are taken over after about this long (default 30000)', int('--lock-ms'))
    .option('--drain-seconds <s>', 'on SIGTERM/SIGINT, how long active jobs may take to finish (default 30)', int('--drain-seconds'));
}

function daemonOptions(cmd: Command): Command {
  return queueOptions(cmd)
    .option('--concurrency <n>', 'jobs this process works on at once (default 32)', int('--concurrency'))
    .option('--metrics-port <port>', 'serve /metrics and /healthz on this port (0: any free port)', int('--metrics-port'))
    .option('--metrics-host <host>', 'address for the metrics server (default 127.0.0.1)');
}

/** Runs a daemon until SIGINT or SIGTERM, then stops it gracefully. */
async function untilSignal(start: () => Promise<Daemon>, describe: (d: Daemon) => string): Promise<number> {
  const daemon = await start();
  process.stdout.write(`${describe(daemon)}\n`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      process.stderr.write(`ragsync: ${signal}: stopping (active jobs get the drain time to finish)\n`);
      void daemon.stop().then(resolve);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  return EXIT.ok;
}

function daemonConfig(flags: CommonFlags & Record<string, unknown>, what: string): Config {
  const config = configFrom({ ...flags, workerConcurrency: flags.concurrency, concurrency: undefined });
  if (!config.redis.url) throw new RagsyncError('USAGE', `${what} needs a job queue: pass --redis redis://host:port or set RAGSYNC_REDIS_URL`, { stage: 'config' });
  return config;
}

async function runWatchCommand(dir: string, flags: CommonFlags & Record<string, unknown>): Promise<number> {
  const config = daemonConfig(flags, 'ragsync watch');
  const log = createLogger(config.logLevel === 'warn' ? 'info' : config.logLevel);
  return untilSignal(
    () => runWatch(config, dir, { worker: flags.worker !== false, log }),
    (d) => `ragsync: watching ${path.resolve(dir)} (queue ${safeRedisUrl(config.redis.url!)}${flags.worker === false ? ', no worker' : ''}${d.metricsPort !== undefined ? `, metrics http://${config.metrics.host}:${d.metricsPort}/metrics` : ''})`,
  );
}

async function runWorkerCommand(dir: string, flags: CommonFlags & Record<string, unknown>): Promise<number> {
  const config = daemonConfig(flags, 'ragsync worker');
  const log = createLogger(config.logLevel === 'warn' ? 'info' : config.logLevel);
  return untilSignal(
    () => runWorker(config, dir, { log }),
    (d) => `ragsync: worker for ${path.resolve(dir)} (queue ${safeRedisUrl(config.redis.url!)}, concurrency ${config.worker.concurrency}${d.metricsPort !== undefined ? `, metrics http://${config.metrics.host}:${d.metricsPort}/metrics` : ''})`,
  );
}

async function runJobsCommand(dir: string | undefined, flags: CommonFlags & Record<string, unknown>): Promise<number> {
  const config = daemonConfig(flags, 'ragsync jobs');
  const source = config.source ?? (dir ? defaultSourceName(dir) : undefined);
  if (!source) throw new RagsyncError('USAGE', 'ragsync jobs: give the directory or --source NAME', { stage: 'config' });
  const report = await jobsReport(config, source, { retry: Boolean(flags.retry) });
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return EXIT.ok;
  }
  const c = report.counts;
  process.stdout.write(
    `source ${source}: ${c.waiting ?? 0} waiting, ${c.active ?? 0} active, ${c.delayed ?? 0} delayed (retrying), ${c.failed ?? 0} failed, ${c.completed ?? 0} completed (kept)\n`,
  );
  for (const f of report.failed) process.stdout.write(`failed: ${f.path} (after ${f.attempts} attempts): ${f.reason}\n`);
  if (flags.retry) process.stdout.write(`retried ${report.retried} failed jobs\n`);
  return EXIT.ok;
}

/** Options of a full pass over a folder (`index`, `reembed`). */
function passOptions(cmd: Command, redisHelp: string): Command {
  return cmd
    .option('--include <glob>', 'only files matching this glob (repeatable)', collect)
    .option('--exclude <glob>', 'skip files matching this glob (repeatable)', collect)
    .option('--max-file-bytes <n>', 'skip (and report) larger files', int('--max-file-bytes'))
    .option('--chunk-tokens <n>', 'maximum tokens per chunk (capped by the model)', int('--chunk-tokens'))
    .option('--concurrency <n>', 'documents in flight at once (default 128)', int('--concurrency'))
    .option('--no-progress', 'no progress bar')
    .option('--redis <url>', `${redisHelp}; env RAGSYNC_REDIS_URL`)
    .option('--redis-prefix <prefix>', 'key prefix of this project in Redis (default ragsync)')
    .option('--no-worker', 'with --redis: only enqueue and wait, other workers do the work');
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function packageVersion(): string {
  const file = new URL('../package.json', import.meta.url);
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

export function buildProgram(run: (p: Promise<number>) => void): Command {
  const program = new Command('ragsync')
    .description('Keep a vector index in sync with a folder of Markdown, text, PDFs and images.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError()
    .exitOverride();
  passOptions(common(program.command('index <dir>').description('index a directory once: add, update and delete what changed')), 'run through the Redis job queue (its own worker and any others)')
    .action((dir: string, flags) => run(runIndex(dir, flags)));
  passOptions(common(program.command('audit <dir>').description('compare a directory with its index: missing, orphaned, stale documents, wrong model, bad rows (exit 0: no drift)')), 'with --repair: repair through the Redis job queue')
    .option('--repair', 'fix the drift through the normal sync path, then audit again')
    .action((dir, flags) => run(runAudit(dir, flags)));
  daemonOptions(common(program.command('watch <dir>').description('keep the index in sync with a directory: watch, reconcile, enqueue, work')))
    .option('--no-worker', 'only enqueue; workers elsewhere do the work')
    .option('--reconcile-seconds <s>', 'full scan against the store every so often, for missed events (default 300; 0: only at start)', int('--reconcile-seconds'))
    .option('--settle-ms <ms>', 'a file counts as written once its size is stable this long (default 100)', int('--settle-ms'))
    .action((dir: string, flags) => run(runWatchCommand(dir, flags)));
  daemonOptions(common(program.command('worker <dir>').description('process sync jobs of the directory\'s source from the Redis queue')))
    .action((dir: string, flags) => run(runWorkerCommand(dir, flags)));
  queueOptions(common(program.command('jobs [dir]').description('queue state of a source: counts, failed jobs, --retry')))
    .option('--retry', 'retry every failed job')
    .action((dir: string | undefined, flags) => run(runJobsCommand(dir, flags)));
  passOptions(
    common(program.command('reembed [dir]').description('move the store to another embedder with no downtime: backfill a new collection, verify, swap')),
    'backfill through the Redis job queue, shared with the daemon\'s workers',
  )
    .option('--rollback', 'return to the previous collection (catching it up first)')
    .option('--abort', 'cancel a pending re-embed and drop its collection')
    .option('--drop-old', 'drop the collections kept for rollback')
    .action((dir: string | undefined, flags) => run(runReembed(dir, flags)));
  common(program.command('search [query]').description('search the index'))
    .addOption(new Option('--mode <mode>', 'dense, keyword or hybrid (default hybrid; dense for --image)').choices(['dense', 'keyword', 'hybrid']))
    .option('-k <n>', 'number of results', int('-k'), 5)
    .option('--image <file>', 'search by an image')
    .option('--filter <key=value>', 'only hits whose source, modality, doc (doc ID) or path equals the value (repeatable)', collect)
    .action((query: string | undefined, flags) => run(runSearch(query, flags)));
  common(program.command('status').description('show what the store holds')).action((flags) => run(runStatus(flags)));
  return program;
}

export async function main(argv: string[]): Promise<number> {
  let pending: Promise<number> | undefined;
  const program = buildProgram((p) => {
    pending = p;
  });
  try {
    await program.parseAsync(argv);
    return pending ? await pending : EXIT.ok;
  } catch (err) {
    const e = err as { code?: string; exitCode?: number };
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const { code, line } = describeError(err);
    process.stderr.write(`${line}\n`);
    return code;
  }
}
