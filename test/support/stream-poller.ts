/**
 * A local stand-in for the Lambda event source mapping of a DynamoDB stream.
 *
 * DynamoDB Local has streams but never invokes a function, so this reads the stream the
 * way the mapping does and calls the handler with the event Lambda would build:
 * - shards are listed with DescribeStream (all pages) and re-listed every second;
 *   a child shard is read only once its parent has been read to its end and every record
 *   of the parent is acknowledged or given up;
 * - each shard is polled four times a second, in batches of at most `batchSize` records,
 *   optionally gathered for up to `batchingWindowMs`;
 * - with ReportBatchItemFailures semantics: after a short backoff the batch is delivered
 *   again from the lowest reported sequence number (topped up to `batchSize` with the
 *   records behind it); an identifier that is not in the batch, a malformed response, a
 *   thrown error or a timeout retry the whole batch;
 * - `parallelizationFactor` (ParallelizationFactor) batches of one shard may be in flight
 *   at once. AWS documents only that records of one item stay in order; here each record
 *   goes to one of that many lanes by a hash of its `dynamodb.Keys`, and a lane has at
 *   most one batch in flight, so a batch never starts while another one in flight holds
 *   one of its keys, and each key's changes reach the handler in stream order. With the
 *   default of 1 there is one lane: one invocation at a time per shard, in stream order;
 * - the checkpoint (what a restarted mapping would resume after, see `checkpoints`)
 *   advances only over a contiguous run of records that are acknowledged or given up;
 * - `bisectBatchOnFunctionError` (BisectBatchOnFunctionError): a batch whose invocation
 *   throws or times out is split in two halves, delivered one after the other. AWS:
 *   "Splitting batches doesn't consume the retry quota", so a split is not a retry.
 *   A partial batch response or a malformed answer is not split;
 * - `maximumRetryAttempts` / `maximumRecordAgeMs` (MaximumRetryAttempts /
 *   MaximumRecordAgeInSeconds): a batch that fails once more after that many retries, or
 *   whose first record is older than that when the batch is about to be delivered (first
 *   time or again), is given up as Lambda discards it: its records count as done, the
 *   checkpoint moves past them and `onFailure` receives the invocation record Lambda writes
 *   to an S3 on-failure destination ({@link OnFailureInvocationRecord}). With a partial
 *   batch response, what is given up runs from the lowest reported record to the batch end;
 * - a record's age is the time since this poller first read it. DynamoDB Local rounds
 *   ApproximateCreationDateTime down to the minute, so an age taken from it would be up to
 *   60 s off and no test of the age limit could be deterministic. `recordAgeMs` replaces
 *   the measure (e.g. a fake clock, or the creation time on a real stream);
 * - with a `controlPlane` (see `lambda-control-plane.ts`) the mapping is registered there
 *   and the function may disable it through the Lambda API. While it is disabled no shard
 *   is read and no batch starts; invocations in flight finish and their outcome counts;
 *   checkpoints and records already read are kept. Once it is enabled again, delivery
 *   resumes where it stopped.
 */
import { randomUUID } from 'node:crypto';
import {
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type DynamoDBStreamsClient,
  type Shard,
  type ShardIteratorType,
  type _Record as SdkStreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import type { LambdaControlPlane } from './lambda-control-plane';
import { toLambdaEvent, toLambdaImage, toLambdaRecord } from './lambda-event';

/** What the function may answer: `void` included, as in `@types/aws-lambda`'s handler type. */
// eslint-disable-next-line @typescript-eslint/no-invalid-void-type -- an async handler that returns nothing is typed Promise<void>
export type StreamHandlerResult = DynamoDBBatchResponse | void | undefined;

/** The function under test, as the mapping calls it; a synchronous answer is accepted too. */
export type StreamHandler = (
  event: DynamoDBStreamEvent,
  context: Context,
) => Promise<StreamHandlerResult> | StreamHandlerResult;

/** Where reading starts in shards that exist when the poller starts. */
export const StartingPosition = { TRIM_HORIZON: 'TRIM_HORIZON', LATEST: 'LATEST' } as const;
/** One of {@link StartingPosition}. */
export type StartingPosition = (typeof StartingPosition)[keyof typeof StartingPosition];

/** What happened to one invocation. */
export const BatchOutcome = {
  /** Every record acknowledged. */
  SUCCESS: 'success',
  /** The handler reported failures; the batch is delivered again from the lowest one. */
  PARTIAL_FAILURE: 'partial-failure',
  /** The handler threw, timed out, or answered with something unusable; the whole batch is retried. */
  ERROR: 'error',
} as const;
/** One of {@link BatchOutcome}. */
export type BatchOutcome = (typeof BatchOutcome)[keyof typeof BatchOutcome];

/** Why a batch was given up, in the words of Lambda's on-failure record. */
export const FailureCondition = {
  RETRY_ATTEMPTS_EXHAUSTED: 'RetryAttemptsExhausted',
  RECORD_AGE_EXCEEDED: 'RecordAgeExceeded',
} as const;
/** One of {@link FailureCondition}. */
export type FailureCondition = (typeof FailureCondition)[keyof typeof FailureCondition];

/**
 * What Lambda writes to an S3 on-failure destination for a batch it gave up.
 *
 * The metadata follows AWS's documented example of a DynamoDB stream on-failure record
 * (requestContext, responseContext, version, timestamp, DDBStreamBatchInfo). For S3, AWS
 * documents that "the entire invocation record" is sent too; `payload` holding the event as
 * a JSON string is how comparable parsers read it, not checked against an AWS example.
 */
export interface OnFailureInvocationRecord {
  readonly version: '1.0';
  /** ISO 8601, when the batch was given up. */
  readonly timestamp: string;
  readonly requestContext: {
    /** The last invocation's request id; a fresh id when the batch was never invoked. */
    readonly requestId: string;
    readonly functionArn: string;
    readonly condition: FailureCondition;
    /** Invocations of this batch, counted from the first one that started at its first record. */
    readonly approximateInvokeCount: number;
  };
  /** The last invocation's answer; left out when the batch was never invoked (unconfirmed against AWS). */
  readonly responseContext?: {
    readonly statusCode: 200;
    readonly executedVersion: '$LATEST';
    /** "Unhandled" when the last invocation threw or timed out; absent when it answered with failures. */
    readonly functionError?: 'Unhandled';
  };
  readonly DDBStreamBatchInfo: {
    readonly shardId: string;
    readonly startSequenceNumber: string;
    readonly endSequenceNumber: string;
    /** ISO 8601 to the second, from the records' ApproximateCreationDateTime. */
    readonly approximateArrivalOfFirstRecord: string;
    readonly approximateArrivalOfLastRecord: string;
    readonly batchSize: number;
    readonly streamArn: string;
  };
  /** The invocation event of the given-up records (as the handler got it), as a JSON string. */
  readonly payload: string;
}

/** One invocation, reported to {@link StreamPollerOptions.onBatch} once it has settled. */
export interface BatchReport {
  readonly shardId: string;
  readonly event: DynamoDBStreamEvent;
  readonly records: number;
  readonly firstSequenceNumber: string;
  readonly lastSequenceNumber: string;
  /** 0 on first delivery; n on the n-th re-delivery starting at the same sequence number. */
  readonly attempt: number;
  /** Epoch milliseconds at which the handler was called. */
  readonly startedAt: number;
  readonly durationMs: number;
  readonly outcome: BatchOutcome;
  /** Records acknowledged by this invocation (those before the first failure). */
  readonly acknowledged: number;
  /** Where the batch is delivered again from, when not everything was acknowledged and it was not given up. */
  readonly redeliverFrom?: string;
  /** The failure split the batch in two ({@link StreamPollerOptions.bisectBatchOnFunctionError}). */
  readonly bisected: boolean;
  /** The failure made the poller give up the unacknowledged rest of the batch. */
  readonly givenUp?: FailureCondition;
  /** What the handler threw or why its answer was rejected. */
  readonly error?: unknown;
}

/** Running totals, read with {@link StreamPoller.stats}. */
export interface StreamPollerStats {
  /** Records handed to the handler, re-deliveries included. */
  recordsDelivered: number;
  /** Records acknowledged: each stream record counts once. */
  recordsAcknowledged: number;
  batches: number;
  /** Invocations that did not acknowledge their whole batch. */
  retries: number;
  partialFailures: number;
  handlerErrors: number;
  /** Batches given up (retries exhausted or too old), and the records in them; those are not acknowledged. */
  batchesGivenUp: number;
  recordsGivenUp: number;
  /** Failed batches split in two. */
  bisections: number;
  expiredIterators: number;
  /** GetRecords / GetShardIterator / DescribeStream calls that failed for another reason. */
  readErrors: number;
  shards: number;
  shardsCompleted: number;
}

/** Options of {@link StreamPoller}. */
export interface StreamPollerOptions {
  readonly streams: DynamoDBStreamsClient;
  /** The master table's stream ARN; also the event's `eventSourceARN`. */
  readonly streamArn: string;
  readonly handler: StreamHandler;
  /** Default TRIM_HORIZON. With LATEST, shards that appear later are still read from their start, as Lambda does. */
  readonly startingPosition?: StartingPosition;
  /** 1-10,000, default 100. */
  readonly batchSize?: number;
  /** MaximumBatchingWindowInSeconds, in milliseconds; default 0. */
  readonly batchingWindowMs?: number;
  /** ParallelizationFactor: batches of one shard in flight at once, 1-10, default 1. */
  readonly parallelizationFactor?: number;
  /** MaximumRetryAttempts: -1 (default, until the record expires) or 0-10,000 retries before a failing batch is given up. */
  readonly maximumRetryAttempts?: number;
  /**
   * MaximumRecordAgeInSeconds, in milliseconds: -1 (default) never gives a batch up for its
   * age; otherwise a batch whose first record is older is given up instead of delivered.
   * Lambda allows 60-604,800 s; any non-negative value is accepted here so tests stay short.
   */
  readonly maximumRecordAgeMs?: number;
  /**
   * A record's age in milliseconds, given the record as the handler gets it and the epoch
   * milliseconds at which this poller first read it. Default: the time since that read.
   */
  readonly recordAgeMs?: (record: DynamoDBRecord, firstReadAt: number) => number;
  /** BisectBatchOnFunctionError; default false. */
  readonly bisectBatchOnFunctionError?: boolean;
  /** Default 250 (four polls a second). */
  readonly pollIntervalMs?: number;
  /** How often the shard list is refreshed; default 1,000. */
  readonly shardDiscoveryIntervalMs?: number;
  /** The function timeout behind `context.getRemainingTimeInMillis()`; default 60,000. */
  readonly timeoutMs?: number;
  /** First backoff before a re-delivery, doubled on each further failure; default 100. */
  readonly retryBackoffMs?: number;
  /** Cap of the re-delivery backoff; default 2,000. */
  readonly maxRetryBackoffMs?: number;
  /** Shown in the context; default "dynamo-replicator". */
  readonly functionName?: string;
  /**
   * The master's region: the records' `awsRegion` (DynamoDB Local's own is "ddblocal") and
   * the region in the context's function ARN. By default the records keep the engine's
   * value and the ARN says "us-east-1".
   */
  readonly region?: string;
  /**
   * Registers this poller's mapping there (see {@link StreamPoller.eventSourceMappingUuid});
   * the poller stops reading and invoking while the mapping is disabled.
   */
  readonly controlPlane?: LambdaControlPlane;
  /** Called after every invocation. */
  readonly onBatch?: (report: BatchReport) => void;
  /** The on-failure destination: called once for every batch given up, before the checkpoint moves past it. */
  readonly onFailure?: (record: OnFailureInvocationRecord) => void;
  /** Called when reading the stream fails (the poller backs off and carries on). */
  readonly onReadError?: (error: unknown, shardId: string | undefined) => void;
}

/** Options of {@link StreamPoller.waitUntilCaughtUp}. */
export interface WaitUntilCaughtUpOptions {
  /**
   * Gives up after this long without progress: no record read or delivered for the first
   * time, acknowledged or given up, no checkpoint moved, no shard found or completed.
   * Re-deliveries are not progress, so a batch that fails forever is reported. Default
   * 60,000, or the function timeout plus the longest re-delivery backoff when that is
   * longer: one invocation may run that long without any progress.
   */
  readonly idleTimeoutMs?: number;
}

/** Raised by {@link StreamPoller.waitUntilCaughtUp} when progress stops. */
export class NotCaughtUpError extends Error {
  override readonly name = 'NotCaughtUpError';
}

const SHARD_WAITING = 'waiting';
const SHARD_READING = 'reading';
const SHARD_DONE = 'done';
type ShardState = typeof SHARD_WAITING | typeof SHARD_READING | typeof SHARD_DONE;

/** One record read and not yet behind the checkpoint. */
interface WindowEntry {
  readonly record: SdkStreamRecord;
  readonly sequenceNumber: string;
  /** Epoch milliseconds of the read that first brought it. */
  readonly readAt: number;
  delivered: boolean;
  /** Acknowledged or given up. */
  done: boolean;
}

/** The failures of batches that start at the same record. */
interface RetryState {
  readonly from: string;
  /** Invocations so far of batches starting at `from` (the one that reported `from` first included). */
  invocations: number;
  /** Retries used against maximumRetryAttempts; bisection uses none. */
  retries: number;
  /** The last failed invocation. */
  requestId: string;
  functionError: boolean;
}

/** Records of some keys of one shard, delivered one batch at a time, in stream order. */
interface Lane {
  /** Unfinished records, in stream order; the first `inFlight` of them are with the handler. */
  readonly queue: WindowEntry[];
  inFlight: number;
  retry: RetryState | undefined;
  /** Sizes of the next batches, left by bisection. */
  readonly plan: number[];
  backoffMs: number;
  /** Epoch milliseconds before which no batch starts (re-delivery backoff). */
  notBefore: number;
}

interface ShardReader {
  readonly shard: Shard;
  readonly shardId: string;
  state: ShardState;
  /** Position used while nothing has been read. */
  start: ShardIteratorType;
  /** Sequence number of the last record of the contiguous done prefix. */
  checkpoint: string | undefined;
  /** Where reading resumes after an iterator is lost. */
  resumeAfter: string | undefined;
  /** Highest sequence number read; records at or below it are not taken twice. */
  lastRead: string | undefined;
  /** Records read and not yet behind the checkpoint, in stream order. */
  readonly window: WindowEntry[];
  readonly lanes: readonly Lane[];
  /** The shard is closed and read to its end (or gone). */
  endReached: boolean;
  /** Start time of the last read that found nothing left to deliver; unset while work is pending. */
  idleSince: number | undefined;
  loop: Promise<void> | undefined;
  readonly invocations: Set<Promise<void>>;
  /** Ends the shard loop's current wait, when it is waiting. */
  wake: (() => void) | undefined;
}

/** GetRecords returns at most 1,000 records per call. */
const GET_RECORDS_LIMIT = 1_000;
/** Lambda's synchronous invocation payload limit. */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
/** `{"Records":[` and `]}` plus commas are small next to the limit: a margin covers them. */
const PAYLOAD_MARGIN_BYTES = 16 * 1024;

/**
 * The longest prefix of `entries` whose event fits in one invocation (at least one record),
 * as the mapping shrinks a batch that would exceed 6 MB.
 */
function fitPayload(entries: readonly WindowEntry[], streamArn: string, awsRegion: string | undefined): WindowEntry[] {
  let bytes = PAYLOAD_MARGIN_BYTES;
  let count = 0;
  for (const entry of entries) {
    bytes += Buffer.byteLength(JSON.stringify(toLambdaRecord(entry.record, streamArn, awsRegion))) + 1;
    if (count > 0 && bytes > MAX_PAYLOAD_BYTES) break;
    count += 1;
  }
  return entries.slice(0, count);
}

/** The lane of a record: FNV-1a of its keys with attribute names sorted, so every change of an item lands in one lane. */
function laneOf(record: SdkStreamRecord, lanes: number): number {
  return laneOfKeys(toLambdaImage(record.dynamodb?.Keys ?? {}), lanes);
}

/** The lane of an item's keys (in the Lambda event's form), as the poller and the benchmark's emulation share it. */
export function laneOfKeys(keys: Readonly<Record<string, unknown>>, lanes: number): number {
  if (lanes === 1) return 0;
  const canonical = JSON.stringify(Object.entries(keys).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  let hash = 0x811c9dc5;
  for (let i = 0; i < canonical.length; i += 1) {
    hash ^= canonical.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % lanes;
}

/** Sequence numbers compared as integers; only meaningful within one shard. */
function sequenceAfter(a: string, b: string): boolean {
  return BigInt(a) > BigInt(b);
}

/** Epoch seconds as Lambda prints them in DDBStreamBatchInfo: ISO 8601 without milliseconds. */
function isoSeconds(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Takes `count` records off the front of a bisection plan. */
function planTake(lane: Lane, count: number): void {
  const front = lane.plan[0];
  if (front === undefined || count === 0) return;
  if (front > count) lane.plan[0] = front - count;
  else lane.plan.shift();
}

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

function integerIn(name: string, value: number, min: number, max: number, text: string): number {
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`${name} must be ${text}, got ${value}`);
  return value;
}

type ResolvedOptions = Required<Omit<StreamPollerOptions, 'onBatch' | 'onReadError' | 'onFailure' | 'region' | 'recordAgeMs' | 'controlPlane'>> &
  Pick<StreamPollerOptions, 'onBatch' | 'onReadError' | 'onFailure' | 'region' | 'recordAgeMs' | 'controlPlane'>;

/** See the module comment. Create, `start()`, write to the master, `waitUntilCaughtUp()`, `stop()`. */
export class StreamPoller {
  readonly #options: ResolvedOptions;
  readonly #readers = new Map<string, ShardReader>();
  readonly #stats: StreamPollerStats = {
    recordsDelivered: 0,
    recordsAcknowledged: 0,
    batches: 0,
    retries: 0,
    partialFailures: 0,
    handlerErrors: 0,
    batchesGivenUp: 0,
    recordsGivenUp: 0,
    bisections: 0,
    expiredIterators: 0,
    readErrors: 0,
    shards: 0,
    shardsCompleted: 0,
  };
  readonly #stopController = new AbortController();
  readonly #mappingUuid: string | undefined;
  #unsubscribe: (() => void) | undefined;
  #lastDiscoveryStartedAt = 0;
  #discoveryLoop: Promise<void> | undefined;
  /** Bumped on every kind of progress {@link waitUntilCaughtUp} waits for. */
  #progress = 0;
  #inFlight = 0;
  /** What an `onBatch` or `onFailure` callback (or the poller itself) threw; `waitUntilCaughtUp` rethrows it. */
  #callbackError: { error: unknown } | undefined;

  constructor(options: StreamPollerOptions) {
    const batchSize = integerIn('batchSize', options.batchSize ?? 100, 1, 10_000, 'an integer in 1-10,000');
    const parallelizationFactor = integerIn('parallelizationFactor', options.parallelizationFactor ?? 1, 1, 10, 'an integer in 1-10');
    const maximumRetryAttempts = integerIn('maximumRetryAttempts', options.maximumRetryAttempts ?? -1, -1, 10_000, '-1 or an integer in 0-10,000');
    const maximumRecordAgeMs = options.maximumRecordAgeMs ?? -1;
    if (!(maximumRecordAgeMs === -1 || maximumRecordAgeMs >= 0)) {
      throw new RangeError(`maximumRecordAgeMs must be -1 or a non-negative number, got ${maximumRecordAgeMs}`);
    }
    this.#options = {
      startingPosition: StartingPosition.TRIM_HORIZON,
      batchingWindowMs: 0,
      bisectBatchOnFunctionError: false,
      pollIntervalMs: 250,
      shardDiscoveryIntervalMs: 1_000,
      timeoutMs: 60_000,
      retryBackoffMs: 100,
      maxRetryBackoffMs: 2_000,
      functionName: 'dynamo-replicator',
      ...options,
      batchSize,
      parallelizationFactor,
      maximumRetryAttempts,
      maximumRecordAgeMs,
    };
    this.#mappingUuid = this.#options.controlPlane?.createEventSourceMapping({
      functionName: this.#options.functionName,
      region: this.#region(),
      eventSourceArn: this.#options.streamArn,
      startingPosition: this.#options.startingPosition,
      batchSize,
      maximumBatchingWindowInSeconds: Math.ceil(this.#options.batchingWindowMs / 1000),
      parallelizationFactor,
      maximumRetryAttempts,
      maximumRecordAgeInSeconds: maximumRecordAgeMs < 0 ? -1 : Math.ceil(maximumRecordAgeMs / 1000),
      bisectBatchOnFunctionError: this.#options.bisectBatchOnFunctionError,
    }).UUID;
  }

  /** A snapshot of the running totals. */
  get stats(): Readonly<StreamPollerStats> {
    return { ...this.#stats };
  }

  /** The UUID of this poller's mapping in its control plane, when it has one. */
  get eventSourceMappingUuid(): string | undefined {
    return this.#mappingUuid;
  }

  /**
   * Per shard, the sequence number up to which every record is acknowledged or given up
   * (undefined before the first): where the mapping would resume after a restart.
   */
  get checkpoints(): ReadonlyMap<string, string | undefined> {
    return new Map([...this.#readers.values()].map((reader) => [reader.shardId, reader.checkpoint]));
  }

  /**
   * Lists the shards and takes an iterator on each one that can be read now, then keeps
   * polling in the background. With LATEST, every write made after this resolves is seen.
   */
  async start(): Promise<void> {
    if (this.#discoveryLoop) throw new Error('StreamPoller already started');
    const { controlPlane } = this.#options;
    if (controlPlane && this.#mappingUuid !== undefined) {
      this.#unsubscribe = controlPlane.onChange(this.#mappingUuid, () => this.#mappingChanged());
    }
    await this.#discover(true);
    await Promise.all(
      [...this.#readers.values()].map(async (reader) => {
        if (reader.state !== SHARD_DONE && this.#parentDone(reader)) {
          reader.state = SHARD_READING;
          reader.loop = this.#readShard(reader, await this.#iteratorOrUndefined(reader));
        }
      }),
    );
    this.#discoveryLoop = this.#discoverForever();
  }

  /** Stops polling; resolves once any invocation in flight has settled. */
  async stop(): Promise<void> {
    this.#stopController.abort();
    this.#unsubscribe?.();
    await this.#discoveryLoop;
    const readers = [...this.#readers.values()];
    await Promise.all(readers.flatMap((reader) => (reader.loop ? [reader.loop] : [])));
    await Promise.all(readers.flatMap((reader) => [...reader.invocations]));
  }

  /**
   * Resolves once every shard has been read to its current end and every record written
   * before this call has been acknowledged or given up. Rejects with {@link NotCaughtUpError}
   * when no progress has been made for `idleTimeoutMs`, however long the whole wait takes.
   */
  async waitUntilCaughtUp(options: WaitUntilCaughtUpOptions = {}): Promise<void> {
    const since = Date.now();
    const idleTimeoutMs = options.idleTimeoutMs ?? Math.max(60_000, this.#options.timeoutMs + this.#options.maxRetryBackoffMs);
    let progress = this.#progress;
    let progressAt = since;
    // A shard list taken now, rather than at the next periodic refresh, saves up to a second.
    await this.#refreshShards();
    for (;;) {
      if (this.#callbackError) throw this.#callbackError.error;
      if (this.#isCaughtUpSince(since)) return;
      if (this.#stopController.signal.aborted) throw new NotCaughtUpError('StreamPoller stopped before catching up');
      if (this.#progress !== progress) {
        progress = this.#progress;
        progressAt = Date.now();
      } else if (Date.now() - progressAt > idleTimeoutMs) {
        const pending = [...this.#readers.values()]
          .filter((reader) => reader.state !== SHARD_DONE && (reader.idleSince ?? 0) < since)
          .map((reader) => `${reader.shardId} (${reader.state}, ${reader.window.length} records not checkpointed)`);
        throw new NotCaughtUpError(
          `Stream not caught up: no progress for ${idleTimeoutMs} ms${this.#enabled() ? '' : ' (the event source mapping is disabled)'}; ` +
            `shards with pending work: ${pending.join(', ') || 'none (shard list not refreshed)'}; stats ${JSON.stringify(this.#stats)}`,
        );
      }
      await this.#sleep(20);
    }
  }

  #isCaughtUpSince(since: number): boolean {
    if (this.#lastDiscoveryStartedAt < since) return false;
    for (const reader of this.#readers.values()) {
      if (reader.state === SHARD_DONE) continue;
      if (reader.idleSince === undefined || reader.idleSince < since) return false;
    }
    return true;
  }

  /** Lists the shards again and starts reading those whose parents are done; a failure is counted, not thrown. */
  async #refreshShards(): Promise<void> {
    try {
      await this.#discover(false);
      this.#startReadyShards();
    } catch (error) {
      this.#stats.readErrors += 1;
      this.#options.onReadError?.(error, undefined);
    }
  }

  async #discoverForever(): Promise<void> {
    while (!this.#stopController.signal.aborted) {
      await this.#sleep(this.#options.shardDiscoveryIntervalMs);
      if (this.#stopped()) break;
      await this.#refreshShards();
    }
  }

  async #discover(initial: boolean): Promise<void> {
    const startedAt = Date.now();
    const shards: Shard[] = [];
    let exclusiveStartShardId: string | undefined;
    do {
      const page = await this.#options.streams.send(
        new DescribeStreamCommand({
          StreamArn: this.#options.streamArn,
          ...(exclusiveStartShardId === undefined ? {} : { ExclusiveStartShardId: exclusiveStartShardId }),
        }),
        { abortSignal: this.#stopController.signal },
      );
      shards.push(...(page.StreamDescription?.Shards ?? []));
      exclusiveStartShardId = page.StreamDescription?.LastEvaluatedShardId;
    } while (exclusiveStartShardId !== undefined);

    for (const shard of shards) {
      const shardId = shard.ShardId;
      if (shardId === undefined || this.#readers.has(shardId)) continue;
      const closed = shard.SequenceNumberRange?.EndingSequenceNumber !== undefined;
      const latest = initial && this.#options.startingPosition === StartingPosition.LATEST;
      // LATEST applies to shards open at start; closed ones hold only older records, and
      // shards that appear later hold only newer ones, so they are read from the start.
      this.#readers.set(shardId, {
        shard,
        shardId,
        state: latest && closed ? SHARD_DONE : SHARD_WAITING,
        start: latest ? 'LATEST' : 'TRIM_HORIZON',
        checkpoint: undefined,
        resumeAfter: undefined,
        lastRead: undefined,
        window: [],
        lanes: Array.from({ length: this.#options.parallelizationFactor }, (): Lane => ({
          queue: [],
          inFlight: 0,
          retry: undefined,
          plan: [],
          backoffMs: this.#options.retryBackoffMs,
          notBefore: 0,
        })),
        endReached: false,
        idleSince: undefined,
        loop: undefined,
        invocations: new Set(),
        wake: undefined,
      });
      this.#stats.shards += 1;
      this.#progress += 1;
      if (latest && closed) this.#stats.shardsCompleted += 1;
    }
    this.#lastDiscoveryStartedAt = startedAt;
  }

  #parentDone(reader: ShardReader): boolean {
    const parentId = reader.shard.ParentShardId;
    if (parentId === undefined) return true;
    const parent = this.#readers.get(parentId);
    // A parent missing from the listing has been trimmed: nothing left to read first.
    return parent === undefined || parent.state === SHARD_DONE;
  }

  #startReadyShards(): void {
    if (this.#stopController.signal.aborted) return;
    for (const reader of this.#readers.values()) {
      if (reader.state === SHARD_WAITING && this.#parentDone(reader)) {
        reader.state = SHARD_READING;
        reader.loop = (async () => this.#readShard(reader, await this.#iteratorOrUndefined(reader)))();
      }
    }
  }

  async #iterator(reader: ShardReader, type: ShardIteratorType, sequenceNumber?: string): Promise<string | undefined> {
    const output = await this.#options.streams.send(
      new GetShardIteratorCommand({
        StreamArn: this.#options.streamArn,
        ShardId: reader.shardId,
        ShardIteratorType: type,
        ...(sequenceNumber === undefined ? {} : { SequenceNumber: sequenceNumber }),
      }),
      { abortSignal: this.#stopController.signal },
    );
    return output.ShardIterator;
  }

  /** An iterator just after the last record read, or at the shard's starting position; a failure is reported and leaves the shard loop to retry. */
  async #iteratorOrUndefined(reader: ShardReader): Promise<string | undefined> {
    try {
      return reader.resumeAfter === undefined
        ? await this.#iterator(reader, reader.start)
        : await this.#iterator(reader, 'AFTER_SEQUENCE_NUMBER', reader.resumeAfter);
    } catch (error) {
      this.#readFailed(error, reader);
      return undefined;
    }
  }

  #readFailed(error: unknown, reader: ShardReader): void {
    if (this.#stopController.signal.aborted) return;
    this.#stats.readErrors += 1;
    this.#options.onReadError?.(error, reader.shardId);
  }

  #finishShard(reader: ShardReader): void {
    reader.state = SHARD_DONE;
    this.#stats.shardsCompleted += 1;
    this.#progress += 1;
    // Children wait for this shard: start them now rather than at the next discovery.
    this.#startReadyShards();
  }

  /**
   * Reads one shard and starts its batches. The loop is the only place batches start, so
   * an invocation that settles just wakes it.
   */
  async #readShard(reader: ShardReader, firstIterator: string | undefined): Promise<void> {
    const { batchSize, parallelizationFactor, pollIntervalMs, retryBackoffMs, maxRetryBackoffMs } = this.#options;
    const signal = this.#stopController.signal;
    // Read ahead no further than every lane's next batch: a record's age counts from its first read.
    const readAhead = batchSize * parallelizationFactor;
    let iterator = firstIterator;
    let readBackoffMs = retryBackoffMs;
    let nextReadAt = 0;

    while (!signal.aborted) {
      if (!this.#enabled()) {
        await this.#wait(reader, undefined);
        continue;
      }
      this.#dispatch(reader);
      if (reader.endReached && reader.window.length === 0) {
        this.#finishShard(reader);
        return;
      }
      const room = readAhead - this.#waitingRecords(reader);
      const canRead = !reader.endReached && room > 0;
      if (!canRead || Date.now() < nextReadAt) {
        await this.#wait(reader, this.#wakeAt(reader, canRead ? nextReadAt : undefined));
        continue;
      }
      if (iterator === undefined) {
        iterator = await this.#iteratorOrUndefined(reader);
        if (iterator === undefined) {
          nextReadAt = Date.now() + readBackoffMs;
          readBackoffMs = Math.min(readBackoffMs * 2, maxRetryBackoffMs);
        }
        continue;
      }
      const readStartedAt = Date.now();
      let records: SdkStreamRecord[];
      let next: string | undefined;
      try {
        const output = await this.#options.streams.send(
          new GetRecordsCommand({ ShardIterator: iterator, Limit: Math.min(GET_RECORDS_LIMIT, room) }),
          { abortSignal: signal },
        );
        records = output.Records ?? [];
        next = output.NextShardIterator ?? undefined;
      } catch (error) {
        if (this.#stopped()) break;
        const name = errorName(error);
        if (name === 'ExpiredIteratorException') {
          this.#stats.expiredIterators += 1;
          readBackoffMs = 0;
        } else if (name === 'TrimmedDataAccessException') {
          // The position fell off the 24-hour window: carry on from the oldest record left.
          reader.resumeAfter = undefined;
          reader.start = 'TRIM_HORIZON';
        } else if (name === 'ResourceNotFoundException') {
          // The shard is gone; what was read from it is still delivered.
          reader.endReached = true;
        } else {
          this.#readFailed(error, reader);
        }
        iterator = undefined;
        nextReadAt = Date.now() + readBackoffMs;
        continue;
      }
      readBackoffMs = retryBackoffMs;
      this.#take(reader, records, readStartedAt);
      iterator = next;
      if (next === undefined) reader.endReached = true;
      if (records.length > 0) {
        reader.idleSince = undefined;
        nextReadAt = 0;
      } else {
        nextReadAt = readStartedAt + pollIntervalMs;
        if (reader.window.length === 0) reader.idleSince = readStartedAt;
      }
    }
  }

  /** Adds what a read returned to the window and the lanes, skipping records already taken. */
  #take(reader: ShardReader, records: readonly SdkStreamRecord[], readAt: number): void {
    for (const record of records) {
      const sequenceNumber = record.dynamodb?.SequenceNumber ?? '';
      reader.resumeAfter = sequenceNumber;
      // After TrimmedDataAccessException the shard is read again from its oldest record.
      if (reader.lastRead !== undefined && !sequenceAfter(sequenceNumber, reader.lastRead)) continue;
      reader.lastRead = sequenceNumber;
      const entry: WindowEntry = { record, sequenceNumber, readAt, delivered: false, done: false };
      reader.window.push(entry);
      reader.lanes[laneOf(record, reader.lanes.length)]?.queue.push(entry);
      this.#progress += 1;
    }
  }

  /** Records read and not with the handler. */
  #waitingRecords(reader: ShardReader): number {
    return reader.lanes.reduce((sum, lane) => sum + lane.queue.length - lane.inFlight, 0);
  }

  #batchReady(reader: ShardReader, lane: Lane): boolean {
    const { batchingWindowMs, batchSize } = this.#options;
    const oldest = lane.queue[0];
    if (oldest === undefined) return false;
    // A re-delivery or a bisected half goes as soon as its backoff ends; the window applies to fresh records.
    return (
      lane.retry !== undefined ||
      lane.plan.length > 0 ||
      batchingWindowMs === 0 ||
      reader.endReached ||
      lane.queue.length >= batchSize ||
      Date.now() - oldest.readAt >= batchingWindowMs
    );
  }

  /** When the shard loop must look again without being woken: the next read, a backoff end, a batching window end. */
  #wakeAt(reader: ShardReader, nextReadAt: number | undefined): number | undefined {
    let at = nextReadAt;
    const now = Date.now();
    for (const lane of reader.lanes) {
      const oldest = lane.queue[0];
      if (lane.inFlight > 0 || oldest === undefined) continue;
      const due = lane.notBefore > now ? lane.notBefore : oldest.readAt + this.#options.batchingWindowMs;
      at = at === undefined ? due : Math.min(at, due);
    }
    return at;
  }

  /** Starts a batch on every lane that has one ready and none in flight; gives up batches that are too old. */
  #dispatch(reader: ShardReader): void {
    for (const lane of reader.lanes) {
      while (lane.inFlight === 0 && this.#enabled() && Date.now() >= lane.notBefore && this.#batchReady(reader, lane)) {
        const batch = fitPayload(lane.queue.slice(0, lane.plan[0] ?? this.#options.batchSize), this.#options.streamArn, this.#options.region);
        const first = batch[0];
        if (first === undefined) break;
        if (this.#tooOld(first)) {
          this.#giveUp(reader, lane, batch, FailureCondition.RECORD_AGE_EXCEEDED);
          continue;
        }
        this.#startInvocation(reader, lane, batch);
      }
    }
    this.#advanceCheckpoint(reader);
  }

  #tooOld(entry: WindowEntry): boolean {
    const { maximumRecordAgeMs, recordAgeMs, streamArn, region } = this.#options;
    if (maximumRecordAgeMs < 0) return false;
    const age = recordAgeMs ? recordAgeMs(toLambdaRecord(entry.record, streamArn, region), entry.readAt) : Date.now() - entry.readAt;
    return age > maximumRecordAgeMs;
  }

  #startInvocation(reader: ShardReader, lane: Lane, batch: readonly WindowEntry[]): void {
    lane.inFlight = batch.length;
    this.#inFlight += 1;
    const invocation: Promise<void> = this.#invoke(reader, lane, batch)
      .catch((error: unknown) => {
        // A fault of the poller itself (the handler's errors are caught inside): fail the wait, not the process.
        this.#callbackError ??= { error };
      })
      .finally(() => {
        reader.invocations.delete(invocation);
        this.#inFlight -= 1;
        this.#settleMapping();
        reader.wake?.();
      });
    reader.invocations.add(invocation);
  }

  /** Moves the checkpoint over the done records at the front of the window. */
  #advanceCheckpoint(reader: ShardReader): void {
    let done = 0;
    while (reader.window[done]?.done === true) done += 1;
    if (done === 0) return;
    reader.checkpoint = reader.window[done - 1]?.sequenceNumber;
    reader.window.splice(0, done);
    this.#progress += 1;
  }

  #functionArn(): string {
    return `arn:aws:lambda:${this.#region()}:000000000000:function:${this.#options.functionName}`;
  }

  #region(): string {
    return this.#options.region ?? 'us-east-1';
  }

  #context(startedAt: number): Context {
    const { functionName, timeoutMs } = this.#options;
    const deadline = startedAt + timeoutMs;
    const unsupported = (): never => {
      throw new Error('Callback-style context methods are not supported by the Node.js 24 runtime');
    };
    /* eslint-disable @typescript-eslint/no-deprecated -- the Context type still lists the callback-era methods */
    return {
      callbackWaitsForEmptyEventLoop: true,
      functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: this.#functionArn(),
      memoryLimitInMB: '512',
      awsRequestId: randomUUID(),
      logGroupName: `/aws/lambda/${functionName}`,
      logStreamName: `local/${startedAt}`,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      done: unsupported,
      fail: unsupported,
      succeed: unsupported,
    };
    /* eslint-enable @typescript-eslint/no-deprecated */
  }

  /** Invokes the handler once with `batch` (the front of `lane`) and decides what happens to each of its records. */
  async #invoke(reader: ShardReader, lane: Lane, batch: readonly WindowEntry[]): Promise<void> {
    const { handler, timeoutMs, maximumRetryAttempts, bisectBatchOnFunctionError } = this.#options;
    const sequenceNumbers = batch.map((entry) => entry.sequenceNumber);
    const first = sequenceNumbers[0] ?? '';
    const last = sequenceNumbers[sequenceNumbers.length - 1] ?? '';
    const attempt = lane.retry?.from === first ? lane.retry.invocations : 0;
    const event = toLambdaEvent(
      batch.map((entry) => entry.record),
      this.#options.streamArn,
      this.#options.region,
    );

    this.#stats.batches += 1;
    this.#stats.recordsDelivered += batch.length;
    for (const entry of batch) {
      if (entry.delivered) continue;
      entry.delivered = true;
      this.#progress += 1;
    }
    const startedAt = Date.now();
    const context = this.#context(startedAt);
    let failedIndex: number | undefined;
    let outcome: BatchOutcome = BatchOutcome.SUCCESS;
    let error: unknown;
    // A throw or a timeout is a function error (it may be bisected); a rejected answer is not.
    let answered = false;
    try {
      const response = await handler(event, context);
      if (Date.now() - startedAt > timeoutMs) {
        throw new Error(`Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`);
      }
      answered = true;
      failedIndex = this.#firstFailure(response, sequenceNumbers);
      if (failedIndex !== undefined) outcome = BatchOutcome.PARTIAL_FAILURE;
    } catch (thrown) {
      error = thrown;
      failedIndex = 0;
      outcome = BatchOutcome.ERROR;
    }
    const durationMs = Date.now() - startedAt;
    lane.inFlight = 0;

    const acknowledged = failedIndex ?? batch.length;
    for (const entry of batch.slice(0, acknowledged)) entry.done = true;
    lane.queue.splice(0, acknowledged);
    planTake(lane, acknowledged);
    this.#stats.recordsAcknowledged += acknowledged;
    if (acknowledged > 0) this.#progress += 1;

    let redeliverFrom: string | undefined;
    let givenUp: FailureCondition | undefined;
    let bisected = false;
    if (failedIndex === undefined) {
      lane.retry = undefined;
      lane.backoffMs = this.#options.retryBackoffMs;
      lane.notBefore = 0;
    } else {
      this.#stats.retries += 1;
      if (outcome === BatchOutcome.PARTIAL_FAILURE) this.#stats.partialFailures += 1;
      else this.#stats.handlerErrors += 1;
      const from = sequenceNumbers[failedIndex] ?? '';
      const retry: RetryState = lane.retry?.from === from ? lane.retry : { from, invocations: 0, retries: 0, requestId: '', functionError: false };
      retry.invocations += 1;
      retry.requestId = context.awsRequestId;
      retry.functionError = outcome === BatchOutcome.ERROR && !answered;
      lane.retry = retry;
      const rest = batch.slice(failedIndex);
      if (retry.functionError && bisectBatchOnFunctionError && rest.length > 1) {
        const half = Math.floor(rest.length / 2);
        planTake(lane, rest.length);
        lane.plan.unshift(half, rest.length - half);
        this.#stats.bisections += 1;
        bisected = true;
        redeliverFrom = from;
        this.#backOff(lane);
      } else if (maximumRetryAttempts >= 0 && retry.retries >= maximumRetryAttempts) {
        givenUp = FailureCondition.RETRY_ATTEMPTS_EXHAUSTED;
        this.#giveUp(reader, lane, rest, givenUp);
      } else {
        retry.retries += 1;
        redeliverFrom = from;
        this.#backOff(lane);
      }
    }

    this.#notify(this.#options.onBatch, {
      shardId: reader.shardId,
      event,
      records: batch.length,
      firstSequenceNumber: first,
      lastSequenceNumber: last,
      attempt,
      startedAt,
      durationMs,
      outcome,
      acknowledged,
      bisected,
      ...(redeliverFrom === undefined ? {} : { redeliverFrom }),
      ...(givenUp === undefined ? {} : { givenUp }),
      ...(error === undefined ? {} : { error }),
    });
    this.#advanceCheckpoint(reader);
  }

  #backOff(lane: Lane): void {
    lane.notBefore = Date.now() + lane.backoffMs;
    lane.backoffMs = Math.min(lane.backoffMs * 2, this.#options.maxRetryBackoffMs);
  }

  /**
   * Index of the earliest failed record, or undefined when all succeeded. Throws (so the
   * whole batch is retried) when the answer is malformed or names a record not in the batch.
   */
  #firstFailure(response: unknown, sequenceNumbers: readonly string[]): number | undefined {
    if (response === undefined || response === null) return undefined;
    if (typeof response !== 'object' || !('batchItemFailures' in response)) return undefined;
    const failures = response.batchItemFailures;
    if (failures === undefined || failures === null) return undefined;
    if (!Array.isArray(failures)) throw new Error('batchItemFailures is not an array');
    let earliest: number | undefined;
    for (const failure of failures as unknown[]) {
      const id =
        typeof failure === 'object' && failure !== null && 'itemIdentifier' in failure ? failure.itemIdentifier : undefined;
      const index = typeof id === 'string' && id !== '' ? sequenceNumbers.indexOf(id) : -1;
      if (index < 0) throw new Error(`batchItemFailures names ${JSON.stringify(id)}, which is not in the batch`);
      earliest = earliest === undefined ? index : Math.min(earliest, index);
    }
    return earliest;
  }

  /**
   * Gives up `entries` (the front of `lane`) as Lambda discards a batch: the on-failure
   * destination gets them first, then they count as done and the lane moves on.
   */
  #giveUp(reader: ShardReader, lane: Lane, entries: readonly WindowEntry[], condition: FailureCondition): void {
    const firstEntry = entries[0];
    const lastEntry = entries[entries.length - 1];
    if (firstEntry === undefined || lastEntry === undefined) return;
    const retry = lane.retry?.from === firstEntry.sequenceNumber ? lane.retry : undefined;
    const event = toLambdaEvent(
      entries.map((entry) => entry.record),
      this.#options.streamArn,
      this.#options.region,
    );
    // The scripted streams in tests carry no creation time: the first read stands in for it.
    const arrival = (entry: WindowEntry): string =>
      isoSeconds(
        entry.record.dynamodb?.ApproximateCreationDateTime === undefined
          ? Math.floor(entry.readAt / 1000)
          : Math.floor(entry.record.dynamodb.ApproximateCreationDateTime.getTime() / 1000),
      );
    const record: OnFailureInvocationRecord = {
      version: '1.0',
      timestamp: new Date().toISOString(),
      requestContext: {
        requestId: retry?.requestId ?? randomUUID(),
        functionArn: this.#functionArn(),
        condition,
        approximateInvokeCount: retry?.invocations ?? 0,
      },
      ...(retry === undefined
        ? {}
        : {
            responseContext: {
              statusCode: 200,
              executedVersion: '$LATEST',
              ...(retry.functionError ? { functionError: 'Unhandled' } : {}),
            },
          }),
      DDBStreamBatchInfo: {
        shardId: reader.shardId,
        startSequenceNumber: firstEntry.sequenceNumber,
        endSequenceNumber: lastEntry.sequenceNumber,
        approximateArrivalOfFirstRecord: arrival(firstEntry),
        approximateArrivalOfLastRecord: arrival(lastEntry),
        batchSize: entries.length,
        streamArn: this.#options.streamArn,
      },
      payload: JSON.stringify(event),
    };
    this.#notify(this.#options.onFailure, record);
    for (const entry of entries) entry.done = true;
    lane.queue.splice(0, entries.length);
    planTake(lane, entries.length);
    lane.retry = undefined;
    lane.backoffMs = this.#options.retryBackoffMs;
    lane.notBefore = 0;
    this.#stats.batchesGivenUp += 1;
    this.#stats.recordsGivenUp += entries.length;
    this.#progress += 1;
  }

  /** Calls a test's callback; what it throws surfaces from `waitUntilCaughtUp` instead of breaking the shard loop. */
  #notify<T>(callback: ((value: T) => void) | undefined, value: T): void {
    try {
      callback?.(value);
    } catch (error) {
      this.#callbackError ??= { error };
    }
  }

  #enabled(): boolean {
    const { controlPlane } = this.#options;
    return controlPlane === undefined || this.#mappingUuid === undefined || controlPlane.isEnabled(this.#mappingUuid);
  }

  #mappingChanged(): void {
    this.#settleMapping();
    for (const reader of this.#readers.values()) reader.wake?.();
  }

  /** Tells the control plane the mapping runs as asked: enabled, or disabled with nothing in flight. */
  #settleMapping(): void {
    const { controlPlane } = this.#options;
    if (controlPlane === undefined || this.#mappingUuid === undefined) return;
    if (this.#inFlight === 0 || controlPlane.isEnabled(this.#mappingUuid)) controlPlane.settle(this.#mappingUuid);
  }

  /** A method, not `signal.aborted` inline: the compiler would assume it cannot change across an await. */
  #stopped(): boolean {
    return this.#stopController.signal.aborted;
  }

  /** Waits until `until` (epoch ms; forever when undefined), the shard's `wake()`, or `stop()`. */
  #wait(reader: ShardReader, until: number | undefined): Promise<void> {
    const signal = this.#stopController.signal;
    if (signal.aborted) return Promise.resolve();
    return new Promise((done) => {
      const timer = until === undefined ? undefined : setTimeout(finish, Math.max(0, until - Date.now()));
      function finish(): void {
        clearTimeout(timer);
        signal.removeEventListener('abort', finish);
        reader.wake = undefined;
        done();
      }
      reader.wake = finish;
      signal.addEventListener('abort', finish, { once: true });
    });
  }

  #sleep(ms: number): Promise<void> {
    const signal = this.#stopController.signal;
    if (signal.aborted || ms <= 0) return Promise.resolve();
    return new Promise((done) => {
      const timer = setTimeout(finish, ms);
      function finish(): void {
        clearTimeout(timer);
        signal.removeEventListener('abort', finish);
        done();
      }
      signal.addEventListener('abort', finish, { once: true });
    });
  }
}
