/** Stopping on a signal: a pseudo-terminal Ctrl-C of `index`, and the exit codes of a stopped daemon and of `reembed --drop-old`. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN } from '../children.js';
import { tempDir } from '../helpers.js';

async function corpus(dir: string, n: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < n; i++) await writeFile(path.join(dir, `n${i}.md`), `# Note ${i}\n\nkingfisher ${i} fishes by the river all day.\n`);
}

describe('stopping (CLI, LanceDB)', () => {
  it('Ctrl-C on a terminal: scanning… first, a clean stop line and summary, exit 130', async (ctx) => {
    if (spawnSync('script', ['--version']).status !== 0) return ctx.skip('util-linux `script` is not installed');
    const work = await tempDir();
    const dir = path.join(work, 'docs');
    await corpus(dir, 300);
    const command = [process.execPath, BIN, 'index', dir, '--store', path.join(work, 'store'), '--embedder', 'fixed:0']
      .map((a) => `'${a}'`)
      .join(' ');
    const child = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let sent = 0;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('scanning…') && !sent) {
        sent = Date.now();
        child.stdin.end('\x03');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    // Ended within 10 s of the Ctrl-C.
    expect(sent).toBeGreaterThan(0);
    expect(Date.now() - sent).toBeLessThan(10_000);
    expect(out).toContain('scanning…');
    expect(out).toMatch(/\r\x1b\[Kragsync: SIGINT: stopping/);
    const last = out.slice(out.indexOf('ragsync: SIGINT')).split('\n').slice(1);
    for (const line of last) expect(line).not.toMatch(/[█░]|docs \|/);
    expect(out).toContain('interrupted by SIGINT');
    expect(code).toBe(130);
  }, 60_000);

  it('watch: SIGINT exits 130', async () => {
    const work = await tempDir();
    const dir = path.join(work, 'docs');
    await corpus(dir, 2);
    const child = spawn(process.execPath, [BIN, 'watch', dir, '--store', path.join(work, 'store'), '--embedder', 'fixed:0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('watching')) child.kill('SIGINT');
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(130);
  }, 60_000);

  it('reembed --drop-old without a terminal and without --yes: exit 2', async () => {
    const work = await tempDir();
    const r = spawnSync(process.execPath, [BIN, 'reembed', '--drop-old', '--store', path.join(work, 'store')], { encoding: 'utf8' });
    expect(r.stderr).toContain('pass --yes');
    expect(r.status).toBe(2);
  }, 30_000);
});
