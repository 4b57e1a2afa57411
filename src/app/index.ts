/**
 * The commands, as plain functions over a resolved config: the only module `cli/` calls.
 * (Transitional re-exports while the app layer is being moved here.)
 */
export { auditDirectory, defaultSourceName, indexDirectory, search, status } from '../app.js';
export type { AuditResult, IndexHooks, SearchOptions, StoreStatus, CollectionStatus } from '../app.js';
export { abortReembed, dropOld, reembed } from '../reembed.js';
export type { ReembedHooks, ReembedReport, ReembedPhase } from '../reembed.js';
export { runWatch, runWorker } from '../workers/daemon.js';
export type { Daemon } from '../workers/daemon.js';
export { jobsReport } from '../workers/jobs.js';
export type { JobsReport } from '../workers/jobs.js';
export { safeRedisUrl as displayRedisUrl } from '../workers/redis.js';
