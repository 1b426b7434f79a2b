import { DeleteItemCommand, DynamoDBClient, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalAttributeValue, compareTables } from '../support/compare-tables';
import { localClientConfig, startDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local';
import { createTable } from '../support/tables';
import { OperationKind, runWorkload, type WorkloadOperation } from '../support/workload';

describe('Functions: runWorkload and compareTables', () => {
  let engine: DynamoDbLocal;
  let client: DynamoDBClient;
  let tableCount = 0;

  beforeAll(async () => {
    engine = await startDynamoDbLocal();
    client = new DynamoDBClient(localClientConfig(engine.endpoint));
  });

  afterAll(async () => {
    client.destroy();
    await engine.stop();
  });

  async function table(): Promise<string> {
    tableCount += 1;
    return (await createTable(client, { tableName: `table-${tableCount}` })).tableName;
  }

  it('writes the same table twice from the same seed, with every kind of write and a large item', async () => {
    // Prepare
    const [first, second] = [await table(), await table()];
    const operations: WorkloadOperation[] = [];
    const options = { client, seed: 3, operations: 300, keySpace: 40, concurrency: 1, largeItemShare: 0.02, clock: () => 0 };

    // Act
    const result = await runWorkload({ ...options, tableName: first, onOperation: (operation) => operations.push(operation) });
    await runWorkload({ ...options, tableName: second });
    const comparison = await compareTables({ master: { client, tableName: first }, slave: { client, tableName: second } });

    // Assess
    expect(result).toMatchObject({ operations: 300, errors: 0 });
    expect(result.puts + result.updates + result.deletes).toBe(300);
    expect(result.largeItems).toBeGreaterThan(0);
    expect(new Set(operations.map((operation) => operation.kind))).toEqual(new Set(Object.values(OperationKind)));
    expect(operations.some((operation) => operation.key.startsWith('hot-'))).toBe(true);
    expect(comparison).toMatchObject({ identical: true, missing: 0, extra: 0, different: 0 });
    expect(comparison.masterItems).toBeGreaterThan(0);
  });

  it('keeps to the requested rate', async () => {
    // Prepare
    const tableName = await table();

    // Act
    const result = await runWorkload({ client, tableName, rate: 50, durationMs: 2_000 });

    // Assess
    expect(result.operations).toBeGreaterThanOrEqual(80);
    expect(result.operations).toBeLessThanOrEqual(101);
  });

  it('finds missing, extra and different items, binary-safe', async () => {
    // Prepare
    const [master, slave] = [await table(), await table()];
    await runWorkload({ client, tableName: master, seed: 9, operations: 50, keySpace: 30, concurrency: 1, clock: () => 0 });
    await runWorkload({ client, tableName: slave, seed: 9, operations: 50, keySpace: 30, concurrency: 1, clock: () => 0 });
    const { Items = [] } = await client.send(new ScanCommand({ TableName: slave, Limit: 3 }));
    const [dropped, changed] = Items;
    await client.send(new DeleteItemCommand({ TableName: slave, Key: { pk: dropped?.['pk'] ?? { S: '' } } }));
    // Only one byte differs: a comparison of base64 text or of lengths would miss nothing else.
    const bytes = Uint8Array.from(changed?.['b']?.B ?? []);
    bytes[0] = (bytes[0] ?? 0) ^ 1;
    await client.send(new PutItemCommand({ TableName: slave, Item: { ...changed, b: { B: bytes.length > 0 ? bytes : Uint8Array.from([1]) } } }));
    await client.send(new PutItemCommand({ TableName: slave, Item: { pk: { S: 'only-in-slave' } } }));

    // Act
    const comparison = await compareTables({ master: { client, tableName: master }, slave: { client, tableName: slave } });

    // Assess
    expect(comparison).toMatchObject({ missing: 1, extra: 1, different: 1, identical: false });
    expect(comparison.sampleKeys.missing).toEqual([JSON.stringify([{ S: dropped?.['pk']?.S }])]);
    expect(comparison.sampleKeys.extra).toEqual([JSON.stringify([{ S: 'only-in-slave' }])]);
    expect(comparison.sampleKeys.different).toEqual([JSON.stringify([{ S: changed?.['pk']?.S }])]);
  });

  it('compares numbers as exact strings and sets without regard to order', () => {
    // Assess
    expect(canonicalAttributeValue({ N: '1.0' })).not.toEqual(canonicalAttributeValue({ N: '1' }));
    expect(canonicalAttributeValue({ N: '1' })).not.toEqual(canonicalAttributeValue({ S: '1' }));
    expect(canonicalAttributeValue({ NS: ['2', '1'] })).toEqual(canonicalAttributeValue({ NS: ['1', '2'] }));
    expect(canonicalAttributeValue({ BS: [Uint8Array.from([2]), Uint8Array.from([1])] })).toEqual(
      canonicalAttributeValue({ BS: [Uint8Array.from([1]), Uint8Array.from([2])] }),
    );
    expect(canonicalAttributeValue({ B: Uint8Array.from([1]) })).not.toEqual(canonicalAttributeValue({ S: 'AQ==' }));
  });
});
