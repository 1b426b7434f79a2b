import { setMaxListeners } from 'node:events';

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
  const shape = (typeof error === 'object' && error !== null ? error : {}) as SdkErrorShape;
  const name = typeof shape.name === 'string' ? shape.name : '';
  const status = typeof shape.$metadata?.httpStatusCode === 'number' ? shape.$metadata.httpStatusCode : undefined;
  if (THROTTLING.has(name) || status === 429) return 'throttled';
  if (TRANSIENT.has(name) || shape.$fault === 'server' || (status !== undefined && status >= 500)) return 'transient';
  if (typeof shape.code === 'string' && NETWORK_CODES.has(shape.code)) return 'transient';
  if (shape.$retryable !== undefined && shape.$retryable !== null) return 'transient';
  return 'fatal';
}

/**
 * The time an invocation may spend. At `at` it stops starting work: no new call, no further backoff pause. Calls
 * already in flight may finish until `abortAt`, and are cut off only then: a call abandoned while DynamoDB still
 * applies it could land after the re-delivered batch's newer write of the same item, so the invocation lets its
 * calls end before it returns whenever it can.
 */
export class Deadline {
  private readonly soft = new AbortController();
  private readonly hard = new AbortController();
  private readonly timers: NodeJS.Timeout[];

  public constructor(
    private readonly at: number,
    private readonly now: () => number = Date.now,
    abortAt: number = at,
  ) {
    // Every call and backoff pause of an invocation listens to these signals.
    setMaxListeners(0, this.soft.signal);
    setMaxListeners(0, this.hard.signal);
    this.timers = [
      setTimeout(() => this.soft.abort(new Error('the invocation deadline was reached')), Math.max(0, at - now())),
      setTimeout(() => this.hard.abort(new Error('the call was still running when the invocation had to end')), Math.max(0, Math.max(at, abortAt) - now())),
    ];
    for (const timer of this.timers) timer.unref();
  }

  /** Fires at the deadline: ends backoff pauses. */
  public get signal(): AbortSignal {
    return this.soft.signal;
  }

  /** Fires when the invocation must end: given to every AWS call so none outlives it. */
  public get abortSignal(): AbortSignal {
    return this.hard.signal;
  }

  /** True once the deadline has passed (a method, not a property: it changes while an invocation awaits). */
  public isOver(): boolean {
    return this.soft.signal.aborted || this.remainingMs() <= 0;
  }

  public remainingMs(): number {
    return this.at - this.now();
  }

  /**
   * Settles as `work` does, or rejects when the invocation must end first. The SDK call itself is aborted by
   * `abortSignal`; this also covers what happens before a request is sent (credentials, endpoint resolution).
   */
  public race<T>(work: PromiseLike<T> | T): Promise<T> {
    const { signal } = this.hard;
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason as Error);
      signal.addEventListener('abort', onAbort, { once: true });
      Promise.resolve(work)
        .then(resolve, reject)
        .finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  /** Stops the timers once the invocation's work is done. */
  public release(): void {
    for (const timer of this.timers) clearTimeout(timer);
  }
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
