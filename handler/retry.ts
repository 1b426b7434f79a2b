import { OutOfTimeError, ReplicatorError } from './errors';
import type { Deadline } from './timing';

/** Capped exponential backoff with full jitter: a delay drawn from [0, min(maxDelayMs, baseDelayMs * 2^attempt)). */
export interface BackoffPolicy {
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseDelayMs: 25, maxDelayMs: 3_000 };

/** The delay before retry number `attempt` (0 for the first retry). */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/** How a failed AWS call should be handled. */
export type FailureKind = 'throttled' | 'transient' | 'fatal';

const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
]);

const TRANSIENT = new Set([
  'InternalServerError',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'TransactionInProgressException',
]);

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ECONNABORTED']);

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  $retryable?: unknown;
}

/**
 * Sorts an error from an AWS call: throttling and server or network trouble are worth retrying; a client error
 * (validation, access denied, missing table) is not, and is reported at once.
 */
export function classifyFailure(error: unknown): FailureKind {
  const shape = (typeof error === 'object' && error !== null ? error : {}) as SdkErrorShape & { cause?: unknown };
  // An error of ours that wraps an SDK error (a failed AssumeRole) is as retryable as what it wraps.
  if (error instanceof ReplicatorError && shape.cause !== undefined) return classifyFailure(shape.cause);
  const name = typeof shape.name === 'string' ? shape.name : '';
  const status = typeof shape.$metadata?.httpStatusCode === 'number' ? shape.$metadata.httpStatusCode : undefined;
  if (THROTTLING.has(name) || status === 429) return 'throttled';
  if (TRANSIENT.has(name) || shape.$fault === 'server' || (status !== undefined && status >= 500)) return 'transient';
  if (typeof shape.code === 'string' && NETWORK_CODES.has(shape.code)) return 'transient';
  if (shape.$retryable !== undefined && shape.$retryable !== null) return 'transient';
  return 'fatal';
}

/** Waits `ms`, or less if the signal fires first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true || ms <= 0) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** The backoff knobs a caller may set (tests make them fast and deterministic), without the ones it left unset. */
export type RetryTuning = { backoff?: BackoffPolicy; random?: () => number };

/** The tuning set in `options`, for handing on: `exactOptionalPropertyTypes` forbids passing an unset one as undefined. */
export function retryTuningOf(options: { readonly backoff?: BackoffPolicy | undefined; readonly random?: (() => number) | undefined }): RetryTuning {
  return {
    ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
    ...(options.random === undefined ? {} : { random: options.random }),
  };
}

export interface RetryOptions {
  readonly deadline: Deadline;
  readonly backoff?: BackoffPolicy;
  readonly random?: () => number;
}

/**
 * The one retry policy of every AWS call the replicator makes: before retry number `attempt` (0 for the first), waits
 * the capped exponential backoff with full jitter, unless the deadline would pass first. Resolves false, without
 * waiting, when there is no time left for the pause: the caller then gives up with its last error.
 */
export async function pauseBeforeRetry(attempt: number, options: RetryOptions): Promise<boolean> {
  const delay = backoffDelay(attempt, options.backoff ?? DEFAULT_BACKOFF, options.random);
  if (options.deadline.remainingMs() <= delay) return false;
  await sleep(delay, options.deadline.stopStarting);
  return true;
}

/**
 * Runs one AWS call until it succeeds. Throttling, server and network errors are retried with capped exponential
 * backoff and full jitter while the deadline allows; any other error is thrown at once. When time runs out, throws
 * `OutOfTimeError` carrying the last error.
 */
export async function retryCall<T>(call: (signal: AbortSignal) => Promise<T>, what: string, options: RetryOptions): Promise<T> {
  const { deadline } = options;
  let lastError: unknown;
  for (let attempt = 0; ; attempt += 1) {
    if (deadline.isOver()) throw new OutOfTimeError(what, lastError);
    try {
      return await deadline.race(call(deadline.cutOff));
    } catch (error) {
      if (deadline.cutOff.aborted) throw new OutOfTimeError(what, lastError ?? error);
      if (classifyFailure(error) === 'fatal') throw error;
      lastError = error;
    }
    if (!(await pauseBeforeRetry(attempt, options))) throw new OutOfTimeError(what, lastError);
  }
}

