import { BatchGetItemCommand, DynamoDBClient, type BatchGetItemCommandInput } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { keyIdentity } from '../../handler/attribute-value';
import { readCurrentItems } from '../../handler/item-reader';
import { Deadline } from '../../handler/timing';
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

describe('Function: readCurrentItems', () => {
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
    const outcome = await readCurrentItems(client, 'orders', keysOf(...ids), { concurrency: 2, deadline: deadlineIn(5_000) });

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
    const outcome = await readCurrentItems(client, 'orders', keysOf('a', 'b'), { concurrency: 1, deadline: deadlineIn(5_000), backoff: FAST_BACKOFF });

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
    const outcome = await readCurrentItems(client, 'orders', keysOf('a'), { concurrency: 1, deadline: deadlineIn(5_000) });

    // Assess
    expect(outcome.failed.get(id('a'))?.message).toBe('master table orders: could not read key {pk: "a"}: ResourceNotFoundException: Requested resource not found');
  });

  it('gives up on throttling when the time runs out', async () => {
    // Prepare
    ddb.on(BatchGetItemCommand).rejects(awsError('ThrottlingException', 400));

    // Act
    const outcome = await readCurrentItems(client, 'orders', keysOf('a'), { concurrency: 1, deadline: deadlineIn(100), backoff: { baseDelayMs: 5, maxDelayMs: 20 } });

    // Assess
    expect(outcome.items.size).toBe(0);
    expect(outcome.failed.get(id('a'))?.message).toBe(
      `master table orders: could not read key {pk: "a"}: still unread at its deadline (last error: ThrottlingException: ThrottlingException from the test)`,
    );
  });

  it('names the table as told, for the command-line tool reading slaves', async () => {
    // Prepare
    ddb.on(BatchGetItemCommand).rejects(awsError('AccessDeniedException', 400, 'denied'));

    // Act
    const outcome = await readCurrentItems(client, 'orders-eu', keysOf('a'), { concurrency: 1, deadline: deadlineIn(5_000), label: 'slave "eu" (table orders-eu in eu-west-1)' });

    // Assess
    expect(outcome.failed.get(id('a'))?.message).toBe('slave "eu" (table orders-eu in eu-west-1): could not read key {pk: "a"}: AccessDeniedException: denied');
  });

  it('reads nothing once the deadline has passed, and reports the keys for re-delivery', async () => {
    // Act
    const outcome = await readCurrentItems(client, 'orders', keysOf('a', 'b'), { concurrency: 1, deadline: deadlineIn(-1) });

    // Assess
    expect(ddb.calls()).toHaveLength(0);
    expect(outcome.failed.get(id('b'))?.message).toBe("master table orders: could not read key {pk: \"b\"}: still unread at its deadline");
  });

  it('starts no read after the deadline, even for keys already waiting for a place', async () => {
    // Prepare
    ddb.on(BatchGetItemCommand).callsFake(async (input: BatchGetItemCommandInput) => {
      await new Promise((resolve) => setTimeout(resolve, 120));
      return { Responses: { orders: input.RequestItems?.orders?.Keys ?? [] } };
    });
    const deadline = new Deadline(Date.now() + 50, Date.now, Date.now() + 2_000);
    deadlines.push(deadline);
    const ids = Array.from({ length: 150 }, (_, i) => `k${i}`);

    // Act
    const outcome = await readCurrentItems(client, 'orders', keysOf(...ids), { concurrency: 1, deadline });

    // Assess: the first 100 keys were in flight at the deadline and were read; the other 50 never left.
    expect(ddb.commandCalls(BatchGetItemCommand)).toHaveLength(1);
    expect(outcome.items.size).toBe(100);
    expect(outcome.failed.size).toBe(50);
  });

  it('cuts off a read still running when the invocation must end', async () => {
    // Prepare
    ddb.on(BatchGetItemCommand).callsFake(async () => {
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      return {};
    });

    // Act
    const outcome = await readCurrentItems(client, 'orders', keysOf('a'), { concurrency: 1, deadline: deadlineIn(50) });

    // Assess
    expect(outcome.failed.get(id('a'))?.message).toContain('(last error: Error: the call was still running when the work had to end)');
  });
});

