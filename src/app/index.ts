/**
 * The commands, as plain functions over a resolved config: what `cli/` calls (and nothing else
 * of the tree). Each function opens what it needs and closes it before it returns.
 */
export { type AuditResult, auditDirectory } from './audit.js';
export { checkDirectory, indexDirectory } from './index-dir.js';
export { type JobsReport, jobsReport } from './jobs.js';
export { type ReembedHooks, type ReembedReport, abortReembed, dropOld, reembed } from './reembed.js';
export { type SourceRemoval, removeSource } from './remove-source.js';
export { defaultSourceName } from './runtime.js';
export { search } from './search.js';
export { type StoreStatus, status } from './status.js';
export { runWatch } from './watch.js';
export { type Daemon, runWorker } from './worker.js';
