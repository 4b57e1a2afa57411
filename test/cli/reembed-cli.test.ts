/** `reembed` on the command line: the follow-ups repeat the store given, in the order things happen; `--json` on a SIGTERM during start-up. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN } from '../children.js';
import { TINY_MODEL, TINY_MODEL_B, tempDir } from '../helpers.js';

async function corpus(dir: string, n: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < n; i++) await writeFile(path.join(dir, `n${i}.md`), `# Note ${i}\n\nkingfisher ${i} fishes by the river.\n`);
}

function run(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('reembed (CLI, LanceDB)', () => {
  it('prints the backfill before verifying, and follow-ups with the --store given', async () => {
    const work = await tempDir();
    const dir = path.join(work, 'docs');
    const store = path.join(work, 'my store');
    await corpus(dir, 3);
    expect(run(['index', dir, '--store', store, '--model-dir', TINY_MODEL]).status).toBe(0);
    const r = run(['reembed', dir, '--store', store, '--model-dir', TINY_MODEL_B]);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    const backfill = lines.findIndex((l) => l.startsWith('backfill: 3 documents embedded'));
    const verifying = lines.findIndex((l) => l.startsWith('verifying the new collection'));
    expect(backfill).toBeGreaterThanOrEqual(0);
    expect(verifying).toBeGreaterThan(backfill);
    expect(r.stdout).toContain(`\`ragsync reembed ${dir} --store '${store}' --rollback\``);
    expect(r.stdout).toContain(`\`ragsync reembed --store '${store}' --drop-old\``);
    // Without a terminal --drop-old needs --yes: nothing is dropped.
    const refused = run(['reembed', '--store', store, '--drop-old']);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('pass --yes');
    expect(run(['status', '--store', store]).stdout).toContain('previous:');
    const dropped = run(['reembed', '--store', store, '--drop-old', '--yes']);
    expect(dropped.status).toBe(0);
    expect(dropped.stdout).toContain('dropped ');
  }, 60_000);

  it('index --json: a SIGTERM during start-up still prints the JSON object, interrupted; exit 143', async () => {
    const work = await tempDir();
    const dir = path.join(work, 'docs');
    await corpus(dir, 3);
    const child = spawn(process.execPath, [BIN, 'index', dir, '--store', path.join(work, 'store'), '--model-dir', TINY_MODEL, '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    // Once the CLI has started (bin/ragsync.js has loaded), before the model is loaded.
    setTimeout(() => child.kill('SIGTERM'), 500);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(143);
    const summary = JSON.parse(out) as { interrupted?: boolean };
    expect(summary.interrupted).toBe(true);
  }, 30_000);
});
