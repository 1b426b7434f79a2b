import { ConfigurationError } from './errors';
import type { SlaveState, StateStore } from './state-store';
import type { Deadline } from './timing';
import type { SlaveConfig } from './types';

/**
 * How long a new slave must have been parked before its copy may read the master: the longest a stream invocation
 * can run (Lambda's 900-second limit). An invocation that started under the configuration without the slave may
 * still be applying changes the slave never sees parked; once it has ended, every later change is parked.
 */
export const DEFAULT_SETTLE_MS = 900_000;

/** Whether a slave's initial copy may start now, or how long it must wait. */
export type CopyReadiness = { readonly ready: true; readonly state: SlaveState } | { readonly ready: false; readonly waitMs: number; readonly state: SlaveState };

/**
 * The rules of an initial copy, the same for the command-line backfill and the `copySegment` function: only a slave
 * marked `initial_copy` may be copied into; it is parked (its state created if no entry point has yet) from before
 * the copy reads anything; and the copy waits `settleMs` from that moment.
 *
 * @throws ConfigurationError for a slave that is live: writing a copy into it would race replication.
 */
export async function copyReadiness(store: StateStore, slave: SlaveConfig, settleMs: number, now: number, deadline: Deadline): Promise<CopyReadiness> {
  if (slave.initialCopy !== true) {
    throw new ConfigurationError(
      `slaves.${slave.name}`,
      'is not marked initial_copy: copying into a slave that replication already writes could leave items older than replication made them. To add a new slave, set initial_copy = true on it and apply first; to repair a live one, use verify --repair',
    );
  }
  let state = await store.readSlaveState(slave.name, deadline);
  if (!state.exists) state = await store.startCopy(slave.name, deadline);
  if (state.copy === 'done') return { ready: true, state };
  if (state.copy !== 'pending' || state.mode !== 'parked') {
    throw new ConfigurationError(
      `slaves.${slave.name}`,
      `is live in state table ${store.tableName} (its initial copy was handed over already): copying into it again could leave items older than replication made them; use verify --repair to repair it`,
    );
  }
  const parkedFor = now - (state.parkedSince ?? now);
  return parkedFor >= settleMs ? { ready: true, state } : { ready: false, waitMs: settleMs - parkedFor, state };
}

/**
 * Records one segment of a slave's copy as done and, when every segment of the copy is, marks the slave copied so
 * that the drain applies its parked changes and puts it live. Resolves true once the slave is marked copied.
 */
export async function finishSegment(store: StateStore, slave: string, segment: number, totalSegments: number, items: number, startedAt: number, deadline: Deadline): Promise<boolean> {
  await store.saveCopyCheckpoint(slave, { segment, totalSegments, done: true, items, startedAt }, deadline);
  const checkpoints = await store.copyCheckpoints(slave, deadline);
  const done = new Set(checkpoints.filter((checkpoint) => checkpoint.done && checkpoint.totalSegments === totalSegments).map((checkpoint) => checkpoint.segment));
  if (done.size < totalSegments) return false;
  await store.markCopied(slave, deadline);
  return true;
}
