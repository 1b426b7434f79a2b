import { BatchGetItemCommand, DynamoDBClient, type BatchGetItemCommandInput } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { keyIdentity } from '../../handler/attribute-value';
import { readMasterItems } from '../../handler/master-reader';
import { Deadline } from '../../handler/retry';
import type { AttributeMap } from '../../handler/types';
import { awsError, FAST_BACKOFF } from './helpers/writes';

const client = new DynamoDBClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
const ddb = mockClient(client);
const deadlines: Deadline[] = [];
const deadlineIn = (ms: number): Deadline => {
  const deadline = new Deadline(Date.now() + ms);
  deadlines.push(deadline);
  return deadline;
};

const keysOf = (...ids: string[]): Map<string, AttributeMap> => new Map(ids.map((id) => [keyIdentity({ pk: { S: id } }), { pk: { S: id } }]));
const id = (value: string): string => keyIdentity({ pk: { S: value } });

describe('Function: readMasterItems', () => {
  afterEach(() => {
    ddb.reset();
    for (const deadline of deadlines.splice(0)) deadline.release();
  });

  it('reads keys strongly consistently, 100 a call, and marks the missing ones as gone', async () => {
    // Prepare
    const ids = Array.from({ length: 150 }, (_, i) => `k${i}`);
    ddb.on(BatchGetItemCommand).callsFake((input: BatchGetItemCommandInput) => {
      const keys = input.RequestItems?.orders?.Keys ?? [];
      return Promise.resolve({ Responses: { orders: keys.filter((key) => key.pk?.S !== 'k7').map((key) => ({ ...key, value: { S: 'x' } })) } });
    });

    // Act
    const outcome = await readMasterItems(client, 'orders', keysOf(...ids), { concurrency: 2, deadline: deadlineIn(5_000) });

    // Assess
    expect(ddb.commandCalls(BatchGetItemCommand).map((call) => call.args[0].input.RequestItems?.orders?.Keys?.length)).toEqual([100, 50]);
    expect(ddb.commandCalls(BatchGetItemCommand).every((call) => call.args[0].input.RequestItems?.orders?.ConsistentRead === true)).toBe(true);
    expect(outcome.items.size).toBe(150);
    expect(outcome.items.get(id('k7'))).toBeNull();
    expect(outcome.items.get(id('k8'))).toEqual({ pk: { S: 'k8' }, value: { S: 'x' } });
    expect(outcome.failed.size).toBe(0);
  });

  it('reads unprocessed keys again, and retries throttling', async () => {
    // Prepare
    ddb
      .on(BatchGetItemCommand)
      .resolvesOnce({ Responses: { orders: [{ pk: { S: 'a' } }] }, UnprocessedKeys: { orders: { Keys: [{ pk: { S: 'b' } }] } } })
      .rejectsOnce(awsError('ProvisionedThroughputExceededException', 400))
      .resolves({ Responses: { orders: [{ pk: { S: 'b' } }] } });

    // Act
    const outcome = await readMasterItems(client, 'orders', keysOf('a', 'b'), { concurrency: 1, deadline: deadlineIn(5_000), backoff: FAST_BACKOFF });

    // Assess
    expect(ddb.commandCalls(BatchGetItemCommand).map((call) => call.args[0].input.RequestItems?.orders?.Keys)).toEqual([
      [{ pk: { S: 'a' } }, { pk: { S: 'b' } }],
      [{ pk: { S: 'b' } }],
      [{ pk: { S: 'b' } }],
    ]);
    expect([...outcome.items.values()]).toEqual([{ pk: { S: 'a' } }, { pk: { S: 'b' } }]);
  });

  it('fails the keys it could not read, naming the table and key', async () => {
    // Prepare
    ddb.on(BatchGetItemCommand).rejects(awsError('ResourceNotFoundException', 400, 'Requested resource not found'));

    // Act
    const outcome = await readMasterItems(client, 'orders', keysOf('a'), { concurrency: 1, deadline: deadlineIn(5_000) });

    // Assess
    expect(outcome.failed.get(id('a'))?.message).toBe('master table orders: could not read key {pk: "a"}: ResourceNotFoundException: Requested resource not found');
  });

  it('gives up on throttling when the time runs out', async () => {
    // Prepare
    ddb.on(BatchGetItemCommand).rejects(awsError('ThrottlingException', 400));

    // Act
    const outcome = await readMasterItems(client, 'orders', keysOf('a'), { concurrency: 1, deadline: deadlineIn(100), backoff: { baseDelayMs: 5, maxDelayMs: 20 } });

    // Assess
    expect(outcome.items.size).toBe(0);
    expect(outcome.failed.get(id('a'))?.message).toBe(
      `master table orders: could not read key {pk: "a"}: still unread when the invocation's time ran out (last error: ThrottlingException: ThrottlingException from the test); Lambda re-delivers it`,
    );
  });
});
