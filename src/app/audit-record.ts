/**
 * The last audit of each source, kept as a small state file on this machine (`queues.ts`
 * `stateFile`): what `ragsync audit` found, for `/api/status` and the status page. The store is
 * not written (an audit writes nothing to it); a store that does not exist yet gets no file.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/index.js';
import { stateFile } from './queues.js';

/** What the last audit of a source found, in counts. */
export interface AuditSummary {
  source: string;
  /** ISO time the audit ended. */
  at: string;
  documents: number;
  rows: number;
  /** Documents that drift (missing, orphaned, stale, another model, bad rows), in all and by kind. */
  drift: number;
  kinds: Record<string, number>;
  /** Documents the audit could not read. */
  unchecked: number;
  durationMs: number;
}

/** What an audit found, as `audit.ts` reports it. */
interface AuditedSource {
  source: string;
  documents: number;
  rows: number;
  drift: Array<{ kind: string }>;
  unchecked: unknown[];
  durationMs: number;
}

/** Records an audit's result (best effort: a state file that cannot be written costs the page its last audit, nothing more). */
export async function recordAudit(config: Config, report: AuditedSource): Promise<void> {
  if (config.sink.kind === 'lancedb' && !existsSync(config.sink.path)) return;
  const kinds: Record<string, number> = {};
  for (const d of report.drift) kinds[d.kind] = (kinds[d.kind] ?? 0) + 1;
  const summary: AuditSummary = {
    source: report.source,
    at: new Date().toISOString(),
    documents: report.documents,
    rows: report.rows,
    drift: report.drift.length,
    kinds,
    unchecked: report.unchecked.length,
    durationMs: report.durationMs,
  };
  const file = stateFile(config, 'audit', report.source);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(`${file}.tmp`, JSON.stringify(summary));
  await rename(`${file}.tmp`, file);
}

/** The last audit of every source that has one, by source name. */
export async function lastAudits(config: Config): Promise<AuditSummary[]> {
  const dir = path.dirname(stateFile(config, 'audit', 'x'));
  const names = await readdir(dir).catch(() => [] as string[]);
  const read = async (name: string) => {
    try {
      return JSON.parse(await readFile(path.join(dir, name), 'utf8')) as AuditSummary;
    } catch {
      return [];
    }
  };
  const all = await Promise.all(names.filter((n) => n.endsWith('.json')).map(read));
  return all.flat().sort((a, b) => a.source.localeCompare(b.source));
}
