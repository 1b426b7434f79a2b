import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ClientProvider } from '../clients';
import { copyReadiness, finishSegment } from '../initial-copy';
import { sleep } from '../retry';
import { StateStore } from '../state-store';
import { describeKey, keyIdentity, pickKey } from '../attribute-value';
import { ConfigurationError } from '../errors';
import { Deadline } from '../timing';
import { writeToSlave } from '../slave-writer';
import type { WriteRequest } from '../types';
import { CheckpointStore, type SegmentCheckpoint } from './checkpoint';
import { MasterTableError } from './errors';
import type { BackfillOptions } from './options';
import { formatDuration, Progress, type ProgressOutput } from './progress';
import { TokenBucket } from './rate-limiter';
import { readAhead, scanSegment } from './scan';
import { readTableFacts, type TableFacts } from './table-facts';
import { connectMaster, connectSlaves } from './tables';

/** How long the writer may retry one page before the run stops and reports the keys it could not write. */
export const PAGE_WRITE_TIMEOUT_MS = 10 * 60_000;
/** DynamoDB streams keep a change this long: the mapping must start within it of the copy's start. */
export const STREAM_RETENTION_MS = 24 * 3_600_000;
/** A rate-limited page holds at most this share of a second's items, so a burst stays small. */
const PAGES_PER_SECOND = 5;
/** Capacity units one strongly consistent read of 4 KB costs. */
const READ_UNIT_BYTES = 4096;
const FAILURES_KEPT = 20;

/** A write that failed after the writer's retries. */
export interface BackfillFailure {
  readonly slave: string;
  readonly key: string;
  readonly error: string;
}

/** What a backfill run did. */
export interface BackfillSummary {
  readonly table: string;
  readonly slaves: readonly string[];
  readonly totalSegments: number;
  readonly segments: readonly number[];
  /** Items written to every slave by this run. */
  readonly itemsCopied: number;
  /** Including the items earlier runs copied, from the checkpoints. */
  readonly itemsCopiedInAll: number;
  readonly pages: number;
  readonly segmentsDone: number;
  readonly segmentsResumed: number;
  readonly segmentsAlreadyDone: number;
  readonly retries: Readonly<Record<string, number>>;
  readonly failedWrites: number;
  readonly failures: readonly BackfillFailure[];
  readonly interrupted: boolean;
  readonly durationMs: number;
  readonly itemsPerSecond: number;
  /** The rate limit in items/s, and in read capacity units/s, that applied. */
  readonly rateLimit: { readonly itemsPerSecond: number | null; readonly readUnitsPerSecond: number | null };
  /** When the first run of this copy started (ISO): the mapping must start within 24 hours of it. */
  readonly copyStartedAt: string;
  readonly checkpointDir: string;
  /** The state table the new slaves' copy is recorded in, when there is one. */
  readonly stateTable: string | null;
  /** Slaves marked copied by this run: every segment of their copy is done, and the drain hands them over. */
  readonly markedCopied: readonly string[];
}

export interface BackfillDependencies {
  readonly clients: ClientProvider;
  readonly stderr: ProgressOutput;
  /** Fires on SIGINT: every worker finishes the page it is writing, saves its checkpoint and stops. */
  readonly signal: AbortSignal;
  readonly now?: () => number;
}

/**
 * Copies the master's items to every slave: a parallel, strongly consistent Scan, each page written to all slaves at
 * once through the replicator's own writer, then checkpointed. Run it after the master's stream is enabled and
 * before the event source mapping starts (see docs/backfill.md): the stream then replays, over the copy, every change
 * made since it started, so no slave ends on a stale or resurrected item.
 */
export async function runBackfill(options: BackfillOptions, dependencies: BackfillDependencies): Promise<BackfillSummary> {
  const now = dependencies.now ?? Date.now;
  const started = now();
  const master = connectMaster(options.master, dependencies.clients);
  const slaves = connectSlaves(options.slaves, dependencies.clients);
  const facts = await readTableFacts(master.client, master.tableName, master.label);
  if (options.requireStream && !facts.streamEnabled) {
    throw new MasterTableError(
      `${master.label} has no stream enabled. Enable it (NEW_AND_OLD_IMAGES) before the copy starts, or changes made during the copy are lost; pass --allow-no-stream only for a one-off copy without replication`,
    );
  }
  const limits = rateLimits(options, facts);
  const copyState = options.stateTable === undefined ? undefined : await prepareCopyState(options, options.stateTable, master.client, dependencies, now);
  const markedCopied = new Set<string>();

  const store = new CheckpointStore(options.checkpointDir, {
    table: master.tableName,
    region: master.region,
    totalSegments: options.segments,
    slaves: slaves.map((slave) => `${slave.name}=${slave.region}/${slave.tableName}`),
  });
  await store.open();
  const checkpoints = new Map<number, SegmentCheckpoint | undefined>();
  for (const segment of options.mySegments) checkpoints.set(segment, await store.load(segment));
  const earlier = [...checkpoints.values()].filter((checkpoint) => checkpoint !== undefined);
  const copyStartedAt = Math.min(started, ...earlier.map((checkpoint) => checkpoint.startedAt));
  const alreadyCopied = earlier.reduce((sum, checkpoint) => sum + checkpoint.itemsCopied, 0);

  const progress = new Progress({
    output: dependencies.stderr,
    verb: 'copied',
    expected: Math.round((facts.itemCount * options.mySegments.length) / options.segments),
    alreadyDone: alreadyCopied,
    now,
  });
  if (options.progress) progress.start();

  // Stops every worker after its current page, on SIGINT or on a write that failed for good.
  const stop = new AbortController();
  const onInterrupt = (): void => stop.abort();
  dependencies.signal.addEventListener('abort', onInterrupt, { once: true });
  // An interrupt during the settle wait has fired already: an aborted signal fires no second event.
  if (dependencies.signal.aborted) stop.abort();

  const retries: Record<string, number> = Object.fromEntries(slaves.map((slave) => [slave.name, 0]));
  const failures: BackfillFailure[] = [];
  let failedWrites = 0;
  let itemsCopied = 0;
  let pages = 0;
  let segmentsDone = 0;
  let segmentsResumed = 0;
  let segmentsAlreadyDone = 0;

  const copySegment = async (segment: number): Promise<void> => {
    const checkpoint = checkpoints.get(segment);
    if (checkpoint?.done === true) {
      segmentsAlreadyDone += 1;
      return;
    }
    if (checkpoint?.lastEvaluatedKey != null) segmentsResumed += 1;
    let copied = checkpoint?.itemsCopied ?? 0;
    const pagesOf = readAhead(
      scanSegment({
        client: master.client,
        tableName: master.tableName,
        label: master.label,
        segment,
        totalSegments: options.segments,
        // A strongly consistent read sees every change made before it, and every later change is in the stream.
        consistentRead: true,
        pageSize: limits.pageSize,
        signal: stop.signal,
        ...(checkpoint?.lastEvaluatedKey == null ? {} : { exclusiveStartKey: checkpoint.lastEvaluatedKey }),
      }),
    );
    for await (const page of pagesOf) {
      await limits.items?.take(page.items.length);
      await limits.readUnits?.take(page.consumedCapacity);
      const writes: WriteRequest[] = page.items.map((item) => {
        const key = pickKey(item, facts.keyNames);
        return { kind: 'put', keyId: keyIdentity(key, facts.keyNames), key, item };
      });
      const deadline = new Deadline(now() + PAGE_WRITE_TIMEOUT_MS);
      const outcomes = await Promise.all(
        slaves.map((slave) => writeToSlave(slave, writes, { concurrency: options.writeConcurrency, deadline })),
      ).finally(() => deadline.release());
      let pageFailed = false;
      for (const outcome of outcomes) {
        retries[outcome.slave] = (retries[outcome.slave] ?? 0) + outcome.retries;
        for (const { write, error } of outcome.failed) {
          pageFailed = true;
          failedWrites += 1;
          if (failures.length < FAILURES_KEPT) failures.push({ slave: outcome.slave, key: describeKey(write.key), error: error.message });
        }
      }
      if (pageFailed) {
        // The checkpoint stays before this page: a rerun writes it again once the cause is fixed.
        stop.abort();
        return;
      }
      copied += page.items.length;
      itemsCopied += page.items.length;
      pages += 1;
      progress.add(page.items.length);
      const done = page.lastEvaluatedKey === undefined;
      await store.save({ segment, lastEvaluatedKey: page.lastEvaluatedKey ?? null, done, itemsCopied: copied, startedAt: copyStartedAt });
      if (done) {
        segmentsDone += 1;
        if (copyState !== undefined) {
          for (const slave of options.slaves) {
            const deadline = new Deadline(now() + PAGE_WRITE_TIMEOUT_MS);
            try {
              if (await finishSegment(copyState, slave.name, segment, options.segments, copied, copyStartedAt, deadline)) markedCopied.add(slave.name);
            } finally {
              deadline.release();
            }
          }
        }
      }
    }
  };

  const queue = [...options.mySegments];
  const worker = async (): Promise<void> => {
    for (let segment = queue.shift(); segment !== undefined && !stop.signal.aborted; segment = queue.shift()) {
      await copySegment(segment);
    }
  };
  try {
    await Promise.all(Array.from({ length: options.workers }, worker));
  } finally {
    stop.abort();
    dependencies.signal.removeEventListener('abort', onInterrupt);
    progress.stop();
  }

  const durationMs = now() - started;
  return {
    table: master.tableName,
    slaves: slaves.map((slave) => slave.name),
    totalSegments: options.segments,
    segments: options.mySegments,
    itemsCopied,
    itemsCopiedInAll: alreadyCopied + itemsCopied,
    pages,
    segmentsDone,
    segmentsResumed,
    segmentsAlreadyDone,
    retries,
    failedWrites,
    failures,
    interrupted: dependencies.signal.aborted,
    durationMs,
    itemsPerSecond: durationMs > 0 ? Math.round((itemsCopied * 1000) / durationMs) : 0,
    rateLimit: { itemsPerSecond: limits.items?.ratePerSecond ?? null, readUnitsPerSecond: limits.readUnits?.ratePerSecond ?? null },
    copyStartedAt: new Date(copyStartedAt).toISOString(),
    checkpointDir: options.checkpointDir,
    stateTable: options.stateTable ?? null,
    markedCopied: [...markedCopied],
  };
}

/**
 * With a state table, a backfill is a new slave's initial copy: every slave must be marked `initial_copy` and parked
 * (see `copyReadiness`), and the copy waits until each has been parked for the settle time, so that every change the
 * copy cannot see is parked for the drain to apply after it.
 */
async function prepareCopyState(options: BackfillOptions, stateTable: string, client: DynamoDBClient, dependencies: BackfillDependencies, now: () => number): Promise<StateStore> {
  const store = new StateStore(client, stateTable, { concurrency: options.writeConcurrency, now });
  for (;;) {
    const deadline = new Deadline(now() + PAGE_WRITE_TIMEOUT_MS);
    let waitMs = 0;
    try {
      for (const slave of options.slaves) {
        const readiness = await copyReadiness(store, slave, options.settleMs, now(), deadline);
        if (readiness.state.copy === 'done') {
          throw new ConfigurationError(`slave "${slave.name}"`, `was copied and handed over already (state table ${stateTable}): it is live; use verify --repair to repair it`);
        }
        if (!readiness.ready) waitMs = Math.max(waitMs, readiness.waitMs);
      }
    } finally {
      deadline.release();
    }
    if (waitMs === 0 || dependencies.signal.aborted) return store;
    dependencies.stderr.write(`waiting ${formatDuration(waitMs)} before reading the master: invocations of the replicator that started before the new slave was parked may still be running (--settle-seconds)\n`);
    await sleep(waitMs, dependencies.signal);
  }
}

interface RateLimits {
  readonly items: TokenBucket | undefined;
  readonly readUnits: TokenBucket | undefined;
  readonly pageSize: number;
}

/**
 * The buckets every worker shares, and a page size small enough that one page is a fifth of a second's allowance:
 * the limit then holds over any few seconds, not only on average.
 */
export function rateLimits(options: Pick<BackfillOptions, 'rate' | 'capacityShare' | 'pageSize'>, facts: TableFacts): RateLimits {
  let readUnitsPerSecond: number | undefined;
  if (options.capacityShare !== undefined) {
    if (facts.readCapacityUnits === null) {
      throw new ConfigurationError(
        '--capacity-share',
        `master table ${facts.tableName} is on-demand (no provisioned read capacity to take a share of): limit the copy with --rate <items per second> instead`,
      );
    }
    readUnitsPerSecond = facts.readCapacityUnits * options.capacityShare;
  }
  // Items a second the read-unit limit allows, from the table's average item size (1 KB when the table reports none).
  const averageItemBytes = facts.itemCount > 0 && facts.sizeBytes > 0 ? facts.sizeBytes / facts.itemCount : 1024;
  const itemsFromUnits = readUnitsPerSecond === undefined ? undefined : (readUnitsPerSecond * READ_UNIT_BYTES) / averageItemBytes;
  const limiting = Math.min(options.rate ?? Infinity, itemsFromUnits ?? Infinity);
  const pageSize = Number.isFinite(limiting) ? Math.max(1, Math.min(options.pageSize, Math.floor(limiting / PAGES_PER_SECOND))) : options.pageSize;
  return {
    items: options.rate === undefined ? undefined : new TokenBucket(options.rate, Math.max(1, options.rate / PAGES_PER_SECOND)),
    readUnits: readUnitsPerSecond === undefined ? undefined : new TokenBucket(readUnitsPerSecond, Math.max(1, readUnitsPerSecond / PAGES_PER_SECOND)),
    pageSize,
  };
}
