import { BatchGetItemCommand, BatchWriteItemCommand, DynamoDBClient, ScanCommand, type BatchGetItemCommandInput, type BatchWriteItemCommandInput } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keyIdentity } from '../../../handler/attribute-value';
import { compareStates, recheckDifferences, repairDrift, type RecheckOptions } from '../../../handler/cli/recheck';
import { runCli } from '../../../handler/cli/program';
import type { MasterTarget } from '../../../handler/cli/tables';
import type { SlaveTarget } from '../../../handler/slave-writer';
import type { AttributeMap, SlaveConfig } from '../../../handler/types';
import type { VerifySummary } from '../../../handler/cli/verify';
import { STATE_TABLE } from '../helpers/config';
import { FakeStateTable } from '../helpers/fake-state-table';
import { awsError } from '../helpers/writes';
import { captureIo, FakeTables, providerOf } from './helpers/fake-tables';
import { installReplication } from './helpers/replication';
import { parkedContent } from '../helpers/state';

const client = new DynamoDBClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
const ddb = mockClient(client);
const master: MasterTarget = { tableName: 'orders', region: 'eu-west-1', client, label: 'master table orders in eu-west-1' };
const slave: SlaveTarget = { name: 'eu', tableName: 'orders-eu', region: 'eu-west-1', client };
const id = (pk: string): string => keyIdentity({ pk: { S: pk } });
const item = (pk: string, value: string): AttributeMap => ({ pk: { S: pk }, value: { S: value } });
const FAST: RecheckOptions = { attempts: 3, delayMs: 1, windowMs: 60_000, concurrency: 2, ignored: new Set() };

describe('Function: compareStates', () => {
  it.each([
    [item('a', '1'), null, 'missing'],
    [null, item('a', '1'), 'extra'],
    [item('a', '1'), item('a', '2'), 'different'],
    [item('a', '1'), { value: { S: '1' }, pk: { S: 'a' } }, undefined],
    [null, null, undefined],
  ])('classifies master %j against slave %j as %s', (onMaster, onSlave, kind) => {
    // Act & Assess
    expect(compareStates(onMaster, onSlave)).toBe(kind);
  });
});

describe('Function: recheckDifferences', () => {
  let fake: FakeTables;
  beforeEach(() => {
    fake = new FakeTables(['orders', 'orders-eu']);
    fake.install(ddb);
  });
  afterEach(() => ddb.reset());

  it('classifies what still differs on strongly consistent re-reads of both sides', async () => {
    // Prepare
    fake.put('orders', item('missing', '1'));
    fake.put('orders-eu', item('extra', '1'));
    fake.put('orders', item('different', 'new'));
    fake.put('orders-eu', item('different', 'old'));
    fake.put('orders', item('same', '1'));
    fake.put('orders-eu', item('same', '1'));

    // Act
    const outcome = await recheckDifferences(master, slave, ['missing', 'extra', 'different', 'same'].map(id), FAST);

    // Assess
    expect(Object.fromEntries([...outcome.drift].map(([keyId, drift]) => [keyId, drift.kind]))).toEqual({
      [id('missing')]: 'missing',
      [id('extra')]: 'extra',
      [id('different')]: 'different',
    });
    expect(outcome.drift.get(id('extra'))?.masterItem).toBeNull();
    expect(outcome.settled).toBe(1);
    expect(ddb.commandCalls(BatchGetItemCommand).every((call) => Object.values(call.args[0].input.RequestItems ?? {}).every((table) => table.ConsistentRead === true))).toBe(true);
  });

  it('does not call a change still being replicated drift', async () => {
    // Prepare: the slave catches up between the first and second re-read.
    fake.put('orders', item('moving', 'v2'));
    fake.put('orders-eu', item('moving', 'v1'));
    let slaveReads = 0;
    ddb.on(BatchGetItemCommand).callsFake((input: BatchGetItemCommandInput) => {
      const [table] = Object.keys(input.RequestItems ?? {});
      if (table === 'orders-eu' && ++slaveReads === 2) fake.put('orders-eu', item('moving', 'v2'));
      const stored = table === undefined ? undefined : fake.items(table).find((candidate) => candidate.pk?.S === 'moving');
      return Promise.resolve({ Responses: { [table ?? '']: stored === undefined ? [] : [stored] } });
    });

    // Act
    const outcome = await recheckDifferences(master, slave, [id('moving')], FAST);

    // Assess
    expect(outcome.drift.size).toBe(0);
    expect(outcome.settled).toBe(1);
    expect(slaveReads).toBe(2);
  });

  it('reports keys it cannot read as unreadable, naming the slave, not as drift', async () => {
    // Prepare
    ddb.on(BatchGetItemCommand, { RequestItems: { 'orders-eu': { Keys: [{ pk: { S: 'a' } }], ConsistentRead: true } } }).rejects(awsError('AccessDeniedException', 400, 'no'));

    // Act
    const outcome = await recheckDifferences(master, slave, [id('a')], FAST);

    // Assess
    expect(outcome.drift.size).toBe(0);
    expect(outcome.unreadable.get(id('a'))).toBe('slave "eu" (table orders-eu in eu-west-1): could not read key {pk: "a"}: AccessDeniedException: no');
  });

  /** Records when the slave is read; the master keeps a value the slave never reaches. */
  const timeSlaveReads = (): number[] => {
    fake.put('orders', item('stuck', 'v2'));
    fake.put('orders-eu', item('stuck', 'v1'));
    const reads: number[] = [];
    ddb.on(BatchGetItemCommand).callsFake((input: BatchGetItemCommandInput) => {
      if (input.RequestItems?.['orders-eu'] !== undefined) reads.push(Date.now());
      return fake.batchGetItem(input);
    });
    return reads;
  };
  const gaps = (times: readonly number[]): number[] => times.slice(1).map((time, index) => time - (times[index] ?? time));

  it('doubles the pause before each further re-read', async () => {
    // Prepare
    const reads = timeSlaveReads();

    // Act
    const outcome = await recheckDifferences(master, slave, [id('stuck')], { ...FAST, attempts: 3, delayMs: 100 });

    // Assess
    expect(outcome.drift.get(id('stuck'))?.kind).toBe('different');
    const [first = 0, second = 0] = gaps(reads);
    expect(reads).toHaveLength(3);
    expect(first).toBeGreaterThanOrEqual(95);
    expect(first).toBeLessThan(180);
    expect(second).toBeGreaterThanOrEqual(195);
  });

  it('stops re-reading once the re-check window has passed, the last pause cut to what is left of it', async () => {
    // Prepare
    const reads = timeSlaveReads();

    // Act: pauses of 100, 200 and 400 ms asked for, 250 ms of window.
    const outcome = await recheckDifferences(master, slave, [id('stuck')], { ...FAST, attempts: 10, delayMs: 100, windowMs: 250 });

    // Assess
    expect(outcome.drift.get(id('stuck'))?.kind).toBe('different');
    expect(reads).toHaveLength(3);
    const [, second = 0] = gaps(reads);
    expect(second).toBeLessThan(190);
    expect((reads.at(-1) ?? 0) - (reads[0] ?? 0)).toBeLessThan(400);
  });

  it('leaves the ignored attributes out of the comparison', async () => {
    // Prepare
    fake.put('orders', { ...item('a', '1'), updated_at: { N: '2' } });
    fake.put('orders-eu', { ...item('a', '1'), updated_at: { N: '1' } });

    // Act
    const compared = await recheckDifferences(master, slave, [id('a')], FAST);
    const ignoring = await recheckDifferences(master, slave, [id('a')], { ...FAST, ignored: new Set(['updated_at']) });

    // Assess
    expect(compared.drift.get(id('a'))?.kind).toBe('different');
    expect(ignoring.drift.size).toBe(0);
    expect(ignoring.settled).toBe(1);
  });
});

describe('Function: repairDrift', () => {
  let tables: FakeTables;
  let state: FakeStateTable;
  const EU_SLAVE: SlaveConfig = { name: 'eu', region: 'eu-west-1', tableName: 'orders-eu' };
  const located = { ...master, location: { tableName: 'orders', region: 'eu-west-1' } };
  const configured = { ...slave, config: EU_SLAVE };
  const options = { stateTable: STATE_TABLE, concurrency: 2, clients: providerOf(client), recheck: FAST };
  /** The BatchWriteItem calls in order, as the table each reached. */
  const writeTargets = (): string[] => ddb.commandCalls(BatchWriteItemCommand).map((call) => Object.keys(call.args[0].input.RequestItems ?? {}).join(','));

  beforeEach(() => {
    tables = new FakeTables(['orders', 'orders-eu']);
    state = new FakeStateTable();
    installReplication(ddb, tables, state);
  });
  afterEach(() => ddb.reset());

  it("parks each drifting key in the state table as read-master under the slave's epoch, and the drain brings it from the master; never a direct write", async () => {
    // Prepare
    state.setSlave('eu', { mode: 'live', generation: 7, epoch: 4 });
    tables.put('orders', item('missing', '1'));
    tables.put('orders-eu', item('extra', '1'));
    tables.put('orders', item('different', 'new'));
    tables.put('orders-eu', item('different', 'old'));
    const found = await recheckDifferences(master, slave, ['missing', 'extra', 'different'].map(id), FAST);

    // Act
    const outcome = await repairDrift(located, configured, found.drift, options);

    // Assess
    expect(outcome).toEqual({ repaired: 3, unrepaired: new Map() });
    expect(tables.items('orders-eu')).toEqual(expect.arrayContaining(tables.items('orders')));
    expect(tables.items('orders-eu')).toHaveLength(2);
    const parks = ddb.commandCalls(BatchWriteItemCommand).flatMap((call) => (call.args[0].input.RequestItems?.[STATE_TABLE] ?? []).filter((request) => request.PutRequest !== undefined));
    expect(parks.map((request) => `${parkedContent(request.PutRequest?.Item).kind} ${parkedContent(request.PutRequest?.Item).id} epoch ${parkedContent(request.PutRequest?.Item).epoch}`).sort()).toEqual([
      'read-master different epoch 4',
      'read-master extra epoch 4',
      'read-master missing epoch 4',
    ]);
    // The slave is written by the drain only, after every key was parked.
    const lastPark = ddb.commandCalls(BatchWriteItemCommand).findLastIndex((call) => call.args[0].input.RequestItems?.[STATE_TABLE]?.some((request) => request.PutRequest !== undefined) === true);
    expect(writeTargets().indexOf('orders-eu')).toBeGreaterThan(lastPark);
    expect(state.slaves.get('eu')).toMatchObject({ mode: 'live', epoch: 5 });
  });

  it('reports a key still different after the drain, with the changes still parked and why the drain stopped', async () => {
    // Prepare: the slave table refuses every write; the state table takes them.
    tables.put('orders', item('missing', '1'));
    const found = await recheckDifferences(master, slave, [id('missing')], FAST);
    ddb.on(BatchWriteItemCommand).callsFake((input: BatchWriteItemCommandInput) =>
      input.RequestItems?.[STATE_TABLE] === undefined ? Promise.reject(awsError('AccessDeniedException', 400, 'no writes here')) : state.batchWriteItem(input),
    );

    // Act
    const outcome = await repairDrift(located, configured, found.drift, options);

    // Assess
    expect(outcome.repaired).toBe(0);
    expect(outcome.unrepaired.get(id('missing'))).toBe(
      'still missing after the repair (1 changes still parked for the slave: slave "eu" (table orders-eu in eu-west-1): could not write key {pk: "missing"}: AccessDeniedException: no writes here (not retryable: fix the table, its permissions or the item))',
    );
    expect(state.parkedOf('eu')).toHaveLength(1);
    expect(state.slaves.get('eu')?.mode).toBe('parked');
  });
});

describe('Command: verify', () => {
  let fake: FakeTables;
  const SLAVES = JSON.stringify({ eu: { region: 'eu-west-1', table_name: 'orders-eu' }, us: { region: 'us-east-1', table_name: 'orders-us' } });
  /** Scan calls received when the first line went to standard error. */
  let scansBeforeEstimate: number | undefined;
  const run = async (...args: string[]) => {
    const io = captureIo();
    scansBeforeEstimate = undefined;
    const stderr = {
      ...io.stderr,
      write(chunk: string): boolean {
        scansBeforeEstimate ??= ddb.commandCalls(ScanCommand).length;
        return io.stderr.write(chunk);
      },
    };
    const code = await runCli(['verify', '--table', 'orders', '--region', 'eu-west-1', '--slaves', SLAVES, '--no-progress', '--recheck-delay', '1', ...args], {
      stdout: io.stdout,
      stderr,
      env: {},
      signal: new AbortController().signal,
      clients: providerOf(client),
    });
    return { code, stdout: io.stdout.text, stderr: io.stderr.text };
  };

  beforeEach(() => {
    fake = new FakeTables(['orders', 'orders-eu', 'orders-us']);
    for (let i = 0; i < 300; i += 1) {
      const value = { pk: { S: `item-${i}` }, n: { N: `${i}.5` }, b: { B: new Uint8Array([i % 256, 7]) }, tags: { SS: ['x', `t${i}`] } };
      for (const table of ['orders', 'orders-eu', 'orders-us']) fake.put(table, value);
    }
    fake.install(ddb);
  });
  afterEach(() => ddb.reset());

  it('exits 0 when every slave equals the master, comparing partition by partition', async () => {
    // Act
    const { code, stdout } = await run('--segments', '3', '--partitions', '4', '--page-size', '50', '--json');

    // Assess
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ equal: true, masterItems: 300, partitions: 4, slaves: [{ name: 'eu', items: 300, missing: 0 }, { name: 'us', items: 300 }] });
  });

  it('exits 1 and reports missing, extra and different items per slave with sample keys', async () => {
    // Prepare
    fake.tables.get('orders-eu')?.delete(id('item-7'));
    fake.put('orders-eu', item('stray', 'x'));
    fake.put('orders-us', { pk: { S: 'item-9' }, n: { N: '9.50000000000000000000000000000000001' } });

    // Act
    const { code, stdout } = await run('--partitions', '3', '--json');

    // Assess
    expect(code).toBe(1);
    const summary = JSON.parse(stdout) as VerifySummary;
    expect(summary.equal).toBe(false);
    expect(summary.slaves[0]).toMatchObject({ name: 'eu', missing: 1, extra: 1, different: 0, equal: false, samples: { missing: [{ key: { pk: { S: 'item-7' } }, text: '{pk: "item-7"}' }], extra: [{ text: '{pk: "stray"}' }] } });
    expect(summary.slaves[1]).toMatchObject({ name: 'us', missing: 0, extra: 0, different: 1, samples: { different: [{ text: '{pk: "item-9"}' }] } });
  });

  it('repairs with --repair through the state table and the drain, exits 0 once every repair is confirmed; a second verify finds nothing', async () => {
    // Prepare
    const state = new FakeStateTable();
    installReplication(ddb, fake, state);
    fake.tables.get('orders-eu')?.delete(id('item-7'));
    fake.put('orders-eu', item('stray', 'x'));
    fake.put('orders-us', item('item-9', 'stale'));

    // Act
    const repaired = await run('--repair', '--state-table', STATE_TABLE);
    const again = await run('--json');

    // Assess
    expect(repaired.code).toBe(0);
    expect(repaired.stdout).toMatch(/EQUAL {2}slave "eu" .*missing 1, extra 1, different 0/);
    expect(repaired.stdout).toContain('repaired 2, not repaired 0');
    expect(state.events.filter((event) => event.startsWith('park')).sort()).toEqual(['park eu item-7', 'park eu stray', 'park us item-9']);
    expect([...state.slaves.values()].map((slave) => slave.mode)).toEqual(['live', 'live']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ equal: true });
  });

  it('refuses --repair without a state table, with exit 2 naming --repair, before reading any table', async () => {
    // Act
    const { code, stderr } = await run('--repair');

    // Assess
    expect(code).toBe(2);
    expect(stderr).toMatch(/^dynamo-replicator: --repair: needs the replicator's state table \(--state-table or REPLICATOR_STATE_TABLE\)/);
    expect(ddb.calls()).toHaveLength(0);
  });

  it('prints the read-cost estimate of the full scans first, before any scan', async () => {
    // Act: 300 items of 100 bytes on each of three tables: 30,000 bytes at half a unit per 4 KB is 4 units a table.
    const { code, stderr } = await run('--json');

    // Assess
    expect(code).toBe(0);
    expect(stderr.split('\n')[0]).toBe(
      'verify will read about 12 read capacity units: a full eventually consistent scan of the master and every slave (from DynamoDB\'s size estimates), plus strongly consistent re-reads of each difference',
    );
    expect(scansBeforeEstimate).toBe(0);
  });

  it('with --sample scans only the chosen segments of the master, no slave, and reads those keys from each slave by key', async () => {
    // Prepare: a difference on a slave, in whichever segment; only a sampled one is found.
    for (let i = 0; i < 300; i += 1) fake.put('orders-us', { pk: { S: `item-${i}` }, n: { N: '0' } });

    // Act: a quarter of 8 segments is segments 0 and 4.
    const { code, stdout, stderr } = await run('--sample', '0.25', '--segments', '8', '--json');

    // Assess
    expect(code).toBe(1);
    const scans = ddb.commandCalls(ScanCommand).map((call) => call.args[0].input);
    expect(new Set(scans.map((scan) => scan.TableName))).toEqual(new Set(['orders']));
    expect([...new Set(scans.map((scan) => scan.Segment))].sort()).toEqual([0, 4]);
    const summary = JSON.parse(stdout) as VerifySummary;
    const sampled = summary.masterItems;
    expect(sampled).toBeGreaterThan(0);
    expect(sampled).toBeLessThan(300);
    expect(summary).toMatchObject({ sample: 0.25, equal: false });
    expect(summary.slaves[0]).toMatchObject({ name: 'eu', equal: true, items: sampled, different: 0, extra: 0 });
    expect(summary.slaves[1]).toMatchObject({ name: 'us', equal: false, different: sampled });
    const slaveKeysRead = ddb.commandCalls(BatchGetItemCommand).flatMap((call) => call.args[0].input.RequestItems?.['orders-eu']?.Keys ?? []);
    expect(new Set(slaveKeysRead.map((key) => key.pk?.S)).size).toBe(sampled);
    expect(stderr).toContain(`2 of 8 scan segments of the master, and its items read by key from each slave`);
    expect(summary.estimatedReadUnits).toBe(1 + 2 * 75);
  });

  it('leaves an attribute named by --ignore-attribute out of the comparison', async () => {
    // Prepare
    fake.put('orders-eu', { pk: { S: 'item-3' }, n: { N: '3.5' }, b: { B: new Uint8Array([3, 7]) }, tags: { SS: ['x', 't3'] }, updated_at: { S: 'later' } });

    // Act
    const compared = await run('--json');
    const ignoring = await run('--ignore-attribute', 'updated_at, etag', '--json');

    // Assess
    expect(compared.code).toBe(1);
    expect((JSON.parse(compared.stdout) as VerifySummary).slaves[0]).toMatchObject({ different: 1 });
    expect(ignoring.code).toBe(0);
  });
});
