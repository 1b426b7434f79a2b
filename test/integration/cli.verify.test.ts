/**
 * `dynamo-replicator verify` on DynamoDB Local, on a table keyed by binary and number: equal tables pass; drift of
 * every kind (missing, extra, different) is found and reported with keys; `--repair` fixes it and verify then passes.
 */
import { BatchWriteItemCommand, DeleteItemCommand, DynamoDBClient, PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pickKey } from '../../handler/attribute-value';
import type { VerifySummary } from '../../handler/cli/verify';
import { compareTables } from '../support/compare-tables';
import { localClientConfig, startDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local';
import { createTable } from '../support/tables';
import { randomItem, seededRandom } from '../support/workload';
import { runInProcess } from './helpers/cli';

let engine: DynamoDbLocal;
let client: DynamoDBClient;
const savedEnv = { ...process.env };

beforeAll(async () => {
  engine = await startDynamoDbLocal();
  client = new DynamoDBClient(localClientConfig(engine.endpoint, 'eu-west-1'));
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' });
});

afterAll(async () => {
  process.env = { ...savedEnv };
  await engine.stop();
});

/** Item `i`: binary partition key (bytes that look like base64, and a zero byte), number sort key of 38 digits. */
function itemOf(index: number, random: () => number): Record<string, AttributeValue> {
  const item = randomItem(random, 'unused', 0);
  delete item.pk;
  return { ...item, id: { B: new Uint8Array(Buffer.from(`QUJD${index}\0`)) }, seq: { N: `1234567890123456789012345678901234567${index % 10}` } };
}

async function writeAll(table: string, items: Record<string, AttributeValue>[]): Promise<void> {
  for (let start = 0; start < items.length; start += 25) {
    await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: items.slice(start, start + 25).map((item) => ({ PutRequest: { Item: item } })) } }));
  }
}

describe('Command: verify (DynamoDB Local)', () => {
  it('finds missing, extra and different items, repairs them, and then proves the slaves equal', async () => {
    // Prepare
    const keySchema = { partitionKey: { name: 'id', type: 'B' as const }, sortKey: { name: 'seq', type: 'N' as const } };
    await createTable(client, { tableName: 'ledger', ...keySchema, streamViewType: 'NEW_AND_OLD_IMAGES' });
    await createTable(client, { tableName: 'ledger-a', ...keySchema });
    await createTable(client, { tableName: 'ledger-b', ...keySchema });
    await createTable(client, { tableName: 'ledger-state', sortKey: { name: 'sk', type: 'S' } });
    const random = seededRandom(3);
    const items = Array.from({ length: 600 }, (_, index) => itemOf(index, random));
    await Promise.all(['ledger', 'ledger-a', 'ledger-b'].map((table) => writeAll(table, items)));
    const [first, second, third] = items;
    if (first === undefined || second === undefined || third === undefined) throw new Error('no items');
    await client.send(new DeleteItemCommand({ TableName: 'ledger-a', Key: pickKey(first, ['id', 'seq']) }));
    await client.send(new PutItemCommand({ TableName: 'ledger-a', Item: { ...second, n: { N: '99999999999999999999999999999999999999' } } }));
    await client.send(new PutItemCommand({ TableName: 'ledger-b', Item: { id: { B: new Uint8Array([0, 1, 2]) }, seq: { N: '1' }, ghost: { BOOL: true } } }));
    await client.send(new PutItemCommand({ TableName: 'ledger-b', Item: { ...third, b: { B: new Uint8Array([...(third.b?.B ?? []), 0]) } } }));
    const slaves = JSON.stringify({ a: { region: 'eu-west-1', table_name: 'ledger-a', endpoint: engine.endpoint }, b: { region: 'eu-west-1', table_name: 'ledger-b', endpoint: engine.endpoint } });
    const base = ['verify', '--table', 'ledger', '--region', 'eu-west-1', '--endpoint', engine.endpoint, '--slaves', slaves, '--segments', '3', '--partitions', '4', '--recheck-delay', '100', '--recheck-window', '1'];

    // Act
    const found = await runInProcess([...base, '--json']);
    const text = await runInProcess(base);
    const ignoring = await runInProcess([...base, '--ignore-attribute', 'n,b', '--json']);
    const sampled = await runInProcess([...base, '--sample', '0.5', '--json']);
    const refused = await runInProcess([...base, '--repair']);
    const repaired = await runInProcess([...base, '--repair', '--state-table', 'ledger-state', '--json']);
    const after = await runInProcess([...base, '--json']);

    // Assess
    expect(found.code).toBe(1);
    const summary = JSON.parse(found.stdout) as VerifySummary;
    expect(summary).toMatchObject({ equal: false, masterItems: 600 });
    expect(summary.slaves[0]).toMatchObject({ name: 'a', items: 599, missing: 1, extra: 0, different: 1, equal: false });
    expect(summary.slaves[1]).toMatchObject({ name: 'b', items: 601, missing: 0, extra: 1, different: 1, equal: false });
    expect(summary.slaves[0]?.samples.missing[0]?.key).toEqual({ id: { B: Buffer.from(first.id?.B ?? []).toString('base64') }, seq: { N: first.seq?.N } });
    expect(summary.slaves[1]?.samples.extra[0]?.text).toBe('{id: <binary AAEC>, seq: 1}');
    expect(text.stdout).toMatch(/DIFFERENT {2}slave "a" \(ledger-a in eu-west-1\): 599 items; missing 1, extra 0, different 1/);
    expect(text.stdout).toContain('Not every slave equals the master.');
    expect(found.stderr).toMatch(/verify will read about [\d,]+ read capacity units: a full eventually consistent scan of the master and every slave/);
    expect(summary.estimatedReadUnits).toBeGreaterThan(0);
    // Only the attributes that were changed are ignored: the missing and extra items still count.
    expect((JSON.parse(ignoring.stdout) as VerifySummary).slaves.map((slave) => ({ missing: slave.missing, extra: slave.extra, different: slave.different }))).toEqual([
      { missing: 1, extra: 0, different: 0 },
      { missing: 0, extra: 1, different: 0 },
    ]);
    // A sample of 2 of the 3 segments reads the master's share and looks its keys up on the slaves: no extra items.
    const sample = JSON.parse(sampled.stdout) as VerifySummary;
    expect(sample).toMatchObject({ sample: 0.5 });
    expect(sample.slaves.every((slave) => slave.extra === 0)).toBe(true);
    expect(sample.slaves.reduce((sum, slave) => sum + slave.settled, 0)).toBeLessThan(2 * 600);
    expect(sample.slaves.reduce((sum, slave) => sum + slave.settled, 0)).toBeGreaterThan(2 * 200);
    expect(sampled.stderr).toContain('2 of 3 scan segments of the master');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("--repair: needs the replicator's state table");
    expect(repaired.code, repaired.stdout).toBe(0);
    expect(JSON.parse(repaired.stdout)).toMatchObject({ equal: true, slaves: [{ repaired: 2, unrepaired: 0 }, { repaired: 2, unrepaired: 0 }] });
    expect(after.code, after.stdout).toBe(0);
    for (const slave of ['ledger-a', 'ledger-b']) {
      expect((await compareTables({ master: { client, tableName: 'ledger' }, slave: { client, tableName: slave } })).identical).toBe(true);
    }
  });
});
