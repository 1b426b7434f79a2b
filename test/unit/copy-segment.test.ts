import {
  BatchWriteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  UpdateItemCommand,
  type AttributeValue,
  type GetItemCommandInput,
  type PutItemCommandInput,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copySegment, CopyWriteError } from '../../handler/copy-segment';
import { ConfigurationError, InvalidEventError } from '../../handler/errors';
import type { ReplicatorConfig, SlaveConfig } from '../../handler/types';
import { FakeTables, providerOf } from './cli/helpers/fake-tables';
import { deployedConfig, EU, MASTER_TABLE } from './helpers/config';
import { slaveItem, type SlaveItemOptions } from './helpers/state';
import { awsError } from './helpers/writes';
import { recordedTelemetry } from './helpers/telemetry';
import type { Telemetry } from '../../handler/telemetry';

const client = new DynamoDBClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
const ddb = mockClient(DynamoDBClient);
const FRESH: SlaveConfig = { ...EU, initialCopy: true };

type Item = Record<string, AttributeValue>;

let tables: FakeTables;
let slaveState: Item | undefined;
let checkpoints: Map<number, Item>;
let logged: Record<string, unknown>[];
let telemetry: Telemetry;

/** The state table: the slave's state item, segment checkpoints saved and read back, markCopied and startCopy. */
function installStateTable(): void {
  ddb.on(GetItemCommand).callsFake((input: GetItemCommandInput) => {
    const pk = input.Key?.pk?.S ?? '';
    if (pk === 'slave#eu') return Promise.resolve(slaveState === undefined ? {} : { Item: slaveState });
    const checkpoint = checkpoints.get(Number(input.Key?.sk?.S?.replace('segment#', '')));
    return Promise.resolve(checkpoint === undefined ? {} : { Item: checkpoint });
  });
  ddb.on(PutItemCommand).callsFake((input: PutItemCommandInput) => {
    checkpoints.set(Number(input.Item?.segment?.N), input.Item ?? {});
    return Promise.resolve({});
  });
  ddb.on(QueryCommand).callsFake(() => Promise.resolve({ Items: [...checkpoints.values()] }));
  ddb.on(UpdateItemCommand).callsFake((input: UpdateItemCommandInput) => {
    if (input.UpdateExpression?.startsWith('SET copy_state = :done') === true) slaveState = { ...slaveState, copy_state: { S: 'done' } };
    else if (slaveState === undefined) slaveState = slaveItem('eu', { mode: 'parked', copy: 'pending', parkedSince: Date.now(), reason: 'initial copy pending' });
    return Promise.resolve({});
  });
}

function parkedForCopy(options: SlaveItemOptions = {}): Item {
  return slaveItem('eu', { mode: 'parked', copy: 'pending', parkedSince: Date.now() - 3_600_000, ...options });
}

function run(event: unknown, options: { config?: Partial<ReplicatorConfig>; remainingMs?: number } = {}): ReturnType<typeof copySegment> {
  return copySegment(event, { config: deployedConfig({ slaves: [FRESH], ...options.config }), clients: providerOf(client), telemetry }, options.remainingMs ?? 60_000);
}

const event = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({ slave: 'eu', segment: 0, totalSegments: 1, ...overrides });

describe('Function: copySegment', () => {
  beforeEach(() => {
    tables = new FakeTables([MASTER_TABLE, 'orders-eu']);
    for (let index = 0; index < 25; index += 1) tables.put(MASTER_TABLE, { pk: { S: `item-${String(index).padStart(2, '0')}` }, value: { S: String(index) } });
    tables.install(ddb);
    slaveState = parkedForCopy();
    checkpoints = new Map();
    ({ telemetry, logged } = recordedTelemetry({ namespace: 'DynamoReplicator', replicatorName: 'orders-replicator' }));
    installStateTable();
  });

  afterEach(() => {
    ddb.reset();
  });

  it.each([
    ['an array', [], 'the event is not a copy segment: expected {"slave":"<name>","segment":0,"totalSegments":16}'],
    ['no slave', { segment: 0, totalSegments: 1 }, 'slave: must name a slave of REPLICATOR_SLAVES, not undefined'],
    ['a slave that is not a string', { slave: 3, segment: 0, totalSegments: 1 }, 'slave: must name a slave of REPLICATOR_SLAVES, not 3'],
    ['no totalSegments', { slave: 'eu', segment: 0 }, 'totalSegments: must be a whole number from 1 to 1000000, not undefined'],
    ['a fractional segment', event({ segment: 0.5 }), 'segment: must be a whole number from 0 to 0, not 0.5'],
    ['a segment past the last', event({ segment: 4, totalSegments: 4 }), 'segment: must be a whole number from 0 to 3, not 4'],
    ['a negative itemsPerSecond', event({ itemsPerSecond: -1 }), 'itemsPerSecond: must be a number in (0, 1000000], not -1'],
    ['a capacityShare above 1', event({ capacityShare: 1.5 }), 'capacityShare: must be a number in (0, 1], not 1.5'],
    ['a settleSeconds that is text', event({ settleSeconds: '60' }), 'settleSeconds: must be a number in (0, 86400], not "60"'],
    ['a slave not in REPLICATOR_SLAVES', event({ slave: 'asia' }), 'slave: "asia" is not in REPLICATOR_SLAVES (eu)'],
  ])('refuses an event with %s, naming the field', async (_case, input, message) => {
    // Act
    const copying = run(input);

    // Assess
    await expect(copying).rejects.toBeInstanceOf(InvalidEventError);
    await expect(copying).rejects.toThrow(message);
    expect(ddb).not.toHaveReceivedCommand(ScanCommand);
  });

  it('refuses a slave not marked initial_copy, saying what to do instead', async () => {
    // Act
    const copying = run(event(), { config: { slaves: [EU] } });

    // Assess
    await expect(copying).rejects.toBeInstanceOf(ConfigurationError);
    await expect(copying).rejects.toThrow('slaves.eu: is not marked initial_copy: copying into a slave that replication already writes could leave items older than replication made them. To add a new slave, set initial_copy = true on it and apply first');
    expect(ddb).not.toHaveReceivedCommand(ScanCommand);
  });

  it('refuses a slave that is live', async () => {
    // Prepare
    slaveState = slaveItem('eu', { mode: 'live', epoch: 1 });

    // Act
    const copying = run(event());

    // Assess
    await expect(copying).rejects.toThrow('slaves.eu: is live in state table orders-replicator-state (its initial copy was handed over already)');
    expect(ddb).not.toHaveReceivedCommand(ScanCommand);
  });

  it.each([
    ['stateTable', 'REPLICATOR_STATE_TABLE: is not set: the copy keeps its checkpoints in the state table'],
    ['masterTable', 'REPLICATOR_MASTER_TABLE: is not set: the copy reads the master table it names'],
    ['masterRegion', "AWS_REGION: is not set: the copy runs in the master's region"],
  ])('refuses to run without %s', async (missing, message) => {
    // Prepare
    const config = Object.fromEntries(Object.entries(deployedConfig({ slaves: [FRESH] })).filter(([name]) => name !== missing)) as unknown as ReplicatorConfig;

    // Act
    const copying = copySegment(event(), { config, clients: providerOf(client), telemetry }, 60_000);

    // Assess
    await expect(copying).rejects.toBeInstanceOf(ConfigurationError);
    await expect(copying).rejects.toThrow(message);
  });

  it('copies its segment with a consistent parallel scan, and the last segment marks the slave copied', async () => {
    // Act
    const result = await run(event());

    // Assess
    expect(result).toEqual({ slave: 'eu', segment: 0, totalSegments: 1, done: true, items: 25, copied: true });
    expect(tables.items('orders-eu')).toEqual(tables.items(MASTER_TABLE));
    expect(ddb).toHaveReceivedCommandWith(ScanCommand, { TableName: MASTER_TABLE, Segment: 0, TotalSegments: 1, ConsistentRead: true });
    expect(checkpoints.get(0)).toMatchObject({ done: { BOOL: true }, items: { N: '25' } });
    expect(ddb).toHaveReceivedCommandWith(UpdateItemCommand, { UpdateExpression: 'SET copy_state = :done, copied_at = :now' });
    expect(logged).toContainEqual(expect.objectContaining({ message: 'copy segment done', slave: 'eu', segment: 0, items: 25, copied: true }));
  });

  it('does not mark the slave copied while another segment is not done', async () => {
    // Act
    const result = await run(event({ segment: 0, totalSegments: 2 }));

    // Assess
    expect(result).toMatchObject({ done: true, copied: false });
    expect(slaveState?.copy_state).toEqual({ S: 'pending' });
    expect(ddb).not.toHaveReceivedCommandWith(UpdateItemCommand, { UpdateExpression: 'SET copy_state = :done, copied_at = :now' });
  });

  it('marks the slave copied when the segment that finishes last is done, counting only checkpoints of this many segments', async () => {
    // Prepare
    checkpoints.set(1, { segment: { N: '1' }, total_segments: { N: '2' }, done: { BOOL: true }, items: { N: '3' }, started_at: { N: '1' } });
    checkpoints.set(2, { segment: { N: '2' }, total_segments: { N: '4' }, done: { BOOL: true }, items: { N: '3' }, started_at: { N: '1' } });

    // Act
    const result = await run(event({ segment: 0, totalSegments: 2 }));

    // Assess
    expect(result).toMatchObject({ done: true, copied: true });
    expect(slaveState?.copy_state).toEqual({ S: 'done' });
  });

  it('resumes from its checkpoint, counting the items copied before', async () => {
    // Prepare
    checkpoints.set(0, { segment: { N: '0' }, total_segments: { N: '1' }, done: { BOOL: false }, items: { N: '20' }, started_at: { N: '5' }, start_key: { M: { pk: { S: 'item-19' } } } });

    // Act
    const result = await run(event());

    // Assess
    expect(ddb).toHaveReceivedCommandWith(ScanCommand, { ExclusiveStartKey: { pk: { S: 'item-19' } } });
    expect(result).toMatchObject({ done: true, items: 5, copied: true });
    expect(tables.items('orders-eu').map((item) => item.pk?.S)).toEqual(['item-20', 'item-21', 'item-22', 'item-23', 'item-24']);
    expect(checkpoints.get(0)).toMatchObject({ items: { N: '25' }, started_at: { N: '5' } });
  });

  it('copies nothing for a segment already done, and still finishes it', async () => {
    // Prepare
    checkpoints.set(0, { segment: { N: '0' }, total_segments: { N: '1' }, done: { BOOL: true }, items: { N: '25' }, started_at: { N: '5' } });

    // Act
    const result = await run(event());

    // Assess
    expect(result).toMatchObject({ done: true, items: 0, copied: true });
    expect(ddb).not.toHaveReceivedCommand(ScanCommand);
  });

  it('copies nothing for a slave already copied', async () => {
    // Prepare
    slaveState = parkedForCopy({ copy: 'done' });

    // Act
    const result = await run(event());

    // Assess
    expect(result).toEqual({ slave: 'eu', segment: 0, totalSegments: 1, done: true, items: 0, copied: true });
    expect(ddb).not.toHaveReceivedCommand(ScanCommand);
  });

  it('creates the state of a slave no entry point has parked yet, and waits the settle time before it reads', async () => {
    // Prepare
    slaveState = undefined;
    const started = Date.now();

    // Act
    const result = await run(event({ settleSeconds: 0.3 }));

    // Assess
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(result).toMatchObject({ done: true, items: 25 });
    expect(ddb).toHaveReceivedCommandWith(UpdateItemCommand, { ConditionExpression: '(attribute_not_exists(epoch) OR epoch = :epoch) AND (attribute_not_exists(#bucket) OR #bucket = :bucket)' });
  });

  it('waits out what is left of the settle time since the slave was parked', async () => {
    // Prepare
    slaveState = parkedForCopy({ parkedSince: Date.now() - 200 });
    const started = Date.now();

    // Act
    await run(event({ settleSeconds: 0.4 }));

    // Assess
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(150);
    expect(waited).toBeLessThan(400);
  });

  it("sleeps out the invocation's time, reading nothing, then returns done=false when the settle time outlasts the invocation (so the state machine does not loop hot)", async () => {
    // Prepare: 1.5 s left, of which the checkpoint reserve keeps 1 s: 500 ms to sleep.
    slaveState = parkedForCopy({ parkedSince: Date.now() });
    const started = Date.now();

    // Act
    const result = await run(event({ settleSeconds: 600 }), { remainingMs: 1_500 });

    // Assess
    const slept = Date.now() - started;
    expect(result).toEqual({ slave: 'eu', segment: 0, totalSegments: 1, done: false, items: 0, copied: false });
    expect(slept).toBeGreaterThanOrEqual(450);
    expect(slept).toBeLessThan(1_500);
    expect(ddb).not.toHaveReceivedCommand(ScanCommand);
  });

  it('waits the default 900 s settle time when the event names none', async () => {
    // Prepare
    slaveState = parkedForCopy({ parkedSince: Date.now() - 890_000 });

    // Act: 10 s of settle time left, 2.2 s of invocation.
    const result = await run(event(), { remainingMs: 3_200 });

    // Assess
    expect(result.done).toBe(false);
    expect(ddb).not.toHaveReceivedCommand(ScanCommand);
  });

  it('holds to itemsPerSecond, in pages a fifth of a second long', async () => {
    // Prepare
    const started = Date.now();

    // Act
    const result = await run(event({ itemsPerSecond: 50 }));

    // Assess: 25 items at 50 a second, the first 10 from the full bucket.
    expect(result).toMatchObject({ done: true, items: 25 });
    expect(ddb.commandCalls(ScanCommand).map((call) => call.args[0].input.Limit)).toEqual([10, 10, 10]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('checkpoints and returns done=false when its time runs out, to be invoked again', async () => {
    // Act: the second kept to save the checkpoint leaves 600 ms, at 20 items a second in pages of 4.
    const result = await run(event({ itemsPerSecond: 20 }), { remainingMs: 1_600 });

    // Assess
    expect(result.done).toBe(false);
    expect(result.items).toBeGreaterThan(0);
    expect(result.items).toBeLessThan(25);
    expect(checkpoints.get(0)).toMatchObject({ done: { BOOL: false }, items: { N: String(result.items) } });
    expect(checkpoints.get(0)?.start_key?.M?.pk?.S).toBe(`item-${String(result.items - 1).padStart(2, '0')}`);
    expect(logged).toContainEqual(expect.objectContaining({ message: 'copy segment continues in the next iteration', items: result.items }));
  });

  it('takes a share of the provisioned read capacity of the master, by its average item size', async () => {
    // Prepare: 10 units x 0.25 x 4 KB / 100 bytes an item (the fake's size) = 102 items a second, pages of 20.
    tables.readCapacityUnits = 10;

    // Act
    const result = await run(event({ capacityShare: 0.25 }));

    // Assess
    expect(result.done).toBe(true);
    expect(ddb.commandCalls(ScanCommand)[0]?.args[0].input.Limit).toBe(20);
  });

  it('refuses a capacityShare of an on-demand master, saying to pass itemsPerSecond', async () => {
    // Act
    const copying = run(event({ capacityShare: 0.5 }));

    // Assess
    await expect(copying).rejects.toBeInstanceOf(InvalidEventError);
    await expect(copying).rejects.toThrow('capacityShare: the master is on-demand, with no provisioned read capacity to take a share of: pass itemsPerSecond instead');
  });

  it('fails the execution with CopyWriteError, naming slave and key, when the slave rejects a write for good', async () => {
    // Prepare
    ddb.on(BatchWriteItemCommand).rejects(awsError('AccessDeniedException', 400, 'not allowed'));

    // Act
    const copying = run(event());

    // Assess
    await expect(copying).rejects.toBeInstanceOf(CopyWriteError);
    await expect(copying).rejects.toThrow('copy of segment 0 into slave "eu" (table orders-eu in eu-west-1): could not write key {pk: "item-00"}: AccessDeniedException: not allowed');
    expect(checkpoints.get(0)).toBeUndefined();
  });

  it('stops without a checkpoint of the failed page when the slave stays throttled, to retry it in the next iteration', async () => {
    // Prepare
    ddb.on(BatchWriteItemCommand).rejects(awsError('ProvisionedThroughputExceededException', 400));

    // Act
    const result = await run(event(), { remainingMs: 1_400 });

    // Assess
    expect(result).toMatchObject({ done: false, items: 0 });
    expect(checkpoints.get(0)).toBeUndefined();
  });
});
