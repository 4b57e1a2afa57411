/**
 * The one option table: every command-line flag and `RAGSYNC_*` variable, declared once with the
 * config key it sets, its value type, help and the commands that take it. The commander options
 * (`cli/options.ts`), the environment layer (`load.ts`) and the help text all come from here;
 * defaults come from the schema (`defaults.ts`). It lives in `config/` because `resolveConfig`
 * reads the environment through it, and config may not import the CLI.
 */
import { RagsyncError } from '../core/errors.js';
import { DTYPES, type SearchMode } from '../core/types.js';
import { EMBEDDER_DEFAULTS, EMBEDDER_KINDS, type EmbedderKind, LOG_LEVELS, SINK_KINDS } from './defaults.js';
import type { ConfigLayer } from './schema.js';

/** The commands of `ragsync`. */
export const COMMANDS = [
  'index',
  'audit',
  'watch',
  'worker',
  'jobs',
  'reembed',
  'search',
  'status',
  'serve',
  'mcp',
  'remove-source',
] as const;
/** The name of a command: `index`, `watch`, ... */
export type CommandName = (typeof COMMANDS)[number];

/** A setting's dotted path in a config layer: `chunkTokens`, `sink.path`, `worker.concurrency`. */
export type ConfigKey = {
  [K in keyof ConfigLayer & string]-?: NonNullable<ConfigLayer[K]> extends unknown[]
    ? K
    : NonNullable<ConfigLayer[K]> extends object
      ? `${K}.${keyof NonNullable<ConfigLayer[K]> & string}`
      : K;
}[keyof ConfigLayer & string];

/** How a flag's or variable's text becomes a value; `list` flags repeat, `list` variables are comma-separated. */
export type ValueType = 'string' | 'int' | 'bool' | 'list' | 'choice';

/** What a flag means on one command, where that differs from its row. */
export interface CommandVariant {
  /** The setting the flag sets on this command. */
  key?: ConfigKey;
  /** Its help on this command. */
  help?: string;
  /** The default help shows, when the command applies its own. */
  shownDefault?: string;
}

/** One option: a flag, a variable, or both. */
export interface OptionRow {
  /** As commander spells it: `--store <dir>`, `--offline`, `--no-progress`, `-k <n>`. None: a variable or file setting only. */
  flag?: string;
  /** The `RAGSYNC_*` variable that sets the same setting. */
  env?: string;
  /** The setting it sets; none for options of the command itself (`--json`, `--repair`). */
  key?: ConfigKey;
  type: ValueType;
  /** The values a `choice` takes. */
  choices?: readonly string[];
  /** What it does, for `--help` (defaults and the variable are added there). */
  help: string;
  /** The commands that take the flag. */
  commands?: readonly CommandName[];
  /** The default of an option of the command itself (a setting's default is the schema's). */
  default?: string | number;
  /** The default help shows, when it is not one value (`the directory name`). */
  shownDefault?: string;
  /** The value of a flag with an optional value (`--poll [ms]`) given without one. */
  preset?: string;
  on?: Partial<Record<CommandName, CommandVariant>>;
  /** Commands that accept the flag but do not list it: they ignore it (scripts that pass it keep working). */
  hiddenOn?: readonly CommandName[];
  /** Turns the flag's text into settings, when it is more than one value. */
  parse?: (value: string) => Array<[ConfigKey, unknown]>;
}

/** Config files looked for in the working directory, in this order, when none is named. */
export const CONFIG_FILES = ['ragsync.config.json', 'ragsync.config.yaml', 'ragsync.config.yml'];
/** Search modes; the first is the default. */
export const SEARCH_MODES = ['hybrid', 'keyword', 'dense'] as const satisfies readonly SearchMode[];
/** The interval of `watch --poll` given without one, and of polling turned on by the folder's filesystem. */
export const DEFAULT_POLL_MS = 1000;
/** The level daemons log at when the level is left at its default: their life events are info. */
export const DAEMON_LOG_LEVEL = 'info';

const ALL = COMMANDS;
const PASS = ['index', 'audit', 'reembed'] as const;
const DAEMONS = ['watch', 'worker'] as const;
/** `jobs` finds a local queue's state beside the store. */
const STORE = [...PASS, ...DAEMONS, 'jobs', 'search', 'status', 'serve', 'mcp', 'remove-source'] as const;
/** The commands that search: the store's model, loaded to embed queries. */
const QUERY = ['search', 'serve', 'mcp'] as const;
const EMBED = [...PASS, ...DAEMONS, ...QUERY] as const;
/** The HTTP server's settings: `serve`, and `watch --serve`. */
const SERVE = ['serve', 'watch'] as const;
/** `status` takes the embedder's selection too, unlisted: scripts pass one set of flags to every command. */
const EMBED_AND_STATUS = [...EMBED, 'status'] as const;
const SOURCE = [...PASS, ...DAEMONS, 'jobs'] as const;
const QUEUE = [...PASS, ...DAEMONS, 'jobs', 'serve'] as const;
/** What is a document of a source: every command that scans it or syncs its files. */
const FILTER = [...PASS, ...DAEMONS] as const;
const daemons = (variant: CommandVariant) => ({ watch: variant, worker: variant });

const clip = EMBEDDER_DEFAULTS['jina-clip'];
const jina = EMBEDDER_DEFAULTS['jina-api'];
const openai = EMBEDDER_DEFAULTS.openai;
const EMBEDDER_HELP =
  `jina-clip[:<hub model id>] runs locally (model ${clip.model}); jina-api[:<model>] is Jina's hosted API (model ${jina.model}, ` +
  `key in $${jina.apiKeyEnv}); openai[:<model>] is an OpenAI-compatible endpoint (model ${openai.model}, key in ` +
  `$${openai.apiKeyEnv}); fixed[:<ms per batch>] is for benchmarks`;

/** `--embedder kind[:model]` (`fixed:<ms>`: the delay per batch). */
function parseEmbedder(value: string): Array<[ConfigKey, unknown]> {
  const [kind, ...rest] = value.split(':') as [string, ...string[]];
  if (!EMBEDDER_KINDS.includes(kind as EmbedderKind)) {
    const known = EMBEDDER_KINDS.join(', ');
    throw new RagsyncError('USAGE', `--embedder: unknown embedder ${JSON.stringify(kind)} (known: ${known})`, { stage: 'config' });
  }
  if (rest.length === 0) return [['embedder.kind', kind]];
  return [['embedder.kind', kind], kind === 'fixed' ? ['embedder.delayMs', Number(rest[0])] : ['embedder.model', rest.join(':')]];
}

/** Sets a setting in a layer being built (the layer is validated later). */
export function setKey(layer: Record<string, unknown>, key: ConfigKey, value: unknown): void {
  const [head, tail] = key.split('.') as [string, string | undefined];
  layer[head] = tail === undefined ? value : { ...(layer[head] as object | undefined), [tail]: value };
}

/** Every option, in the order help lists them; one or two lines a row (prettier would spread a row over six). */
// prettier-ignore
export const OPTIONS: readonly OptionRow[] = [
  { flag: '--config <file>', env: 'RAGSYNC_CONFIG', type: 'string', commands: ALL, help: 'config file, JSON or YAML',
    shownDefault: `the first of ${CONFIG_FILES.join(', ')} in this directory` },
  { flag: '--source <name>', key: 'source', env: 'RAGSYNC_SOURCE', type: 'string', commands: SOURCE,
    help: 'source name, the prefix of doc IDs', shownDefault: 'the directory name' },
  { flag: '--sink <kind>', key: 'sink.kind', env: 'RAGSYNC_SINK', type: 'choice', choices: SINK_KINDS, commands: STORE,
    help: 'where rows go' },
  { flag: '--store <dir>', key: 'sink.path', env: 'RAGSYNC_STORE', type: 'string', commands: STORE, help: 'LanceDB store directory' },
  { flag: '--milvus-address <host:port>', key: 'sink.address', env: 'RAGSYNC_MILVUS_ADDRESS', type: 'string', commands: STORE,
    help: 'Milvus address (selects --sink milvus)' },
  { flag: '--milvus-token <token>', key: 'sink.token', env: 'RAGSYNC_MILVUS_TOKEN', type: 'string', commands: STORE,
    help: 'Milvus / Zilliz Cloud token (prefer the variable)' },
  { flag: '--milvus-user <name>', key: 'sink.username', env: 'RAGSYNC_MILVUS_USER', type: 'string', commands: STORE, help: 'Milvus user' },
  { flag: '--milvus-password <password>', key: 'sink.password', env: 'RAGSYNC_MILVUS_PASSWORD', type: 'string', commands: STORE,
    help: 'Milvus password (prefer the variable)' },
  { flag: '--milvus-database <name>', key: 'sink.database', env: 'RAGSYNC_MILVUS_DATABASE', type: 'string', commands: STORE,
    help: 'Milvus database' },
  { flag: '--milvus-ssl', key: 'sink.ssl', env: 'RAGSYNC_MILVUS_SSL', type: 'bool', commands: STORE, help: 'connect to Milvus with TLS' },
  { flag: '--milvus-ca <file>', key: 'sink.caPath', env: 'RAGSYNC_MILVUS_CA', type: 'string', commands: STORE,
    help: 'CA certificate for TLS (implies --milvus-ssl)' },
  { flag: '--milvus-collection <prefix>', key: 'sink.collection', env: 'RAGSYNC_MILVUS_COLLECTION', type: 'string', commands: STORE,
    help: 'collection and alias name prefix' },
  { flag: '--milvus-partition-key', key: 'sink.partitionKey', env: 'RAGSYNC_MILVUS_PARTITION_KEY', type: 'bool', commands: STORE,
    help: 'partition key on source, when creating the collection' },
  { flag: '--embedder <name>', key: 'embedder.kind', env: 'RAGSYNC_EMBEDDER', type: 'string', commands: EMBED_AND_STATUS,
    hiddenOn: ['status'], parse: parseEmbedder, help: EMBEDDER_HELP },
  { key: 'embedder.model', env: 'RAGSYNC_MODEL', type: 'string', help: "the model: a hub id for jina-clip, else the API's name" },
  { flag: '--embedder-url <url>', key: 'embedder.url', env: 'RAGSYNC_EMBEDDER_URL', type: 'string', commands: EMBED_AND_STATUS,
    hiddenOn: ['status'], help: 'endpoint of an API embedder (e.g. http://127.0.0.1:11434/v1/embeddings for Ollama)' },
  { flag: '--dimensions <n>', key: 'embedder.dimensions', env: 'RAGSYNC_EMBEDDER_DIMENSIONS', type: 'int', commands: EMBED_AND_STATUS,
    hiddenOn: ['status'], help: 'API embedders: output dimension (jina-clip-v2: 64 to 1024, Matryoshka)' },
  { key: 'embedder.apiKey', env: 'RAGSYNC_EMBEDDER_API_KEY', type: 'string', help: 'API key of an API embedder' },
  { key: 'embedder.apiKeyEnv', env: 'RAGSYNC_EMBEDDER_API_KEY_ENV', type: 'string',
    help: 'the variable an API embedder reads its key from' },
  { flag: '--model-dir <dir>', key: 'embedder.modelDir', env: 'RAGSYNC_MODEL_DIR', type: 'string', commands: EMBED,
    help: 'load the model from this local directory instead of the hub' },
  { flag: '--dtype <dtype>', key: 'embedder.dtype', env: 'RAGSYNC_DTYPE', type: 'choice', choices: DTYPES, commands: EMBED,
    help: 'model weights variant' },
  { key: 'embedder.cacheDir', env: 'RAGSYNC_MODEL_CACHE', type: 'string', help: 'where downloaded models are kept' },
  { flag: '--offline', key: 'embedder.offline', env: 'RAGSYNC_OFFLINE', type: 'bool', commands: EMBED, help: 'never download a model' },
  { key: 'embedder.batchSize', env: 'RAGSYNC_BATCH_SIZE', type: 'int', help: 'inputs per embedding call' },
  { flag: '--include <pattern>', key: 'include', env: 'RAGSYNC_INCLUDE', type: 'list', commands: FILTER,
    help: 'only files this .gitignore-style pattern matches: *.md at any depth, /top.md at the root, docs/ a folder (repeatable; the variable: comma-separated)' },
  { flag: '--exclude <pattern>', key: 'exclude', env: 'RAGSYNC_EXCLUDE', type: 'list', commands: FILTER,
    help: 'skip files and folders this .gitignore-style pattern matches; wins over --include and ignore files (repeatable; the variable: comma-separated)' },
  { flag: '--no-gitignore', key: 'gitignore', env: 'RAGSYNC_GITIGNORE', type: 'bool', commands: FILTER,
    help: 'do not read .gitignore files (.ragsyncignore files are always read)' },
  { flag: '--max-file-bytes <n>', key: 'maxFileBytes', env: 'RAGSYNC_MAX_FILE_BYTES', type: 'int', commands: PASS,
    shownDefault: '52428800, 50 MB', help: 'skip (and report) files larger than this many bytes' },
  { flag: '--chunk-tokens <n>', key: 'chunkTokens', env: 'RAGSYNC_CHUNK_TOKENS', type: 'int', commands: PASS,
    help: 'maximum tokens per chunk (capped by the model)' },
  { flag: '--parse-timeout-ms <ms>', key: 'parseTimeoutMs', env: 'RAGSYNC_PARSE_TIMEOUT_MS', type: 'int', commands: [...PASS, ...DAEMONS],
    help: "a file's parsing and chunking is stopped after this long (the file fails, the pass goes on)" },
  { flag: '--parse-memory-mb <mb>', key: 'parseMemoryMb', env: 'RAGSYNC_PARSE_MEMORY_MB', type: 'int', commands: [...PASS, ...DAEMONS],
    help: 'memory of one parse process (heap limit and resident set); over it the file fails' },
  { flag: '--parse-workers <n>', key: 'parseWorkers', env: 'RAGSYNC_PARSE_WORKERS', type: 'int', commands: [...PASS, ...DAEMONS],
    shownDefault: 'cores - 1, at least 1', help: 'parse child processes' },
  { flag: '--max-image-pixels <n>', key: 'maxImagePixels', env: 'RAGSYNC_MAX_IMAGE_PIXELS', type: 'int', commands: [...PASS, ...DAEMONS],
    help: 'larger images are refused before they are decoded' },
  { key: 'pdfImageMinSide', env: 'RAGSYNC_PDF_IMAGE_MIN_SIDE', type: 'int',
    help: 'PDF images with a side of at most this many pixels are not indexed' },
  { key: 'pdfMaxImages', env: 'RAGSYNC_PDF_MAX_IMAGES', type: 'int', help: 'image chunks of one PDF at most (0: none)' },
  { flag: '--concurrency <n>', key: 'concurrency', env: 'RAGSYNC_CONCURRENCY', type: 'int', commands: [...PASS, ...DAEMONS],
    help: 'documents in flight at once',
    on: daemons({ key: 'worker.concurrency', help: 'the same as --worker-concurrency: jobs at once' }) },
  { flag: '--no-progress', type: 'bool', commands: ['index', 'reembed'],
    help: 'no progress bar (there is none without a terminal or with --json)' },
  { flag: '--redis <url>', key: 'redis.url', env: 'RAGSYNC_REDIS_URL', type: 'string', commands: QUEUE,
    help: 'Redis URL of the job queue (redis://[user:pass@]host:port[/db], rediss:// for TLS)',
    on: {
      index: { help: 'run through the Redis job queue at this URL (its own worker and any others)' },
      audit: { help: 'with --repair: repair through the Redis job queue at this URL' },
      reembed: { help: "backfill through the Redis job queue at this URL, shared with the daemons' workers" },
      watch: { help: 'share the work through the Redis job queue at this URL (without it: a local queue in this process)' },
      jobs: { help: 'the Redis job queue at this URL (without it: the local queue of the source\'s watch)' },
      serve: { help: "the Redis job queue whose jobs /api/jobs and the page show (without it: the local queues of the sources' watches)" },
    } },
  { flag: '--redis-prefix <prefix>', key: 'redis.prefix', env: 'RAGSYNC_REDIS_PREFIX', type: 'string', commands: QUEUE,
    help: 'key prefix of this project in Redis' },
  { flag: '--no-worker', type: 'bool', commands: [...PASS, 'watch'], help: 'with --redis: only enqueue and wait, other workers do the work',
    on: { watch: { help: 'only enqueue; workers elsewhere do the work' } } },
  { flag: '--worker-concurrency <n>', key: 'worker.concurrency', env: 'RAGSYNC_WORKER_CONCURRENCY', type: 'int', commands: DAEMONS,
    help: 'jobs this process works on at once' },
  { flag: '--lock-ms <ms>', key: 'worker.lockMs', env: 'RAGSYNC_LOCK_MS', type: 'int', commands: DAEMONS,
    help: "job lock; a dead worker's jobs are taken over after about this long" },
  { flag: '--drain-seconds <s>', key: 'worker.drainSeconds', env: 'RAGSYNC_DRAIN_SECONDS', type: 'int', commands: DAEMONS,
    help: 'on SIGTERM/SIGINT, how long active jobs may take to finish' },
  { key: 'worker.attempts', env: 'RAGSYNC_ATTEMPTS', type: 'int', help: 'tries of a job before it counts as failed' },
  { flag: '--metrics-port <port>', key: 'metrics.port', env: 'RAGSYNC_METRICS_PORT', type: 'int', commands: DAEMONS,
    help: 'serve /metrics and /healthz on this port (0: any free port)' },
  { flag: '--metrics-host <host>', key: 'metrics.host', env: 'RAGSYNC_METRICS_HOST', type: 'string', commands: DAEMONS,
    help: 'address for the metrics server' },
  { flag: '--serve', type: 'bool', commands: ['watch'], help: 'serve the search API, the status page and /metrics from this process (see --host, --port)' },
  { flag: '--host <host>', key: 'serve.host', env: 'RAGSYNC_HOST', type: 'string', commands: SERVE,
    help: 'address the HTTP server binds to; any other than loopback needs --token' },
  { flag: '--port <port>', key: 'serve.port', env: 'RAGSYNC_PORT', type: 'int', commands: SERVE, help: 'port of the HTTP server (0: any free port)' },
  { flag: '--token <token>', key: 'serve.token', env: 'RAGSYNC_TOKEN', type: 'string', commands: SERVE,
    help: 'the token every request must carry (Authorization: Bearer, or open /?token=… once); required off loopback (prefer the variable)' },
  { key: 'serve.maxUploadBytes', env: 'RAGSYNC_MAX_UPLOAD_BYTES', type: 'int', help: 'largest image a search request may upload' },
  { key: 'serve.freshTimeoutMs', env: 'RAGSYNC_FRESH_TIMEOUT_MS', type: 'int', help: 'how long a fresh= search waits at most, unless the request says less' },
  { flag: '--reconcile-seconds <s>', key: 'watch.reconcileSeconds', env: 'RAGSYNC_RECONCILE_SECONDS', type: 'int', commands: ['watch'],
    help: 'full scan against the store every so often, for missed events (0: only at start)' },
  { flag: '--settle-ms <ms>', key: 'watch.settleMs', env: 'RAGSYNC_SETTLE_MS', type: 'int', commands: ['watch'],
    help: 'a file counts as written once its size is stable this long' },
  { flag: '--poll [ms]', key: 'watch.pollMs', env: 'RAGSYNC_POLL_MS', type: 'int', commands: ['watch'], preset: String(DEFAULT_POLL_MS),
    shownDefault: `every ${DEFAULT_POLL_MS} ms on nfs, smb, 9p, fuse and other shared filesystems, else by events`,
    help: 'watch by polling every so many ms, where file events get lost (0: never)' },
  { flag: '--allow-delete', key: 'allowDelete', env: 'RAGSYNC_ALLOW_DELETE', type: 'bool', commands: [...PASS, 'watch'],
    help: 'delete what the scan no longer finds even when that is most of the source (deleteGuard holds it otherwise)' },
  { key: 'vectorCache.days', env: 'RAGSYNC_VECTOR_CACHE_DAYS', type: 'int',
    help: 'keep vectors of deleted or rewritten chunks this long, so a restore, revert or move embeds nothing (0: keep none)' },
  { key: 'vectorCache.mb', env: 'RAGSYNC_VECTOR_CACHE_MB', type: 'int', help: 'at most this much of such vectors (the oldest go first)' },
  { flag: '--rehash', key: 'rehash', env: 'RAGSYNC_REHASH', type: 'bool', commands: ['index', 'audit'],
    help: 'hash every file, also those whose size, mtime and ctime are as recorded (a file edited with its times restored)',
    on: { audit: { help: 'with --repair: the repair pass hashes every file (it always does for documents audit found stale)' } } },
  { flag: '--dry-run', type: 'bool', commands: ['index', 'audit'],
    help: 'print the plan (documents, chunks, embeddings, tokens) and write nothing',
    on: { audit: { help: 'with --repair: print the repair plan and write nothing' } } },
  { flag: '--repair', type: 'bool', commands: ['audit'], help: 'fix the drift through the normal sync path, then audit again' },
  { flag: '--rollback', type: 'bool', commands: ['reembed'], help: 'return to the previous collection (catching it up first)' },
  { flag: '--abort', type: 'bool', commands: ['reembed'], help: 'cancel a pending re-embed and drop its collection' },
  { flag: '--drop-old', type: 'bool', commands: ['reembed'], help: 'drop the collections kept for rollback' },
  { flag: '--yes', type: 'bool', commands: ['remove-source', 'reembed'], help: 'remove (remove-source) or drop (reembed --drop-old) without asking (required without a terminal)' },
  { flag: '--retry', type: 'bool', commands: ['jobs'], help: 'retry every failed job' },
  { flag: '--mode <mode>', type: 'choice', choices: SEARCH_MODES, default: SEARCH_MODES[0], commands: ['search'],
    help: 'how hits are found (a search by --image alone is dense unless a mode is given)' },
  { flag: '-k, --top-k <n>', type: 'int', default: 5, commands: ['search'], help: 'number of results' },
  { flag: '--per-doc <n>', type: 'int', default: 2, commands: ['search'], help: 'at most this many hits of one document (0: no limit)' },
  { flag: '--scores', type: 'bool', commands: ['search'], help: 'show each hit\'s score' },
  { flag: '--image <file>', type: 'string', commands: ['search'], help: 'search by an image' },
  { flag: '--filter <key=value>', type: 'list', commands: ['search'],
    help: 'only hits whose source, modality, doc (doc ID) or path equals the value (repeatable)' },
  { flag: '--fresh <file>', type: 'string', commands: ['search'],
    help: 'first wait until this file\'s current version is indexed (read-your-writes; see docs/read-your-writes.md)' },
  { flag: '--fresh-timeout-ms <ms>', type: 'int', default: 10000, commands: ['search'], help: 'how long --fresh waits at most (0 to 600000)' },
  { flag: '--log-level <level>', key: 'logLevel', env: 'RAGSYNC_LOG_LEVEL', type: 'choice', choices: LOG_LEVELS, commands: ALL,
    on: daemons({ shownDefault: DAEMON_LOG_LEVEL }), help: 'how much to log on stderr' },
  { flag: '--log-format <format>', key: 'logFormat', env: 'RAGSYNC_LOG_FORMAT', type: 'choice', choices: ['auto', 'pretty', 'json'], commands: ALL,
    help: 'log lines: readable on a terminal, JSON lines when piped (auto), or always pretty / json' },
  { flag: '--json', type: 'bool', commands: ['index', 'audit', 'reembed', 'jobs', 'search', 'status', 'remove-source'],
    help: 'print machine-readable JSON' },
];
