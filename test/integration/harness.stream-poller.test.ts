import { DeleteItemCommand, DynamoDBClient, PutItemCommand, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as SdkStreamRecord,
  type Shard,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { localClientConfig, startDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local';
import {
  BatchOutcome,
  FailureCondition,
  NotCaughtUpError,
  StreamPoller,
  type BatchReport,
  type OnFailureInvocationRecord,
  type StreamHandler,
} from '../support/stream-poller';
import { createTable } from '../support/tables';

describe('Class: StreamPoller', () => {
  let engine: DynamoDbLocal;
  let client: DynamoDBClient;
  let streams: DynamoDBStreamsClient;
  let poller: StreamPoller | undefined;
  let tableCount = 0;

  beforeAll(async () => {
    engine = await startDynamoDbLocal();
    client = new DynamoDBClient(localClientConfig(engine.endpoint));
    streams = new DynamoDBStreamsClient(localClientConfig(engine.endpoint));
  });

  afterEach(async () => {
    await poller?.stop();
    poller = undefined;
  });

  afterAll(async () => {
    client.destroy();
    streams.destroy();
    await engine.stop();
  });

  async function masterTable(): Promise<{ tableName: string; streamArn: string }> {
    tableCount += 1;
    const table = await createTable(client, { tableName: `master-${tableCount}`, streamViewType: 'NEW_AND_OLD_IMAGES' });
    if (table.streamArn === undefined) throw new Error('no stream');
    return { tableName: table.tableName, streamArn: table.streamArn };
  }

  async function writeChanges(tableName: string, count: number): Promise<void> {
    for (let i = 0; i < count; i += 1) {
      const pk = { S: `key-${i % 7}` };
      if (i % 5 === 4) await client.send(new DeleteItemCommand({ TableName: tableName, Key: { pk } }));
      else if (i % 3 === 2)
        await client.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: { pk },
            UpdateExpression: 'SET n = :n',
            ExpressionAttributeValues: { ':n': { N: String(i) } },
          }),
        );
      else await client.send(new PutItemCommand({ TableName: tableName, Item: { pk, n: { N: String(i) } } }));
    }
  }

  function sequence(record: DynamoDBRecord): string {
    return record.dynamodb?.SequenceNumber ?? '';
  }

  it('delivers every change once and in order, in batches of at most batchSize', async () => {
    // Prepare
    const { tableName, streamArn } = await masterTable();
    await writeChanges(tableName, 60);
    const seen: DynamoDBRecord[] = [];
    const batchSizes: number[] = [];
    const handler: StreamHandler = (event: DynamoDBStreamEvent) => {
      batchSizes.push(event.Records.length);
      seen.push(...event.Records);
    };
    poller = new StreamPoller({ streams, streamArn, handler, batchSize: 10 });

    // Act
    await poller.start();
    await writeChanges(tableName, 20);
    await poller.waitUntilCaughtUp();

    // Assess
    const sequences = seen.map(sequence);
    expect(new Set(sequences).size).toBe(sequences.length);
    const sorted = [...sequences].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0));
    expect(sequences).toEqual(sorted);
    expect(Math.max(...batchSizes)).toBeLessThanOrEqual(10);
    expect(seen.every((record) => record.eventSourceARN === streamArn && record.eventSource === 'aws:dynamodb')).toBe(true);
    expect(poller.stats.recordsAcknowledged).toBe(seen.length);
    expect(poller.stats.retries).toBe(0);
    // 80 writes, minus deletes of keys that did not exist (no stream record for those).
    expect(seen.length).toBeGreaterThan(60);
  });

  it('re-delivers from the sequence number the handler reports, and nothing before it', async () => {
    // Prepare
    const { tableName, streamArn } = await masterTable();
    await writeChanges(tableName, 30);
    const deliveries: string[][] = [];
    const reports: BatchReport[] = [];
    let failedOnce = false;
    const handler: StreamHandler = (event) => {
      const sequences = event.Records.map(sequence);
      deliveries.push(sequences);
      const failAt = sequences[4];
      if (!failedOnce && failAt !== undefined) {
        failedOnce = true;
        return { batchItemFailures: [{ itemIdentifier: failAt }, { itemIdentifier: sequences[6] ?? failAt }] };
      }
      return { batchItemFailures: [] };
    };
    poller = new StreamPoller({ streams, streamArn, handler, batchSize: 10, onBatch: (report) => reports.push(report) });

    // Act
    await poller.start();
    await poller.waitUntilCaughtUp();

    // Assess
    const [first, second] = deliveries;
    expect(second?.[0]).toBe(first?.[4]);
    expect(reports[0]).toMatchObject({ outcome: BatchOutcome.PARTIAL_FAILURE, acknowledged: 4, redeliverFrom: first?.[4] });
    expect(reports[1]).toMatchObject({ outcome: BatchOutcome.SUCCESS, attempt: 1 });
    const acknowledged = [...(first ?? []).slice(0, 4), ...deliveries.slice(1).flat()];
    expect(new Set(acknowledged).size).toBe(acknowledged.length);
    expect(poller.stats).toMatchObject({ retries: 1, partialFailures: 1, recordsAcknowledged: acknowledged.length });
  });

  it.each([
    ['the handler throws', (): never => { throw new Error('boom'); }],
    ['an identifier is not in the batch', () => ({ batchItemFailures: [{ itemIdentifier: '1' }] })],
  ])('retries the whole batch when %s', async (_, fail) => {
    // Prepare
    const { tableName, streamArn } = await masterTable();
    await writeChanges(tableName, 12);
    const deliveries: string[][] = [];
    const handler: StreamHandler = (event) => {
      deliveries.push(event.Records.map(sequence));
      if (deliveries.length === 1) return fail();
      return undefined;
    };
    poller = new StreamPoller({ streams, streamArn, handler, batchSize: 5 });

    // Act
    await poller.start();
    await poller.waitUntilCaughtUp();

    // Assess
    expect(deliveries[1]).toEqual(deliveries[0]);
    expect(poller.stats).toMatchObject({ retries: 1, handlerErrors: 1 });
  });

  it('gives the handler a context with the remaining time of the configured timeout', async () => {
    // Prepare
    const { tableName, streamArn } = await masterTable();
    await writeChanges(tableName, 1);
    const remaining: number[] = [];
    const handler: StreamHandler = (_event, context) => {
      remaining.push(context.getRemainingTimeInMillis());
    };
    poller = new StreamPoller({ streams, streamArn, handler, timeoutMs: 5_000 });

    // Act
    await poller.start();
    await poller.waitUntilCaughtUp();

    // Assess
    expect(remaining[0]).toBeGreaterThan(4_000);
    expect(remaining[0]).toBeLessThanOrEqual(5_000);
  });

  it('starts at LATEST without replaying older records', async () => {
    // Prepare
    const { tableName, streamArn } = await masterTable();
    await writeChanges(tableName, 10);
    const seen: string[] = [];
    const handler: StreamHandler = (event) => {
      seen.push(...event.Records.map((record) => record.dynamodb?.NewImage?.['n']?.N ?? 'deleted'));
    };
    poller = new StreamPoller({ streams, streamArn, handler, startingPosition: 'LATEST' });

    // Act
    await poller.start();
    await client.send(new PutItemCommand({ TableName: tableName, Item: { pk: { S: 'late' }, n: { N: '1000' } } }));
    await poller.waitUntilCaughtUp();

    // Assess
    expect(seen).toEqual(['1000']);
  });

  it('gathers records for the batching window before invoking', async () => {
    // Prepare
    const { tableName, streamArn } = await masterTable();
    const batchSizes: number[] = [];
    const handler: StreamHandler = (event) => {
      batchSizes.push(event.Records.length);
    };
    poller = new StreamPoller({ streams, streamArn, handler, batchingWindowMs: 1_500 });
    await poller.start();

    // Act
    for (let i = 0; i < 6; i += 1) {
      await client.send(new PutItemCommand({ TableName: tableName, Item: { pk: { S: `w${i}` } } }));
      await new Promise((done) => setTimeout(done, 100));
    }
    await poller.waitUntilCaughtUp();

    // Assess
    expect(batchSizes).toEqual([6]);
  });

  /** Puts one item per key, in this order: one INSERT or MODIFY record each. */
  async function putItems(tableName: string, keys: readonly string[], attributes: Record<string, AttributeValue> = {}): Promise<void> {
    for (const [index, key] of keys.entries()) {
      await client.send(new PutItemCommand({ TableName: tableName, Item: { pk: { S: key }, n: { N: String(index) }, ...attributes } }));
    }
  }

  function pkOf(record: DynamoDBRecord): string {
    return record.dynamodb?.Keys?.['pk']?.S ?? '';
  }

  function onlyShard(current: StreamPoller): string {
    const [shardId, ...others] = [...current.checkpoints.keys()];
    if (shardId === undefined || others.length > 0) throw new Error(`expected one shard, got ${String(current.checkpoints.size)}`);
    return shardId;
  }

  /** Rejects when `promise` has not settled within `ms`: a wait that never ends fails the test quickly. */
  function within<T>(promise: Promise<T>, ms: number): Promise<T> {
    return Promise.race([
      promise,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms).unref()),
    ]);
  }

  describe('giving batches up', () => {
    it('gives a batch up after maximumRetryAttempts retries, hands it to onFailure as the S3 invocation record, and moves on', async () => {
      // Prepare
      const { tableName, streamArn } = await masterTable();
      await putItems(tableName, ['a', 'b', 'poison', 'c', 'd', 'e', 'f']);
      const deliveries: string[][] = [];
      const sequences = new Map<string, string>();
      const failures: OnFailureInvocationRecord[] = [];
      let lastFailedEvent: DynamoDBStreamEvent | undefined;
      const handler: StreamHandler = (event) => {
        deliveries.push(event.Records.map(pkOf));
        for (const record of event.Records) sequences.set(pkOf(record), sequence(record));
        if (event.Records.some((record) => pkOf(record) === 'poison')) {
          lastFailedEvent = event;
          throw new Error('cannot apply poison');
        }
      };
      poller = new StreamPoller({
        streams,
        streamArn,
        handler,
        batchSize: 3,
        maximumRetryAttempts: 2,
        retryBackoffMs: 10,
        pollIntervalMs: 50,
        onFailure: (record) => failures.push(record),
      });

      // Act
      await poller.start();
      await poller.waitUntilCaughtUp({ idleTimeoutMs: 10_000 });

      // Assess
      expect(deliveries.slice(0, 3)).toEqual([['a', 'b', 'poison'], ['a', 'b', 'poison'], ['a', 'b', 'poison']]);
      expect(deliveries.slice(3).flat()).toEqual(['c', 'd', 'e', 'f']);
      expect(failures).toHaveLength(1);
      const [failure] = failures;
      expect(failure).toMatchObject({
        version: '1.0',
        requestContext: {
          condition: FailureCondition.RETRY_ATTEMPTS_EXHAUSTED,
          approximateInvokeCount: 3,
          functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:dynamo-replicator',
        },
        responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
        DDBStreamBatchInfo: {
          shardId: onlyShard(poller),
          startSequenceNumber: sequences.get('a'),
          endSequenceNumber: sequences.get('poison'),
          batchSize: 3,
          streamArn,
        },
      });
      expect(failure?.DDBStreamBatchInfo.approximateArrivalOfFirstRecord).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(Number.isNaN(Date.parse(failure?.timestamp ?? ''))).toBe(false);
      expect(JSON.parse(failure?.payload ?? '{}')).toEqual(lastFailedEvent);
      expect(poller.stats).toMatchObject({ batchesGivenUp: 1, recordsGivenUp: 3, recordsAcknowledged: 4 });
      expect(poller.checkpoints.get(onlyShard(poller))).toBe(sequences.get('f'));
    });

    it('after a partial batch response, gives up from the lowest reported record to the end of the batch', async () => {
      // Prepare
      const { tableName, streamArn } = await masterTable();
      await putItems(tableName, ['a', 'b', 'poison', 'c', 'd']);
      const deliveries: string[][] = [];
      const failures: OnFailureInvocationRecord[] = [];
      const handler: StreamHandler = (event) => {
        deliveries.push(event.Records.map(pkOf));
        const poison = event.Records.find((record) => pkOf(record) === 'poison');
        return { batchItemFailures: poison ? [{ itemIdentifier: sequence(poison) }] : [] };
      };
      poller = new StreamPoller({
        streams,
        streamArn,
        handler,
        batchSize: 3,
        maximumRetryAttempts: 1,
        retryBackoffMs: 10,
        pollIntervalMs: 50,
        onFailure: (record) => failures.push(record),
      });

      // Act
      await poller.start();
      await poller.waitUntilCaughtUp({ idleTimeoutMs: 10_000 });

      // Assess
      expect(deliveries).toEqual([['a', 'b', 'poison'], ['poison', 'c', 'd']]);
      expect(failures).toHaveLength(1);
      const given = JSON.parse(failures[0]?.payload ?? '{}') as DynamoDBStreamEvent;
      expect(given.Records.map(pkOf)).toEqual(['poison', 'c', 'd']);
      expect(failures[0]?.requestContext).toMatchObject({ condition: FailureCondition.RETRY_ATTEMPTS_EXHAUSTED, approximateInvokeCount: 2 });
      // The function answered; it did not fail.
      expect(failures[0]?.responseContext).toEqual({ statusCode: 200, executedVersion: '$LATEST' });
      expect(poller.stats).toMatchObject({ recordsAcknowledged: 2, recordsGivenUp: 3, batchesGivenUp: 1 });
    });

    it('gives a failing batch up once its first record is older than maximumRecordAgeMs, then delivers newer records', async () => {
      // Prepare
      const { tableName, streamArn } = await masterTable();
      await putItems(tableName, ['poison', 'a']);
      const deliveries: string[][] = [];
      const failures: OnFailureInvocationRecord[] = [];
      const handler: StreamHandler = (event) => {
        deliveries.push(event.Records.map(pkOf));
        if (event.Records.some((record) => pkOf(record) === 'poison')) throw new Error('cannot apply poison');
      };
      poller = new StreamPoller({
        streams,
        streamArn,
        handler,
        batchSize: 2,
        maximumRecordAgeMs: 1_000,
        retryBackoffMs: 50,
        maxRetryBackoffMs: 100,
        pollIntervalMs: 50,
        onFailure: (record) => failures.push(record),
      });

      // Act
      const startedAt = Date.now();
      await poller.start();
      await vi.waitFor(() => expect(failures).toHaveLength(1), { timeout: 10_000, interval: 20 });
      const givenUpAfterMs = Date.now() - startedAt;
      await putItems(tableName, ['b', 'c']);
      await poller.waitUntilCaughtUp({ idleTimeoutMs: 10_000 });

      // Assess
      expect(givenUpAfterMs).toBeGreaterThanOrEqual(1_000);
      expect(failures[0]?.requestContext.condition).toBe(FailureCondition.RECORD_AGE_EXCEEDED);
      expect(failures[0]?.requestContext.approximateInvokeCount).toBeGreaterThan(1);
      expect(failures[0]?.DDBStreamBatchInfo.batchSize).toBe(2);
      const retries = deliveries.filter((batch) => batch.includes('poison'));
      expect(retries.length).toBe(failures[0]?.requestContext.approximateInvokeCount);
      expect(deliveries.slice(retries.length)).toEqual([['b', 'c']]);
      expect(poller.stats).toMatchObject({ batchesGivenUp: 1, recordsGivenUp: 2, recordsAcknowledged: 2 });
    });

    it('measures record age with recordAgeMs, and gives a batch up without invoking when it is already too old', async () => {
      // Prepare
      const { tableName, streamArn } = await masterTable();
      await putItems(tableName, ['stale'], { stale: { BOOL: true } });
      await putItems(tableName, ['fresh']);
      const delivered: string[] = [];
      const failures: OnFailureInvocationRecord[] = [];
      poller = new StreamPoller({
        streams,
        streamArn,
        handler: (event) => {
          delivered.push(...event.Records.map(pkOf));
        },
        batchSize: 1,
        maximumRecordAgeMs: 60_000,
        // As if the stale record had been written ten minutes ago.
        recordAgeMs: (record) => (record.dynamodb?.NewImage?.['stale'] === undefined ? 0 : 600_000),
        pollIntervalMs: 50,
        onFailure: (record) => failures.push(record),
      });

      // Act
      await poller.start();
      await poller.waitUntilCaughtUp({ idleTimeoutMs: 10_000 });

      // Assess
      expect(delivered).toEqual(['fresh']);
      expect(failures).toHaveLength(1);
      expect(failures[0]?.requestContext).toMatchObject({ condition: FailureCondition.RECORD_AGE_EXCEEDED, approximateInvokeCount: 0 });
      expect(failures[0]?.responseContext).toBeUndefined();
      expect((JSON.parse(failures[0]?.payload ?? '{}') as DynamoDBStreamEvent).Records.map(pkOf)).toEqual(['stale']);
    });
  });

  describe('bisectBatchOnFunctionError', () => {
    it('splits a batch whose invocation throws until the bad record is alone, without spending retries on the splits', async () => {
      // Prepare
      const { tableName, streamArn } = await masterTable();
      await putItems(tableName, ['a', 'b', 'c', 'd', 'e', 'poison', 'g', 'h']);
      const deliveries: string[][] = [];
      const failures: OnFailureInvocationRecord[] = [];
      const reports: BatchReport[] = [];
      const handler: StreamHandler = (event) => {
        deliveries.push(event.Records.map(pkOf));
        if (event.Records.some((record) => pkOf(record) === 'poison')) throw new Error('cannot apply poison');
      };
      poller = new StreamPoller({
        streams,
        streamArn,
        handler,
        batchSize: 8,
        bisectBatchOnFunctionError: true,
        // No retry at all: only the splits may deliver a record twice.
        maximumRetryAttempts: 0,
        retryBackoffMs: 10,
        pollIntervalMs: 50,
        onFailure: (record) => failures.push(record),
        onBatch: (report) => reports.push(report),
      });

      // Act
      await poller.start();
      await poller.waitUntilCaughtUp({ idleTimeoutMs: 10_000 });

      // Assess
      expect(deliveries).toEqual([
        ['a', 'b', 'c', 'd', 'e', 'poison', 'g', 'h'],
        ['a', 'b', 'c', 'd'],
        ['e', 'poison', 'g', 'h'],
        ['e', 'poison'],
        ['e'],
        ['poison'],
        ['g', 'h'],
      ]);
      expect(reports.map((report) => report.bisected)).toEqual([true, false, true, true, false, false, false]);
      expect(failures).toHaveLength(1);
      expect((JSON.parse(failures[0]?.payload ?? '{}') as DynamoDBStreamEvent).Records.map(pkOf)).toEqual(['poison']);
      expect(failures[0]?.requestContext).toMatchObject({ condition: FailureCondition.RETRY_ATTEMPTS_EXHAUSTED, approximateInvokeCount: 1 });
      expect(poller.stats).toMatchObject({ bisections: 3, recordsAcknowledged: 7, recordsGivenUp: 1, batchesGivenUp: 1 });
    });

    it('does not split on a partial batch response', async () => {
      // Prepare
      const { tableName, streamArn } = await masterTable();
      await putItems(tableName, ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']);
      const deliveries: string[][] = [];
      const handler: StreamHandler = (event) => {
        deliveries.push(event.Records.map(pkOf));
        const failed = deliveries.length === 1 ? event.Records[2] : undefined;
        return { batchItemFailures: failed ? [{ itemIdentifier: sequence(failed) }] : [] };
      };
      poller = new StreamPoller({ streams, streamArn, handler, batchSize: 8, bisectBatchOnFunctionError: true, retryBackoffMs: 10, pollIntervalMs: 50 });

      // Act
      await poller.start();
      await poller.waitUntilCaughtUp({ idleTimeoutMs: 10_000 });

      // Assess
      expect(deliveries).toEqual([
        ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'],
        ['c', 'd', 'e', 'f', 'g', 'h'],
      ]);
      expect(poller.stats.bisections).toBe(0);
    });
  });

  describe('parallelizationFactor', () => {
    it('runs batches of one shard concurrently, never two holding the same key, each key in stream order', async () => {
      // Prepare
      const { tableName, streamArn } = await masterTable();
      const keys = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7'];
      for (let round = 0; round < 4; round += 1) {
        for (const key of keys) {
          await client.send(new PutItemCommand({ TableName: tableName, Item: { pk: { S: key }, round: { N: String(round) } } }));
        }
      }
      const inFlight = new Set<string>();
      const overlaps: string[] = [];
      const rounds = new Map<string, number[]>();
      let concurrent = 0;
      let maxConcurrent = 0;
      const handler: StreamHandler = async (event) => {
        const batchKeys = event.Records.map(pkOf);
        overlaps.push(...batchKeys.filter((key) => inFlight.has(key)));
        for (const key of batchKeys) inFlight.add(key);
        concurrent += 1;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        for (const record of event.Records) rounds.get(pkOf(record))?.push(Number(record.dynamodb?.NewImage?.['round']?.N));
        await new Promise((done) => setTimeout(done, 60));
        concurrent -= 1;
        for (const key of batchKeys) inFlight.delete(key);
      };
      for (const key of keys) rounds.set(key, []);
      poller = new StreamPoller({ streams, streamArn, handler, batchSize: 2, parallelizationFactor: 3, pollIntervalMs: 50 });

      // Act
      await poller.start();
      await poller.waitUntilCaughtUp({ idleTimeoutMs: 10_000 });

      // Assess
      expect(overlaps).toEqual([]);
      expect(maxConcurrent).toBeGreaterThan(1);
      expect(maxConcurrent).toBeLessThanOrEqual(3);
      for (const key of keys) expect(rounds.get(key), key).toEqual([0, 1, 2, 3]);
      expect(poller.stats).toMatchObject({ recordsAcknowledged: 32, recordsDelivered: 32 });
    });

    it('advances the checkpoint only over a contiguous run of acknowledged records', async () => {
      // Prepare
      const { tableName, streamArn } = await masterTable();
      await putItems(tableName, ['slow', 'k0', 'k1', 'k2', 'k3', 'k4', 'k5']);
      let release: () => void = () => undefined;
      const gate = new Promise<void>((done) => {
        release = done;
      });
      let lastSequence = '';
      const handler: StreamHandler = async (event) => {
        for (const record of event.Records) {
          if (lastSequence === '' || BigInt(sequence(record)) > BigInt(lastSequence)) lastSequence = sequence(record);
        }
        if (event.Records.some((record) => pkOf(record) === 'slow')) await gate;
      };
      poller = new StreamPoller({ streams, streamArn, handler, batchSize: 1, parallelizationFactor: 2, pollIntervalMs: 50 });
      const current = poller;

      // Act
      await poller.start();
      await vi.waitFor(() => expect(current.stats.recordsAcknowledged).toBeGreaterThan(0), { timeout: 10_000, interval: 20 });
      const checkpointWhileBlocked = poller.checkpoints.get(onlyShard(poller));
      release();
      await poller.waitUntilCaughtUp({ idleTimeoutMs: 10_000 });

      // Assess
      expect(checkpointWhileBlocked).toBeUndefined();
      expect(poller.checkpoints.get(onlyShard(poller))).toBe(lastSequence);
      expect(poller.stats.recordsAcknowledged).toBe(7);
    });
  });

  describe('Method: waitUntilCaughtUp', () => {
    it('keeps waiting past idleTimeoutMs in total while records keep being acknowledged', async () => {
      // Prepare
      const { tableName, streamArn } = await masterTable();
      await putItems(tableName, ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']);
      const handler: StreamHandler = () => new Promise((done) => setTimeout(done, 300));
      poller = new StreamPoller({ streams, streamArn, handler, batchSize: 1, pollIntervalMs: 50 });

      // Act
      await poller.start();
      const startedAt = Date.now();
      await poller.waitUntilCaughtUp({ idleTimeoutMs: 1_000 });

      // Assess
      expect(Date.now() - startedAt).toBeGreaterThan(2_000);
      expect(poller.stats.recordsAcknowledged).toBe(8);
    });

    it('fails when only re-deliveries happen for idleTimeoutMs', async () => {
      // Prepare
      const { tableName, streamArn } = await masterTable();
      await putItems(tableName, ['poison']);
      const handler: StreamHandler = () => {
        throw new Error('cannot apply poison');
      };
      poller = new StreamPoller({ streams, streamArn, handler, retryBackoffMs: 20, maxRetryBackoffMs: 50, pollIntervalMs: 50 });

      // Act
      await poller.start();
      const outcome = await within(poller.waitUntilCaughtUp({ idleTimeoutMs: 1_000 }), 15_000).then(
        () => 'caught up',
        (error: unknown) => error,
      );

      // Assess
      expect(outcome).toBeInstanceOf(NotCaughtUpError);
      expect(String(outcome)).toMatch(/no progress for 1000 ms/);
      expect(poller.stats.retries).toBeGreaterThan(5);
    });
  });
});

/**
 * Shard splits, closed shards and expired iterators cannot be provoked in DynamoDB Local
 * on demand, so this stream is scripted.
 */
describe('Class: StreamPoller, on a scripted stream', () => {
  function record(sequence: number): SdkStreamRecord {
    return { eventID: `e${sequence}`, eventName: 'INSERT', dynamodb: { SequenceNumber: String(sequence).padStart(21, '0'), Keys: { pk: { S: `k${sequence}` } } } };
  }

  function scriptedStream(): { client: DynamoDBStreamsClient; calls: string[] } {
    const shards: (Shard & { records: SdkStreamRecord[] })[] = [
      // The child is listed first and on another page than its parent.
      { ShardId: 'shard-child', ParentShardId: 'shard-parent', SequenceNumberRange: { StartingSequenceNumber: '4' }, records: [4, 5, 6].map(record) },
      { ShardId: 'shard-parent', SequenceNumberRange: { StartingSequenceNumber: '1', EndingSequenceNumber: '3' }, records: [1, 2, 3].map(record) },
    ];
    const calls: string[] = [];
    let expireOnce = true;
    const answer = (command: unknown): unknown => {
      if (command instanceof DescribeStreamCommand) {
        const start = command.input.ExclusiveStartShardId === undefined ? 0 : 1;
        const page = shards.slice(start, start + 1).map((shard): Shard => ({
          ShardId: shard.ShardId,
          ParentShardId: shard.ParentShardId,
          SequenceNumberRange: shard.SequenceNumberRange,
        }));
        return { StreamDescription: { Shards: page, ...(start === 0 ? { LastEvaluatedShardId: 'shard-child' } : {}) } };
      }
      if (command instanceof GetShardIteratorCommand) {
        const shard = shards.find((candidate) => candidate.ShardId === command.input.ShardId);
        const at =
          command.input.SequenceNumber === undefined || shard === undefined
            ? 0
            : shard.records.findIndex((r) => r.dynamodb?.SequenceNumber === command.input.SequenceNumber);
        const index = command.input.ShardIteratorType === 'AFTER_SEQUENCE_NUMBER' ? at + 1 : at;
        calls.push(`iterator ${command.input.ShardId} ${command.input.ShardIteratorType}`);
        return { ShardIterator: `${command.input.ShardId}@${index}` };
      }
      if (command instanceof GetRecordsCommand) {
        const [shardId, index] = (command.input.ShardIterator ?? '').split('@');
        const shard = shards.find((candidate) => candidate.ShardId === shardId);
        if (shardId === 'shard-child' && expireOnce) {
          expireOnce = false;
          throw Object.assign(new Error('Iterator expired'), { name: 'ExpiredIteratorException' });
        }
        const from = Number(index);
        const records = shard?.records.slice(from, from + (command.input.Limit ?? 1000)) ?? [];
        const next = from + records.length;
        const closed = shard?.SequenceNumberRange?.EndingSequenceNumber !== undefined && next >= shard.records.length;
        return { Records: records, ...(closed ? {} : { NextShardIterator: `${shardId}@${next}` }) };
      }
      throw new Error('unexpected command');
    };
    // A throw inside the executor becomes the rejection, as the SDK's errors do.
    const send = (command: unknown): Promise<unknown> => new Promise((resolve) => resolve(answer(command)));
    return { client: { send } as unknown as DynamoDBStreamsClient, calls };
  }

  it('reads a parent shard to its end before its child, and recovers from an expired iterator', async () => {
    // Prepare
    const { client, calls } = scriptedStream();
    const delivered: string[] = [];
    const poller = new StreamPoller({
      streams: client,
      streamArn: 'arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/x',
      handler: (event) => {
        delivered.push(...event.Records.map((r) => r.dynamodb?.SequenceNumber ?? ''));
      },
      batchSize: 2,
      pollIntervalMs: 10,
      retryBackoffMs: 10,
    });

    // Act
    await poller.start();
    await poller.waitUntilCaughtUp();
    await poller.stop();

    // Assess
    expect(delivered.map(Number)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(poller.stats).toMatchObject({ shards: 2, shardsCompleted: 1, expiredIterators: 1, recordsAcknowledged: 6 });
    expect(calls.indexOf('iterator shard-child TRIM_HORIZON')).toBeGreaterThan(calls.indexOf('iterator shard-parent TRIM_HORIZON'));
  });
});
