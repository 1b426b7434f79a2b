import { BatchWriteItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigurationError, ReplicationIncompleteError } from '../../handler/errors';
import createReplicator, { createLegacyReplicator } from '../../handler/index';
import { contextWith, put, remove, streamEvent } from './helpers/records';
import { awsError } from './helpers/writes';

const ddb = mockClient(DynamoDBClient);

describe('Function: createLegacyReplicator (the original package API)', () => {
  beforeEach(() => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  });

  afterEach(() => ddb.reset());

  it('is the default export, and process(event) resolves once every change is in the table', async () => {
    // Prepare
    ddb.on(BatchWriteItemCommand).resolves({});

    // Act
    const result = await createReplicator({ region: 'eu-west-1', table: 'orders-copy' }).process(streamEvent(put('a', '1'), remove('b')));

    // Assess
    expect(createReplicator).toBe(createLegacyReplicator);
    expect(result.batchItemFailures).toEqual([]);
    expect(ddb).toHaveReceivedCommandWith(BatchWriteItemCommand, {
      RequestItems: { 'orders-copy': [{ PutRequest: { Item: { pk: { S: 'a' }, value: { S: '1' } } } }, { DeleteRequest: { Key: { pk: { S: 'b' } } } }] },
    });
  });

  it('rejects when a change did not reach the table, so no caller loses it unknowingly', async () => {
    // Prepare
    ddb.on(BatchWriteItemCommand).rejects(awsError('ResourceNotFoundException', 400, 'Requested resource not found'));
    const record = put('a', '1');

    // Act
    const processing = createReplicator({ region: 'eu-west-1', table: 'orders-copy' }).process(streamEvent(record), contextWith(5_000));

    // Assess
    await expect(processing).rejects.toBeInstanceOf(ReplicationIncompleteError);
    await expect(processing).rejects.toMatchObject({
      failedSequenceNumber: record.dynamodb?.SequenceNumber,
      message: expect.stringContaining('were not all applied to orders-copy: slave "default" (table orders-copy in eu-west-1): could not write key {pk: "a"}: ResourceNotFoundException') as unknown,
    });
  });

  it('checks its options like REPLICATOR_SLAVES', () => {
    expect(() => createReplicator({ region: 'nowhere', table: 'orders' })).toThrow(ConfigurationError);
    expect(() => createReplicator({ region: 'nowhere', table: 'orders' })).toThrow('options.default.region: "nowhere" is not an AWS region');
  });
});
