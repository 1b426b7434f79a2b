import { takesWritesDirectly } from './fan-out';
import type { SlaveState } from './state-store';
import { LIVE_STATES_REUSE_MS } from './timing';
import type { SlaveConfig } from './types';

/**
 * The last read of the slaves' states of one instance of the stream function, reused by its next batches for
 * `reuseMs` if every slave was written directly in it. A read in which any slave is parked, paused or starting its
 * copy is never reused: those batches read the states each time, as the parking protocol needs.
 *
 * Reuse is safe because no change is kept for a slave until `PARK_SETTLE_MS` (longer than `reuseMs`) after it is
 * marked parked (see `StateStore.parkAndAnnounce`). A batch that writes a key directly from a reused read started less
 * than `reuseMs` after that read, which saw the slave live. Only an earlier batch of the key's shard could have parked
 * a change of that key, and it ended before this batch started: had it parked one, the slave would have been marked
 * parked after the read and the change kept `PARK_SETTLE_MS` later still, after this batch started. So no such change
 * exists, and the direct write is as safe as one from a fresh read. Reuse rests on each instance measuring the time
 * that passes, not on clocks that agree: the read is too old once either the monotonic clock or the wall clock of the
 * instance says so (the wall clock also counts the time the instance was frozen between invocations), or once the
 * wall clock has gone back.
 */
export class LiveStates {
  #kept: { readonly states: Map<string, SlaveState>; readonly monotonicAt: number; readonly wallAt: number } | undefined;

  public constructor(private readonly reuseMs: number = LIVE_STATES_REUSE_MS) {}

  /** The states of the last read, while it may be reused. */
  public reusable(): Map<string, SlaveState> | undefined {
    const kept = this.#kept;
    if (kept === undefined) return undefined;
    const wallElapsed = Date.now() - kept.wallAt;
    if (wallElapsed >= 0 && Math.max(wallElapsed, performance.now() - kept.monotonicAt) < this.reuseMs) return kept.states;
    this.#kept = undefined;
    return undefined;
  }

  /** Reads the states with `read`, and keeps them for reuse, from the moment before the read was sent, if every slave is written directly. */
  public async read(slaves: readonly SlaveConfig[], read: () => Promise<Map<string, SlaveState>>): Promise<Map<string, SlaveState>> {
    const monotonicAt = performance.now();
    const wallAt = Date.now();
    this.#kept = undefined;
    const states = await read();
    if (this.reuseMs > 0 && slaves.every((slave) => takesWritesDirectly(slave, states.get(slave.name)))) this.#kept = { states, monotonicAt, wallAt };
    return states;
  }

  /** Drops the kept read: a batch parked, or left changes for re-delivery. */
  public forget(): void {
    this.#kept = undefined;
  }
}
