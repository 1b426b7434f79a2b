import { BatchWriteItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { contextWith, put, streamEvent } from './helpers/records';
import { awsError } from './helpers/writes';

const ddb = mockClient(DynamoDBClient);
const savedEnv = { ...process.env };

async function loadHandler(env: Record<string, string>): Promise<typeof import('../../handler/lambda').handler> {
  vi.resetModules();
  process.env = { ...savedEnv, AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b', ...env };
  return (await import('../../handler/lambda')).handler;
}

describe('Function: handler', () => {
  let output: string[];

  beforeEach(() => {
    output = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((line: string | Uint8Array) => {
      output.push(String(line));
      return true;
    });
  });

  afterEach(() => {
    ddb.reset();
    process.env = { ...savedEnv };
  });

  it('replicates a batch to the slaves named in REPLICATOR_SLAVES and returns only the partial batch response', async () => {
    // Prepare
    ddb.on(BatchWriteItemCommand).resolves({});
    const handler = await loadHandler({ REPLICATOR_SLAVES: JSON.stringify({ eu: { region: 'eu-west-1', table_name: 'orders-eu' } }) });

    // Act
    const response = await handler(streamEvent(put('a', '1')), contextWith(10_000));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(ddb).toHaveReceivedCommandWith(BatchWriteItemCommand, { RequestItems: { 'orders-eu': [{ PutRequest: { Item: { pk: { S: 'a' } , value: { S: '1' } } } }] } });
    const lines = output.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((line) => line.message ?? line.Slave)).toEqual(['batch replicated', 'eu']);
  });

  it('names the record to re-deliver when a slave write fails', async () => {
    // Prepare
    ddb.on(BatchWriteItemCommand).rejects(awsError('AccessDeniedException', 400));
    const handler = await loadHandler({ REPLICATOR_SLAVES: JSON.stringify({ eu: { region: 'eu-west-1', table_name: 'orders-eu' } }) });
    const record = put('a', '1');

    // Act
    const response = await handler(streamEvent(record), contextWith(10_000));

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: record.dynamodb?.SequenceNumber }] });
  });

  it('fails every invocation with the configuration error until the configuration is fixed, consuming nothing', async () => {
    // Prepare
    const handler = await loadHandler({ REPLICATOR_SLAVES: '{"eu":{"region":"eu-west-1"}}' });

    // Act
    const first = handler(streamEvent(put('a', '1')), contextWith(10_000));
    const second = handler(streamEvent(put('b', '1')), contextWith(10_000));

    // Assess
    await expect(first).rejects.toThrow('REPLICATOR_SLAVES.eu.table_name: is missing: every slave needs region and table_name');
    await expect(second).rejects.toThrow('REPLICATOR_SLAVES.eu.table_name: is missing');
    expect(ddb.calls()).toHaveLength(0);
    expect(JSON.parse(output[0] ?? '{}')).toEqual({
      level: 'error',
      message: 'configuration rejected; every invocation will fail until it is fixed',
      error: 'REPLICATOR_SLAVES.eu.table_name: is missing: every slave needs region and table_name',
    });
  });
});
