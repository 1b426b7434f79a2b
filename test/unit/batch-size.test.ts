import { BatchGetItemCommand, BatchWriteItemCommand, DynamoDBClient, type BatchGetItemCommandInput, type BatchWriteItemCommandInput } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { keyIdentity } from '../../handler/attribute-value';
import { libraryConfig } from '../../handler/config';
import { itemSize, MAX_ITEM_BYTES, MAX_REQUEST_BYTES, wireSize } from '../../handler/item-size';
import { Replicator } from '../../handler/replicator';
import { writeToSlave } from '../../handler/slave-writer';
import { Deadline } from '../../handler/timing';
import type { AttributeMap, WriteRequest } from '../../handler/types';
import { EU, MASTER_TABLE } from './helpers/config';
import { streamEvent, streamRecord } from './helpers/records';
import { recordedTelemetry } from './helpers/telemetry';
import { FAST_BACKOFF } from './helpers/writes';

const client = new DynamoDBClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
const ddb = mockClient(client);

/** The request body as the SDK sends it: JSON, with binary in base64. */
function bodyBytes(input: BatchWriteItemCommandInput | AttributeMap): number {
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
    const items = [heavyOnTheWire(1), binaryItem(2), { pk: { S: 'quote"and\\backslash' }, control: { S: '\u0000\u001f\n\ttext' }, m: { M: { nested: { SS: ['a', 'b'] }, bytes: { BS: [new Uint8Array(10)] } } }, flag: { BOOL: true }, nothing: { NULL: true } }];

    // Act & Assess
    for (const item of items) {
      const actual = Buffer.byteLength(JSON.stringify(item, (_key, value: unknown) => (value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value)));
      expect(wireSize(item)).toBeGreaterThanOrEqual(actual);
      expect(wireSize(item)).toBeLessThan(actual * 1.5 + 100);
    }
  });
});

describe('Class: Replicator (request size of the read-back path)', () => {
  afterEach(() => {
    ddb.reset();
  });

  // Sizing 16 MB of items takes seconds of CPU, more on a shared machine under coverage.
  it('splits 25 items read back from the master for a KEYS_ONLY stream, together over 16 MB on the wire, into slave requests under it', async () => {
    // Prepare
    const items = new Map(Array.from({ length: 25 }, (_, id) => heavyOnTheWire(id)).map((item) => [item.pk?.S ?? '', item]));
    for (const item of items.values()) expect(itemSize(item)).toBeLessThan(MAX_ITEM_BYTES);
    const sizes = new Map([...items].map(([id, item]) => [id, bodyBytes(item)]));
    // The master answers as DynamoDB does: at most 16 MB a response, the other keys returned unprocessed.
    ddb.on(BatchGetItemCommand).callsFake((input: BatchGetItemCommandInput) => {
      const keys = input.RequestItems?.[MASTER_TABLE]?.Keys ?? [];
      const found: AttributeMap[] = [];
      const unprocessed: AttributeMap[] = [];
      let bytes = 0;
      for (const key of keys) {
        const id = key.pk?.S ?? '';
        const size = sizes.get(id) ?? 0;
        if (bytes + size > MAX_REQUEST_BYTES) unprocessed.push(key);
        else {
          bytes += size;
          found.push(items.get(id) ?? {});
        }
      }
      return Promise.resolve({ Responses: { [MASTER_TABLE]: found }, ...(unprocessed.length === 0 ? {} : { UnprocessedKeys: { [MASTER_TABLE]: { Keys: unprocessed } } }) });
    });
    ddb.on(BatchWriteItemCommand).resolves({});
    const event = streamEvent(...[...items.keys()].map((id) => streamRecord('MODIFY', { key: { pk: { S: id } }, viewType: 'KEYS_ONLY' })));
    const config = { ...libraryConfig([EU]), deadlineMarginMs: 0, writeConcurrency: 4 };
    const { telemetry } = recordedTelemetry({ namespace: config.metricsNamespace, replicatorName: config.replicatorName });
    const replicator = new Replicator({ config, clients: { forSlave: () => client, forMaster: () => client }, telemetry, backoff: FAST_BACKOFF });

    // Act
    const result = await replicator.process(event);

    // Assess
    const calls = ddb.commandCalls(BatchWriteItemCommand).map((call) => call.args[0].input);
    const written = calls.flatMap((input) => input.RequestItems?.[EU.tableName] ?? []).map((request) => request.PutRequest?.Item?.pk?.S);
    expect(result.batchItemFailures).toEqual([]);
    expect(ddb.commandCalls(BatchGetItemCommand).length).toBeGreaterThan(1);
    expect(written.sort()).toEqual([...items.keys()].sort());
    expect(calls.reduce((sum, input) => sum + bodyBytes(input), 0)).toBeGreaterThan(MAX_REQUEST_BYTES);
    for (const input of calls) expect(bodyBytes(input)).toBeLessThan(MAX_REQUEST_BYTES);
  }, 60_000);
});
