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

/**
 * Handles SIGINT/SIGTERM during a one-shot command: the first asks it to stop cleanly (`signal`
 * fires; `what` says what that means), a second runs `beforeExit` and ends the process at once.
 */
export function onInterrupt(what: string, beforeExit: () => void = () => undefined): Interrupt {
  const controller = new AbortController();
  const handler = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      beforeExit();
      process.stderr.write(`ragsync: ${sig} again: stopping now (a document cut short is synced again next run)\n`);
      process.exit(exitCodeOf(sig));
    }
    state.received = sig;
    state.exitCode = exitCodeOf(sig);
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
  return state;
}

/** Starts a daemon, prints its one-line description, and runs it until SIGINT or SIGTERM, then stops it gracefully. */
export async function untilSignal(start: () => Promise<Daemon>, describe: (d: Daemon) => string): Promise<void> {
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
}
