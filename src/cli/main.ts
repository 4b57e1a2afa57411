/**
 * The `ragsync` command line: builds the commands from the option table, resolves each one's
 * config (config file < RAGSYNC_* env < flags), calls the app layer, prints. Exit codes
 * (docs/exit-codes.md): 0 success; 1 some documents failed (the rest were indexed), failed jobs
 * listed, drift, held deletions; 2 usage or configuration error (one line and where the help is),
 * or a store of another model; 3 could not run (model, store or service unavailable); 130/143
 * stopped by SIGINT/SIGTERM.
 *
 * Help, the version and usage errors need only commander, the option table and the defaults: the
 * commands (and through them the config schema, the app and its packages) are imported when one
 * runs (test/cli/startup.test.ts).
 */
import { packageVersion } from '../core/version.js';
import { Command, Help } from 'commander';
import { COMMANDS, type CommandName } from '../config/options.js';
import { RagsyncError, errorMessage } from '../core/errors.js';
import type { Flags } from './commands.js';
import { EXIT } from './exit.js';
import { addOptions, environmentHelp } from './options.js';

interface CommandSpec {
  usage: string;
  description: string;
  /** Shown under `Examples:` in the command's help. */
  examples: string[];
  run: (arg: string | undefined, flags: Flags, cmd: Command) => Promise<number>;
}

/** The command functions, imported when a command runs. */
const commands = () => import('./commands.js');

const SPECS: Record<CommandName, CommandSpec> = {
  index: {
    usage: 'index <dir>',
    examples: ['ragsync index ./docs', 'ragsync index ./docs --dry-run', 'ragsync index ./docs --store /data/ragsync --include "*.md"'],
    description: 'index a directory once: add, update and delete what changed',
    run: async (dir, f) => (await commands()).indexCommand(dir!, f),
  },
  audit: {
    usage: 'audit <dir>',
    examples: ['ragsync audit ./docs', 'ragsync audit ./docs --repair', 'ragsync audit ./docs --json'],
    description: 'compare a directory with its index: missing, orphaned, stale documents, wrong model, bad rows (exit 0: no drift)',
    run: async (dir, f) => (await commands()).auditCommand(dir!, f),
  },
  watch: {
    usage: 'watch <dir>',
    examples: ['ragsync watch ./docs', 'ragsync watch ./docs --redis redis://127.0.0.1:6379', 'ragsync watch ./docs --log-level info'],
    description: 'keep the index in sync with a directory: watch, reconcile, work (no server needed; --redis to share the work)',
    run: async (dir, f) =>
      (await commands()).watchCommand(dir!, f, f.serve ? (await import('./serve-command.js')).DAEMON_SERVER : undefined),
  },
  worker: {
    usage: 'worker <dir>',
    examples: ['ragsync worker ./docs --redis redis://127.0.0.1:6379', 'ragsync worker ./docs --redis redis://queue:6379 --concurrency 8'],
    description: "process sync jobs of the directory's source from the Redis queue",
    run: async (dir, f) => (await commands()).workerCommand(dir!, f),
  },
  jobs: {
    usage: 'jobs [dir]',
    examples: ['ragsync jobs ./docs', 'ragsync jobs ./docs --retry', 'ragsync jobs --source docs --redis redis://127.0.0.1:6379 --json'],
    description: "queue state of a source's watch (or Redis queue): counts, failed jobs, --retry",
    run: async (dir, f) => (await commands()).jobsCommand(dir, f),
  },
  reembed: {
    usage: 'reembed [dir]',
    examples: ['ragsync reembed ./docs --embedder jina-api', 'ragsync reembed --abort', 'ragsync reembed --drop-old'],
    description: 'move the store to another embedder with no downtime: backfill a new collection, verify, swap',
    run: async (dir, f, cmd) => (await commands()).reembedCommand(dir, f, cmd),
  },
  search: {
    usage: 'search [query]',
    description: 'search the index',
    examples: [
      'ragsync search "create a partition"',
      'ragsync search "partitions" --top-k 10 --mode keyword',
      'ragsync search --image diagram.png --json',
    ],
    run: async (query, f, cmd) => (await import('./search-command.js')).searchCommand(query, f, cmd),
  },
  status: {
    usage: 'status',
    description: 'show what the store holds, and its sources',
    examples: ['ragsync status', 'ragsync status --store /data/ragsync --json'],
    run: async (_arg, f) => (await commands()).statusCommand(f),
  },
  serve: {
    usage: 'serve',
    examples: ['ragsync serve', 'ragsync serve --port 8080 --store /data/ragsync', 'RAGSYNC_TOKEN=… ragsync serve --host 0.0.0.0'],
    description: 'serve the search API and a status page over the store, the model kept loaded (loopback unless --host)',
    run: async (_arg, f) => (await import('./serve-command.js')).serveCommand(f),
  },
  mcp: {
    usage: 'mcp',
    examples: ['ragsync mcp', 'ragsync mcp --store /data/ragsync'],
    description: 'run a Model Context Protocol server on stdio: tools search and status, for coding agents',
    run: async (_arg, f) => (await import('./mcp-command.js')).mcpCommand(f),
  },
  'remove-source': {
    usage: 'remove-source <name>',
    examples: ['ragsync remove-source docs', 'ragsync remove-source docs --yes --store /data/ragsync'],
    description: "delete one source's documents from the store (every collection) and forget its root",
    run: async (name, f) => (await commands()).removeSourceCommand(name!, f),
  },
};

/** A command as the command list shows it, `index [options] <dir>`, its options added or not. */
function subcommandTerm(cmd: Command): string {
  const spec = SPECS[cmd.name() as CommandName] as CommandSpec | undefined;
  if (!spec) return new Help().subcommandTerm(cmd);
  const [name, ...args] = spec.usage.split(' ');
  return [name, '[options]', ...args].join(' ');
}

/**
 * The program; only the commands `argv` names get their options (the only ones that can parse or
 * show help: building all of them is a fifth of `--help`'s time). Each takes options, `--config` at
 * least, which the command list says.
 */
function buildProgram(argv: string[], run: (p: Promise<number>) => void): Command {
  const program = new Command('ragsync')
    .description('Keep a vector index in sync with a folder of Markdown, text, PDFs and images.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({ outputError: usageLine('') })
    .configureHelp({ subcommandTerm })
    .addHelpText('after', () => environmentHelp());
  const named = new Set(argv.slice(2));
  for (const name of COMMANDS) {
    const spec = SPECS[name];
    const cmd = program
      .command(spec.usage)
      .description(spec.description)
      .configureOutput({ outputError: usageLine(name) });
    cmd.addHelpText('after', `\nExamples:\n${spec.examples.map((e) => `  $ ${e}`).join('\n')}\n`);
    if (named.has(name)) addOptions(cmd, name);
    cmd.action((...args: unknown[]) => {
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
  const program = buildProgram(argv, (p) => {
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
