/**
 * SIGINT and SIGTERM. A one-shot command stops cleanly on the first and at once on the second; a
 * daemon stops gracefully (its active jobs get the drain time). Exit codes are 128 + the signal's
 * number: 130 for SIGINT, 143 for SIGTERM.
 */
import os from 'node:os';
import type { Daemon } from '../app/index.js';

/** The state of a one-shot command's interrupt handling. */
export interface Interrupt {
  /** Fires on the first signal: the command stops starting work and finishes what it began. */
  signal: AbortSignal;
  /** The signal received (`SIGINT`, `SIGTERM`), empty until one is. */
  received: string;
  /** The exit code for the signal received. */
  exitCode: number;
  /** Removes the handlers; call it once the command is done. */
  dispose(): void;
}

function exitCodeOf(sig: NodeJS.Signals): number {
  return 128 + (os.constants.signals[sig] ?? 2);
}

/** A signal received before a command took over its handling (during start-up), if any. */
let early: NodeJS.Signals | undefined;
const earlyHandler = (sig: NodeJS.Signals) => {
  if (early) process.exit(exitCodeOf(sig));
  early = sig;
};

/**
 * Catches SIGINT/SIGTERM from the start (bin/ragsync.js calls it before loading the CLI): a
 * command that takes over (`onInterrupt`, `untilSignal`) acts on a signal received before, and
 * the process's exit code is the signal's (`earlyExitCode`) for a command that never does.
 */
export function catchEarlySignals(): void {
  process.on('SIGINT', earlyHandler);
  process.on('SIGTERM', earlyHandler);
}

/** The exit code of a signal received during start-up and not taken over, else undefined. */
export function earlyExitCode(): number | undefined {
  return early ? exitCodeOf(early) : undefined;
}

/** Ends the start-up handling; returns the signal it received, if any. */
function takeEarly(): NodeJS.Signals | undefined {
  process.off('SIGINT', earlyHandler);
  process.off('SIGTERM', earlyHandler);
  const sig = early;
  early = undefined;
  return sig;
}

/**
 * Handles SIGINT/SIGTERM during a one-shot command: the first asks it to stop cleanly (`signal`
 * fires; `what` says what that means), a second runs `beforeExit` and ends the process at once.
 */
export function onInterrupt(what: string, beforeExit: () => void = () => undefined, beforeMessage: () => void = beforeExit): Interrupt {
  const controller = new AbortController();
  const handler = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      beforeExit();
      process.stderr.write(`ragsync: ${sig} again: stopping now (a document cut short is synced again next run)\n`);
      process.exit(exitCodeOf(sig));
    }
    state.received = sig;
    state.exitCode = exitCodeOf(sig);
    // The bar is cleared first: the message stands on its own line.
    beforeMessage();
    process.stderr.write(`ragsync: ${sig}: stopping (${what}); send it again to stop at once\n`);
    controller.abort();
  };
  const state: Interrupt = {
    signal: controller.signal,
    received: '',
    exitCode: 130,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  const before = takeEarly();
  if (before) handler(before);
  return state;
}

/**
 * Starts a daemon, prints its one-line description, and runs it until SIGINT or SIGTERM, then
 * stops it gracefully. Returns the exit code of the signal (130, 143). A signal during start-up
 * stops the daemon as soon as it has started.
 */
export async function untilSignal<D extends Pick<Daemon, 'stop'>>(
  start: () => Promise<D>,
  describe: (d: D) => string,
  stopping = 'active jobs get the drain time to finish',
): Promise<number> {
  let received: NodeJS.Signals | undefined;
  let wake: () => void = () => undefined;
  const handler = (sig: NodeJS.Signals) => {
    if (received) {
      process.stderr.write(`ragsync: ${sig} again: stopping now\n`);
      process.exit(exitCodeOf(sig));
    }
    received = sig;
    process.stderr.write(`ragsync: ${sig}: stopping (${stopping})\n`);
    wake();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  const before = takeEarly();
  if (before) handler(before);
  try {
    const daemon = await start();
    if (!received) process.stdout.write(`${describe(daemon)}\n`);
    await new Promise<void>((resolve) => {
      wake = resolve;
      if (received) resolve();
    });
    await daemon.stop();
    return exitCodeOf(received!);
  } finally {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  }
}
