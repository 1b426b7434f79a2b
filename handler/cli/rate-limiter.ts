import { sleep } from '../retry';

/** Clock and timer of a {@link TokenBucket}; tests pass fake ones. */
export interface RateClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const REAL_CLOCK: RateClock = { now: () => Date.now(), sleep: (ms) => sleep(ms) };

/**
 * A token bucket shared by every worker of a run: `ratePerSecond` tokens a second, at most `capacity` saved up.
 *
 * A caller takes tokens for work it has already read (a scan page) before it writes it. A page may be larger than the
 * bucket: the balance then goes negative and the next caller waits until it is repaid, so the long-run rate holds for
 * any page size. Callers are served in arrival order, so no worker starves.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;
  private queue: Promise<void> = Promise.resolve();

  public constructor(
    public readonly ratePerSecond: number,
    public readonly capacity: number,
    private readonly clock: RateClock = REAL_CLOCK,
  ) {
    if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) throw new RangeError(`rate must be a positive number, not ${ratePerSecond}`);
    if (!(capacity > 0)) throw new RangeError(`capacity must be a positive number, not ${capacity}`);
    this.tokens = capacity;
    this.updatedAt = clock.now();
  }

  /** Resolves once `count` tokens are taken. */
  public take(count: number): Promise<void> {
    const turn = this.queue.then(() => this.takeNow(count));
    this.queue = turn;
    return turn;
  }

  private async takeNow(count: number): Promise<void> {
    if (count <= 0) return;
    this.refill();
    // Waiting for more than the bucket holds would never end: wait until it is full (or repaid), then go into debt.
    const needed = Math.min(count, this.capacity);
    if (this.tokens < needed) {
      await this.clock.sleep(Math.ceil(((needed - this.tokens) * 1000) / this.ratePerSecond));
      this.refill();
    }
    this.tokens -= count;
  }

  private refill(): void {
    const now = this.clock.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.updatedAt) * this.ratePerSecond) / 1000);
    this.updatedAt = now;
  }
}
