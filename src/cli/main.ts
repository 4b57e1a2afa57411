/**
 * The `ragsync` command line: builds the commands from the option table, resolves each one's
 * config (config file < RAGSYNC_* env < flags), calls the app layer, prints. Exit codes
 * (docs/exit-codes.md): 0 success; 1 some documents failed (the rest were indexed), failed jobs
 * listed, drift, held deletions; 2 usage or configuration error (one line and where the help is),
 * or a store of another model; 3 could not run (model, store or service unavailable); 130/143
 * stopped by SIGINT/SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { COMMANDS, type CommandName } from '../config/index.js';
import { RagsyncError, errorMessage } from '../core/errors.js';
import {
  EXIT,
  type Flags,
  auditCommand,
  indexCommand,
  jobsCommand,
  reembedCommand,
  removeSourceCommand,
  statusCommand,
  watchCommand,
  workerCommand,
} from './commands.js';
import { searchCommand } from './search-command.js';
import { addOptions, environmentHelp } from './options.js';

interface CommandSpec {
  usage: string;
  description: string;
  /** Shown under `Examples:` in the command's help. */
  examples: string[];
  run: (arg: string | undefined, flags: Flags, cmd: Command) => Promise<number>;
}

const SPECS: Record<CommandName, CommandSpec> = {
  index: {
    usage: 'index <dir>',
    examples: ['ragsync index ./docs', 'ragsync index ./docs --dry-run', 'ragsync index ./docs --store /data/ragsync --include "*.md"'],
    description: 'index a directory once: add, update and delete what changed',
    run: (dir, f) => indexCommand(dir!, f),
  },
  audit: {
    usage: 'audit <dir>',
    examples: ['ragsync audit ./docs', 'ragsync audit ./docs --repair', 'ragsync audit ./docs --json'],
    description: 'compare a directory with its index: missing, orphaned, stale documents, wrong model, bad rows (exit 0: no drift)',
    run: (dir, f) => auditCommand(dir!, f),
  },
  watch: {
    usage: 'watch <dir>',
    examples: ['ragsync watch ./docs', 'ragsync watch ./docs --redis redis://127.0.0.1:6379', 'ragsync watch ./docs --log-level info'],
    description: 'keep the index in sync with a directory: watch, reconcile, work (no server needed; --redis to share the work)',
    run: (dir, f) => watchCommand(dir!, f),
  },
  worker: {
    usage: 'worker <dir>',
    examples: ['ragsync worker ./docs --redis redis://127.0.0.1:6379', 'ragsync worker ./docs --redis redis://queue:6379 --concurrency 8'],
    description: "process sync jobs of the directory's source from the Redis queue",
    run: (dir, f) => workerCommand(dir!, f),
  },
  jobs: {
    usage: 'jobs [dir]',
    examples: ['ragsync jobs ./docs', 'ragsync jobs ./docs --retry', 'ragsync jobs --source docs --redis redis://127.0.0.1:6379 --json'],
    description: "queue state of a source's watch (or Redis queue): counts, failed jobs, --retry",
    run: jobsCommand,
  },
  reembed: {
    usage: 'reembed [dir]',
    examples: ['ragsync reembed ./docs --embedder jina-api', 'ragsync reembed --abort', 'ragsync reembed --drop-old'],
    description: 'move the store to another embedder with no downtime: backfill a new collection, verify, swap',
    run: reembedCommand,
  },
  search: {
    usage: 'search [query]',
    description: 'search the index',
    examples: [
      'ragsync search "create a partition"',
      'ragsync search "partitions" --top-k 10 --mode keyword',
      'ragsync search --image diagram.png --json',
    ],
    run: searchCommand,
  },
  status: {
    usage: 'status',
    description: 'show what the store holds, and its sources',
    examples: ['ragsync status', 'ragsync status --store /data/ragsync --json'],
    run: (_arg, f) => statusCommand(f),
  },
  'remove-source': {
    usage: 'remove-source <name>',
    examples: ['ragsync remove-source docs', 'ragsync remove-source docs --yes --store /data/ragsync'],
    description: "delete one source's documents from the store (every collection) and forget its root",
    run: (name, f) => removeSourceCommand(name!, f),
  },
};

function packageVersion(): string {
  const file = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

function buildProgram(run: (p: Promise<number>) => void): Command {
  const program = new Command('ragsync')
    .description('Keep a vector index in sync with a folder of Markdown, text, PDFs and images.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({ outputError: usageLine('') })
    .addHelpText('after', environmentHelp());
  for (const name of COMMANDS) {
    const spec = SPECS[name];
    const cmd = program
      .command(spec.usage)
      .description(spec.description)
      .configureOutput({ outputError: usageLine(name) });
    cmd.addHelpText('after', `\nExamples:\n${spec.examples.map((e) => `  $ ${e}`).join('\n')}\n`);
    addOptions(cmd, name).action((...args: unknown[]) => {
      const cmd = args[args.length - 1] as Command;
      run(spec.run(cmd.processedArgs[0] as string | undefined, cmd.opts(), cmd));
    });
  }
  return program;
}

/**
 * Commander's usage error (`error: unknown option '--modeldir'\n(Did you mean --model-dir?)`) as
 * one line naming the command, and where its help is.
 */
function usageLine(name: string): (str: string, write: (s: string) => void) => void {
  return (str, write) => {
    const message = str
      .replace(/^error:\s*/, '')
      .replace(/\s+/g, ' ')
      .trim();
    const cmd = name ? `ragsync ${name}` : 'ragsync';
    write(`${cmd}: ${message}\nsee '${cmd} --help'\n`);
  };
}

/** Exit code and one readable line for an error. */
function describeError(err: unknown, command: string | undefined): { code: number; line: string } {
  if (err instanceof RagsyncError) {
    // BUSY (another re-embed holds the store) is "could not run": try again later.
    const code = err.code === 'CONFIG' || err.code === 'USAGE' || err.code === 'FINGERPRINT_MISMATCH' ? EXIT.usage : EXIT.unavailable;
    return { code, line: err.message.startsWith('ragsync') ? err.message : `ragsync: ${err.message}` };
  }
  return { code: EXIT.unavailable, line: `ragsync: ${command ? `${command}: ` : ''}${errorMessage(err)}` };
}

/** Whether to print an unexpected error's stack: `--log-level debug` or RAGSYNC_DEBUG. */
function wantsStack(argv: string[]): boolean {
  const i = argv.indexOf('--log-level');
  const debug = (i >= 0 && argv[i + 1] === 'debug') || argv.includes('--log-level=debug');
  return debug || Boolean(process.env.RAGSYNC_DEBUG) || process.env.RAGSYNC_LOG_LEVEL === 'debug';
}

/**
 * Runs `ragsync` with `argv` (as `process.argv`: node, script, then arguments) and returns the
 * exit code; an error is printed as one line on stderr, never thrown.
 */
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
    const command = argv.slice(2).find((a) => (COMMANDS as readonly string[]).includes(a));
    const { code, line } = describeError(err, command);
    process.stderr.write(`${line}\n`);
    if (!(err instanceof RagsyncError) && err instanceof Error && err.stack && wantsStack(argv)) process.stderr.write(`${err.stack}\n`);
    return code;
  }
}
