import { BatchWriteItemCommand, DynamoDBClient, type BatchWriteItemCommandInput } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { SlaveWriteError } from '../../handler/errors';
import { Deadline } from '../../handler/timing';
import { writeToSlave, type SlaveTarget } from '../../handler/slave-writer';
import type { WriteRequest } from '../../handler/types';
import { awsError, deleteWrite, FAST_BACKOFF, putWrite } from './helpers/writes';

const client = new DynamoDBClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
const ddb = mockClient(client);
const target: SlaveTarget = { name: 'eu', tableName: 'orders-eu', region: 'eu-west-1', client };

const deadlines: Deadline[] = [];
function deadlineIn(ms: number): Deadline {
  const deadline = new Deadline(Date.now() + ms);
  deadlines.push(deadline);
  return deadline;
}

const sentRequests = (): NonNullable<BatchWriteItemCommandInput['RequestItems']>[string][] =>
  ddb.commandCalls(BatchWriteItemCommand).map((call) => call.args[0].input.RequestItems?.['orders-eu'] ?? []);

const ids = (count: number, prefix = 'item'): WriteRequest[] => Array.from({ length: count }, (_, i) => putWrite(`${prefix}-${i}`));

describe('Function: writeToSlave', () => {
  afterEach(() => {
    ddb.reset();
    for (const deadline of deadlines.splice(0)) deadline.release();
  });

  it('sends puts and deletes in BatchWriteItem calls of at most 25 requests', async () => {
    // Prepare
    ddb.on(BatchWriteItemCommand).resolves({});
    const writes = [...ids(60), deleteWrite('gone')];

    // Act
    const outcome = await writeToSlave(target, writes, { concurrency: 4, deadline: deadlineIn(5_000) });

    // Assess
    expect(outcome).toEqual({ slave: 'eu', written: 61, retries: 0, failed: [] });
    expect(sentRequests().map((requests) => requests.length)).toEqual([25, 25, 11]);
    expect(sentRequests().at(-1)?.at(-1)).toEqual({ DeleteRequest: { Key: { pk: { S: 'gone' } } } });
    expect(sentRequests()[0]?.[0]).toEqual({ PutRequest: { Item: { pk: { S: 'item-0' }, value: { S: 'v' } } } });
  });

  it('does nothing for no writes', async () => {
    expect(await writeToSlave(target, [], { concurrency: 1, deadline: deadlineIn(1_000) })).toEqual({ slave: 'eu', written: 0, retries: 0, failed: [] });
    expect(ddb.calls()).toHaveLength(0);
  });

  it('re-sends unprocessed items, and only those, until they are applied', async () => {
    // Prepare
    const writes = ids(3);
    ddb
      .on(BatchWriteItemCommand)
      .resolvesOnce({ UnprocessedItems: { 'orders-eu': [{ PutRequest: { Item: { pk: { S: 'item-2' }, value: { S: 'v' } } } }] } })
      .resolvesOnce({ UnprocessedItems: { 'orders-eu': [{ PutRequest: { Item: { value: { S: 'v' }, pk: { S: 'item-2' } } } }] } })
      .resolves({});
    const applied: string[] = [];

    // Act
    const outcome = await writeToSlave(target, writes, {
      concurrency: 1,
      deadline: deadlineIn(5_000),
      backoff: FAST_BACKOFF,
      onApplied: (done) => applied.push(...done.map((write) => write.key.pk?.S ?? '')),
    });

    // Assess
    expect(outcome).toMatchObject({ written: 3, retries: 2, failed: [] });
    expect(sentRequests().map((requests) => requests.length)).toEqual([3, 1, 1]);
    expect(applied).toEqual(['item-0', 'item-1', 'item-2']);
  });

  it.each([
    ['ProvisionedThroughputExceededException', 400],
    ['ThrottlingException', 400],
    ['RequestLimitExceeded', 400],
    ['InternalServerError', 500],
    ['ServiceUnavailable', 503],
  ])('retries after %s until it clears', async (name, status) => {
    // Prepare
    ddb.on(BatchWriteItemCommand).rejectsOnce(awsError(name, status)).rejectsOnce(awsError(name, status)).resolves({});

    // Act
    const outcome = await writeToSlave(target, ids(2), { concurrency: 1, deadline: deadlineIn(5_000), backoff: FAST_BACKOFF });

    // Assess
    expect(outcome).toMatchObject({ written: 2, retries: 4, failed: [] });
    expect(ddb.commandCalls(BatchWriteItemCommand)).toHaveLength(3);
  });

  it('retries a network error', async () => {
    // Prepare
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    ddb.on(BatchWriteItemCommand).rejectsOnce(reset).resolves({});

    // Act
    const outcome = await writeToSlave(target, ids(1), { concurrency: 1, deadline: deadlineIn(5_000), backoff: FAST_BACKOFF });

    // Assess
    expect(outcome).toMatchObject({ written: 1, failed: [] });
  });

  it('gives up on throttling that does not clear when the time runs out, failing every write with a retryable error', async () => {
    // Prepare
    ddb.on(BatchWriteItemCommand).rejects(awsError('ProvisionedThroughputExceededException', 400, 'The level of configured provisioned throughput for the table was exceeded'));

    // Act
    const started = Date.now();
    const outcome = await writeToSlave(target, ids(30), { concurrency: 2, deadline: deadlineIn(300), backoff: { baseDelayMs: 5, maxDelayMs: 40 } });

    // Assess
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(outcome.written).toBe(0);
    expect(outcome.failed).toHaveLength(30);
    expect(outcome.retries).toBeGreaterThan(30);
    const [first] = outcome.failed;
    expect(first?.error).toBeInstanceOf(SlaveWriteError);
    expect(first?.error instanceof SlaveWriteError && first.error.retryable).toBe(true);
    expect(first?.error.message).toMatch(
      /^slave "eu" \(table orders-eu in eu-west-1\): could not write key \{pk: "item-\d+"\}: not applied before its deadline \(last error: ProvisionedThroughputExceededException: The level of configured provisioned throughput for the table was exceeded\)$/,
    );
  });

  it.each([
    ['AccessDeniedException', 'User is not authorized to perform: dynamodb:BatchWriteItem'],
    ['ResourceNotFoundException', 'Requested resource not found'],
  ])('reports %s at once, without retrying', async (name, message) => {
    // Prepare
    ddb.on(BatchWriteItemCommand).rejects(awsError(name, 400, message));

    // Act
    const outcome = await writeToSlave(target, ids(2), { concurrency: 1, deadline: deadlineIn(5_000), backoff: FAST_BACKOFF });

    // Assess
    expect(ddb.commandCalls(BatchWriteItemCommand)).toHaveLength(1);
    expect(outcome.failed.map(({ error }) => error.message)).toEqual([
      `slave "eu" (table orders-eu in eu-west-1): could not write key {pk: "item-0"}: ${name}: ${message} (not retryable: fix the table, its permissions or the item)`,
      `slave "eu" (table orders-eu in eu-west-1): could not write key {pk: "item-1"}: ${name}: ${message} (not retryable: fix the table, its permissions or the item)`,
    ]);
    expect(outcome.failed.every(({ error }) => error instanceof SlaveWriteError && !error.retryable)).toBe(true);
  });

  it('isolates an item the slave rejects as invalid, applying the others of its batch', async () => {
    // Prepare
    ddb.on(BatchWriteItemCommand).callsFake((input: BatchWriteItemCommandInput) => {
      const requests = input.RequestItems?.['orders-eu'] ?? [];
      if (requests.some((request) => request.PutRequest?.Item?.pk?.S === 'item-5')) {
        throw awsError('ValidationException', 400, 'Item size has exceeded the maximum allowed size');
      }
      return {};
    });

    // Act
    const outcome = await writeToSlave(target, ids(8), { concurrency: 2, deadline: deadlineIn(5_000) });

    // Assess
    expect(outcome.written).toBe(7);
    expect(outcome.failed).toHaveLength(1);
    expect(outcome.failed[0]?.write.key).toEqual({ pk: { S: 'item-5' } });
    expect(outcome.failed[0]?.error.message).toContain('could not write key {pk: "item-5"}: ValidationException: Item size has exceeded the maximum allowed size');
  });

  it('never has more calls in flight than its concurrency', async () => {
    // Prepare
    let inFlight = 0;
    let most = 0;
    ddb.on(BatchWriteItemCommand).callsFake(async () => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight -= 1;
      return {};
    });

    // Act
    const outcome = await writeToSlave(target, ids(500), { concurrency: 3, deadline: deadlineIn(10_000) });

    // Assess
    expect(outcome.written).toBe(500);
    expect(most).toBe(3);
  });

  it('re-sends the whole batch when the unprocessed items name a key it did not send', async () => {
    // Prepare
    ddb
      .on(BatchWriteItemCommand)
      .resolvesOnce({ UnprocessedItems: { 'orders-eu': [{ DeleteRequest: { Key: { pk: { S: 'stranger' } } } }] } })
      .resolves({});

    // Act
    const outcome = await writeToSlave(target, ids(2), { concurrency: 1, deadline: deadlineIn(5_000), backoff: FAST_BACKOFF });

    // Assess
    expect(outcome).toMatchObject({ written: 2, retries: 2, failed: [] });
    expect(sentRequests().map((requests) => requests.length)).toEqual([2, 2]);
  });

  it('fails what is left, without sending, once the deadline has passed', async () => {
    // Act
    const outcome = await writeToSlave(target, ids(2), { concurrency: 1, deadline: deadlineIn(-1) });

    // Assess
    expect(ddb.calls()).toHaveLength(0);
    expect(outcome.failed.map(({ error }) => error instanceof SlaveWriteError && error.retryable)).toEqual([true, true]);
    expect(outcome.failed[0]?.error.message).toBe('slave "eu" (table orders-eu in eu-west-1): could not write key {pk: "item-0"}: not applied before its deadline');
  });

  it('lets a call in flight at the deadline finish, starting none after it', async () => {
    // Prepare
    ddb.on(BatchWriteItemCommand).callsFake(async () => {
      await new Promise((resolve) => setTimeout(resolve, 150));
      return {};
    });
    const deadline = new Deadline(Date.now() + 50, Date.now, Date.now() + 2_000);
    deadlines.push(deadline);

    // Act
    const outcome = await writeToSlave(target, ids(50), { concurrency: 1, deadline });

    // Assess: the first batch of 25 was in flight at the deadline and landed; the second never left.
    expect(ddb.commandCalls(BatchWriteItemCommand)).toHaveLength(1);
    expect(outcome.written).toBe(25);
    expect(outcome.failed).toHaveLength(25);
    expect(outcome.failed[0]?.error.message).toContain('not applied before its deadline');
  });

  it('cuts off a call still running when the invocation must end, and reports its writes', async () => {
    // Prepare
    ddb.on(BatchWriteItemCommand).callsFake(async () => {
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      return {};
    });

    // Act
    const started = Date.now();
    const outcome = await Promise.race([
      writeToSlave(target, ids(1), { concurrency: 1, deadline: deadlineIn(50) }),
      new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 1_000)),
    ]);

    // Assess
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(outcome).not.toBe('hung');
    expect(outcome).toMatchObject({ written: 0, failed: [{ write: { keyId: putWrite('item-0').keyId } }] });
    expect(outcome !== 'hung' && outcome.failed[0]?.error.message).toMatch(
      /not applied before its deadline \(last error: Error: the call was still running when the work had to end\)$/,
    );
  });

  it('names the table by its label when given one, as the state store does', async () => {
    // Prepare
    ddb.on(BatchWriteItemCommand).rejects(awsError('AccessDeniedException', 400, 'denied'));

    // Act
    const outcome = await writeToSlave({ ...target, label: 'state table orders-state (parking for slave "eu")' }, ids(1), { concurrency: 1, deadline: deadlineIn(5_000) });

    // Assess
    expect(outcome.failed[0]?.error.message).toBe('state table orders-state (parking for slave "eu"): could not write key {pk: "item-0"}: AccessDeniedException: denied (not retryable: fix the table, its permissions or the item)');
  });
});
