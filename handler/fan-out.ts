import type { ClientProvider } from './clients';
import { describeError } from './errors';
import { retryTuningOf, type BackoffPolicy } from './retry';
import { writeToSlave } from './slave-writer';
import { parkedChangeFor, type ParkOutcome, type SlaveMode, type SlaveState, type StateStore } from './state-store';
import type { Deadline } from './timing';
import type { ReplicatorConfig, SlaveConfig, StreamChange, WriteRequest } from './types';

/** Why the changes of a slave with `enabled: false` are parked. */
export const PAUSED_REASON = 'slave is paused (enabled = false): its changes are kept until it is enabled again';

/** A write for the slaves and the stream record it comes from. */
export interface PendingWrite {
  readonly write: WriteRequest;
  readonly change: StreamChange;
}

/** What became of one batch's writes to one slave: each was written, parked, or left for re-delivery. */
export interface SlaveOutcome {
  readonly slave: string;
  /** The slave's mode after this batch. */
  readonly mode: SlaveMode;
  readonly written: number;
  readonly retries: number;
  readonly parked: number;
  /** Neither written nor parked (the state table could not be written): Lambda re-delivers them. */
  readonly failed: PendingWrite[];
  /** From the oldest applied change's creation on the master to its write; null if nothing was written. */
  readonly lagMs: number | null;
  /** The first errors, each naming slave, table and key, or the state table. */
  readonly errors: string[];
}

/** What the fan-out of one batch shares across slaves. */
export interface FanOutContext {
  readonly clients: ClientProvider;
  /** Absent in library use: what a slave does not take is then re-delivered instead of parked. */
  readonly store: StateStore | undefined;
  readonly deadline: Deadline;
  readonly config: ReplicatorConfig;
  readonly now: () => number;
  readonly backoff?: BackoffPolicy;
  readonly random?: () => number;
}

/**
 * Stage 4 for one slave. A live slave gets the writes within its own budget (`slaveBudgetMs`), so a slave in
 * trouble never holds the others back; whatever it did not take by then (throttled, down, denied, an item it
 * rejects) is parked. A parked slave, a paused one (`enabled: false`), and a new one whose initial copy has not
 * started, has every write parked: nothing may reach it directly before its parked changes do.
 */
export async function fanOut(slave: SlaveConfig, writes: readonly PendingWrite[], state: SlaveState | undefined, context: FanOutContext): Promise<SlaveOutcome> {
  const { store, config } = context;
  const startsCopy = startsInitialCopy(slave, state);
  // Marked parked already, or about to be by the copy's first mark: no direct write may land before the drain's.
  const markedParked = state?.mode === 'parked' || startsCopy;
  const paused = slave.enabled === false;
  const parked = !takesWritesDirectly(slave, state);
  const outcome = { slave: slave.name, written: 0, retries: 0, lagMs: null as number | null, errors: [] as string[] };
  if (writes.length === 0 && !startsCopy) return { ...outcome, mode: markedParked ? 'parked' : 'live', parked: 0, failed: [] };
  if (paused && store === undefined) {
    return { ...outcome, mode: 'live', parked: 0, failed: [...writes], errors: [`slave "${slave.name}" is paused (enabled = false), and without a state table its changes cannot be parked`] };
  }

  let toPark: { pending: PendingWrite; reason: string }[];
  if (parked && store !== undefined) {
    const reason = paused ? PAUSED_REASON : startsCopy ? 'initial copy pending' : (state?.reason ?? 'slave is parked');
    toPark = writes.map((pending) => ({ pending, reason }));
  } else {
    const byKey = new Map(writes.map((pending) => [pending.write.keyId, pending]));
    const slaveDeadline = store === undefined ? context.deadline : context.deadline.within(config.slaveBudgetMs);
    let oldestCreatedAt = Number.POSITIVE_INFINITY;
    try {
      const written = await writeToSlave(
        { name: slave.name, tableName: slave.tableName, region: slave.region, client: context.clients.forSlave(slave) },
        writes.map((pending) => pending.write),
        {
          concurrency: config.writeConcurrency,
          deadline: slaveDeadline,
          ...retryTuningOf(context),
          onApplied: (applied) => {
            const appliedAt = context.now();
            for (const write of applied) {
              const createdAt = byKey.get(write.keyId)?.change.createdAtMs ?? appliedAt;
              if (createdAt < oldestCreatedAt) {
                oldestCreatedAt = createdAt;
                outcome.lagMs = Math.max(0, appliedAt - createdAt);
              }
            }
          },
        },
      );
      outcome.written = written.written;
      outcome.retries = written.retries;
      outcome.errors.push(...written.failed.map(({ error }) => error.message));
      toPark = written.failed.flatMap(({ write, error }) => {
        const pending = byKey.get(write.keyId);
        return pending === undefined ? [] : [{ pending, reason: error.message }];
      });
    } finally {
      if (slaveDeadline !== context.deadline) slaveDeadline.release();
    }
    if (store === undefined) return { ...outcome, mode: 'live', parked: 0, failed: toPark.map(({ pending }) => pending) };
  }
  return park(slave, toPark, state, startsCopy, markedParked, store, context, outcome);
}

/** Whether a slave in this state is written directly, rather than having every write parked. */
export function takesWritesDirectly(slave: SlaveConfig, state: SlaveState | undefined): boolean {
  return state?.mode !== 'parked' && !startsInitialCopy(slave, state) && slave.enabled !== false;
}

/** A new slave with `initial_copy` and no state yet: its first batch creates its state, parked with its copy pending. */
function startsInitialCopy(slave: SlaveConfig, state: SlaveState | undefined): boolean {
  return slave.initialCopy === true && state?.exists !== true;
}

/**
 * Parks writes for a slave through `StateStore.parkAndAnnounce`, under the epoch and open bucket this invocation read;
 * a live slave is marked parked first. Writes not kept, and every write when the slave went live meanwhile (the
 * changes kept under the old epoch are stale, and the drain deletes them unapplied), are left for re-delivery.
 */
async function park(
  slave: SlaveConfig,
  toPark: readonly { pending: PendingWrite; reason: string }[],
  state: SlaveState | undefined,
  startsCopy: boolean,
  wasParked: boolean,
  store: StateStore,
  context: FanOutContext,
  outcome: { slave: string; written: number; retries: number; lagMs: number | null; errors: string[] },
): Promise<SlaveOutcome> {
  if (toPark.length === 0 && !startsCopy) return { ...outcome, mode: wasParked ? 'parked' : 'live', parked: 0, failed: [] };
  const place = { epoch: state?.epoch ?? 0, bucket: state?.bucket ?? 0, settled: state?.settled ?? false };
  const reason = toPark[0]?.reason ?? 'initial copy pending';
  const parkedAt = context.now();
  const byKey = new Map(toPark.map((entry) => [entry.pending.write.keyId, entry.pending]));
  const changes = toPark.map((entry) => parkedChangeFor(entry.pending.write, entry.pending.change.sequenceNumber, entry.pending.change.createdAtMs, parkedAt, entry.reason, place.epoch));
  const all = toPark.map(({ pending }) => pending);
  let parked: ParkOutcome;
  try {
    parked = await store.parkAndAnnounce(slave.name, changes, place, { reason, startsCopy, markFirst: !wasParked }, context.deadline);
  } catch (error) {
    outcome.errors.push(describeError(error));
    return { ...outcome, mode: wasParked ? 'parked' : 'live', parked: 0, failed: all };
  }
  if (parked.status === 'went-live') {
    outcome.errors.push(`slave "${slave.name}" went live while its changes were being parked; the batch is re-delivered to be applied directly`);
    return { ...outcome, mode: 'live', parked: 0, failed: all };
  }
  const failed = parked.notKept.flatMap(({ change }) => {
    const pending = byKey.get(change.keyId);
    return pending === undefined ? [] : [pending];
  });
  outcome.errors.push(...parked.notKept.map(({ error }) => error.message));
  return { ...outcome, mode: 'parked', parked: parked.status === 'announced' ? toPark.length - failed.length : 0, failed };
}
