/** Where in the pipeline an error happened. */
export type Stage = 'config' | 'source' | 'parse' | 'embed' | 'sink' | 'model';

/** Stable error codes; the CLI maps them to exit codes. */
export type ErrorCode =
  | 'CONFIG'
  | 'USAGE'
  | 'PARSE'
  | 'UNSUPPORTED'
  | 'TOO_LARGE'
  | 'IO'
  | 'EMBED'
  | 'MODEL_UNAVAILABLE'
  | 'FINGERPRINT_MISMATCH'
  | 'BUSY'
  | 'SINK';

/**
 * The one error type ragsync throws on purpose. `retryable` tells a worker whether another
 * attempt can succeed (a sink that is down) or not (a corrupt PDF). The original error is `cause`.
 */
export class RagsyncError extends Error {
  readonly code: ErrorCode;
  readonly stage: Stage;
  readonly docId: string | undefined;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, opts: { stage: Stage; docId?: string; retryable?: boolean; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'RagsyncError';
    this.code = code;
    this.stage = opts.stage;
    this.docId = opts.docId;
    this.retryable = opts.retryable ?? false;
  }
}

/** The message of any thrown value, one line. */
export function errorMessage(err: unknown): string {
  // (Some clients reject with plain status objects: { reason } or { message }.)
  const obj = err as { message?: unknown; reason?: unknown } | null;
  const msg =
    err instanceof Error
      ? err.message
      : typeof obj?.reason === 'string'
        ? obj.reason
        : typeof obj?.message === 'string'
          ? obj.message
          : String(err);
  return msg.replace(/\s+/g, ' ').trim();
}

/** Wraps an unknown error as a RagsyncError of this stage, keeping one that already is. */
export function asRagsyncError(err: unknown, code: ErrorCode, stage: Stage, docId?: string, retryable = false): RagsyncError {
  if (err instanceof RagsyncError) return err;
  return new RagsyncError(code, errorMessage(err), { stage, docId, retryable, cause: err });
}
