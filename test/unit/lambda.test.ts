import { BatchGetItemCommand, BatchWriteItemCommand, DynamoDBClient, GetItemCommand, type BatchGetItemCommandInput } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { contextWith, put, streamEvent } from './helpers/records';
import { slaveItem } from './helpers/state';
import { awsError } from './helpers/writes';

const ddb = mockClient(DynamoDBClient);
const savedEnv = { ...process.env };
const ENV = {
  REPLICATOR_SLAVES: JSON.stringify({ eu: { region: 'eu-west-1', table_name: 'orders-eu' } }),
  REPLICATOR_STATE_TABLE: 'orders-state',
  REPLICATOR_MASTER_TABLE: 'orders',
  REPLICATOR_NAME: 'orders-replicator',
};

type Entry = typeof import('../../handler/lambda');

async function loadEntry(env: Record<string, string> = {}): Promise<Entry> {
  vi.resetModules();
  process.env = { ...savedEnv, AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b', AWS_REGION: 'eu-west-1', ...ENV, ...env };
  return import('../../handler/lambda');
}

describe('Lambda entry points', () => {
  let output: string[];

  beforeEach(() => {
    output = [];
    // Powertools writes warnings and errors to standard error, the rest to standard output: Lambda logs both.
    for (const stream of [process.stdout, process.stderr]) {
      vi.spyOn(stream, 'write').mockImplementation((line: string | Uint8Array) => {
        output.push(String(line));
        return true;
      });
    }
  });

  afterEach(() => {
    ddb.reset();
    process.env = { ...savedEnv };
  });

  describe('Function: handler', () => {
    it('replicates a batch to the slaves named in REPLICATOR_SLAVES and returns only the partial batch response', async () => {
      // Prepare
      ddb.on(BatchGetItemCommand).resolves({ Responses: { 'orders-state': [] } });
      ddb.on(BatchWriteItemCommand).resolves({});
      const { handler } = await loadEntry();

      // Act
      const response = await handler(streamEvent(put('a', '1')), contextWith(10_000));

      // Assess
      expect(response).toEqual({ batchItemFailures: [] });
      expect(ddb).toHaveReceivedCommandWith(BatchGetItemCommand, { RequestItems: { 'orders-state': { Keys: [{ pk: { S: 'slave#eu' }, sk: { S: 'state' } }], ConsistentRead: true } } });
      expect(ddb).toHaveReceivedCommandWith(BatchWriteItemCommand, { RequestItems: { 'orders-eu': [{ PutRequest: { Item: { pk: { S: 'a' }, value: { S: '1' } } } }] } });
      const lines = output.map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines.map((line) => line.message ?? line.Slave)).toEqual(['batch replicated', 'eu']);
      expect(lines[1]).toMatchObject({ Replicator: 'orders-replicator' });
    });

    it('names the first record to re-deliver when the state table cannot be read, and writes to no slave', async () => {
      // Prepare
      ddb.on(BatchGetItemCommand).callsFake((input: BatchGetItemCommandInput) =>
        input.RequestItems?.['orders-state'] === undefined ? Promise.resolve({}) : Promise.reject(awsError('AccessDeniedException', 400, 'denied')),
      );
      const { handler } = await loadEntry();
      const record = put('a', '1');

      // Act
      const response = await handler(streamEvent(record, put('b', '1')), contextWith(10_000));

      // Assess
      expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: record.dynamodb?.SequenceNumber }] });
      expect(ddb).not.toHaveReceivedCommand(BatchWriteItemCommand);
    });

    it('fails every invocation with the configuration error until the configuration is fixed, and writes to no table', async () => {
      // Prepare
      const { handler } = await loadEntry({ REPLICATOR_SLAVES: '{"eu":{"region":"eu-west-1"}}', AWS_LAMBDA_FUNCTION_NAME: '' });

      // Act
      const first = handler({ Records: [] }, contextWith(10_000));
      await expect(first).rejects.toThrow('REPLICATOR_SLAVES.eu.table_name: is missing: every slave needs region and table_name');
      const second = handler({ Records: [] }, contextWith(10_000));

      // Assess
      await expect(second).rejects.toThrow('REPLICATOR_SLAVES.eu.table_name: is missing');
      expect(ddb.calls()).toHaveLength(0);
      const lines = output.map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines[0]).toMatchObject({ level: 'ERROR', error: 'REPLICATOR_SLAVES.eu.table_name: is missing: every slave needs region and table_name' });
      expect(String(lines[0]?.message)).toContain('configuration rejected; the event source mapping could not be disabled (the invocation names no function or stream to find the mapping by)');
    });
  });

  describe('Function: drain', () => {
    it('drains with the configuration from the environment and resolves the parked changes left per slave', async () => {
      // Prepare
      ddb.on(GetItemCommand).resolves({ Item: slaveItem('eu', { mode: 'live', epoch: 1 }) });
      const { drain } = await loadEntry();

      // Act
      const result = await drain({}, contextWith(10_000));

      // Assess
      expect(result).toEqual({ pending: { eu: 0 } });
      expect(ddb).toHaveReceivedCommandWith(GetItemCommand, { TableName: 'orders-state', Key: { pk: { S: 'slave#eu' }, sk: { S: 'state' } }, ConsistentRead: true });
      const lines = output.map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines).toContainEqual(expect.objectContaining({ Replicator: 'orders-replicator', Slave: 'eu', ParkedPending: 0, OldestParkedAgeSeconds: 0 }));
    });
  });

  describe('Function: copySegment', () => {
    it('copies with the configuration from the environment, refusing a slave not marked initial_copy', async () => {
      // Prepare
      const { copySegment } = await loadEntry();

      // Act
      const copying = copySegment({ slave: 'eu', segment: 0, totalSegments: 1 }, contextWith(10_000));

      // Assess
      await expect(copying).rejects.toThrow('slaves.eu: is not marked initial_copy');
    });

    it('resolves done for a slave whose copy is done', async () => {
      // Prepare
      ddb.on(GetItemCommand).resolves({ Item: slaveItem('eu', { mode: 'parked', copy: 'done' }) });
      const { copySegment } = await loadEntry({ REPLICATOR_SLAVES: JSON.stringify({ eu: { region: 'eu-west-1', table_name: 'orders-eu', initial_copy: true } }) });

      // Act
      const result = await copySegment({ slave: 'eu', segment: 0, totalSegments: 4 }, contextWith(10_000));

      // Assess
      expect(result).toEqual({ slave: 'eu', segment: 0, totalSegments: 4, done: true, items: 0, copied: true });
    });
  });
});
