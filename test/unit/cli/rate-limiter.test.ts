import { describe, expect, it } from 'vitest';
import { TokenBucket, type RateClock } from '../../../handler/cli/rate-limiter';

/** A clock that only moves when the bucket sleeps, recording each sleep. */
function fakeClock(): RateClock & { sleeps: number[]; time: number } {
  const clock = {
    time: 0,
    sleeps: [] as number[],
    now: () => clock.time,
    sleep: (ms: number) => {
      clock.sleeps.push(ms);
      clock.time += ms;
      return Promise.resolve();
    },
  };
  return clock;
}

describe('Class: TokenBucket', () => {
  it('lets a full bucket through at once, then paces takes at the rate', async () => {
    // Prepare
    const clock = fakeClock();
    const bucket = new TokenBucket(100, 20, clock);

    // Act
    await bucket.take(20);
    await bucket.take(20);
    await bucket.take(10);

    // Assess
    expect(clock.sleeps).toEqual([200, 100]);
    expect(clock.time).toBe(300);
  });

  it('holds the long-run rate when pages are larger than the bucket, by going into debt', async () => {
    // Prepare
    const clock = fakeClock();
    const bucket = new TokenBucket(50, 10, clock);

    // Act
    for (let page = 0; page < 10; page += 1) await bucket.take(100);

    // Assess: 1,000 items at 50/s take about 20 s; the first page may go at once, so 18 s at least.
    expect(clock.time).toBeGreaterThanOrEqual(18_000);
    expect(clock.time).toBeLessThanOrEqual(20_000);
  });

  it('serves callers in the order they asked, as workers sharing it', async () => {
    // Prepare
    const clock = fakeClock();
    const bucket = new TokenBucket(10, 10, clock);
    const order: string[] = [];

    // Act
    await Promise.all(['a', 'b', 'c'].map((worker) => bucket.take(10).then(() => order.push(worker))));

    // Assess
    expect(order).toEqual(['a', 'b', 'c']);
    expect(clock.time).toBe(2_000);
  });

  it('does not save up more than its capacity while idle', async () => {
    // Prepare
    const clock = fakeClock();
    const bucket = new TokenBucket(10, 5, clock);
    await bucket.take(5);
    clock.time += 60_000;

    // Act
    await bucket.take(5);
    await bucket.take(5);

    // Assess
    expect(clock.sleeps).toEqual([500]);
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])('refuses a rate of %s', (rate) => {
    // Act & Assess
    expect(() => new TokenBucket(rate, 1)).toThrow(/rate must be a positive number/);
  });
});
