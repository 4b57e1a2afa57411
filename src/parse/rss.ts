/**
 * The resident set of a process, for the parse pool's memory watchdog. Linux: `VmRSS` from
 * `/proc/<pid>/status` (one small read, no process started); elsewhere (macOS) `ps -o rss=`.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** Resident bytes of `pid`, or null when the process is gone or cannot be read. */
export async function residentBytes(pid: number): Promise<number | null> {
  try {
    if (process.platform === 'linux') {
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
      return kb === undefined ? null : Number(kb) * 1024;
    }
    const { stdout } = await exec('ps', ['-o', 'rss=', '-p', String(pid)]);
    const kb = Number(stdout.trim());
    return Number.isFinite(kb) && stdout.trim() !== '' ? kb * 1024 : null;
  } catch {
    return null;
  }
}
