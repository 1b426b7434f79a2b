import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  DynamoDBClient,
  UpdateItemCommand,
  type AttributeValue,
  type BatchGetItemCommandInput,
  type BatchGetItemCommandOutput,
  type BatchWriteItemCommandInput,
  type BatchWriteItemCommandOutput,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { libraryConfig } from '../../handler/config';
import { ConfigurationError, InvalidEventError } from '../../handler/errors';
import { Replicator } from '../../handler/replicator';
import type { ReplicatorConfig } from '../../handler/types';
import { deployedConfig, EU, MASTER_TABLE, mockedClients, STATE_TABLE, US } from './helpers/config';
import { contextWith, put, remove, streamEvent, streamRecord } from './helpers/records';
import { parkedContent, slaveItem } from './helpers/state';
import { awsError, FAST_BACKOFF } from './helpers/writes';
import { recordedTelemetry } from './helpers/telemetry';

const ddb = mockClient(DynamoDBClient);

type Item = Record<string, AttributeValue>;
type WriteRequests = NonNullable<BatchWriteItemCommandInput['RequestItems']>[string];

function replicatorWith(config: ReplicatorConfig): { replicator: Replicator; logged: Record<string, unknown>[] } {
  const { telemetry, logged } = recordedTelemetry({ namespace: config.metricsNamespace, replicatorName: config.replicatorName });
  return { replicator: new Replicator({ config, clients: mockedClients(), telemetry, backoff: FAST_BACKOFF }), logged };
}

const library = (overrides: Partial<ReplicatorConfig> = {}): ReplicatorConfig => ({ ...libraryConfig([EU, US]), deadlineMarginMs: 0, writeConcurrency: 4, ...overrides });

/**
 * Answers BatchGetItem by table: the state table with the given slave state items (or the error), the master with
 * the given current items.
 */
function answerReads(states: Item[] | Error, masterItems: Item[] = []): void {
  ddb.on(BatchGetItemCommand).callsFake((input: BatchGetItemCommandInput): Promise<Partial<BatchGetItemCommandOutput>> => {
    if (input.RequestItems?.[STATE_TABLE] !== undefined) return states instanceof Error ? Promise.reject(states) : Promise.resolve({ Responses: { [STATE_TABLE]: states } });
    const keys = input.RequestItems?.[MASTER_TABLE]?.Keys ?? [];
    return Promise.resolve({ Responses: { [MASTER_TABLE]: masterItems.filter((item) => keys.some((key) => key.pk?.S === item.pk?.S)) } });
  });
}

/** Answers BatchWriteItem per table: a table with an error rejects every call, the others take every write. */
function answerWrites(errors: Record<string, Error> = {}): void {
  ddb.on(BatchWriteItemCommand).callsFake((input: BatchWriteItemCommandInput): Promise<Partial<BatchWriteItemCommandOutput>> => {
    const table = Object.keys(input.RequestItems ?? {})[0] ?? '';
    const error = errors[table];
    return error === undefined ? Promise.resolve({}) : Promise.reject(error);
  });
}

/** What one table was sent, flattened: `put a=3`, `delete b`. */
function sent(table: string): string[] {
  return requestsTo(table)
    .map((request) =>
      request.PutRequest !== undefined
        ? `put ${request.PutRequest.Item?.pk?.S ?? ''}=${request.PutRequest.Item?.value?.S ?? ''}`
        : `delete ${request.DeleteRequest?.Key?.pk?.S ?? ''}`,
    )
    .sort();
}

function requestsTo(table: string): WriteRequests {
  return ddb.commandCalls(BatchWriteItemCommand).flatMap((call) => call.args[0].input.RequestItems?.[table] ?? []);
}

/** The parked changes written to the state table, as `<kind> <key>=<value>`. */
function parked(): string[] {
  return requestsTo(STATE_TABLE)
    .map((request) => request.PutRequest?.Item ?? {})
    .filter((item) => item.pk?.S?.startsWith('parked#') === true)
    .map((item) => `${parkedContent(item).kind} ${parkedContent(item).id}=${parkedContent(item).value ?? ''}`)
    .sort();
}

describe('Class: Replicator, with the deadline margin it runs with', () => {
  afterEach(() => {
    ddb.reset();
  });

  it('lets a write in flight at the stop-starting deadline finish, and starts none after it, within the default 2 s margin', async () => {
    // Prepare: 2.6 s left, so no call starts after 0.6 s and calls in flight are cut off at 2.35 s; one call at a
    // time, each answered after 1 s: the first finishes past the first deadline but before the second, and the
    // second batch never starts
    ddb.on(BatchWriteItemCommand).callsFake(() => new Promise((done) => setTimeout(() => done({}), 1_000)));
    const { replicator } = replicatorWith({ ...libraryConfig([EU]), writeConcurrency: 1 });
    const records = Array.from({ length: 30 }, (_, index) => put(`k${String(index).padStart(2, '0')}`, 'v'));

    // Act
    const result = await replicator.process(streamEvent(...records), contextWith(2_600));

    // Assess
    expect(ddb.commandCalls(BatchWriteItemCommand)).toHaveLength(1);
    expect(result.report.slaves.eu).toMatchObject({ written: 25, failed: 5 });
    expect(result.batchItemFailures).toHaveLength(1);
  });

  it('cuts off a write still in flight when the invocation must end, 250 ms before its timeout, and reports it', async () => {
    // Prepare: the slave never answers
    ddb.on(BatchWriteItemCommand).callsFake(() => new Promise(() => undefined));
    const { replicator } = replicatorWith({ ...libraryConfig([EU]), writeConcurrency: 1 });
    const started = Date.now();

    // Act
    const result = await replicator.process(streamEvent(put('a', '1')), contextWith(2_600));

    // Assess: it returned by the cut-off (2.35 s), not at Lambda's timeout, with the write reported
    expect(Date.now() - started).toBeLessThan(2_600);
    expect(result.report.slaves.eu).toMatchObject({ written: 0, failed: 1 });
    expect(result.batchItemFailures).toHaveLength(1);
  });
});

describe('Class: Replicator', () => {
  afterEach(() => {
    ddb.reset();
  });

  describe('without a state table (library use)', () => {
    it('applies the latest state of every item of the batch to every slave', async () => {
      // Prepare
      answerWrites();
      const { replicator } = replicatorWith(library());
      const event = streamEvent(put('a', '1'), put('b', '1'), put('a', '2'), remove('b'), put('c', '1'), put('a', '3'));

      // Act
      const result = await replicator.process(event, contextWith(10_000));

      // Assess
      expect(result.batchItemFailures).toEqual([]);
      expect(sent('orders-eu')).toEqual(['delete b', 'put a=3', 'put c=1']);
      expect(sent('orders-us')).toEqual(['delete b', 'put a=3', 'put c=1']);
      expect(result.report).toMatchObject({ masterTable: 'orders', records: 6, writes: 3, failedSequenceNumber: null });
      expect(ddb.commandCalls(BatchGetItemCommand)).toHaveLength(0);
    });

    it('reports the lowest sequence number not applied to every slave, while the other slave gets everything', async () => {
      // Prepare
      const records = [put('a', '1'), put('b', '1'), put('c', '1'), put('b', '2')];
      ddb.on(BatchWriteItemCommand).callsFake((input: BatchWriteItemCommandInput) => {
        const unprocessed = (input.RequestItems?.['orders-us'] ?? []).filter((request) => ['b', 'c'].includes(request.PutRequest?.Item?.pk?.S ?? ''));
        return Promise.resolve({ UnprocessedItems: unprocessed.length === 0 ? {} : { 'orders-us': unprocessed } });
      });
      const { replicator, logged } = replicatorWith(library());

      // Act
      const result = await replicator.process(streamEvent(...records), contextWith(150));

      // Assess: c (third record) is the earliest change missing; b's last change comes after it.
      expect(result.batchItemFailures).toEqual([{ itemIdentifier: records[2]?.dynamodb?.SequenceNumber }]);
      expect(sent('orders-eu')).toEqual(['put a=1', 'put b=2', 'put c=1']);
      expect(result.report.slaves).toMatchObject({ eu: { written: 3, failed: 0 }, us: { written: 1, failed: 2, parked: 0 } });
      expect(logged[0]).toMatchObject({ level: 'ERROR', message: 'batch partly replicated; re-delivery requested', failedSequenceNumber: records[2]?.dynamodb?.SequenceNumber });
    });

    it('reports a non-retryable slave error at once, naming slave, table, key and AWS error', async () => {
      // Prepare
      const record = put('a', '1');
      answerWrites({ 'orders-us': awsError('ResourceNotFoundException', 400, 'Requested resource not found') });
      const { replicator } = replicatorWith(library());

      // Act
      const result = await replicator.process(streamEvent(record), contextWith(60_000));

      // Assess
      expect(result.batchItemFailures).toEqual([{ itemIdentifier: record.dynamodb?.SequenceNumber }]);
      expect(requestsTo('orders-us')).toHaveLength(1);
      expect(result.report.slaves.us?.errors).toEqual([
        'slave "us" (table orders-us in us-east-1): could not write key {pk: "a"}: ResourceNotFoundException: Requested resource not found (not retryable: fix the table, its permissions or the item)',
      ]);
    });

    it('replicates deletes made by TTL unless told to skip them, and counts the skipped ones', async () => {
      // Prepare
      answerWrites();
      const event = streamEvent(put('a', '1'), remove('a', { ttl: true }), remove('b'));

      // Act
      const replicated = await replicatorWith(library()).replicator.process(event, contextWith(10_000));
      const replicatedWrites = sent('orders-eu');
      ddb.resetHistory();
      const skipped = await replicatorWith(library({ skipTtlDeletes: true })).replicator.process(event, contextWith(10_000));

      // Assess
      expect(replicatedWrites).toEqual(['delete a', 'delete b']);
      expect(replicated.report.skippedTtlDeletes).toBe(0);
      expect(sent('orders-eu')).toEqual(['delete b', 'put a=1']);
      expect(skipped.report.skippedTtlDeletes).toBe(1);
    });

    it('reads items from the master when the stream carries no new image, and deletes those that are gone', async () => {
      // Prepare
      answerWrites();
      answerReads([], [{ pk: { S: 'a' }, value: { S: 'now' } }]);
      const event = streamEvent(
        streamRecord('INSERT', { key: { pk: { S: 'a' } }, viewType: 'KEYS_ONLY' }),
        streamRecord('MODIFY', { key: { pk: { S: 'b' } }, viewType: 'KEYS_ONLY' }),
        streamRecord('REMOVE', { key: { pk: { S: 'c' } }, viewType: 'KEYS_ONLY' }),
      );

      // Act
      const result = await replicatorWith(library()).replicator.process(event, contextWith(10_000));

      // Assess
      expect(ddb).toHaveReceivedCommandWith(BatchGetItemCommand, {
        RequestItems: { orders: { Keys: [{ pk: { S: 'a' } }, { pk: { S: 'b' } }], ConsistentRead: true } },
      });
      expect(sent('orders-eu')).toEqual(['delete b', 'delete c', 'put a=now']);
      expect(result.report).toMatchObject({ masterReads: 2, writes: 3, failedSequenceNumber: null });
    });

    it('reports a key whose master read failed, and still applies the rest', async () => {
      // Prepare
      answerWrites();
      ddb.on(BatchGetItemCommand).rejects(awsError('AccessDeniedException', 400, 'not authorized to perform: dynamodb:BatchGetItem'));
      const keysOnly = streamRecord('MODIFY', { key: { pk: { S: 'b' } }, viewType: 'KEYS_ONLY' });
      const event = streamEvent(put('a', '1'), keysOnly);

      // Act
      const result = await replicatorWith(library()).replicator.process(event, contextWith(10_000));

      // Assess
      expect(result.batchItemFailures).toEqual([{ itemIdentifier: keysOnly.dynamodb?.SequenceNumber }]);
      expect(sent('orders-eu')).toEqual(['put a=1']);
      expect(result.report.errors[0]).toBe('master table orders: could not read key {pk: "b"}: AccessDeniedException: not authorized to perform: dynamodb:BatchGetItem');
    });

    it('applies the records around an unusable one, and reports the unusable one for re-delivery since it cannot be kept', async () => {
      // Prepare
      answerWrites();
      const bad = { ...put('b', '1'), eventSource: 'aws:kinesis' };
      const event = streamEvent(put('a', '1'), bad, put('c', '1'));

      // Act
      const result = await replicatorWith(library()).replicator.process(event, contextWith(10_000));

      // Assess
      expect(result.batchItemFailures).toEqual([{ itemIdentifier: bad.dynamodb?.SequenceNumber }]);
      expect(sent('orders-eu')).toEqual(['put a=1', 'put c=1']);
      expect(result.report.rejectedRecords).toBe(0);
      expect(result.report.errors[0]).toContain('eventSource is "aws:kinesis", expected "aws:dynamodb"');
    });

    it('reads back a record whose image cannot be decoded, and says so in the log line', async () => {
      // Prepare
      answerWrites();
      answerReads([], [{ pk: { S: 'b' }, value: { S: 'master' } }]);
      const bad = { ...put('b', '1'), eventName: 'UPSERT' };

      // Act
      const result = await replicatorWith(library()).replicator.process(streamEvent(put('a', '1'), bad as never), contextWith(10_000));

      // Assess
      expect(result.batchItemFailures).toEqual([]);
      expect(sent('orders-eu')).toEqual(['put a=1', 'put b=master']);
      expect(result.report.errors).toEqual([expect.stringMatching(/eventName "UPSERT" is unknown: expected INSERT, MODIFY or REMOVE: read back from the master instead$/)]);
    });

    it('rejects an event that is not a stream batch', async () => {
      await expect(replicatorWith(library()).replicator.process({ hello: 'world' })).rejects.toThrow(InvalidEventError);
    });

    it('refuses to replicate a table into itself', async () => {
      // Prepare
      const { replicator } = replicatorWith(library({ slaves: [{ name: 'loop', region: 'eu-west-1', tableName: 'orders' }] }));

      // Act
      const processing = replicator.process(streamEvent(put('a', '1')));

      // Assess
      await expect(processing).rejects.toThrow(ConfigurationError);
      await expect(processing).rejects.toThrow('REPLICATOR_SLAVES.loop: is the master table itself (orders in eu-west-1)');
      expect(ddb.calls()).toHaveLength(0);
    });

    it("replicates into a table of the master's name and region on another endpoint: it is not the master itself", async () => {
      // Prepare
      answerWrites();
      const { replicator } = replicatorWith(library({ slaves: [{ name: 'local', region: 'eu-west-1', tableName: MASTER_TABLE, endpoint: 'http://127.0.0.1:8000' }] }));

      // Act
      const result = await replicator.process(streamEvent(put('a', '1')));

      // Assess
      expect(sent(MASTER_TABLE)).toEqual(['put a=1']);
      expect(result.batchItemFailures).toEqual([]);
    });

    it("replicates into a table of the master's name and region reached through a role: another account's table is not the master itself", async () => {
      // Prepare
      answerWrites();
      const { replicator } = replicatorWith(library({ slaves: [{ name: 'partner', region: 'eu-west-1', tableName: MASTER_TABLE, roleArn: 'arn:aws:iam::210987654321:role/replica-writer' }] }));

      // Act
      const result = await replicator.process(streamEvent(put('a', '1')));

      // Assess
      expect(sent(MASTER_TABLE)).toEqual(['put a=1']);
      expect(result.batchItemFailures).toEqual([]);
    });
  });

  describe('with a state table', () => {
    it('reads every slave state strongly consistently before any write, and writes a live slave directly', async () => {
      // Prepare
      answerReads([slaveItem('eu', { mode: 'live', epoch: 2 })]);
      answerWrites();
      const { replicator } = replicatorWith(deployedConfig());

      // Act
      const result = await replicator.process(streamEvent(put('a', '1')), contextWith(10_000));

      // Assess
      expect(ddb.calls()[0]?.args[0]).toBeInstanceOf(BatchGetItemCommand);
      expect(ddb).toHaveReceivedCommandWith(BatchGetItemCommand, {
        RequestItems: {
          [STATE_TABLE]: {
            Keys: [
              { pk: { S: 'slave#eu' }, sk: { S: 'state' } },
              { pk: { S: 'slave#us' }, sk: { S: 'state' } },
            ],
            ConsistentRead: true,
          },
        },
      });
      expect(sent('orders-eu')).toEqual(['put a=1']);
      expect(sent('orders-us')).toEqual(['put a=1']);
      expect(requestsTo(STATE_TABLE)).toEqual([]);
      expect(result.report.slaves).toMatchObject({ eu: { mode: 'live', written: 1, parked: 0 }, us: { mode: 'live', written: 1, parked: 0 } });
    });

    describe('reusing a read of the slaves\' states', () => {
      const stateReads = (): number => ddb.commandCalls(BatchGetItemCommand).filter((call) => call.args[0].input.RequestItems?.[STATE_TABLE] !== undefined).length;
      const reusing = (): Replicator => {
        const config = deployedConfig();
        const { telemetry } = recordedTelemetry({ namespace: config.metricsNamespace, replicatorName: config.replicatorName });
        // A reuse time no busy machine outlasts between three batches; LiveStates is tested at its edges with set clocks.
        return new Replicator({ config, clients: mockedClients(), telemetry, backoff: FAST_BACKOFF, liveStatesReuseMs: 60_000 });
      };

      it('reads the states once for the batches that follow within the reuse time while every slave is live', async () => {
        // Prepare
        answerReads([slaveItem('eu', { mode: 'live', epoch: 2 }), slaveItem('us', { mode: 'live', epoch: 1 })]);
        answerWrites();
        const replicator = reusing();

        // Act
        for (const value of ['1', '2', '3']) await replicator.process(streamEvent(put('a', value)), contextWith(10_000));

        // Assess
        expect(stateReads()).toBe(1);
        expect(sent('orders-eu')).toEqual(['put a=1', 'put a=2', 'put a=3']);
      });

      it('reads the states for every batch while a slave is parked', async () => {
        // Prepare
        answerReads([slaveItem('eu', { mode: 'parked', epoch: 2, settledEpoch: 2 })]);
        answerWrites();
        ddb.on(UpdateItemCommand).resolves({});
        const replicator = reusing();

        // Act
        for (const value of ['1', '2', '3']) await replicator.process(streamEvent(put('a', value)), contextWith(10_000));

        // Assess
        expect(stateReads()).toBe(3);
      });

      it('reads the states again for the batch after one in which a slave did not take its writes', async () => {
        // Prepare: every slave live, but eu denies its writes; its parking waits a settle time longer than the batch
        answerReads([slaveItem('eu', { mode: 'live', epoch: 2 }), slaveItem('us', { mode: 'live', epoch: 1 })]);
        answerWrites({ 'orders-eu': awsError('AccessDeniedException', 400, 'denied') });
        ddb.on(UpdateItemCommand).resolves({});
        const replicator = reusing();

        // Act
        const first = await replicator.process(streamEvent(put('a', '1')), contextWith(10_000));
        await replicator.process(streamEvent(put('a', '2')), contextWith(10_000));

        // Assess
        expect(first.batchItemFailures).toHaveLength(1);
        expect(stateReads()).toBe(2);
      });
    });

    it('parks the writes of a parked slave while the healthy slave gets them, and re-delivers nothing', async () => {
      // Prepare
      answerReads([slaveItem('eu', { mode: 'parked', epoch: 3, reason: 'slave "eu" throttled' })]);
      answerWrites();
      ddb.on(UpdateItemCommand).resolves({});
      const { replicator, logged } = replicatorWith(deployedConfig());

      // Act
      const result = await replicator.process(streamEvent(put('a', '1'), put('b', '1'), put('a', '2')), contextWith(10_000));

      // Assess
      expect(result.batchItemFailures).toEqual([]);
      expect(sent('orders-eu')).toEqual([]);
      expect(parked()).toEqual(['put a=2', 'put b=1']);
      expect(sent('orders-us')).toEqual(['put a=2', 'put b=1']);
      expect(result.report.slaves).toMatchObject({ eu: { mode: 'parked', written: 0, parked: 2, failed: 0 }, us: { mode: 'live', written: 2, parked: 0, failed: 0 } });
      expect(logged[0]).toMatchObject({ level: 'WARN', message: 'batch replicated; some changes parked' });
    });

    it('writes to no slave when the state table cannot be read, and reports the batch from its first record', async () => {
      // Prepare
      answerReads(awsError('AccessDeniedException', 400, 'not authorized to perform: dynamodb:BatchGetItem on the state table'));
      answerWrites();
      const records = [put('a', '1'), put('b', '1'), remove('a')];
      const { replicator, logged } = replicatorWith(deployedConfig());

      // Act
      const result = await replicator.process(streamEvent(...records), contextWith(10_000));

      // Assess
      expect(ddb.commandCalls(BatchWriteItemCommand)).toHaveLength(0);
      expect(result.batchItemFailures).toEqual([{ itemIdentifier: records[0]?.dynamodb?.SequenceNumber }]);
      expect(result.report.slaves).toEqual({});
      expect(result.report.errors).toEqual([
        `StateTableError: state table ${STATE_TABLE}: could not read the slaves' states: AccessDeniedException: not authorized to perform: dynamodb:BatchGetItem on the state table`,
      ]);
      expect(logged[0]).toMatchObject({ level: 'ERROR' });
    });

    it('keeps an unusable record whole in the state table and acknowledges it, applying the records around it', async () => {
      // Prepare
      answerReads([]);
      answerWrites();
      const bad = { ...put('b', '1'), eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:queue' };
      const event = streamEvent(put('a', '1'), bad, put('c', '1'));
      const { replicator, logged } = replicatorWith(deployedConfig());

      // Act
      const result = await replicator.process(event, contextWith(10_000));

      // Assess
      expect(result.batchItemFailures).toEqual([]);
      expect(sent('orders-eu')).toEqual(['put a=1', 'put c=1']);
      const [kept] = requestsTo(STATE_TABLE).map((request) => request.PutRequest?.Item ?? {});
      expect(kept?.pk).toEqual({ S: 'rejected' });
      expect(kept?.sk).toEqual({ S: `${bad.dynamodb?.SequenceNumber ?? ''}#${bad.eventID}` });
      expect(JSON.parse(gunzipSync(kept?.record?.B ?? new Uint8Array()).toString())).toEqual(event.Records[1]);
      expect(result.report.rejectedRecords).toBe(1);
      expect(logged).toContainEqual(
        expect.objectContaining({
          _aws: expect.objectContaining({ CloudWatchMetrics: [{ Namespace: 'DynamoReplicator', Dimensions: [['Replicator']], Metrics: [{ Name: 'RejectedRecords', Unit: 'Count' }] }] }) as unknown,
          Replicator: 'orders-replicator',
          RejectedRecords: 1,
        }),
      );
      expect(logged[0]).toMatchObject({ level: 'WARN', rejectedRecords: 1 });
    });

    it('re-delivers an unusable record the state table would not keep', async () => {
      // Prepare
      answerReads([]);
      answerWrites({ [STATE_TABLE]: awsError('AccessDeniedException', 400, 'denied') });
      const bad = { ...put('b', '1'), eventSource: 'aws:kinesis' };
      const { replicator } = replicatorWith(deployedConfig());

      // Act
      const result = await replicator.process(streamEvent(put('a', '1'), bad), contextWith(10_000));

      // Assess
      expect(result.batchItemFailures).toEqual([{ itemIdentifier: bad.dynamodb?.SequenceNumber }]);
      expect(sent('orders-eu')).toEqual(['put a=1']);
      expect(result.report.rejectedRecords).toBe(0);
    });

    it.each(['KEYS_ONLY', 'OLD_IMAGE'] as const)('with TTL deletes skipped on a %s stream, deletes a key the master no longer has only if a user removed it in the batch', async (viewType) => {
      // Prepare
      answerReads([]);
      answerWrites();
      // An OLD_IMAGE stream carries the image before the change, where there is one: never the one to write.
      const withoutNewImage = (eventName: 'INSERT' | 'MODIFY' | 'REMOVE', id: string, ttl = false): ReturnType<typeof streamRecord> =>
        streamRecord(eventName, { key: { pk: { S: id } }, viewType, ttl, ...(viewType === 'OLD_IMAGE' && eventName !== 'INSERT' ? { oldImage: { pk: { S: id }, value: { S: 'before' } } } : {}) });
      const event = streamEvent(
        withoutNewImage('REMOVE', 'user-removed'),
        withoutNewImage('INSERT', 'user-removed'),
        withoutNewImage('REMOVE', 'expired', true),
        withoutNewImage('INSERT', 'expired'),
        withoutNewImage('MODIFY', 'vanished'),
      );
      const { replicator } = replicatorWith(deployedConfig({ skipTtlDeletes: true }));

      // Act
      const result = await replicator.process(event, contextWith(10_000));

      // Assess
      expect(result.report).toMatchObject({ masterReads: 3, skippedTtlDeletes: 1, failedSequenceNumber: null });
      expect(sent('orders-eu')).toEqual(['delete user-removed']);
      expect(sent('orders-us')).toEqual(['delete user-removed']);
    });

    it('logs one line per invocation and one metrics document per slave, with the Replicator and Slave dimensions', async () => {
      // Prepare
      answerReads([slaveItem('us', { mode: 'parked' })]);
      ddb.on(UpdateItemCommand).resolves({});
      let first = true;
      ddb.on(BatchWriteItemCommand).callsFake((input: BatchWriteItemCommandInput) => {
        if (input.RequestItems?.['orders-eu'] !== undefined && first) {
          first = false;
          return Promise.reject(awsError('ThrottlingException', 400));
        }
        return Promise.resolve({});
      });
      const createdAt = Math.floor(Date.now() / 1000) - 2;
      const { replicator, logged } = replicatorWith(deployedConfig({ metricsNamespace: 'Team/Replication' }));

      // Act
      await replicator.process(streamEvent(put('a', '1', { createdAt }), put('b', '1', { createdAt: createdAt + 1 })), contextWith(10_000));

      // Assess
      expect(logged).toHaveLength(3);
      expect(logged[0]).toMatchObject({
        level: 'WARN',
        message: 'batch replicated; some changes parked',
        masterTable: 'orders',
        records: 2,
        writes: 2,
        slaves: { eu: { mode: 'live', written: 2, retries: 2, parked: 0, failed: 0 }, us: { mode: 'parked', written: 0, parked: 2, failed: 0 } },
      });
      // Powertools leaves out a top-level field without a value: nothing to re-deliver.
      expect(logged[0]).not.toHaveProperty('failedSequenceNumber');
      const [, euMetrics, usMetrics] = logged;
      expect(euMetrics).toEqual({
        _aws: {
          Timestamp: expect.any(Number) as unknown,
          CloudWatchMetrics: [
            {
              Namespace: 'Team/Replication',
              Dimensions: [['Replicator', 'Slave']],
              Metrics: [
                { Name: 'ReplicationLatency', Unit: 'Milliseconds' },
                { Name: 'RecordsReplicated', Unit: 'Count' },
                { Name: 'WriteRetries', Unit: 'Count' },
                { Name: 'ParkedRecords', Unit: 'Count' },
                { Name: 'FailedRecords', Unit: 'Count' },
              ],
            },
          ],
        },
        Replicator: 'orders-replicator',
        Slave: 'eu',
        ReplicationLatency: expect.any(Number) as unknown,
        RecordsReplicated: 2,
        WriteRetries: 2,
        ParkedRecords: 0,
        FailedRecords: 0,
      });
      expect(euMetrics?.ReplicationLatency).toBeGreaterThanOrEqual(2_000);
      expect(euMetrics?.ReplicationLatency).toBeLessThan(10_000);
      expect(usMetrics).toMatchObject({ Replicator: 'orders-replicator', Slave: 'us', RecordsReplicated: 0, ParkedRecords: 2, FailedRecords: 0 });
      expect(usMetrics).not.toHaveProperty('ReplicationLatency');
    });
  });
});
