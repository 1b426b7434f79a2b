import {
  BatchWriteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  ScanCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localClientConfig, startDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local';
import { FaultKind, startFaultProxy, type BatchWriteObservation, type FaultProxy } from '../support/fault-proxy';
import { createTable } from '../support/tables';

describe('Function: startFaultProxy', () => {
  let engine: DynamoDbLocal;
  let proxy: FaultProxy;
  let direct: DynamoDBClient;
  let viaProxy: DynamoDBClient;
  const observations: BatchWriteObservation[] = [];
  let tableCount = 0;

  beforeAll(async () => {
    engine = await startDynamoDbLocal();
    proxy = await startFaultProxy({ target: engine.endpoint, seed: 7, onBatchWrite: (o) => observations.push(o) });
    direct = new DynamoDBClient(localClientConfig(engine.endpoint));
    // One attempt: the test must see the proxy's answer, not the SDK's retry of it.
    viaProxy = new DynamoDBClient({ ...localClientConfig(proxy.endpoint), maxAttempts: 1 });
  });

  afterAll(async () => {
    direct.destroy();
    viaProxy.destroy();
    await proxy.stop();
    await engine.stop();
  });

  async function table(): Promise<string> {
    tableCount += 1;
    const { tableName } = await createTable(viaProxy, { tableName: `slave-${tableCount}` });
    return tableName;
  }

  function puts(count: number, bytes = Uint8Array.from([0, 255, 61])): WriteRequest[] {
    return Array.from({ length: count }, (_, i) => ({ PutRequest: { Item: { pk: { S: `k${i}` }, b: { B: bytes } } } }));
  }

  it.each([
    [FaultKind.PROVISIONED_THROUGHPUT_EXCEEDED, 'ProvisionedThroughputExceededException', 400],
    [FaultKind.THROTTLING, 'ThrottlingException', 400],
    [FaultKind.INTERNAL_SERVER_ERROR, 'InternalServerError', 500],
  ] as const)('answers %s so that the SDK raises %s (HTTP %d)', async (kind, name, status) => {
    // Prepare
    const tableName = await table();
    proxy.failNext(kind);
    const before = proxy.stats.injected[kind];

    // Act
    const error = await viaProxy
      .send(new BatchWriteItemCommand({ RequestItems: { [tableName]: puts(3) } }))
      .then(() => undefined, (thrown: unknown) => thrown);

    // Assess
    expect(error).toMatchObject({ name, $metadata: { httpStatusCode: status } });
    expect(proxy.stats.injected[kind]).toBe(before + 1);
    const { Count } = await direct.send(new ScanCommand({ TableName: tableName, Select: 'COUNT' }));
    expect(Count).toBe(0);
  });

  it('applies only part of a batch and returns the rest as UnprocessedItems', async () => {
    // Prepare
    const tableName = await table();
    proxy.failNext(FaultKind.PARTIAL, 1, { unprocessedFraction: 0.4 });
    observations.length = 0;

    // Act
    const output = await viaProxy.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: puts(10) } }));

    // Assess
    const unprocessed = output.UnprocessedItems?.[tableName] ?? [];
    expect(unprocessed).toHaveLength(4);
    expect(unprocessed[0]?.PutRequest?.Item?.['b']?.B).toEqual(Uint8Array.from([0, 255, 61]));
    const { Count } = await direct.send(new ScanCommand({ TableName: tableName, Select: 'COUNT' }));
    expect(Count).toBe(6);
    const heldBackKey = unprocessed[0]?.PutRequest?.Item?.['pk'];
    const { Item } = await direct.send(new GetItemCommand({ TableName: tableName, Key: { pk: heldBackKey ?? { S: '' } } }));
    expect(Item).toBeUndefined();
    expect(observations).toHaveLength(1);
    expect(observations[0]?.applied[tableName]).toHaveLength(6);
    expect(observations[0]?.unprocessed).toBe(4);
  });

  it('injects faults by seeded probability, the same way on every run', async () => {
    // Prepare
    const tableName = await table();
    const outcomes = async (): Promise<string[]> => {
      const local = await startFaultProxy({ target: engine.endpoint, seed: 42 });
      local.failRandomly(FaultKind.THROTTLING, 0.5);
      const client = new DynamoDBClient({ ...localClientConfig(local.endpoint), maxAttempts: 1 });
      const results: string[] = [];
      for (let i = 0; i < 20; i += 1) {
        results.push(
          await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: puts(1) } })).then(
            () => 'ok',
            (error: unknown) => (error instanceof Error ? error.name : 'unknown'),
          ),
        );
      }
      client.destroy();
      await local.stop();
      return results;
    };

    // Act
    const first = await outcomes();
    const second = await outcomes();

    // Assess
    expect(first).toEqual(second);
    expect(first).toContain('ok');
    expect(first).toContain('ThrottlingException');
  });

  it('passes every other call through unchanged', async () => {
    // Prepare
    const tableName = await table();
    proxy.failRandomly(FaultKind.INTERNAL_SERVER_ERROR, 1);

    // Act
    const scan = await viaProxy.send(new ScanCommand({ TableName: tableName }));
    proxy.clearFaults();
    const write = await viaProxy.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: puts(2) } }));

    // Assess
    expect(scan.Items).toEqual([]);
    expect(write.UnprocessedItems).toEqual({});
  });
});
