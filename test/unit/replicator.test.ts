import { BatchGetItemCommand, BatchWriteItemCommand, DynamoDBClient, type BatchWriteItemCommandInput } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClientProvider } from '../../handler/clients';
import { ConfigurationError, InvalidEventError } from '../../handler/errors';
import { Replicator } from '../../handler/replicator';
import type { ReplicatorConfig, SlaveConfig } from '../../handler/types';
import { contextWith, put, remove, streamEvent, streamRecord } from './helpers/records';
import { awsError, FAST_BACKOFF } from './helpers/writes';

const credentials = { accessKeyId: 'a', secretAccessKey: 'b' };
const euClient = new DynamoDBClient({ region: 'eu-west-1', credentials });
const usClient = new DynamoDBClient({ region: 'us-east-1', credentials });
const masterClient = new DynamoDBClient({ region: 'eu-west-1', credentials });
const eu = mockClient(euClient);
const us = mockClient(usClient);
const master = mockClient(masterClient);

const SLAVES: SlaveConfig[] = [
  { name: 'eu', region: 'eu-west-1', tableName: 'orders-eu' },
  { name: 'us', region: 'us-east-1', tableName: 'orders-us' },
];

const clients: ClientProvider = {
  forSlave: (slave) => (slave.name === 'eu' ? euClient : usClient),
  forMaster: () => masterClient,
};

function replicatorWith(overrides: Partial<ReplicatorConfig> = {}): { replicator: Replicator; logged: Record<string, unknown>[] } {
  const logged: Record<string, unknown>[] = [];
  const config: ReplicatorConfig = {
    slaves: SLAVES,
    skipTtlDeletes: false,
    writeConcurrency: 4,
    deadlineMarginMs: 0,
    metricsNamespace: 'DynamoReplicator',
    ...overrides,
  };
  return { replicator: new Replicator({ config, clients, log: (entry) => logged.push(entry), backoff: FAST_BACKOFF }), logged };
}

/** What one slave was sent, flattened: `put a=3`, `delete b`. */
function sent(mock: typeof eu, table: string): string[] {
  return mock
    .commandCalls(BatchWriteItemCommand)
    .flatMap((call) => call.args[0].input.RequestItems?.[table] ?? [])
    .map((request) =>
      request.PutRequest !== undefined
        ? `put ${request.PutRequest.Item?.pk?.S ?? ''}=${request.PutRequest.Item?.value?.S ?? ''}`
        : `delete ${request.DeleteRequest?.Key?.pk?.S ?? ''}`,
    )
    .sort();
}

describe('Class: Replicator', () => {
  afterEach(() => {
    eu.reset();
    us.reset();
    master.reset();
  });

  it('applies the latest state of every item of the batch to every slave', async () => {
    // Prepare
    eu.on(BatchWriteItemCommand).resolves({});
    us.on(BatchWriteItemCommand).resolves({});
    const { replicator } = replicatorWith();
    const event = streamEvent(put('a', '1'), put('b', '1'), put('a', '2'), remove('b'), put('c', '1'), put('a', '3'));

    // Act
    const result = await replicator.process(event, contextWith(10_000));

    // Assess
    expect(result.batchItemFailures).toEqual([]);
    expect(sent(eu, 'orders-eu')).toEqual(['delete b', 'put a=3', 'put c=1']);
    expect(sent(us, 'orders-us')).toEqual(['delete b', 'put a=3', 'put c=1']);
    expect(result.report).toMatchObject({ masterTable: 'orders', records: 6, writes: 3, failedSequenceNumber: null });
  });

  it('reports the lowest sequence number not applied to every slave, while the other slave gets everything', async () => {
    // Prepare
    const records = [put('a', '1'), put('b', '1'), put('c', '1'), put('b', '2')];
    eu.on(BatchWriteItemCommand).resolves({});
    us.on(BatchWriteItemCommand).callsFake((input: BatchWriteItemCommandInput) => {
      const unprocessed = (input.RequestItems?.['orders-us'] ?? []).filter((request) => ['b', 'c'].includes(request.PutRequest?.Item?.pk?.S ?? ''));
      return Promise.resolve({ UnprocessedItems: unprocessed.length === 0 ? {} : { 'orders-us': unprocessed } });
    });
    const { replicator, logged } = replicatorWith();

    // Act
    const result = await replicator.process(streamEvent(...records), contextWith(150));

    // Assess: c (third record) is the earliest change missing; b's last change comes after it.
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: records[2]?.dynamodb?.SequenceNumber }]);
    expect(sent(eu, 'orders-eu')).toEqual(['put a=1', 'put b=2', 'put c=1']);
    expect(result.report.slaves).toMatchObject({ eu: { written: 3, failed: 0 }, us: { written: 1, failed: 2 } });
    expect(logged[0]).toMatchObject({ level: 'error', message: 'batch partly replicated; re-delivery requested', failedSequenceNumber: records[2]?.dynamodb?.SequenceNumber });
  });

  it('reports a non-retryable slave error at once, naming slave, table, key and AWS error', async () => {
    // Prepare
    const record = put('a', '1');
    eu.on(BatchWriteItemCommand).resolves({});
    us.on(BatchWriteItemCommand).rejects(awsError('ResourceNotFoundException', 400, 'Requested resource not found'));
    const { replicator } = replicatorWith();

    // Act
    const result = await replicator.process(streamEvent(record), contextWith(60_000));

    // Assess
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: record.dynamodb?.SequenceNumber }]);
    expect(us.commandCalls(BatchWriteItemCommand)).toHaveLength(1);
    expect(result.report.slaves.us?.errors).toEqual([
      'slave "us" (table orders-us in us-east-1): could not write key {pk: "a"}: ResourceNotFoundException: Requested resource not found (not retryable: fix the slave table, its permissions or the item, then let Lambda re-deliver)',
    ]);
  });

  it('replicates deletes made by TTL unless told to skip them, and counts the skipped ones', async () => {
    // Prepare
    eu.on(BatchWriteItemCommand).resolves({});
    us.on(BatchWriteItemCommand).resolves({});
    const event = streamEvent(put('a', '1'), remove('a', { ttl: true }), remove('b'));

    // Act
    const replicated = await replicatorWith().replicator.process(event, contextWith(10_000));
    const replicatedWrites = sent(eu, 'orders-eu');
    eu.reset();
    eu.on(BatchWriteItemCommand).resolves({});
    const skipped = await replicatorWith({ skipTtlDeletes: true }).replicator.process(event, contextWith(10_000));

    // Assess
    expect(replicatedWrites).toEqual(['delete a', 'delete b']);
    expect(replicated.report.skippedTtlDeletes).toBe(0);
    expect(sent(eu, 'orders-eu')).toEqual(['delete b', 'put a=1']);
    expect(skipped.report.skippedTtlDeletes).toBe(1);
  });

  it('reads items from the master when the stream carries no new image, and deletes those that are gone', async () => {
    // Prepare
    eu.on(BatchWriteItemCommand).resolves({});
    us.on(BatchWriteItemCommand).resolves({});
    master.on(BatchGetItemCommand).resolves({ Responses: { orders: [{ pk: { S: 'a' }, value: { S: 'now' } }] } });
    const event = streamEvent(
      streamRecord('INSERT', { key: { pk: { S: 'a' } }, viewType: 'KEYS_ONLY' }),
      streamRecord('MODIFY', { key: { pk: { S: 'b' } }, viewType: 'KEYS_ONLY' }),
      streamRecord('REMOVE', { key: { pk: { S: 'c' } }, viewType: 'KEYS_ONLY' }),
    );

    // Act
    const result = await replicatorWith().replicator.process(event, contextWith(10_000));

    // Assess
    expect(master).toHaveReceivedCommandWith(BatchGetItemCommand, {
      RequestItems: { orders: { Keys: [{ pk: { S: 'a' } }, { pk: { S: 'b' } }], ConsistentRead: true } },
    });
    expect(sent(eu, 'orders-eu')).toEqual(['delete b', 'delete c', 'put a=now']);
    expect(result.report).toMatchObject({ masterReads: 2, writes: 3, failedSequenceNumber: null });
  });

  it('reports a key whose master read failed, and still applies the rest', async () => {
    // Prepare
    eu.on(BatchWriteItemCommand).resolves({});
    us.on(BatchWriteItemCommand).resolves({});
    master.on(BatchGetItemCommand).rejects(awsError('AccessDeniedException', 400, 'not authorized to perform: dynamodb:BatchGetItem'));
    const keysOnly = streamRecord('MODIFY', { key: { pk: { S: 'b' } }, viewType: 'KEYS_ONLY' });
    const event = streamEvent(put('a', '1'), keysOnly);

    // Act
    const result = await replicatorWith().replicator.process(event, contextWith(10_000));

    // Assess
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: keysOnly.dynamodb?.SequenceNumber }]);
    expect(sent(eu, 'orders-eu')).toEqual(['put a=1']);
    expect(result.report.errors[0]).toBe('master table orders: could not read key {pk: "b"}: AccessDeniedException: not authorized to perform: dynamodb:BatchGetItem');
  });

  it('applies the records before an invalid one and reports the invalid one for re-delivery', async () => {
    // Prepare
    eu.on(BatchWriteItemCommand).resolves({});
    us.on(BatchWriteItemCommand).resolves({});
    const bad = { ...put('b', '1'), eventName: 'UPSERT' };
    const event = streamEvent(put('a', '1'), bad as never, put('c', '1'));

    // Act
    const result = await replicatorWith().replicator.process(event, contextWith(10_000));

    // Assess
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: bad.dynamodb?.SequenceNumber }]);
    expect(sent(eu, 'orders-eu')).toEqual(['put a=1']);
    expect(result.report.errors[0]).toContain('eventName "UPSERT" is unknown');
  });

  it('rejects an event that is not a stream batch', async () => {
    await expect(replicatorWith().replicator.process({ hello: 'world' })).rejects.toThrow(InvalidEventError);
  });

  it('refuses to replicate a table into itself', async () => {
    // Prepare
    const { replicator } = replicatorWith({ slaves: [{ name: 'loop', region: 'eu-west-1', tableName: 'orders' }] });

    // Act
    const processing = replicator.process(streamEvent(put('a', '1')));

    // Assess
    await expect(processing).rejects.toThrow(ConfigurationError);
    await expect(processing).rejects.toThrow('REPLICATOR_SLAVES.loop: is the master table itself (orders in eu-west-1)');
  });

  it('logs one line per invocation and one metrics document per slave', async () => {
    // Prepare
    eu.on(BatchWriteItemCommand).resolves({});
    us.on(BatchWriteItemCommand).rejectsOnce(awsError('ThrottlingException', 400)).resolves({});
    const createdAt = Math.floor(Date.now() / 1000) - 2;
    const { replicator, logged } = replicatorWith({ metricsNamespace: 'Team/Replication' });

    // Act
    await replicator.process(streamEvent(put('a', '1', { createdAt }), put('b', '1', { createdAt: createdAt + 1 })), contextWith(10_000));

    // Assess
    expect(logged).toHaveLength(3);
    expect(logged[0]).toMatchObject({
      level: 'info',
      message: 'batch replicated',
      masterTable: 'orders',
      records: 2,
      writes: 2,
      slaves: { eu: { written: 2, retries: 0, failed: 0 }, us: { written: 2, retries: 2, failed: 0 } },
      failedSequenceNumber: null,
    });
    const [, euMetrics, usMetrics] = logged;
    expect(usMetrics).toMatchObject({
      _aws: {
        CloudWatchMetrics: [
          {
            Namespace: 'Team/Replication',
            Dimensions: [['Slave']],
            Metrics: [
              { Name: 'ReplicationLatency', Unit: 'Milliseconds' },
              { Name: 'RecordsReplicated', Unit: 'Count' },
              { Name: 'WriteRetries', Unit: 'Count' },
              { Name: 'FailedRecords', Unit: 'Count' },
            ],
          },
        ],
      },
      Slave: 'us',
      RecordsReplicated: 2,
      WriteRetries: 2,
      FailedRecords: 0,
    });
    expect(euMetrics?.ReplicationLatency).toBeGreaterThanOrEqual(2_000);
    expect(euMetrics?.ReplicationLatency).toBeLessThan(10_000);
  });
});
