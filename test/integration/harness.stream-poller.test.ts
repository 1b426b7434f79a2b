import { DeleteItemCommand, DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as SdkStreamRecord,
  type Shard,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { localClientConfig, startDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local';
import { BatchOutcome, StreamPoller, type BatchReport, type StreamHandler } from '../support/stream-poller';
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
    await poller.waitUntilCaughtUp({ timeoutMs: 30_000 });

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
    await poller.waitUntilCaughtUp({ timeoutMs: 30_000 });

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
    await poller.waitUntilCaughtUp({ timeoutMs: 30_000 });

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
    await poller.waitUntilCaughtUp({ timeoutMs: 30_000 });

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
    await poller.waitUntilCaughtUp({ timeoutMs: 30_000 });

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
    await poller.waitUntilCaughtUp({ timeoutMs: 30_000 });

    // Assess
    expect(batchSizes).toEqual([6]);
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
    await poller.waitUntilCaughtUp({ timeoutMs: 10_000 });
    await poller.stop();

    // Assess
    expect(delivered.map(Number)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(poller.stats).toMatchObject({ shards: 2, shardsCompleted: 1, expiredIterators: 1, recordsAcknowledged: 6 });
    expect(calls.indexOf('iterator shard-child TRIM_HORIZON')).toBeGreaterThan(calls.indexOf('iterator shard-parent TRIM_HORIZON'));
  });
});
