/**
 * `ragsync mcp`: a Model Context Protocol server on stdio (the official SDK), with the tools
 * `search` and `status` over one long-lived service: the store opened once, its model loaded once.
 * stdout carries the protocol only: logs go to stderr, and so does anything written with
 * `console.log` while the server runs.
 */
import { readFileSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { type Service, openService } from '../app/index.js';
import type { Config } from '../config/index.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { registerTools } from './tools.js';

export interface McpOptions {
  log: Logger;
  /** The protocol's input (default: the process's stdin). The server ends when it ends. */
  stdin?: Readable;
  /** The protocol's output (default: the process's stdout). */
  stdout?: Writable;
  /** Ends the server (SIGINT/SIGTERM). */
  signal?: AbortSignal;
}

const INSTRUCTIONS =
  'ragsync keeps a vector index in sync with folders of Markdown, text, PDFs and images. Use `search` to find the passages ' +
  'relevant to a question (each hit names its file, heading and lines or page), and `status` to see what is indexed.';

function packageVersion(): string {
  const file = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

/** The service, opened once on first use; a failed opening is tried again by the next call. */
function lazyService(config: Config, log: Logger) {
  let opening: Promise<Service> | undefined;
  const get = (): Promise<Service> => {
    opening ??= openService(config, { log, version: packageVersion() }).catch((err: unknown) => {
      opening = undefined;
      throw err;
    });
    return opening;
  };
  return {
    get,
    /** Starts opening it now, so that the first call finds the model loaded. */
    warm: () => void get().catch((err: unknown) => log.warn({ stage: 'mcp', err: errorMessage(err) }, 'store not opened yet')),
    close: async () => {
      const service = await opening?.catch(() => undefined);
      await service?.close();
    },
  };
}

/** While the server writes the protocol to the process's stdout, `console.log` and its kin write to stderr. */
function consoleToStderr(): () => void {
  const saved = { log: console.log, info: console.info, debug: console.debug };
  console.log = console.info = console.debug = console.error;
  return () => Object.assign(console, saved);
}

function ended(stdin: Readable, signal: AbortSignal | undefined): Promise<string> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve('signal');
    stdin.once('end', () => resolve('stdin closed'));
    stdin.once('close', () => resolve('stdin closed'));
    signal?.addEventListener('abort', () => resolve('signal'), { once: true });
  });
}

/** Serves MCP on `stdin`/`stdout` until the input ends or `signal` fires, then closes the store. */
export async function runMcp(config: Config, opts: McpOptions): Promise<void> {
  const { log } = opts;
  const stdin = opts.stdin ?? process.stdin;
  const stdout = opts.stdout ?? process.stdout;
  const restoreConsole = stdout === process.stdout ? consoleToStderr() : () => undefined;
  const service = lazyService(config, log);
  const server = new McpServer({ name: 'ragsync', version: packageVersion() }, { instructions: INSTRUCTIONS });
  server.server.onerror = (err) => log.warn({ stage: 'mcp', err: err.message }, 'protocol error');
  registerTools(server, service.get, log);
  const done = ended(stdin, opts.signal);
  try {
    await server.connect(new StdioServerTransport(stdin, stdout));
    log.info({ stage: 'mcp' }, 'MCP server on stdio');
    service.warm();
    const why = await done;
    log.info({ stage: 'mcp', why }, 'MCP server stopping');
  } finally {
    await server.close();
    await service.close();
    restoreConsole();
  }
}
