/** The progress of a pass on a terminal: what is scanned, then a bar with an ETA. */
import { createRequire } from 'node:module';
import type cliProgress from 'cli-progress';

/** cli-progress is loaded with the first bar: a command without one (`--json`, no terminal) never loads it. */
const require = createRequire(import.meta.url);

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/**
 * Progress on stderr: `scanning… N files` (in place) until the scan ends, then a bar over the
 * known total with an ETA smoothed over the last documents. Nothing with `--json`,
 * `--no-progress` or no terminal. `label` names the phase.
 */
export class Progress {
  private bar: cliProgress.SingleBar | undefined;
  private shown = 0;
  private done = 0;

  constructor(
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  /** Documents done of those found so far, and the last one's path. */
  update(done: number, found: number, file = ''): void {
    this.done = done;
    if (this.bar) return this.bar.update(done, { file });
    const now = Date.now();
    if (now - this.shown < 100) return;
    this.shown = now;
    this.stream.write(`\r\x1b[K${this.label}: scanning… ${plural(found, 'file')} (${done} done)`);
  }

  /** The scan found `found` documents so far (none of them may be done yet). */
  found(found: number): void {
    if (!this.bar) this.update(this.done, found);
  }

  /** The scan ended with `total` documents: from here a bar over that total. */
  scanned(total: number): void {
    this.stream.write('\r\x1b[K');
    if (total === 0) return;
    const bars = require('cli-progress') as typeof cliProgress;
    this.bar = new bars.SingleBar(
      {
        format: `${this.label} [{bar}] {value}/{total} docs | {eta_formatted} left | {file}`,
        stream: this.stream,
        hideCursor: true,
        clearOnComplete: true,
        etaBuffer: Math.max(20, Math.min(200, Math.ceil(total / 5))),
      },
      bars.Presets.shades_classic,
    );
    this.bar.start(total, Math.min(this.done, total), { file: '' });
  }

  /** Clears the bar or the scanning line: what follows starts on a clean line. */
  stop(): void {
    if (this.bar) {
      this.bar.stop();
      this.bar = undefined;
    }
    this.stream.write('\r\x1b[K');
  }
}

/** A `Progress` for a command, or undefined with `--json`, `--no-progress` or no terminal. */
export function progress(flags: { json?: boolean; progress?: boolean }, label: string): Progress | undefined {
  if (flags.json || !process.stderr.isTTY || flags.progress === false) return undefined;
  return new Progress(label);
}
