/**
 * What each command prints: a human summary (results on stdout, errors on stderr, long lists cut
 * at `MAX_FAILURE_LINES`), or with `--json` one JSON document on stdout.
 */
import type { AuditResult, JobsReport, ReembedHooks, ReembedReport, SourceRemoval, StoreStatus } from '../app/index.js';
import type { PlanSummary } from '../core/dry-run.js';
import { fingerprintKey } from '../core/fingerprint.js';
import type { SyncSummary } from '../core/sync-source.js';
import type { Fingerprint } from '../core/types.js';

/** Failed documents listed one per line in the human summary; --json lists every one. */
const MAX_FAILURE_LINES = 20;

type Stream = NodeJS.WriteStream;
type Named = { name: string; fingerprint: Fingerprint };
type ReembedStart = Parameters<NonNullable<ReembedHooks['onStart']>>[0];

/** Writes one line to stdout. */
export function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Writes `value` as one line of JSON to stdout (the `--json` output of every command). */
export function printJson(value: unknown): void {
  say(JSON.stringify(value));
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** The first `MAX_FAILURE_LINES` items, one line each; with `more`, a last line counting the rest. */
function listFirst<T>(items: T[], line: (item: T) => string, stream: Stream, more?: string): void {
  for (const item of items.slice(0, MAX_FAILURE_LINES)) stream.write(`${line(item)}\n`);
  if (more !== undefined && items.length > MAX_FAILURE_LINES) {
    stream.write(`... and ${items.length - MAX_FAILURE_LINES} more${more} (--json lists them all)\n`);
  }
}

/** The two lines of a dry run's plan. */
function planLines(summary: PlanSummary): string {
  const { docs, chunks, embeddings, plan } = summary;
  const images = plan.images > 0 ? `, ${plural(plan.images, 'image')}` : '';
  return (
    `${docs.scanned} documents scanned: ${plan.added} to add, ${plan.updated} to update, ${docs.deleted} to delete, ` +
    `${docs.unchanged} unchanged, ${docs.failed} failed\n` +
    `chunks: ${chunks.upserted} to write, ${chunks.deleted} to delete, ${chunks.unchanged} unchanged; ` +
    `embeddings: ${embeddings.computed} to compute (${plural(plan.tokens, 'token')}${images}), ${embeddings.reused} to reuse; ` +
    `${seconds(summary.durationMs)}`
  );
}

/** The line that says a pass held its deletions (the mass-deletion guard), on stderr. */
function printHeld(summary: SyncSummary): void {
  if (summary.held) process.stderr.write(`held: ${summary.held.reason}\n`);
}

/** `index`: failed documents, the counts (or a dry run's plan), held deletions, and what an interrupt left for the next run. */
export function printIndex(summary: SyncSummary | PlanSummary, interrupt: { received: string; queued: boolean }): void {
  listFirst(summary.failures, (f) => `error: ${f.error}`, process.stderr, ' failed documents');
  const { docs, chunks, embeddings } = summary;
  if ('dryRun' in summary) say(`dry run, nothing written: ${planLines(summary)}`);
  else
    process.stdout.write(
      `${docs.scanned} documents scanned: ${docs.changed} changed, ${docs.unchanged} unchanged, ` +
        `${docs.deleted} deleted, ${docs.failed} failed\n` +
        `chunks: ${chunks.upserted} written, ${chunks.deleted} deleted, ${chunks.unchanged} unchanged; ` +
        `embeddings: ${embeddings.computed} computed, ${embeddings.reused} reused; ${seconds(summary.durationMs)}\n`,
    );
  printHeld(summary);
  if (docs.textless) say(`${docs.textless === 1 ? '1 PDF has' : `${docs.textless} PDFs have`} no text (scanned?)`);
  if (summary.interrupted) {
    const queued = interrupt.queued ? 'jobs already queued stay for the workers; ' : '';
    say(`interrupted by ${interrupt.received}: ${queued}the files not reached and the deletions not started wait for the next run`);
  }
}

/** `audit`: the repair pass (with `--repair`), each drift finding, and a summary by kind. */
export function printAudit(result: AuditResult): void {
  const { report, before, repair } = result;
  if (repair && 'dryRun' in repair) say(`repair plan (dry run, nothing written): ${planLines(repair)}`);
  else if (before && repair) {
    const { changed, deleted, failed } = repair.docs;
    const findings = plural(before.drift.length, 'drift finding');
    say(`before repair: ${findings}; repair pass: ${changed} changed, ${deleted} deleted, ${failed} failed`);
  }
  if (repair) printHeld(repair);
  listFirst(report.drift, (d) => `${d.kind}: ${d.path}: ${d.detail}`, process.stdout, '');
  for (const u of report.unchecked) process.stderr.write(`error: ${u.path}: ${u.error}\n`);
  const kinds = new Map<string, number>();
  for (const d of report.drift) kinds.set(d.kind, (kinds.get(d.kind) ?? 0) + 1);
  const detail = [...kinds].map(([k, n]) => `${n} ${k}`).join(', ');
  const drifted = plural(new Set(report.drift.map((d) => d.docId)).size, 'document');
  const unchecked = report.unchecked.length > 0 ? `; ${report.unchecked.length} could not be checked` : '';
  say(
    `${report.documents} documents, ${report.rows} rows: ${report.drift.length === 0 ? 'no drift' : `drift in ${drifted} (${detail})`}` +
      `${unchecked}; ${seconds(report.durationMs)}`,
  );
}

/** The line `reembed` starts with. */
export function reembedStartLine(s: ReembedStart, dir: string): string {
  const what = s.resumed ? 'resuming the re-embed' : 're-embedding';
  const move = `${fingerprintKey(s.from)} -> ${fingerprintKey(s.to)} (collection ${s.collection})`;
  return `${what} ${dir}: ${move}; search keeps answering from the live collection`;
}

/** What `reembed` says when it enters a phase, if anything. */
export const REEMBED_PHASE_LINES: Partial<Record<string, string>> = {
  verify: 'verifying the new collection against the sources...',
  repair: 'the sources changed during the backfill: one more pass...',
};

/** The line of one backfill pass, printed when it ends (before the verification). */
export function backfillLine(b: SyncSummary): string {
  return (
    `backfill: ${b.docs.changed} documents embedded, ${b.docs.unchanged} already done; ` +
    `embeddings: ${b.embeddings.computed} computed, ${b.embeddings.reused} reused; ${seconds(b.durationMs)}`
  );
}

/**
 * `reembed`: what blocks the swap, and the swap or why not (the backfill line came before, as it
 * ended). `again` is the options the user gave (`--store DIR`...), repeated in the follow-ups.
 */
export function printReembed(report: ReembedReport, dir: string, again: string): void {
  const { backfill: b, verify: v } = report;
  printHeld(b);
  listFirst(v.skipped, (s) => `skipped: ${s.reason}`, process.stderr);
  listFirst(v.problems, (p) => `not ready: ${p.path}: ${p.problem}`, process.stderr, '');
  if (!report.swapped) {
    process.stderr.write(
      `not swapped: ${v.problems.length} documents do not match the sources; search still answers from ${fingerprintKey(report.from)}. ` +
        'Fix them and run the same command again: it resumes.\n',
    );
    return;
  }
  say(`verified ${v.checked} documents (${v.chunks} chunks) against the sources`);
  say(`swapped: search now answers from ${fingerprintKey(report.to)}`);
  say(
    `kept ${fingerprintKey(report.from)} for \`ragsync reembed ${dir}${again} --rollback\`; ` +
      `drop it with \`ragsync reembed${again} --drop-old\``,
  );
  say(
    'update the embedder in your config (or flags) for the next `index`, `watch` or `worker` start; ' +
      'running daemons follow the store already',
  );
}

/** `reembed --abort`. */
export function printAborted(aborted: { fingerprint: Fingerprint } | null): void {
  say(
    aborted
      ? `cancelled the re-embed to ${fingerprintKey(aborted.fingerprint)}; the live collection is unchanged`
      : 'no re-embed was pending',
  );
}

/** `reembed --drop-old`. */
export function printDropped(dropped: Named[]): void {
  say(
    dropped.length > 0
      ? dropped.map((c) => `dropped ${c.name} (${fingerprintKey(c.fingerprint)})`).join('\n')
      : 'no old collection to drop',
  );
}

/** `status`: the store, its model and counts, a pending re-embed and the collection kept for rollback. */
export function printStatus(s: StoreStatus): void {
  say(`store:       ${s.store} (${s.sink})`);
  say(`model:       ${s.fingerprint ? fingerprintKey(s.fingerprint) : '(empty store)'}`);
  say(`documents:   ${s.docs}\nchunks:      ${s.chunks}`);
  if (s.vectorCache.entries > 0) {
    const mb = (s.vectorCache.bytes / 1048576).toFixed(1);
    say(`vector cache: ${plural(s.vectorCache.entries, 'vector')} of deleted or edited chunks (about ${mb} MB), reused on restore`);
  }
  if (s.pending) {
    const pct = s.docs > 0 ? Math.min(100, Math.floor((100 * s.pending.docs) / s.docs)) : 100;
    const target = fingerprintKey(s.pending.fingerprint);
    say(`re-embed:    pending to ${target}: ${s.pending.docs}/${s.docs} documents (${pct}%), ${s.pending.chunks} chunks`);
  }
  if (s.previous) say(`previous:    ${fingerprintKey(s.previous.fingerprint)} (kept for reembed --rollback; reembed --drop-old drops it)`);
  if (s.sources.length > 0) say('sources:');
  for (const src of s.sources) {
    const root = src.root ?? '(root not recorded: indexed by an older version)';
    const synced = src.lastSyncAt ? `last sync ${src.lastSyncAt}` : 'never fully synced';
    say(`  ${src.name}  ${root}  ${plural(src.documents, 'document')}, ${plural(src.chunks, 'chunk')}, ${synced}`);
  }
}

/** `remove-source`: what was removed, or that nothing was. */
export function printRemoved(r: SourceRemoval): void {
  if (!r.removed) return say(`kept source "${r.name}": nothing removed`);
  const collections = plural(r.collections, 'collection');
  say(
    `removed source "${r.name}" (${r.root ?? 'root not recorded'}): ${plural(r.documents, 'document')}, ${plural(r.chunks, 'chunk')} (from ${collections})`,
  );
}

/** `jobs`: counts by state, each failed job, and how many were retried. */
export function printJobs(report: JobsReport, retried: boolean): void {
  const c = report.counts;
  if (report.queue === 'local' && !report.running) {
    const when = report.updatedAt ? `; as of ${report.updatedAt}` : '';
    say(`source ${report.source}: no \`ragsync watch\` of it runs (local queue${when})`);
  } else {
    const queue = report.queue === 'local' ? 'local queue of the running watch' : report.location;
    say(
      `source ${report.source} (${queue}): ${c.waiting ?? 0} waiting, ${c.active ?? 0} active, ${c.delayed ?? 0} delayed (retrying), ` +
        `${c.failed ?? 0} failed, ${c.completed ?? 0} completed${report.queue === 'local' ? '' : ' (kept)'}`,
    );
  }
  for (const f of report.failed) say(`failed: ${f.path} (after ${plural(f.attempts, 'attempt')}): ${f.reason}`);
  if (report.deferred) say(`${plural(report.deferred, 'failed job')}: retried when \`ragsync watch\` starts`);
  else if (retried) say(`retried ${plural(report.retried, 'failed job')}`);
}

/** The line a daemon prints once it runs: what it watches or works for, its queue and metrics address. */
export function daemonLine(what: string, details: string[], metrics: { host: string; port?: number }): string {
  const all = metrics.port !== undefined ? [...details, `metrics http://${metrics.host}:${metrics.port}/metrics`] : details;
  return `ragsync: ${what} (${all.join(', ')})`;
}
