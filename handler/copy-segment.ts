import { keyIdentity, pickKey } from './attribute-value';
import { TokenBucket } from './cli/rate-limiter';
import { readAhead, scanSegment } from './cli/scan';
import { readTableFacts } from './cli/table-facts';
import type { ClientProvider } from './clients';
import { ConfigurationError, InvalidEventError, OutOfTimeError, ReplicatorError, StateTableError } from './errors';
import { copyReadiness, DEFAULT_SETTLE_MS, finishSegment } from './initial-copy';
import { sleep } from './retry';
import { writeToSlave } from './slave-writer';
import { StateStore } from './state-store';
import type { Telemetry } from './telemetry';
import { Deadline } from './timing';
import type { AttributeMap, ReplicatorConfig, WriteRequest } from './types';

/** What the copy state machine passes to each iteration. */
export interface CopySegmentEvent {
  readonly slave: string;
  readonly segment: number;
  readonly totalSegments: number;
  /** This segment's read limit in items per second. */
  readonly itemsPerSecond?: number;
  /** This segment's share of the master's provisioned read capacity, in (0, 1]. */
  readonly capacityShare?: number;
  /** How long the slave must have been parked before the copy reads; default 900 s (see `DEFAULT_SETTLE_MS`). */
  readonly settleSeconds?: number;
}

/** What one iteration did; the state machine invokes the segment again until `done`. */
export interface CopySegmentResult {
  readonly slave: string;
  readonly segment: number;
  readonly totalSegments: number;
  readonly done: boolean;
  /** Items this invocation copied. */
  readonly items: number;
  /** Every segment is done and the slave is marked copied: the drain hands it over. */
  readonly copied: boolean;
}

/** A copy write that failed for good: the state machine's execution fails, naming the slave and key. */
export class CopyWriteError extends ReplicatorError {
  public override readonly name = 'CopyWriteError';
}

export interface CopySegmentDependencies {
  readonly config: ReplicatorConfig;
  readonly clients: ClientProvider;
  readonly telemetry: Telemetry;
  readonly now?: () => number;
}

/** Time kept to save the checkpoint after the last page. */
const CHECKPOINT_RESERVE_MS = 1_000;
/** Items per Scan page. */
const PAGE_SIZE = 1_000;

/**
 * Copies one parallel-scan segment of the master into a new slave, from its checkpoint in the state table, until the
 * segment ends or the invocation's time does; then saves the checkpoint. The last segment to finish marks the slave
 * copied. A strongly consistent Scan sees every change made before it; every change made since the slave was parked
 * is parked too, and the drain applies those after the copy, so no item ends older than the master's.
 */
export async function copySegment(event: unknown, dependencies: CopySegmentDependencies, remainingMs: number): Promise<CopySegmentResult> {
  const input = parseEvent(event);
  const { config, clients } = dependencies;
  const now = dependencies.now ?? Date.now;
  const slave = config.slaves.find((candidate) => candidate.name === input.slave);
  if (slave === undefined) throw new InvalidEventError(`slave: "${input.slave}" is not in REPLICATOR_SLAVES (${config.slaves.map((candidate) => candidate.name).join(', ')})`);
  if (config.stateTable === undefined) throw new ConfigurationError('REPLICATOR_STATE_TABLE', 'is not set: the copy keeps its checkpoints in the state table');
  if (config.masterTable === undefined) throw new ConfigurationError('REPLICATOR_MASTER_TABLE', 'is not set: the copy reads the master table it names');
  if (config.masterRegion === undefined) throw new ConfigurationError('AWS_REGION', "is not set: the copy runs in the master's region");
  const masterClient = clients.forMaster(config.masterRegion);
  const store = new StateStore(masterClient, config.stateTable, { concurrency: config.writeConcurrency, now });
  // Pages stop early enough that the checkpoint of the last one written can still be saved.
  const deadline = Deadline.forInvocation(remainingMs, config.deadlineMarginMs + CHECKPOINT_RESERVE_MS, now);
  const saving = Deadline.forInvocation(remainingMs, config.deadlineMarginMs, now);
  const result = (done: boolean, items: number, copied: boolean): CopySegmentResult => ({ slave: slave.name, segment: input.segment, totalSegments: input.totalSegments, done, items, copied });
  try {
    const readiness = await copyReadiness(store, slave, (input.settleSeconds ?? DEFAULT_SETTLE_MS / 1000) * 1000, now(), deadline);
    if (readiness.state.copy === 'done') return result(true, 0, true);
    if (!readiness.ready) {
      // Waiting here rather than returning at once keeps the state machine from looping on a slave not yet settled.
      const waitMs = Math.min(readiness.waitMs, deadline.remainingMs());
      await sleep(waitMs, deadline.stopStarting);
      if (waitMs < readiness.waitMs) return result(false, 0, false);
    }
    const checkpoint = await store.readCopyCheckpoint(slave.name, input.segment, deadline);
    if (checkpoint?.done === true) return result(true, 0, await finishSegment(store, slave.name, input.segment, input.totalSegments, checkpoint.items, checkpoint.startedAt, deadline));
    const facts = await readTableFacts(masterClient, config.masterTable, `master table ${config.masterTable} in ${config.masterRegion}`);
    const itemLimit = itemsPerSecondOf(input, facts.readCapacityUnits, facts.itemCount, facts.sizeBytes);
    const bucket = itemLimit === undefined ? undefined : new TokenBucket(itemLimit, Math.max(1, itemLimit / 5));
    const startedAt = checkpoint?.startedAt ?? now();
    let items = checkpoint?.items ?? 0;
    let copiedNow = 0;
    let startKey: AttributeMap | undefined = checkpoint?.startKey;
    const stop = new AbortController();
    const onStop = (): void => stop.abort();
    deadline.stopStarting.addEventListener('abort', onStop, { once: true });
    const target = { name: slave.name, tableName: slave.tableName, region: slave.region, client: clients.forSlave(slave) };
    try {
      const pages = readAhead(
        scanSegment({
          client: masterClient,
          tableName: config.masterTable,
          label: `master table ${config.masterTable}`,
          segment: input.segment,
          totalSegments: input.totalSegments,
          consistentRead: true,
          pageSize: itemLimit === undefined ? PAGE_SIZE : Math.max(1, Math.min(PAGE_SIZE, Math.floor(itemLimit / 5))),
          signal: stop.signal,
          ...(startKey === undefined ? {} : { exclusiveStartKey: startKey }),
        }),
      );
      for await (const page of pages) {
        await bucket?.take(page.items.length);
        const writes: WriteRequest[] = page.items.map((item) => {
          const key = pickKey(item, facts.keyNames);
          return { kind: 'put', keyId: keyIdentity(key, facts.keyNames), key, item };
        });
        const outcome = await writeToSlave(target, writes, { concurrency: config.writeConcurrency, deadline });
        const failed = outcome.failed[0];
        if (failed !== undefined) {
          if (failed.error instanceof Error && 'retryable' in failed.error && failed.error.retryable === true) break;
          throw new CopyWriteError(`copy of segment ${input.segment} into ${failed.error.message}`);
        }
        items += page.items.length;
        copiedNow += page.items.length;
        startKey = page.lastEvaluatedKey;
        if (startKey === undefined) {
          const copied = await finishSegment(store, slave.name, input.segment, input.totalSegments, items, startedAt, saving);
          dependencies.telemetry.log({ level: 'info', message: 'copy segment done', slave: slave.name, segment: input.segment, totalSegments: input.totalSegments, items, copied });
          return result(true, copiedNow, copied);
        }
        await store.saveCopyCheckpoint(slave.name, { segment: input.segment, totalSegments: input.totalSegments, done: false, items, startedAt, startKey }, saving);
      }
    } finally {
      deadline.stopStarting.removeEventListener('abort', onStop);
    }
    dependencies.telemetry.log({ level: 'info', message: 'copy segment continues in the next iteration', slave: slave.name, segment: input.segment, totalSegments: input.totalSegments, items });
    return result(false, copiedNow, false);
  } catch (error) {
    // Out of time while saving: the next iteration copies again from the last checkpoint saved, which is harmless.
    if (error instanceof StateTableError && error.cause instanceof OutOfTimeError) {
      dependencies.telemetry.log({ level: 'warn', message: 'copy segment ran out of time saving its checkpoint; the next iteration resumes from the previous one', slave: slave.name, segment: input.segment, error: error.message });
      return result(false, 0, false);
    }
    throw error;
  } finally {
    deadline.release();
    saving.release();
  }
}

function itemsPerSecondOf(input: CopySegmentEvent, readCapacityUnits: number | null, itemCount: number, sizeBytes: number): number | undefined {
  const limits: number[] = [];
  if (input.itemsPerSecond !== undefined) limits.push(input.itemsPerSecond);
  if (input.capacityShare !== undefined) {
    if (readCapacityUnits === null) throw new InvalidEventError('capacityShare: the master is on-demand, with no provisioned read capacity to take a share of: pass itemsPerSecond instead');
    const averageItemBytes = itemCount > 0 && sizeBytes > 0 ? sizeBytes / itemCount : 1024;
    limits.push((readCapacityUnits * input.capacityShare * 4096) / averageItemBytes);
  }
  return limits.length === 0 ? undefined : Math.max(1, Math.min(...limits));
}

function parseEvent(event: unknown): CopySegmentEvent {
  const fields = typeof event === 'object' && event !== null && !Array.isArray(event) ? (event as Record<string, unknown>) : undefined;
  if (fields === undefined) throw new InvalidEventError('the event is not a copy segment: expected {"slave":"<name>","segment":0,"totalSegments":16}');
  const slave = fields.slave;
  if (typeof slave !== 'string' || slave === '') throw new InvalidEventError(`slave: must name a slave of REPLICATOR_SLAVES, not ${JSON.stringify(slave)}`);
  const totalSegments = integerField(fields, 'totalSegments', 1, 1_000_000);
  const segment = integerField(fields, 'segment', 0, totalSegments - 1);
  const positive = (name: string, max: number): number | undefined => {
    const value = fields[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !(value > 0) || value > max) throw new InvalidEventError(`${name}: must be a number in (0, ${max}], not ${JSON.stringify(value)}`);
    return value;
  };
  const itemsPerSecond = positive('itemsPerSecond', 1_000_000);
  const capacityShare = positive('capacityShare', 1);
  const settleSeconds = fields.settleSeconds === 0 ? 0 : positive('settleSeconds', 86_400);
  return {
    slave,
    segment,
    totalSegments,
    ...(itemsPerSecond === undefined ? {} : { itemsPerSecond }),
    ...(capacityShare === undefined ? {} : { capacityShare }),
    ...(settleSeconds === undefined ? {} : { settleSeconds }),
  };
}

function integerField(fields: Record<string, unknown>, name: string, min: number, max: number): number {
  const value = fields[name];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidEventError(`${name}: must be a whole number from ${min} to ${max}, not ${JSON.stringify(value)}`);
  }
  return value;
}
