/**
 * The commands, as plain functions over a resolved config: what `cli/` calls (and nothing else
 * of the tree). Each function opens what it needs and closes it before it returns.
 *
 * Each command's module is imported on its first call, not when this one is: a command loads only
 * its own part of the tree and the packages that part uses (`status` no BullMQ, chokidar or
 * model runtime; `--help` nothing of the app). The types are exported as they are.
 */

export type { AuditResult } from './audit.js';
export type { JobsReport } from './jobs.js';
export type { ReembedHooks, ReembedReport } from './reembed.js';
export type { SourceRemoval } from './remove-source.js';
export type { StoreStatus } from './status.js';
export type { Daemon, DaemonView } from './worker.js';
export type { SearchRequest, Service, ServiceStatus } from './service.js';
export type { SyncEvent } from './sync-job.js';

type AsyncFunction = (...args: never[]) => Promise<unknown>;

/** `name` of the module `load` imports, imported on the first call. */
function onUse<M extends Record<K, AsyncFunction>, K extends keyof M & string>(load: () => Promise<M>, name: K): M[K] {
  const call = async (...args: unknown[]) => {
    const run = (await load())[name] as unknown as (...a: unknown[]) => Promise<unknown>;
    return run(...args);
  };
  return call as unknown as M[K];
}

export const auditDirectory = onUse(() => import('./audit.js'), 'auditDirectory');
export const indexDirectory = onUse(() => import('./index-dir.js'), 'indexDirectory');
export const jobsReport = onUse(() => import('./jobs.js'), 'jobsReport');
export const reembed = onUse(() => import('./reembed.js'), 'reembed');
export const abortReembed = onUse(() => import('./reembed.js'), 'abortReembed');
export const dropOld = onUse(() => import('./reembed.js'), 'dropOld');
export const removeSource = onUse(() => import('./remove-source.js'), 'removeSource');
export const search = onUse(() => import('./search.js'), 'search');
export const status = onUse(() => import('./status.js'), 'status');
export const openService = onUse(() => import('./service.js'), 'openService');
export const runWatch = onUse(() => import('./watch.js'), 'runWatch');
export const runWorker = onUse(() => import('./worker.js'), 'runWorker');

/** The directory argument of `command`, checked before anything is opened (see `index-dir.ts`). */
export async function checkDirectory(command: string, dir: string): Promise<void> {
  (await import('./index-dir.js')).checkDirectory(command, dir);
}

/** The default source name for a directory (see `runtime.ts`). */
export async function defaultSourceName(dir: string): Promise<string> {
  return (await import('./runtime.js')).defaultSourceName(dir);
}
