import { afterEach, describe, expect, it, vi } from 'vitest';
import { LiveStates } from '../../handler/live-states';
import type { SlaveState } from '../../handler/state-store';
import type { SlaveConfig } from '../../handler/types';
import { EU, US } from './helpers/config';

const state = (slave: string, overrides: Partial<SlaveState> = {}): SlaveState => ({
  slave,
  mode: 'live',
  settled: false,
  generation: 0,
  epoch: 1,
  bucket: 0,
  drainedBelow: 0,
  cursors: new Map(),
  cleanedBelow: 0,
  exists: true,
  ...overrides,
});

const statesOf = (...states: SlaveState[]): Map<string, SlaveState> => new Map(states.map((one) => [one.slave, one]));

/** Both clocks of the instance, set by the test: `performance.now()` and `Date.now()`. */
function clocks(): { advance: (monotonicMs: number, wallMs?: number) => void } {
  let monotonic = 5_000;
  let wall = 1_800_000_000_000;
  vi.spyOn(performance, 'now').mockImplementation(() => monotonic);
  vi.spyOn(Date, 'now').mockImplementation(() => wall);
  return {
    advance: (monotonicMs, wallMs = monotonicMs) => {
      monotonic += monotonicMs;
      wall += wallMs;
    },
  };
}

describe('Class: LiveStates', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('reuses a read in which every slave is live for less than its reuse time, counted from before the read was sent', async () => {
    // Prepare
    const clock = clocks();
    const live = new LiveStates(1_000);
    const read = statesOf(state('eu'), state('us'));

    // Act: the read takes 300 ms to answer
    await live.read([EU, US], () => {
      clock.advance(300);
      return Promise.resolve(read);
    });
    clock.advance(699);
    const reused = live.reusable();
    clock.advance(1);
    const expired = live.reusable();

    // Assess
    expect(reused).toBe(read);
    expect(expired).toBeUndefined();
  });

  it.each<[string, (clock: ReturnType<typeof clocks>) => void]>([
    ['the wall clock says so while the monotonic one stood still (an instance frozen between invocations)', (clock) => clock.advance(0, 1_000)],
    ['the monotonic clock says so while the wall clock was set back', (clock) => clock.advance(1_000, 0)],
    ['the wall clock went back at all', (clock) => clock.advance(10, -1)],
  ])('stops reusing a read once %s', async (_, move) => {
    // Prepare
    const clock = clocks();
    const live = new LiveStates(1_000);
    await live.read([EU, US], () => Promise.resolve(statesOf(state('eu'), state('us'))));

    // Act
    move(clock);

    // Assess
    expect(live.reusable()).toBeUndefined();
  });

  it.each<[string, SlaveConfig, Partial<SlaveState>]>([
    ['is parked', EU, { mode: 'parked' }],
    ['is paused (enabled = false)', { ...EU, enabled: false }, {}],
    ['starts its initial copy (no state yet)', { ...EU, initialCopy: true }, { exists: false }],
  ])('never reuses a read in which a slave %s: every batch reads it again, as parking needs', async (_, slave, overrides) => {
    // Prepare
    clocks();
    const live = new LiveStates(1_000);

    // Act
    await live.read([slave, US], () => Promise.resolve(statesOf(state('eu', overrides), state('us'))));

    // Assess
    expect(live.reusable()).toBeUndefined();
  });

  it('reuses the read of a slave whose initial copy is handed over, and of a slave with no state yet', async () => {
    // Prepare
    clocks();
    const live = new LiveStates(1_000);

    // Act
    await live.read([{ ...EU, initialCopy: true }, US], () => Promise.resolve(statesOf(state('eu', { copy: 'done' }), state('us', { exists: false }))));

    // Assess
    expect(live.reusable()).toBeDefined();
  });

  it('forgets the read when told to, and after a read that failed', async () => {
    // Prepare
    clocks();
    const live = new LiveStates(1_000);
    await live.read([EU], () => Promise.resolve(statesOf(state('eu'))));

    // Act
    live.forget();
    const forgotten = live.reusable();
    await live.read([EU], () => Promise.resolve(statesOf(state('eu'))));
    await expect(live.read([EU], () => Promise.reject(new Error('throttled')))).rejects.toThrow('throttled');

    // Assess
    expect(forgotten).toBeUndefined();
    expect(live.reusable()).toBeUndefined();
  });

  it('reuses nothing with a reuse time of 0', async () => {
    // Prepare
    clocks();
    const live = new LiveStates(0);

    // Act
    await live.read([EU], () => Promise.resolve(statesOf(state('eu'))));

    // Assess
    expect(live.reusable()).toBeUndefined();
  });
});
