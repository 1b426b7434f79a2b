import { BatchWriteItemCommand, DynamoDBClient, GetItemCommand, UpdateItemCommand, type BatchWriteItemCommandInput, type BatchWriteItemCommandOutput } from '@aws-sdk/client-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { fanOut, PAUSED_REASON, type FanOutContext, type PendingWrite } from '../../handler/fan-out';
import { StateStore, type SlaveState } from '../../handler/state-store';
import { PARK_SETTLE_MS } from '../../handler/timing';
import type { SlaveConfig } from '../../handler/types';
import { deployedConfig, EU, mockedClients, STATE_TABLE } from './helpers/config';
import { deadlineIn, releaseDeadlines } from './helpers/deadlines';
import { parkedContent, pendingWrite, slaveItem } from './helpers/state';
import { awsError, deleteWrite, FAST_BACKOFF, putWrite } from './helpers/writes';

const ddb = mockClient(DynamoDBClient);
const NOW = 1_800_000_000_000;
const SLAVE_TABLE = EU.tableName;

const live = (epoch = 0): SlaveState => ({ slave: 'eu', mode: 'live', settled: false, generation: 3, epoch, bucket: 0, drainedBelow: 0, cursors: new Map(), cleanedBelow: 0, exists: true });
const parkedState = (epoch = 0): SlaveState => ({ slave: 'eu', mode: 'parked', settled: true, generation: 3, epoch, bucket: 0, drainedBelow: 0, cursors: new Map(), cleanedBelow: 0, exists: true, reason: 'slave "eu" answered 503', parkedSince: NOW - 60_000 });

function contextWith(options: { budgetMs?: number; withStore?: boolean; invocationMs?: number; settleMs?: number } = {}): FanOutContext {
  const clients = mockedClients();
  const config = deployedConfig({ slaveBudgetMs: options.budgetMs ?? 5_000, writeConcurrency: 2 });
  return {
    clients,
    store:
      options.withStore === false
        ? undefined
        : new StateStore(clients.forMaster('eu-west-1'), STATE_TABLE, { concurrency: 2, backoff: FAST_BACKOFF, now: () => NOW, ...(options.settleMs === undefined ? {} : { settleMs: options.settleMs }) }),
    deadline: deadlineIn(options.invocationMs ?? 10_000),
    config,
    now: Date.now,
    backoff: FAST_BACKOFF,
  };
}

/** BatchWriteItem answered per table: the slave table by `slave`, the state table by `state` (both take everything by default). */
function answerWrites(handlers: { slave?: (input: BatchWriteItemCommandInput) => Promise<Partial<BatchWriteItemCommandOutput>>; state?: () => Promise<Partial<BatchWriteItemCommandOutput>> }): void {
  ddb.on(BatchWriteItemCommand).callsFake((input: BatchWriteItemCommandInput) => {
    if (input.RequestItems?.[STATE_TABLE] !== undefined) return handlers.state?.() ?? Promise.resolve({});
    return handlers.slave?.(input) ?? Promise.resolve({});
  });
}

const slaveCalls = (): BatchWriteItemCommandInput[] =>
  ddb
    .commandCalls(BatchWriteItemCommand)
    .map((call) => call.args[0].input)
    .filter((input) => input.RequestItems?.[SLAVE_TABLE] !== undefined);

/** The parked changes sent to the state table, as `<kind> <key>`. */
const parkedKeys = (): string[] =>
  ddb
    .commandCalls(BatchWriteItemCommand)
    .flatMap((call) => call.args[0].input.RequestItems?.[STATE_TABLE] ?? [])
    .map((request) => `${parkedContent(request.PutRequest?.Item).kind} ${parkedContent(request.PutRequest?.Item).id}`)
    .sort();

const parkedReasons = (): string[] =>
  ddb.commandCalls(BatchWriteItemCommand).flatMap((call) => (call.args[0].input.RequestItems?.[STATE_TABLE] ?? []).map((request) => parkedContent(request.PutRequest?.Item).reason));

const writes = (...ids: string[]): PendingWrite[] => ids.map((id) => pendingWrite(putWrite(id)));

describe('Function: fanOut', () => {
  afterEach(() => {
    ddb.reset();
    releaseDeadlines();
  });

  it('writes a live slave within its budget and parks nothing', async () => {
    // Prepare
    answerWrites({});
    const pending = [...writes('a', 'b'), pendingWrite(deleteWrite('c'))];

    // Act
    const outcome = await fanOut(EU, pending, live(), contextWith());

    // Assess
    expect(outcome).toMatchObject({ slave: 'eu', mode: 'live', written: 3, retries: 0, parked: 0, failed: [], errors: [] });
    expect(outcome.lagMs).toBeGreaterThanOrEqual(1_000);
    expect(slaveCalls()).toHaveLength(1);
    expect(ddb).not.toHaveReceivedCommand(UpdateItemCommand);
    expect(parkedKeys()).toEqual([]);
  });

  it('does nothing for a live slave without writes', async () => {
    // Act
    const outcome = await fanOut(EU, [], live(), contextWith());

    // Assess
    expect(outcome).toEqual({ slave: 'eu', mode: 'live', written: 0, retries: 0, lagMs: null, parked: 0, failed: [], errors: [] });
    expect(ddb.calls()).toHaveLength(0);
  });

  it('parks the writes of a slave that answers 503 until its budget runs out, and marks it parked, long before the invocation ends', async () => {
    // Prepare
    answerWrites({ slave: () => Promise.reject(awsError('ServiceUnavailable', 503, 'Service unavailable')) });
    ddb.on(UpdateItemCommand).resolves({});
    const started = Date.now();

    // Act
    const outcome = await fanOut(EU, writes('a', 'b'), live(4), contextWith({ budgetMs: 150, invocationMs: 20_000 }));

    // Assess
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(slaveCalls().length).toBeGreaterThan(1);
    expect(outcome).toMatchObject({ mode: 'parked', written: 0, parked: 2, failed: [] });
    expect(parkedKeys()).toEqual(['put a', 'put b']);
    expect(parkedReasons()[0]).toMatch(/not applied before its deadline \(last error: ServiceUnavailable: Service unavailable\)$/);
    expect(ddb).toHaveReceivedCommandWith(UpdateItemCommand, {
      Key: { pk: { S: 'slave#eu' }, sk: { S: 'state' } },
      ConditionExpression: '(attribute_not_exists(epoch) OR epoch = :epoch) AND (attribute_not_exists(#bucket) OR #bucket = :bucket)',
      ExpressionAttributeValues: expect.objectContaining({ ':epoch': { N: '4' }, ':bucket': { N: '0' }, ':parked': { S: 'parked' } }) as Record<string, AttributeValue>,
    });
  });

  it.each([
    ['AccessDeniedException', 'User is not authorized to perform: dynamodb:BatchWriteItem'],
    ['ResourceNotFoundException', 'Requested resource not found'],
  ])('parks the writes at once, without waiting out the budget, when the slave answers %s', async (name, message) => {
    // Prepare
    answerWrites({ slave: () => Promise.reject(awsError(name, 400, message)) });
    ddb.on(UpdateItemCommand).resolves({});
    const started = Date.now();

    // Act
    const outcome = await fanOut(EU, writes('a', 'b'), live(), contextWith({ budgetMs: 60_000, invocationMs: 120_000 }));

    // Assess: of its 60 s budget it waits nothing; parking waits its settle time after marking the slave parked
    expect(Date.now() - started).toBeLessThan(PARK_SETTLE_MS + 1_000);
    expect(slaveCalls()).toHaveLength(1);
    expect(outcome).toMatchObject({ mode: 'parked', parked: 2, failed: [] });
    expect(parkedReasons()[0]).toContain(`${name}: ${message} (not retryable`);
  });

  it('parks only the item the slave rejects, writing the others of its batch', async () => {
    // Prepare
    answerWrites({
      slave: (input) =>
        (input.RequestItems?.[SLAVE_TABLE] ?? []).some((request) => request.PutRequest?.Item?.pk?.S === 'bad')
          ? Promise.reject(awsError('ValidationException', 400, 'Item size has exceeded the maximum allowed size'))
          : Promise.resolve({}),
    });
    ddb.on(UpdateItemCommand).resolves({});

    // Act
    const outcome = await fanOut(EU, writes('a', 'bad', 'c', 'd'), live(), contextWith({ budgetMs: 60_000 }));

    // Assess
    expect(outcome).toMatchObject({ mode: 'parked', written: 3, parked: 1, failed: [] });
    expect(parkedKeys()).toEqual(['put bad']);
  });

  it('never writes a parked slave directly: every write is parked under the epoch it read, with its reason', async () => {
    // Prepare
    answerWrites({});
    ddb.on(UpdateItemCommand).resolves({});

    // Act
    const outcome = await fanOut(EU, [...writes('a'), pendingWrite(deleteWrite('b'))], parkedState(6), contextWith());

    // Assess
    expect(slaveCalls()).toHaveLength(0);
    expect(parkedKeys()).toEqual(['delete b', 'put a']);
    expect(parkedReasons()).toEqual(['slave "eu" answered 503', 'slave "eu" answered 503']);
    const parkedEpochs = ddb.commandCalls(BatchWriteItemCommand).flatMap((call) => (call.args[0].input.RequestItems?.[STATE_TABLE] ?? []).map((request) => request.PutRequest?.Item?.epoch?.N));
    expect(parkedEpochs).toEqual(['6', '6']);
    expect(outcome).toMatchObject({ mode: 'parked', written: 0, parked: 2, failed: [] });
    expect(ddb).toHaveReceivedCommandWith(UpdateItemCommand, { ExpressionAttributeValues: expect.objectContaining({ ':epoch': { N: '6' } }) as Record<string, AttributeValue> });
  });

  it('never writes a paused slave (enabled: false): marks it parked first, then keeps every write for it', async () => {
    // Prepare
    answerWrites({});
    ddb.on(UpdateItemCommand).resolves({});
    const paused: SlaveConfig = { ...EU, enabled: false };

    // Act
    const outcome = await fanOut(paused, [...writes('a'), pendingWrite(deleteWrite('b'))], live(2), contextWith());

    // Assess
    expect(slaveCalls()).toHaveLength(0);
    expect(parkedKeys()).toEqual(['delete b', 'put a']);
    expect(parkedReasons()).toEqual([PAUSED_REASON, PAUSED_REASON]);
    expect(outcome).toMatchObject({ mode: 'parked', written: 0, parked: 2, failed: [] });
    // Marked parked before the changes were kept (so that no container still running the old configuration writes
    // the slave directly), and again after.
    const order = ddb.calls().map((call) => (call.args[0] instanceof UpdateItemCommand ? 'mark' : 'park'));
    expect(order).toEqual(['mark', 'park', 'mark']);
  });

  it('reports the writes of a paused slave failed when there is no state table to park them in (library use)', async () => {
    // Act
    const outcome = await fanOut({ ...EU, enabled: false }, writes('a'), undefined, contextWith({ withStore: false }));

    // Assess
    expect(ddb.calls()).toHaveLength(0);
    expect(outcome.failed.map((pending) => pending.write.keyId)).toHaveLength(1);
    expect(outcome.errors).toEqual(['slave "eu" is paused (enabled = false), and without a state table its changes cannot be parked']);
  });

  it('reports a parked slave without writes as parked, touching nothing', async () => {
    // Act
    const outcome = await fanOut(EU, [], parkedState(), contextWith());

    // Assess
    expect(outcome).toMatchObject({ mode: 'parked', parked: 0, failed: [] });
    expect(ddb.calls()).toHaveLength(0);
  });

  it('parks a new initial-copy slave without state, and creates its state parked with its copy pending', async () => {
    // Prepare
    answerWrites({});
    ddb.on(UpdateItemCommand).resolves({});
    const fresh: SlaveConfig = { ...EU, initialCopy: true };

    // Act
    const outcome = await fanOut(fresh, writes('a'), { slave: 'eu', mode: 'live', settled: false, generation: 0, epoch: 0, bucket: 0, drainedBelow: 0, cursors: new Map(), cleanedBelow: 0, exists: false }, contextWith());

    // Assess
    expect(slaveCalls()).toHaveLength(0);
    expect(parkedKeys()).toEqual(['put a']);
    expect(parkedReasons()).toEqual(['initial copy pending']);
    expect(outcome).toMatchObject({ mode: 'parked', parked: 1, failed: [] });
    const update = ddb.commandCalls(UpdateItemCommand)[0]?.args[0].input;
    expect(update?.UpdateExpression).toContain('copy_state = if_not_exists(copy_state, :pending)');
    expect(update?.ExpressionAttributeValues).toMatchObject({ ':epoch': { N: '0' }, ':pending': { S: 'pending' }, ':reason': { S: 'initial copy pending' } });
  });

  it('creates the state of a new initial-copy slave even in a batch with no write for it', async () => {
    // Prepare
    ddb.on(UpdateItemCommand).resolves({});

    // Act
    const outcome = await fanOut({ ...EU, initialCopy: true }, [], undefined, contextWith());

    // Assess
    expect(outcome).toMatchObject({ mode: 'parked', parked: 0, failed: [] });
    expect(ddb).toHaveReceivedCommandTimes(UpdateItemCommand, 1);
    expect(ddb).not.toHaveReceivedCommand(BatchWriteItemCommand);
  });

  it('writes an initial-copy slave that has a state and is live, as any live slave', async () => {
    // Prepare
    answerWrites({});

    // Act
    const outcome = await fanOut({ ...EU, initialCopy: true }, writes('a'), live(2), contextWith());

    // Assess
    expect(outcome).toMatchObject({ mode: 'live', written: 1, parked: 0 });
    expect(ddb).not.toHaveReceivedCommand(UpdateItemCommand);
  });

  it('marks a live slave parked before keeping its changes; when the state table refuses them, reports the writes failed and leaves the slave marked parked', async () => {
    // Prepare: every call recorded in order, by the table it reaches.
    const calls: string[] = [];
    answerWrites({
      slave: () => {
        calls.push('write slave');
        return Promise.reject(awsError('AccessDeniedException', 400, 'denied'));
      },
      state: () => {
        calls.push('park');
        return Promise.reject(awsError('AccessDeniedException', 400, 'not authorized on the state table'));
      },
    });
    ddb.on(UpdateItemCommand).callsFake(() => {
      calls.push('mark parked');
      return Promise.resolve({});
    });
    const pending = writes('a', 'b');

    // Act
    const outcome = await fanOut(EU, pending, live(), contextWith());

    // Assess: no second mark once nothing was kept; the drain finds nothing and puts the slave live.
    expect(calls).toEqual(['write slave', 'mark parked', 'park']);
    expect(outcome.mode).toBe('parked');
    expect(outcome.parked).toBe(0);
    expect(outcome.failed.map((write) => write.change.sequenceNumber).sort()).toEqual(pending.map((write) => write.change.sequenceNumber).sort());
    expect(outcome.errors.some((error) => error.includes('not authorized on the state table'))).toBe(true);
    expect(ddb).toHaveReceivedCommandWith(UpdateItemCommand, { ExpressionAttributeValues: expect.objectContaining({ ':parked': { S: 'parked' }, ':epoch': { N: '0' } }) as Record<string, AttributeValue> });
  });

  it('marks a live slave parked before keeping its changes and again after they are kept', async () => {
    // Prepare
    const calls: string[] = [];
    answerWrites({
      slave: () => {
        calls.push('write slave');
        return Promise.reject(awsError('AccessDeniedException', 400, 'denied'));
      },
      state: () => {
        calls.push('park');
        return Promise.resolve({});
      },
    });
    ddb.on(UpdateItemCommand).callsFake(() => {
      calls.push('mark parked');
      return Promise.resolve({});
    });

    // Act
    const outcome = await fanOut(EU, writes('a', 'b'), live(), contextWith());

    // Assess
    expect(calls).toEqual(['write slave', 'mark parked', 'park', 'mark parked']);
    expect(outcome).toMatchObject({ mode: 'parked', parked: 2, failed: [] });
  });

  it('parks at once for a slave read parked and settled, and waits the settle time for one read parked but not settled', async () => {
    // Prepare: a settle time longer than the invocation, which a parker that waited could never reach
    answerWrites({});
    ddb.on(UpdateItemCommand).resolves({});

    // Act
    const settled = await fanOut(EU, writes('a'), parkedState(), contextWith({ settleMs: 600_000 }));
    const unsettled = await fanOut(EU, writes('b'), { ...parkedState(), settled: false }, contextWith({ settleMs: 600_000 }));

    // Assess
    expect(settled).toMatchObject({ mode: 'parked', parked: 1, failed: [] });
    expect(unsettled).toMatchObject({ mode: 'parked', parked: 0 });
    expect(unsettled.failed).toHaveLength(1);
  });

  it('reports the writes of a parked slave failed when the state table refuses them, the slave staying parked', async () => {
    // Prepare
    answerWrites({ state: () => Promise.reject(awsError('AccessDeniedException', 400, 'denied')) });

    // Act
    const outcome = await fanOut(EU, writes('a'), parkedState(), contextWith());

    // Assess
    expect(outcome).toMatchObject({ mode: 'parked', parked: 0 });
    expect(outcome.failed).toHaveLength(1);
  });

  it('reports the writes failed when markParked finds the epoch changed: the slave went live while they were parked', async () => {
    // Prepare
    answerWrites({});
    ddb.on(UpdateItemCommand).rejects(awsError('ConditionalCheckFailedException', 400, 'The conditional request failed'));
    ddb.on(GetItemCommand).resolves({ Item: slaveItem('eu', { mode: 'live', epoch: 3 }) });
    const pending = writes('a', 'b');

    // Act
    const outcome = await fanOut(EU, pending, parkedState(2), contextWith());

    // Assess
    expect(outcome).toMatchObject({ mode: 'live', parked: 0 });
    expect(outcome.failed).toEqual(pending);
    expect(outcome.errors).toContain('slave "eu" went live while its changes were being parked; the batch is re-delivered to be applied directly');
  });

  it('reports the writes failed when the slave cannot be marked parked', async () => {
    // Prepare
    answerWrites({ slave: () => Promise.reject(awsError('AccessDeniedException', 400, 'denied')) });
    ddb.on(UpdateItemCommand).rejects(awsError('AccessDeniedException', 400, 'not authorized to perform: dynamodb:UpdateItem'));
    const pending = writes('a');

    // Act
    const outcome = await fanOut(EU, pending, live(), contextWith());

    // Assess
    expect(outcome).toMatchObject({ mode: 'live', parked: 0, failed: pending });
    expect(outcome.errors.at(-1)).toContain('could not mark slave "eu" parked: AccessDeniedException: not authorized to perform: dynamodb:UpdateItem');
  });

  it('reports the writes a slave did not take for re-delivery when there is no state table (library use)', async () => {
    // Prepare
    answerWrites({ slave: () => Promise.reject(awsError('ResourceNotFoundException', 400, 'Requested resource not found')) });
    const pending = writes('a');

    // Act
    const outcome = await fanOut(EU, pending, undefined, contextWith({ withStore: false }));

    // Assess
    expect(outcome).toMatchObject({ mode: 'live', parked: 0, failed: pending });
    expect(outcome.errors[0]).toContain('ResourceNotFoundException');
  });
});
