import { randomUUID } from 'node:crypto';
import type { ClientProvider } from './clients';
import { ConfigurationError, describeError } from './errors';
import { readCurrentItems } from './item-reader';
import { drainMetrics, type DrainReport } from './metrics';
import { retryTuningOf, type BackoffPolicy, type RetryTuning } from './retry';
import { isRejectedItem, writeToSlave } from './slave-writer';
import { bucketPrefix, PARKED_PARTITIONS, partitions, StateStore, type ParkedChange, type ParkedPage, type SlaveState } from './state-store';
import type { Telemetry } from './telemetry';
import { Deadline, REQUEST_TIMEOUT_MS } from './timing';
import type { ReplicatorConfig, SlaveConfig, WriteRequest } from './types';

/** Parked changes read and applied per step of one partition. */
const DRAIN_PAGE_SIZE = 500;

/**
 * How long after a slave was marked parked a drain that finds nothing parked leaves it parked while it is not yet
 * settled: the parker that marked it keeps its changes only after the settle time (`StateStore.parkAndAnnounce`).
 */
export const UNSETTLED_GRACE_MS = 60_000;

export interface DrainOptions {
  readonly config: ReplicatorConfig;
  readonly clients: ClientProvider;
  readonly telemetry: Telemetry;
  readonly now?: () => number;
  readonly backoff?: BackoffPolicy;
  readonly random?: () => number;
}

/** What `drain` resolves with: the parked changes left per slave, and what it did. */
export interface DrainResult {
  readonly pending: Record<string, number>;
  readonly slaves: Record<string, DrainReport>;
}

/**
 * Applies every slave's parked changes, oldest state first per key, and puts each slave whose changes are all
 * applied back to live. Each slave is drained on its own, under a lease so that two drains never apply one slave's
 * changes at once; a drain that is killed loses nothing, because a change is deleted only after the slave has it.
 */
export async function drainSlaves(options: DrainOptions, remainingMs: number): Promise<DrainResult> {
  const { config } = options;
  const now = options.now ?? Date.now;
  if (config.stateTable === undefined) throw new ConfigurationError('REPLICATOR_STATE_TABLE', 'is not set: the drain applies the changes parked in the state table');
  const masterRegion = config.masterRegion;
  if (masterRegion === undefined) throw new ConfigurationError('AWS_REGION', "is not set: the drain runs in the master's region");
  const retry = retryTuningOf(options);
  const store = new StateStore(options.clients.forMaster(masterRegion), config.stateTable, { concurrency: config.writeConcurrency * 4, now, ...retry });
  const deadline = Deadline.forInvocation(remainingMs, config.deadlineMarginMs, now);
  const owner = randomUUID();
  // A killed drain's last attempts end within one request timeout of its own end: only then may another take over.
  const leaseUntil = now() + remainingMs + REQUEST_TIMEOUT_MS;
  try {
    const reports = await Promise.all(
      config.slaves.map(async (slave): Promise<[string, DrainReport]> => {
        try {
          return [slave.name, await drainSlave(slave, { options, store, deadline, owner, leaseUntil, now, retry })];
        } catch (error) {
          return [slave.name, { mode: 'parked', drained: 0, pending: -1, oldestParkedAgeSeconds: 0, errors: [describeError(error)] }];
        }
      }),
    );
    for (const [slave, report] of reports) {
      options.telemetry.log({ level: report.errors.length > 0 ? 'warn' : 'info', message: 'drain', slave, ...report });
      if (report.pending >= 0) options.telemetry.metrics(drainMetrics(slave, report));
    }
    return { pending: Object.fromEntries(reports.map(([slave, report]) => [slave, report.pending])), slaves: Object.fromEntries(reports) };
  } finally {
    deadline.release();
  }
}

interface DrainContext {
  readonly options: DrainOptions;
  readonly store: StateStore;
  readonly deadline: Deadline;
  readonly owner: string;
  readonly leaseUntil: number;
  readonly now: () => number;
  readonly retry: RetryTuning;
}

async function drainSlave(slave: SlaveConfig, context: DrainContext): Promise<DrainReport> {
  const { store, deadline, owner, now } = context;
  let state = await store.readSlaveState(slave.name, deadline);
  if (!state.exists && slave.initialCopy === true) state = await store.startCopy(slave.name, deadline);
  const toClean = state.cleanedBelow < state.drainedBelow;
  if (state.mode === 'live' && !toClean) return { mode: 'live', drained: 0, pending: 0, oldestParkedAgeSeconds: 0, errors: [] };
  const ageOf = (current: SlaveState): number => (current.parkedSince === undefined ? 0 : Math.max(0, Math.round((now() - current.parkedSince) / 1000)));
  // Nothing is applied to a slave waiting for its copy, or paused; its backlog and age are still reported, so that the
  // parked-age alarm sees a long pause.
  if (state.mode === 'parked' && (state.copy === 'pending' || slave.enabled === false)) {
    return { mode: 'parked', drained: 0, pending: await store.countParked(slave.name, state, deadline), oldestParkedAgeSeconds: ageOf(state), errors: [] };
  }
  const leased = await store.takeDrainLease(slave.name, owner, context.leaseUntil, deadline);
  if (leased === undefined) {
    const pending = state.mode === 'live' ? 0 : await store.countParked(slave.name, state, deadline);
    return { mode: state.mode, drained: 0, pending, oldestParkedAgeSeconds: ageOf(state), errors: state.mode === 'live' ? [] : ['another drain holds this slave'] };
  }
  let drained = 0;
  const errors: string[] = [];
  try {
    // What earlier drains applied is deleted first, off the path of the catch-up that made it.
    if (toClean) await deleteDrained(slave, leased, context);
    while (leased.mode === 'parked' && !deadline.isOver()) {
      // The generation is read before each round: if nothing is announced during the round and the round finds the
      // open bucket empty, no change can be waiting, so the slave may go live.
      const before = await store.readSlaveState(slave.name, deadline);
      if (before.leaseOwner !== owner) {
        errors.push('the drain lost its lease to another drain');
        break;
      }
      const closed = await drainClosedBuckets(slave, before, context);
      drained += closed.applied;
      errors.push(...closed.errors);
      if (closed.stopped || (before.drainedBelow < before.bucket && !(await store.markDrained(slave.name, before.bucket, owner, deadline)))) break;
      const probe = await probeOpenBucket(slave, before, context);
      errors.push(...probe.errors);
      if (probe.empty) {
        // Marked parked moments ago, and no change kept yet: its parker is waiting out the settle time, and would
        // find the slave live (and have its batch re-delivered). It is left parked for the next drain unless the
        // parker is long gone (a clock that is off only costs a wasted batch, never a change).
        if (!before.settled && now() - (before.parkedSince ?? 0) < UNSETTLED_GRACE_MS) break;
        if (await store.markLive(slave.name, before.generation, owner, deadline)) return { mode: 'live', drained, pending: 0, oldestParkedAgeSeconds: 0, errors };
        continue;
      }
      // The slave failed the open bucket's changes (it is down again), or rejected each of them in a round that applied
      // nothing else (all that is left is refused): the open bucket stays open, for the next drain.
      if (!probe.answered || (probe.current > 0 && probe.applied + closed.applied === 0)) break;
      // The slave answered just now: close the open bucket, for the next round to drain it.
      if (!(await store.closeBucket(slave.name, before.bucket, owner, deadline))) break;
    }
    if (errors.length > 0) await store.noteDrainStopped(slave.name, owner, errors[0] ?? '', deadline);
  } finally {
    await store.releaseDrainLease(slave.name, owner, deadline).catch((error: unknown) => {
      errors.push(describeError(error));
    });
  }
  const after = await store.readSlaveState(slave.name, deadline);
  const pending = after.mode === 'live' ? 0 : await store.countParked(slave.name, after, deadline);
  return { mode: after.mode, drained, pending, oldestParkedAgeSeconds: after.mode === 'live' ? 0 : ageOf(after), errors };
}

/**
 * Deletes the changes of the drained buckets (below `drainedBelow`): applied, stale, or copies that landed after
 * their bucket was read. Time left over is the limit; what is not deleted waits for the next drain.
 */
async function deleteDrained(slave: SlaveConfig, state: SlaveState, context: DrainContext): Promise<void> {
  const { store, deadline, owner } = context;
  const finished = await Promise.all(
    partitions().map(async (partition) => {
      let start: ParkedPage['next'];
      do {
        if (deadline.isOver()) return false;
        const page = await store.parkedPage(slave.name, partition, { below: state.drainedBelow }, start, DRAIN_PAGE_SIZE, deadline);
        await store.deleteParked(slave.name, partition, page.changes, deadline);
        start = page.next;
      } while (start !== undefined);
      return true;
    }),
  );
  if (finished.every(Boolean)) await store.markCleaned(slave.name, state.drainedBelow, owner, deadline);
}

interface ClosedResult {
  readonly applied: number;
  /** The slave failed a write (other than by rejecting its item), or time ran out: the closed bucket is not drained yet. */
  readonly stopped: boolean;
  readonly errors: string[];
}

/**
 * Drains the closed bucket, every partition at once, each page by page in sort key order from its cursor, which is
 * saved after each page so that the next drain goes on from there. One key's changes share a partition, oldest bucket
 * first, so they are applied in order. Nothing is deleted here: once the bucket is drained, no drain reads it again,
 * and the next drain deletes it. A change kept under an earlier epoch landed after its slave went live (its batch was
 * re-delivered and applied directly) and is not applied. A change whose item the slave rejects is carried over to the
 * open bucket, so the others go on; any other failure stops the partition there, for the next drain.
 */
async function drainClosedBuckets(slave: SlaveConfig, state: SlaveState, context: DrainContext): Promise<ClosedResult> {
  const { store, deadline, owner } = context;
  let applied = 0;
  let stopped = false;
  const errors: string[] = [];
  if (state.drainedBelow >= state.bucket) return { applied, stopped, errors };
  await Promise.all(
    partitions().map(async (partition) => {
      const cursor = state.cursors.get(partition);
      let start: ParkedPage['next'];
      do {
        if (stopped || deadline.isOver()) {
          stopped = true;
          return;
        }
        const page = await store.parkedPage(slave.name, partition, { after: cursor ?? bucketPrefix(state.drainedBelow), below: state.bucket }, start, DRAIN_PAGE_SIZE, deadline);
        start = page.next;
        const current = page.changes.filter((change) => change.sortKey !== cursor && change.epoch >= state.epoch);
        const result = await applyChanges(slave, current, context);
        errors.push(...result.errors);
        if (result.applied.length + result.rejected.length < current.length) {
          stopped = true;
          return;
        }
        if (result.rejected.length > 0) await store.carryOver(slave.name, result.rejected, state.bucket, deadline);
        applied += result.applied.length;
        const last = page.changes.at(-1);
        if (start !== undefined && last !== undefined && !(await store.saveCursor(slave.name, partition, last.sortKey, owner, deadline))) {
          stopped = true;
          errors.push('the drain lost its lease to another drain');
          return;
        }
      } while (start !== undefined);
    }),
  );
  return { applied, stopped, errors };
}

interface ProbeResult {
  /** No change at all is in the open bucket, stale ones included. */
  readonly empty: boolean;
  /** The slave answered the changes it was given (took some, or rejected their items), or they were all stale. */
  readonly answered: boolean;
  /** Changes of the current epoch found (stale ones are not applied). */
  readonly current: number;
  readonly applied: number;
  readonly errors: string[];
}

/**
 * Looks into the open bucket: the first change of every partition. Applies the current ones, which tells whether the
 * slave answers, so that a slave still down keeps its open bucket, and one item per key, however long it is down.
 * They are applied again when their bucket is drained; nothing older of their keys is left to apply after them.
 */
async function probeOpenBucket(slave: SlaveConfig, state: SlaveState, context: DrainContext): Promise<ProbeResult> {
  const { store, deadline } = context;
  const pages = await Promise.all(partitions().map((partition) => store.parkedPage(slave.name, partition, { open: state.bucket }, undefined, 1, deadline)));
  const found = pages.flatMap((page) => page.changes);
  const current = found.filter((change) => change.epoch >= state.epoch);
  const result = await applyChanges(slave, current, context);
  const answered = current.length === 0 || result.applied.length + result.rejected.length > 0;
  return { empty: found.length === 0, answered, current: current.length, applied: result.applied.length, errors: result.errors };
}

/**
 * BatchWriteItem calls in flight for one partition's page. The partitions drain at once, so together they keep about
 * twice the slave's `write_concurrency` in flight: enough to keep it busy, not a flood on a slave just back.
 */
function concurrencyPerPartition(writeConcurrency: number): number {
  return Math.max(1, Math.ceil((writeConcurrency * 2) / PARKED_PARTITIONS));
}

/** What became of parked changes sent to a slave: taken, rejected (the slave refuses their items), or neither. */
interface Applied<C extends ParkedChange> {
  readonly applied: C[];
  readonly rejected: C[];
  readonly errors: string[];
}

/** Writes parked changes to the slave; a change parked as its key is read from the master first. */
async function applyChanges<C extends ParkedChange>(slave: SlaveConfig, changes: readonly C[], context: DrainContext): Promise<Applied<C>> {
  if (changes.length === 0) return { applied: [], rejected: [], errors: [] };
  const { options, deadline } = context;
  const { config } = options;
  const errors: string[] = [];
  const writes = new Map<string, { write: WriteRequest; change: C }>();
  const toRead = changes.filter((change) => change.change.kind === 'read-master');
  if (toRead.length > 0) {
    if (config.masterTable === undefined || config.masterRegion === undefined) {
      errors.push('REPLICATOR_MASTER_TABLE is not set: a change parked as its key needs the master table to be read');
    } else {
      const read = await readCurrentItems(options.clients.forMaster(config.masterRegion), config.masterTable, new Map(toRead.map((change) => [change.keyId, change.key])), {
        concurrency: config.writeConcurrency,
        deadline,
        ...context.retry,
      });
      for (const change of toRead) {
        const item = read.items.get(change.keyId);
        const error = read.failed.get(change.keyId);
        if (error !== undefined || item === undefined) errors.push(error?.message ?? `no answer for a key of master table ${config.masterTable}`);
        else writes.set(change.keyId, { change, write: item === null ? { kind: 'delete', keyId: change.keyId, key: change.key } : { kind: 'put', keyId: change.keyId, key: change.key, item } });
      }
    }
  }
  for (const change of changes) {
    if (change.change.kind === 'put') writes.set(change.keyId, { change, write: { kind: 'put', keyId: change.keyId, key: change.key, item: change.change.item } });
    else if (change.change.kind === 'delete') writes.set(change.keyId, { change, write: { kind: 'delete', keyId: change.keyId, key: change.key } });
  }
  const outcome = await writeToSlave(
    { name: slave.name, tableName: slave.tableName, region: slave.region, client: options.clients.forSlave(slave) },
    [...writes.values()].map(({ write }) => write),
    { concurrency: concurrencyPerPartition(config.writeConcurrency), deadline, ...context.retry },
  );
  const failed = new Map(outcome.failed.map(({ write, error }) => [write.keyId, error]));
  errors.push(...outcome.failed.slice(0, 5).map(({ error }) => error.message));
  const sent = [...writes.values()];
  return {
    applied: sent.filter(({ write }) => !failed.has(write.keyId)).map(({ change }) => change),
    rejected: sent.filter(({ write }) => isRejectedItem(failed.get(write.keyId))).map(({ change }) => change),
    errors,
  };
}
