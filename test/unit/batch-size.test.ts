import { BatchWriteItemCommand, DynamoDBClient, type BatchWriteItemCommandInput } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { keyIdentity } from '../../handler/attribute-value';
import { itemSize, MAX_ITEM_BYTES, MAX_REQUEST_BYTES, wireSize } from '../../handler/item-size';
import { writeToSlave } from '../../handler/slave-writer';
import { Deadline } from '../../handler/timing';
import type { AttributeMap, WriteRequest } from '../../handler/types';

const client = new DynamoDBClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
const ddb = mockClient(client);

/** The request body as the SDK sends it: JSON, with binary in base64. */
function bodyBytes(input: BatchWriteItemCommandInput): number {
  return Buffer.byteLength(JSON.stringify(input, (_key, value: unknown) => (value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value)));
}

/** An item just under the 400 KB item limit that weighs about three times as much on the wire: many small numbers. */
function heavyOnTheWire(id: number): AttributeMap {
  const key = { pk: { S: `item-${id}` } };
  return { ...key, values: { L: Array.from({ length: 130_000 }, () => ({ N: '7' })) } };
}

/** An item just under the limit in binary, which travels as base64. */
function binaryItem(id: number): AttributeMap {
  return { pk: { S: `bin-${id}` }, payload: { B: new Uint8Array(399 * 1024) } };
}

const putOf = (item: AttributeMap): WriteRequest => ({ kind: 'put', keyId: keyIdentity({ pk: item.pk ?? { S: '' } }), key: { pk: item.pk ?? { S: '' } }, item });

describe('Function: writeToSlave (request size)', () => {
  afterEach(() => {
    ddb.reset();
  });

  // Sizing 16 MB of items takes seconds of CPU, more on a shared machine under coverage.
  it('splits 25 items within the item limit that together exceed 16 MB on the wire into requests under it', async () => {
    // Prepare
    ddb.on(BatchWriteItemCommand).resolves({});
    const items = Array.from({ length: 25 }, (_, id) => heavyOnTheWire(id));
    for (const item of items) expect(itemSize(item)).toBeLessThan(MAX_ITEM_BYTES);
    const deadline = new Deadline(Date.now() + 10_000);

    // Act
    const outcome = await writeToSlave({ name: 'eu', tableName: 'orders-eu', region: 'eu-west-1', client }, items.map(putOf), { concurrency: 4, deadline }).finally(() => deadline.release());

    // Assess
    const calls = ddb.commandCalls(BatchWriteItemCommand).map((call) => call.args[0].input);
    const total = calls.reduce((sum, input) => sum + bodyBytes(input), 0);
    expect(outcome.written).toBe(25);
    expect(total).toBeGreaterThan(MAX_REQUEST_BYTES);
    for (const input of calls) expect(bodyBytes(input)).toBeLessThan(MAX_REQUEST_BYTES);
    expect(calls.length).toBeGreaterThan(1);
  }, 30_000);

  it('bounds the wire size from above, binary as base64', () => {
    // Prepare
    const items = [heavyOnTheWire(1), binaryItem(2), { pk: { S: 'quote"and\\backslash' }, m: { M: { nested: { SS: ['a', 'b'] }, bytes: { BS: [new Uint8Array(10)] } } }, flag: { BOOL: true }, nothing: { NULL: true } }];

    // Act & Assess
    for (const item of items) {
      const actual = Buffer.byteLength(JSON.stringify(item, (_key, value: unknown) => (value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value)));
      expect(wireSize(item)).toBeGreaterThanOrEqual(actual);
      expect(wireSize(item)).toBeLessThan(actual * 1.5 + 100);
    }
  });
});
