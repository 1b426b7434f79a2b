import { setMaxListeners } from 'node:events';

/** Without a Lambda context (library use), an invocation may take this long. */
export const DEFAULT_TIME_BUDGET_MS = 60_000;

/**
 * Kept after the last call is cut off, to log, emit metrics and answer before Lambda's timeout. The deadline margin
 * (`REPLICATOR_DEADLINE_MARGIN_MS`) is where new calls stop; calls in flight may run on until this reserve.
 */
export const FINAL_RESERVE_MS = 250;

/**
 * The longest one attempt of an AWS call may stay silent (the socket timeout of every client). A black-holed
 * connection then fails after this long instead of hanging until the invocation's end, so an attempt always ends,
 * or is known to have failed, before the invocation returns.
 */
export const REQUEST_TIMEOUT_MS = 5_000;

/**
 * How long an instance of the stream function may go on using a read of the slaves' states in which every slave was
 * live, counted from before the read was sent, by both its monotonic clock and its wall clock (see `LiveStates`).
 * Each batch would otherwise read them again: at live rates of a few dozen records a batch, that read is about a
 * quarter of the function's CPU (README, Benchmark).
 */
export const LIVE_STATES_REUSE_MS = 500;

/**
 * How long after a slave is marked parked the first change may be kept for it (see `StateStore.parkAndAnnounce`):
 * longer than any instance reuses a read in which it was live, with room for clocks that run at slightly different
 * rates (a timer that fires late only makes the wait longer; one that fires early is waited out again).
 */
export const PARK_SETTLE_MS = settleMsFor(LIVE_STATES_REUSE_MS);

/** The settle time that covers reads reused for `reuseMs`. */
export function settleMsFor(reuseMs: number): number {
  return Math.ceil(reuseMs * 1.25);
}

/** Waiting for a TCP connection longer than this means the endpoint is unreachable. */
export const CONNECTION_TIMEOUT_MS = 3_000;

/**
 * The time a piece of work may spend. At `stopStartingAt` it stops starting work: no new call, no further backoff
 * pause. Calls already in flight may finish until `cutOffAt`, and are cut off only then: a call abandoned while
 * DynamoDB still applies it could land after a newer write of the same item, so the work lets its calls end before
 * it returns whenever it can.
 */
export class Deadline {
  readonly #stopStarting = new AbortController();
  readonly #cutOff = new AbortController();
  readonly #timers: NodeJS.Timeout[];
  readonly #cutOffAt: number;

  public constructor(
    private readonly stopStartingAt: number,
    private readonly now: () => number = Date.now,
    cutOffAt: number = stopStartingAt,
  ) {
    this.#cutOffAt = Math.max(stopStartingAt, cutOffAt);
    // Every call and backoff pause of an invocation listens to these signals.
    setMaxListeners(0, this.#stopStarting.signal);
    setMaxListeners(0, this.#cutOff.signal);
    this.#timers = [
      setTimeout(() => this.#stopStarting.abort(new Error('the deadline was reached')), Math.max(0, stopStartingAt - now())),
      setTimeout(() => this.#cutOff.abort(new Error('the call was still running when the work had to end')), Math.max(0, this.#cutOffAt - now())),
    ];
    for (const timer of this.#timers) timer.unref();
  }

  /** The deadline of an invocation that has `remainingMs` left and keeps `marginMs` in reserve. */
  public static forInvocation(remainingMs: number, marginMs: number, now: () => number = Date.now): Deadline {
    const end = now() + remainingMs;
    return new Deadline(end - marginMs, now, end - Math.min(marginMs, FINAL_RESERVE_MS));
  }

  /**
   * A shorter deadline inside this one, for work with a budget of its own (one slave's writes), that leaves time for
   * what must follow it (parking what the slave did not take). It stops starting after `budgetMs`, or once half the
   * time left has passed; it cuts off calls in flight one request timeout later, or halfway to this deadline's own
   * stop, whichever comes first: an attempt started in time has ended by then, or is cut off with a quarter of the time
   * still left.
   */
  public within(budgetMs: number): Deadline {
    const now = this.now();
    const left = Math.max(0, this.stopStartingAt - now);
    const stopAt = now + Math.min(budgetMs, left / 2);
    return new Deadline(stopAt, this.now, Math.min(this.#cutOffAt, stopAt + Math.min(REQUEST_TIMEOUT_MS, (this.stopStartingAt - stopAt) / 2)));
  }

  /** Fires when no new work may start: ends backoff pauses. */
  public get stopStarting(): AbortSignal {
    return this.#stopStarting.signal;
  }

  /** Fires when work in flight must end: given to every AWS call so none outlives it. */
  public get cutOff(): AbortSignal {
    return this.#cutOff.signal;
  }

  /** True once no new work may start (a method, not a property: it changes while an invocation awaits). */
  public isOver(): boolean {
    return this.#stopStarting.signal.aborted || this.remainingMs() <= 0;
  }

  /** Time left until no new work may start. */
  public remainingMs(): number {
    return this.stopStartingAt - this.now();
  }

  /**
   * Settles as `work` does, or rejects when the work must be cut off first. The SDK call itself is aborted by
   * `cutOff`; this also covers what happens before a request is sent (credentials, endpoint resolution).
   */
  public race<T>(work: PromiseLike<T> | T): Promise<T> {
    const signal = this.#cutOff.signal;
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason as Error);
      signal.addEventListener('abort', onAbort, { once: true });
      Promise.resolve(work)
        .then(resolve, reject)
        .finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  /** Stops the timers once the work is done. */
  public release(): void {
    for (const timer of this.#timers) clearTimeout(timer);
  }
}
