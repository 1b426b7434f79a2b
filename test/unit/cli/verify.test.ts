import { BatchGetItemCommand, BatchWriteItemCommand, DynamoDBClient, type BatchGetItemCommandInput } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keyIdentity } from '../../../handler/attribute-value';
import { compareStates, recheckDifferences, repairDrift } from '../../../handler/cli/recheck';
import { runCli } from '../../../handler/cli/program';
import type { MasterTarget } from '../../../handler/cli/tables';
import type { SlaveTarget } from '../../../handler/slave-writer';
import type { AttributeMap } from '../../../handler/types';
import type { VerifySummary } from '../../../handler/cli/verify';
import { awsError } from '../helpers/writes';
import { captureIo, FakeTables, providerOf } from './helpers/fake-tables';

const client = new DynamoDBClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
const ddb = mockClient(client);
const master: MasterTarget = { tableName: 'orders', region: 'eu-west-1', client, label: 'master table orders in eu-west-1' };
const slave: SlaveTarget = { name: 'eu', tableName: 'orders-eu', region: 'eu-west-1', client };
const id = (pk: string): string => keyIdentity({ pk: { S: pk } });
const item = (pk: string, value: string): AttributeMap => ({ pk: { S: pk }, value: { S: value } });
const FAST = { attempts: 3, delayMs: 1, concurrency: 2 };

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
});

describe('Function: repairDrift', () => {
  let fake: FakeTables;
  beforeEach(() => {
    fake = new FakeTables(['orders', 'orders-eu']);
    fake.install(ddb);
  });
  afterEach(() => ddb.reset());

  it("writes the master's state (deleting extras) and confirms it by reading both sides again", async () => {
    // Prepare
    fake.put('orders', item('missing', '1'));
    fake.put('orders-eu', item('extra', '1'));
    fake.put('orders', item('different', 'new'));
    fake.put('orders-eu', item('different', 'old'));
    const found = await recheckDifferences(master, slave, ['missing', 'extra', 'different'].map(id), FAST);

    // Act
    const outcome = await repairDrift(master, slave, found.drift, { attempts: 3, concurrency: 2 });

    // Assess
    expect(outcome).toEqual({ repaired: 3, unrepaired: new Map() });
    expect(fake.items('orders-eu')).toEqual(expect.arrayContaining(fake.items('orders')));
    expect(fake.items('orders-eu')).toHaveLength(2);
    expect(ddb).toHaveReceivedCommandWith(BatchWriteItemCommand, {
      RequestItems: {
        'orders-eu': expect.arrayContaining([
          { PutRequest: { Item: item('missing', '1') } },
          { DeleteRequest: { Key: { pk: { S: 'extra' } } } },
          { PutRequest: { Item: item('different', 'new') } },
        ]) as [],
      },
    });
  });

  it('writes again from a fresh read when the master changed after the first repair write', async () => {
    // Prepare: the master moves on to v3 right after the first repair write.
    fake.put('orders', item('hot', 'v2'));
    fake.put('orders-eu', item('hot', 'v1'));
    const found = await recheckDifferences(master, slave, [id('hot')], FAST);
    let writes = 0;
    ddb.on(BatchWriteItemCommand).callsFake((input: { RequestItems: Record<string, { PutRequest?: { Item: AttributeMap } }[]> }) => {
      for (const request of input.RequestItems['orders-eu'] ?? []) if (request.PutRequest !== undefined) fake.put('orders-eu', request.PutRequest.Item);
      if (++writes === 1) fake.put('orders', item('hot', 'v3'));
      return Promise.resolve({});
    });

    // Act
    const outcome = await repairDrift(master, slave, found.drift, { attempts: 3, concurrency: 2 });

    // Assess
    expect(outcome.repaired).toBe(1);
    expect(writes).toBe(2);
    expect(fake.items('orders-eu')).toEqual([item('hot', 'v3')]);
  });

  it('gives up on a key that keeps changing after the given attempts, and says why', async () => {
    // Prepare
    fake.put('orders', item('hot', 'v0'));
    const found = await recheckDifferences(master, slave, [id('hot')], FAST);
    let version = 0;
    ddb.on(BatchWriteItemCommand).callsFake((input: { RequestItems: Record<string, { PutRequest?: { Item: AttributeMap } }[]> }) => {
      for (const request of input.RequestItems['orders-eu'] ?? []) if (request.PutRequest !== undefined) fake.put('orders-eu', request.PutRequest.Item);
      fake.put('orders', item('hot', `v${++version}`));
      return Promise.resolve({});
    });

    // Act
    const outcome = await repairDrift(master, slave, found.drift, { attempts: 2, concurrency: 2 });

    // Assess
    expect(outcome.repaired).toBe(0);
    expect(outcome.unrepaired.get(id('hot'))).toBe('still different after 1 repair write(s): the item is changing on the master');
  });
});

describe('Command: verify', () => {
  let fake: FakeTables;
  const SLAVES = JSON.stringify({ eu: { region: 'eu-west-1', table_name: 'orders-eu' }, us: { region: 'us-east-1', table_name: 'orders-us' } });
  const run = async (...args: string[]) => {
    const io = captureIo();
    const code = await runCli(['verify', '--table', 'orders', '--region', 'eu-west-1', '--slaves', SLAVES, '--no-progress', '--recheck-delay', '1', ...args], {
      ...io,
      env: {},
      signal: new AbortController().signal,
      clients: providerOf(client),
    });
    return { code, stdout: io.stdout.text };
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

  it('repairs with --repair and exits 0 once every repair is confirmed; a second verify finds nothing', async () => {
    // Prepare
    fake.tables.get('orders-eu')?.delete(id('item-7'));
    fake.put('orders-eu', item('stray', 'x'));
    fake.put('orders-us', item('item-9', 'stale'));

    // Act
    const repaired = await run('--repair');
    const again = await run('--json');

    // Assess
    expect(repaired.code).toBe(0);
    expect(repaired.stdout).toMatch(/EQUAL {2}slave "eu" .*missing 1, extra 1, different 0/);
    expect(repaired.stdout).toContain('repaired 2, not repaired 0');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ equal: true });
  });
});
