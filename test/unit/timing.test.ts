import { afterEach, describe, expect, it } from 'vitest';
import { Deadline, FINAL_RESERVE_MS, REQUEST_TIMEOUT_MS } from '../../handler/timing';

const made: Deadline[] = [];
const keep = (deadline: Deadline): Deadline => {
  made.push(deadline);
  return deadline;
};
const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('Class: Deadline', () => {
  afterEach(() => {
    for (const deadline of made.splice(0)) deadline.release();
  });

  it('stops starting work at its deadline, and cuts off work in flight only at its cut-off', async () => {
    // Prepare
    const now = Date.now();
    const deadline = keep(new Deadline(now + 30, Date.now, now + 120));

    // Act
    await wait(60);
    const between = { stopStarting: deadline.stopStarting.aborted, cutOff: deadline.cutOff.aborted, over: deadline.isOver() };
    await wait(100);

    // Assess
    expect(between).toEqual({ stopStarting: true, cutOff: false, over: true });
    expect(deadline.cutOff.aborted).toBe(true);
    expect((deadline.cutOff.reason as Error).message).toBe('the call was still running when the work had to end');
    expect((deadline.stopStarting.reason as Error).message).toBe('the deadline was reached');
  });

  it('lets a call in flight past stopStarting finish', async () => {
    // Prepare
    const now = Date.now();
    const deadline = keep(new Deadline(now + 20, Date.now, now + 1_000));

    // Act
    const result = await deadline.race(wait(80).then(() => 'landed'));

    // Assess
    expect(deadline.stopStarting.aborted).toBe(true);
    expect(result).toBe('landed');
  });

  it('rejects a call still in flight at cutOff, without waiting for it', async () => {
    // Prepare
    const deadline = keep(new Deadline(Date.now() + 20, Date.now, Date.now() + 50));
    const started = Date.now();

    // Act
    const racing = deadline.race(wait(2_000).then(() => 'too late'));

    // Assess
    await expect(racing).rejects.toThrow('the call was still running when the work had to end');
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('rejects at once work raced after the cut-off', async () => {
    // Prepare
    const deadline = keep(new Deadline(Date.now() - 1));
    await wait(5);

    // Act & Assess
    await expect(deadline.race(Promise.resolve('x'))).rejects.toThrow('the call was still running when the work had to end');
  });

  it('never cuts off before it stops starting', async () => {
    // Act
    const deadline = keep(new Deadline(1_000, () => 0, 500));
    const now = Date.now();
    const asked = keep(new Deadline(now + 300, Date.now, now + 20));
    await wait(80);

    // Assess
    expect(deadline.remainingMs()).toBe(1_000);
    expect(deadline.isOver()).toBe(false);
    // Past the cut-off it was asked for, before it stops starting: calls in flight run on.
    expect(asked.stopStarting.aborted).toBe(false);
    expect(asked.cutOff.aborted).toBe(false);
    await expect(asked.race(Promise.resolve('finished'))).resolves.toBe('finished');
  });

  describe('Function: forInvocation', () => {
    it('stops starting at the margin before the end, and cuts off FINAL_RESERVE_MS before it', async () => {
      // Prepare
      let now = 10_000;
      const clock = (): number => now;

      // Act
      const deadline = keep(Deadline.forInvocation(5_000, 2_000, clock));
      const remaining = deadline.remainingMs();
      now = 13_001;
      const overAtMargin = deadline.isOver();

      // Assess
      expect(remaining).toBe(3_000);
      expect(overAtMargin).toBe(true);
      const real = keep(Deadline.forInvocation(FINAL_RESERVE_MS + 150, FINAL_RESERVE_MS + 120));
      await wait(70);
      expect(real.stopStarting.aborted).toBe(true);
      expect(real.cutOff.aborted).toBe(false);
      await wait(130);
      expect(real.cutOff.aborted).toBe(true);
    });

    it('cuts off at the end itself when the margin is smaller than the final reserve', () => {
      // Act
      const deadline = keep(Deadline.forInvocation(1_000, 0, () => 0));

      // Assess
      expect(deadline.remainingMs()).toBe(1_000);
      expect(deadline.cutOff.aborted).toBe(false);
    });
  });

  describe('Function: within', () => {
    it('stops starting after its budget and cuts off one request timeout later', async () => {
      // Prepare
      const outer = keep(new Deadline(Date.now() + 60_000));

      // Act
      const inner = keep(outer.within(30));
      const innerRemaining = inner.remainingMs();
      await wait(60);

      // Assess
      expect(innerRemaining).toBeLessThanOrEqual(30);
      expect(inner.stopStarting.aborted).toBe(true);
      expect(inner.cutOff.aborted).toBe(false);
      expect(outer.isOver()).toBe(false);
    });

    it('stops starting after its budget or halfway to the deadline it is part of, whichever comes first, leaving time to park', () => {
      // Prepare
      let now = 0;
      const outer = keep(new Deadline(1_000, () => now, 1_500));

      // Act
      const long = keep(outer.within(5_000));
      const short = keep(outer.within(100));
      now = 999;

      // Assess
      expect(long.remainingMs()).toBe(500 - 999);
      expect(short.remainingMs()).toBe(100 - 999);
      expect(outer.remainingMs()).toBe(1);
    });

    it('cuts off its calls halfway between its own stop and the stop of the deadline it is part of, when that is sooner than a request timeout', async () => {
      // Prepare: stops starting after 500 ms (half of 1 s), cuts off at 750 ms.
      const outer = keep(new Deadline(Date.now() + 1_000));

      // Act
      const inner = keep(outer.within(60_000));
      await wait(600);
      const afterStop = { stopped: inner.stopStarting.aborted, cut: inner.cutOff.aborted };
      await wait(250);

      // Assess
      expect(REQUEST_TIMEOUT_MS).toBeGreaterThan(250);
      expect(afterStop).toEqual({ stopped: true, cut: false });
      expect(inner.cutOff.aborted).toBe(true);
      expect(outer.isOver()).toBe(false);
    });

    it('cuts off a call of the inner deadline at the outer cut-off when that comes first', async () => {
      // Prepare
      const now = Date.now();
      const outer = keep(new Deadline(now + 10_000, Date.now, now + 10_000));
      const short = keep(new Deadline(now + 20, Date.now, now + 60));

      // Act
      const inner = keep(short.within(5_000));
      await wait(100);

      // Assess
      expect(inner.cutOff.aborted).toBe(true);
      expect(outer.cutOff.aborted).toBe(false);
    });
  });

  it('stops its timers on release', async () => {
    // Prepare
    const deadline = keep(new Deadline(Date.now() + 20));

    // Act
    deadline.release();
    await wait(50);

    // Assess
    expect(deadline.stopStarting.aborted).toBe(false);
    expect(deadline.cutOff.aborted).toBe(false);
  });
});
