/**
 * The commands, as plain functions over a resolved config: what `cli/` calls (and nothing else
 * of the tree). Each function opens what it needs and closes it before it returns.
 */
export { type AuditReport, type AuditResult, type Drift, type DriftKind, auditDirectory } from './audit.js';
export { type IndexHooks, indexDirectory } from './index-dir.js';
export { type JobsReport, jobsReport } from './jobs.js';
export { type ReembedHooks, type ReembedPhase, type ReembedReport, abortReembed, dropOld, reembed } from './reembed.js';
export { defaultSourceName } from './runtime.js';
export { type SearchOptions, search } from './search.js';
export { type CollectionStatus, type StoreStatus, status } from './status.js';
export type { VerifyReport } from './verify.js';
export { runWatch } from './watch.js';
export { type Daemon, runWorker } from './worker.js';
