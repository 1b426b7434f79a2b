/**
 * A local stand-in for the Lambda event source mapping of a DynamoDB stream.
 *
 * DynamoDB Local has streams but never invokes a function, so this reads the stream the
 * way the mapping does and calls the handler with the event Lambda would build:
 * - shards are listed with DescribeStream (all pages) and re-listed every second;
 *   a child shard is read only once its parent has been read to its end;
 * - each shard is polled four times a second, in batches of at most `batchSize` records,
 *   optionally gathered for up to `batchingWindowMs`;
 * - one invocation at a time per shard, in stream order;
 * - with ReportBatchItemFailures semantics: the shard restarts at the lowest reported
 *   sequence number after a short backoff; an identifier that is not in the batch, a
 *   malformed response, a thrown error or a timeout retry the whole batch.
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
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { toLambdaEvent, toLambdaRecord } from './lambda-event';

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
  /** The handler reported failures; the shard restarts at the lowest one. */
  PARTIAL_FAILURE: 'partial-failure',
  /** The handler threw, timed out, or answered with something unusable; the whole batch is retried. */
  ERROR: 'error',
} as const;
/** One of {@link BatchOutcome}. */
export type BatchOutcome = (typeof BatchOutcome)[keyof typeof BatchOutcome];

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
  /** Where the shard restarts, when not everything was acknowledged. */
  readonly redeliverFrom?: string;
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
  /** Called after every invocation. */
  readonly onBatch?: (report: BatchReport) => void;
  /** Called when reading the stream fails (the poller backs off and carries on). */
  readonly onReadError?: (error: unknown, shardId: string | undefined) => void;
}

/** Options of {@link StreamPoller.waitUntilCaughtUp}. */
export interface WaitUntilCaughtUpOptions {
  /** Default 60,000. */
  readonly timeoutMs?: number;
}

/** Raised by {@link StreamPoller.waitUntilCaughtUp} when the deadline passes. */
export class NotCaughtUpError extends Error {
  override readonly name = 'NotCaughtUpError';
}

const SHARD_WAITING = 'waiting';
const SHARD_READING = 'reading';
const SHARD_DONE = 'done';
type ShardState = typeof SHARD_WAITING | typeof SHARD_READING | typeof SHARD_DONE;

interface ShardReader {
  readonly shard: Shard;
  readonly shardId: string;
  state: ShardState;
  /** Position used when there is no checkpoint yet. */
  start: ShardIteratorType;
  /** Sequence number of the last acknowledged record. */
  checkpoint: string | undefined;
  /** Start time of the last read that found nothing left to deliver; unset while work is pending. */
  idleSince: number | undefined;
  loop: Promise<void> | undefined;
}

interface Delivery {
  readonly acknowledged: number;
  readonly redeliverFrom?: string;
}

/** GetRecords returns at most 1,000 records per call. */
const GET_RECORDS_LIMIT = 1_000;
/** Lambda's synchronous invocation payload limit. */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
/** `{"Records":[` and `]}` plus commas are small next to the limit: a margin covers them. */
const PAYLOAD_MARGIN_BYTES = 16 * 1024;

/**
 * The longest prefix of `buffer` whose event fits in one invocation (at least one record),
 * as the mapping shrinks a batch that would exceed 6 MB.
 */
function fitPayload(buffer: readonly SdkStreamRecord[], streamArn: string, awsRegion: string | undefined): SdkStreamRecord[] {
  let bytes = PAYLOAD_MARGIN_BYTES;
  let count = 0;
  for (const record of buffer) {
    bytes += Buffer.byteLength(JSON.stringify(toLambdaRecord(record, streamArn, awsRegion))) + 1;
    if (count > 0 && bytes > MAX_PAYLOAD_BYTES) break;
    count += 1;
  }
  return buffer.slice(0, count);
}

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

/** See the module comment. Create, `start()`, write to the master, `waitUntilCaughtUp()`, `stop()`. */
export class StreamPoller {
  readonly #options: Required<Omit<StreamPollerOptions, 'onBatch' | 'onReadError' | 'region'>> &
    Pick<StreamPollerOptions, 'onBatch' | 'onReadError' | 'region'>;
  readonly #readers = new Map<string, ShardReader>();
  readonly #stats: StreamPollerStats = {
    recordsDelivered: 0,
    recordsAcknowledged: 0,
    batches: 0,
    retries: 0,
    partialFailures: 0,
    handlerErrors: 0,
    expiredIterators: 0,
    readErrors: 0,
    shards: 0,
    shardsCompleted: 0,
  };
  readonly #stopController = new AbortController();
  #lastDiscoveryStartedAt = 0;
  #discoveryLoop: Promise<void> | undefined;
  #retryAttempts = new Map<string, { from: string; attempt: number }>();

  constructor(options: StreamPollerOptions) {
    const batchSize = options.batchSize ?? 100;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
      throw new RangeError(`batchSize must be an integer in 1-10,000, got ${batchSize}`);
    }
    this.#options = {
      startingPosition: StartingPosition.TRIM_HORIZON,
      batchingWindowMs: 0,
      pollIntervalMs: 250,
      shardDiscoveryIntervalMs: 1_000,
      timeoutMs: 60_000,
      retryBackoffMs: 100,
      maxRetryBackoffMs: 2_000,
      functionName: 'dynamo-replicator',
      ...options,
      batchSize,
    };
  }

  /** A snapshot of the running totals. */
  get stats(): Readonly<StreamPollerStats> {
    return { ...this.#stats };
  }

  /**
   * Lists the shards and takes an iterator on each one that can be read now, then keeps
   * polling in the background. With LATEST, every write made after this resolves is seen.
   */
  async start(): Promise<void> {
    if (this.#discoveryLoop) throw new Error('StreamPoller already started');
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
    await this.#discoveryLoop;
    await Promise.all([...this.#readers.values()].flatMap((reader) => (reader.loop ? [reader.loop] : [])));
  }

  /**
   * Resolves once every shard has been read to its current end and every record written
   * before this call has been delivered and acknowledged.
   */
  async waitUntilCaughtUp(options: WaitUntilCaughtUpOptions = {}): Promise<void> {
    const since = Date.now();
    const timeoutMs = options.timeoutMs ?? 60_000;
    const deadline = since + timeoutMs;
    // A shard list taken now, rather than at the next periodic refresh, saves up to a second.
    await this.#refreshShards();
    for (;;) {
      if (this.#isCaughtUpSince(since)) return;
      if (this.#stopController.signal.aborted) throw new NotCaughtUpError('StreamPoller stopped before catching up');
      if (Date.now() > deadline) {
        const pending = [...this.#readers.values()]
          .filter((reader) => reader.state !== SHARD_DONE && (reader.idleSince ?? 0) < since)
          .map((reader) => `${reader.shardId} (${reader.state})`);
        throw new NotCaughtUpError(
          `Stream not caught up within ${timeoutMs} ms; shards with pending work: ${pending.join(', ') || 'none (shard list not refreshed)'}; stats ${JSON.stringify(this.#stats)}`,
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
        idleSince: undefined,
        loop: undefined,
      });
      this.#stats.shards += 1;
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

  /** An iterator just after the checkpoint, or at the shard's starting position. */
  async #resumeIterator(reader: ShardReader): Promise<string | undefined> {
    return reader.checkpoint === undefined
      ? this.#iterator(reader, reader.start)
      : this.#iterator(reader, 'AFTER_SEQUENCE_NUMBER', reader.checkpoint);
  }

  /** Like {@link #resumeIterator}, but a failure is reported and leaves the shard loop to retry. */
  async #iteratorOrUndefined(reader: ShardReader): Promise<string | undefined> {
    try {
      return await this.#resumeIterator(reader);
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
    // Children wait for this shard: start them now rather than at the next discovery.
    this.#startReadyShards();
  }

  async #readShard(reader: ShardReader, firstIterator: string | undefined): Promise<void> {
    const { batchSize, batchingWindowMs, pollIntervalMs } = this.#options;
    const signal = this.#stopController.signal;
    let iterator = firstIterator;
    let buffer: SdkStreamRecord[] = [];
    let windowOpenedAt = 0;
    let readBackoffMs = this.#options.retryBackoffMs;
    let redeliveryBackoffMs = this.#options.retryBackoffMs;

    while (!signal.aborted) {
      if (iterator === undefined) {
        // The previous iterator could not be taken (or the read failed): back off, then resume
        // from the checkpoint. Anything buffered will be read again.
        await this.#sleep(readBackoffMs);
        readBackoffMs = Math.min(readBackoffMs * 2, this.#options.maxRetryBackoffMs);
        buffer = [];
        iterator = await this.#iteratorOrUndefined(reader);
        continue;
      }
      const readStartedAt = Date.now();
      let records: SdkStreamRecord[];
      let next: string | undefined;
      try {
        const output = await this.#options.streams.send(
          new GetRecordsCommand({ ShardIterator: iterator, Limit: Math.min(GET_RECORDS_LIMIT, batchSize - buffer.length) }),
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
          // The checkpoint fell off the 24-hour window: carry on from the oldest record left.
          reader.checkpoint = undefined;
          reader.start = 'TRIM_HORIZON';
        } else if (name === 'ResourceNotFoundException') {
          this.#finishShard(reader);
          return;
        } else {
          this.#readFailed(error, reader);
        }
        iterator = undefined;
        continue;
      }
      readBackoffMs = this.#options.retryBackoffMs;
      if (records.length > 0) reader.idleSince = undefined;
      if (buffer.length === 0 && records.length > 0) windowOpenedAt = readStartedAt;
      buffer.push(...records);
      const closed = next === undefined;
      const windowOpen =
        batchingWindowMs > 0 && !closed && buffer.length < batchSize && Date.now() - windowOpenedAt < batchingWindowMs;

      if (buffer.length > 0 && !windowOpen) {
        let redeliverFrom: string | undefined;
        while (buffer.length > 0 && redeliverFrom === undefined && !this.#stopped()) {
          const batch = fitPayload(buffer, this.#options.streamArn, this.#options.region);
          redeliverFrom = (await this.#deliver(reader, batch)).redeliverFrom;
          buffer = buffer.slice(batch.length);
        }
        if (redeliverFrom !== undefined) {
          buffer = [];
          await this.#sleep(redeliveryBackoffMs);
          redeliveryBackoffMs = Math.min(redeliveryBackoffMs * 2, this.#options.maxRetryBackoffMs);
          iterator = await this.#iteratorAt(reader, redeliverFrom);
          continue;
        }
        redeliveryBackoffMs = this.#options.retryBackoffMs;
      }
      if (closed) {
        this.#finishShard(reader);
        return;
      }
      iterator = next;
      if (records.length === 0 && buffer.length === 0) reader.idleSince = readStartedAt;
      if (records.length === 0 || windowOpen) await this.#sleep(pollIntervalMs);
    }
  }

  async #iteratorAt(reader: ShardReader, sequenceNumber: string): Promise<string | undefined> {
    try {
      return await this.#iterator(reader, 'AT_SEQUENCE_NUMBER', sequenceNumber);
    } catch (error) {
      // Falls back to the checkpoint, which is just before `sequenceNumber`.
      this.#readFailed(error, reader);
      return undefined;
    }
  }

  #context(startedAt: number): Context {
    const { functionName, timeoutMs } = this.#options;
    const region = this.#options.region ?? 'us-east-1';
    const deadline = startedAt + timeoutMs;
    const unsupported = (): never => {
      throw new Error('Callback-style context methods are not supported by the Node.js 24 runtime');
    };
    /* eslint-disable @typescript-eslint/no-deprecated -- the Context type still lists the callback-era methods */
    return {
      callbackWaitsForEmptyEventLoop: true,
      functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:${region}:000000000000:function:${functionName}`,
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

  /** Invokes the handler once and works out where the shard continues. */
  async #deliver(reader: ShardReader, batch: readonly SdkStreamRecord[]): Promise<Delivery> {
    const sequenceNumbers = batch.map((record) => record.dynamodb?.SequenceNumber ?? '');
    const first = sequenceNumbers[0] ?? '';
    const last = sequenceNumbers[sequenceNumbers.length - 1] ?? '';
    const previous = this.#retryAttempts.get(reader.shardId);
    const attempt = previous?.from === first ? previous.attempt + 1 : 0;
    const event = toLambdaEvent(batch, this.#options.streamArn, this.#options.region);

    this.#stats.batches += 1;
    this.#stats.recordsDelivered += batch.length;
    const startedAt = Date.now();
    let failedIndex: number | undefined;
    let outcome: BatchOutcome = BatchOutcome.SUCCESS;
    let error: unknown;
    try {
      const response = await this.#options.handler(event, this.#context(startedAt));
      if (Date.now() - startedAt > this.#options.timeoutMs) {
        throw new Error(`Task timed out after ${(this.#options.timeoutMs / 1000).toFixed(2)} seconds`);
      }
      failedIndex = this.#firstFailure(response, sequenceNumbers);
      if (failedIndex !== undefined) outcome = BatchOutcome.PARTIAL_FAILURE;
    } catch (thrown) {
      error = thrown;
      failedIndex = 0;
      outcome = BatchOutcome.ERROR;
    }
    const durationMs = Date.now() - startedAt;

    const acknowledged = failedIndex ?? batch.length;
    if (acknowledged > 0) reader.checkpoint = sequenceNumbers[acknowledged - 1];
    this.#stats.recordsAcknowledged += acknowledged;
    const redeliverFrom = failedIndex === undefined ? undefined : sequenceNumbers[failedIndex];
    if (redeliverFrom === undefined) {
      this.#retryAttempts.delete(reader.shardId);
    } else {
      this.#stats.retries += 1;
      if (outcome === BatchOutcome.PARTIAL_FAILURE) this.#stats.partialFailures += 1;
      else this.#stats.handlerErrors += 1;
      this.#retryAttempts.set(reader.shardId, {
        from: redeliverFrom,
        attempt: redeliverFrom === first ? attempt : 0,
      });
    }

    this.#options.onBatch?.({
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
      ...(redeliverFrom === undefined ? {} : { redeliverFrom }),
      ...(error === undefined ? {} : { error }),
    });
    return redeliverFrom === undefined ? { acknowledged } : { acknowledged, redeliverFrom };
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

  /** A method, not `signal.aborted` inline: the compiler would assume it cannot change across an await. */
  #stopped(): boolean {
    return this.#stopController.signal.aborted;
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
