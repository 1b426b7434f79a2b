import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keyIdentity } from '../../../handler/attribute-value';
import type { ClientProvider } from '../../../handler/clients';
import { drainNow, parkKeys, ParkKeysError, type KeyToBring } from '../../../handler/cli/park-keys';
import { StateStore } from '../../../handler/state-store';
import { EU, STATE_TABLE } from '../helpers/config';
import { FakeStateTable } from '../helpers/fake-state-table';
import { awsError, FAST_BACKOFF } from '../helpers/writes';
import { FakeTables } from './helpers/fake-tables';
import { installReplication } from './helpers/replication';
import { parkedContent } from '../helpers/state';

const client = new DynamoDBClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
const ddb = mockClient(client);
const NOW = 1_800_000_000_000;

const keyOf = (pk: string): KeyToBring => ({ keyId: keyIdentity({ pk: { S: pk } }), key: { pk: { S: pk } }, sequenceNumber: '0', createdAtMs: NOW - 5_000 });
/** The parked items of slave eu as `<kind> <key> epoch <epoch> (<reason>)`. */
const parkedOfEu = (state: FakeStateTable): string[] =>
  state
    .parkedOf('eu')
    .map((item) => `${parkedContent(item).kind} ${parkedContent(item).id} epoch ${parkedContent(item).epoch} (${parkedContent(item).reason})`)
    .sort();

describe('Function: parkKeys', () => {
  let state: FakeStateTable;
  let store: StateStore;

  beforeEach(() => {
    state = new FakeStateTable(() => NOW);
    state.install(ddb);
    store = new StateStore(client, STATE_TABLE, { concurrency: 2, backoff: FAST_BACKOFF, now: () => NOW });
  });
  afterEach(() => ddb.reset());

  it('parks the keys as read-master under the epoch the slave has now, then marks it parked under that epoch', async () => {
    // Prepare
    state.setSlave('eu', { mode: 'live', generation: 5, epoch: 3 });

    // Act
    await parkKeys(store, EU, [keyOf('a'), keyOf('b')], 'redrive', () => NOW);

    // Assess
    expect(parkedOfEu(state)).toEqual(['read-master a epoch 3 (redrive)', 'read-master b epoch 3 (redrive)']);
    expect(state.slaves.get('eu')).toMatchObject({ mode: 'parked', epoch: 3, generation: 6, reason: 'redrive', parkedSince: NOW });
    expect(state.events).toEqual(['park eu a', 'park eu b']);
  });

  it('parks the keys again under the new epoch when the slave went live while they were being parked', async () => {
    // Prepare: the first parking lands, then a drain puts the slave live (its epoch moves to 4).
    state.setSlave('eu', { mode: 'parked', generation: 5, epoch: 3, parkedSince: NOW - 60_000 });
    let rounds = 0;
    state.slaveAnswers.set(STATE_TABLE, () => {
      rounds += 1;
      if (rounds === 1) Object.assign(state.slaves.get('eu') ?? {}, { mode: 'live', epoch: 4 });
      return Promise.resolve({});
    });

    // Act
    await parkKeys(store, EU, [keyOf('a')], 'verify --repair', () => NOW);

    // Assess
    expect(rounds).toBe(2);
    expect(parkedOfEu(state)).toEqual(['read-master a epoch 4 (verify --repair)']);
    expect(state.slaves.get('eu')).toMatchObject({ mode: 'parked', epoch: 4 });
    expect(ddb.commandCalls(UpdateItemCommand).map((call) => call.args[0].input.ExpressionAttributeValues?.[':epoch']?.N)).toEqual(['3', '4']);
  });

  it('throws ParkKeysError naming the slave when the state table does not keep the keys, and announces nothing', async () => {
    // Prepare
    state.slaveAnswers.set(STATE_TABLE, () => Promise.reject(awsError('AccessDeniedException', 400, 'not authorized on the state table')));

    // Act
    const parking = parkKeys(store, EU, [keyOf('a'), keyOf('b')], 'redrive', () => NOW);

    // Assess
    await expect(parking).rejects.toThrow(ParkKeysError);
    await expect(parking).rejects.toThrow(/^could not park 2 keys for slave "eu": .*not authorized on the state table/);
    expect(ddb).not.toHaveReceivedCommand(UpdateItemCommand);
    expect(state.slaves.has('eu')).toBe(false);
  });
});

describe('Function: drainNow', () => {
  afterEach(() => ddb.reset());

  it("drains the slaves as the scheduled drain would, reading the master through the tool's endpoint", async () => {
    // Prepare
    const tables = new FakeTables(['orders', 'orders-eu']);
    const state = new FakeStateTable();
    installReplication(ddb, tables, state);
    tables.put('orders', { pk: { S: 'a' }, value: { S: 'master' } });
    state.setSlave('eu', { mode: 'parked', generation: 2, epoch: 1, parkedSince: Date.now() - 1_000 });
    state.park('eu', 'a', { kind: 'read-master', epoch: 1 });
    const endpoints: (string | undefined)[] = [];
    const clients: ClientProvider = {
      forSlave: () => client,
      forMaster: (_region, endpoint) => {
        endpoints.push(endpoint);
        return client;
      },
    };

    // Act
    const result = await drainNow({ tableName: 'orders', region: 'eu-west-1', endpoint: 'http://127.0.0.1:8000' }, [EU], STATE_TABLE, 2, clients, Date.now);

    // Assess
    expect(result.pending).toEqual({ eu: 0 });
    expect(tables.items('orders-eu')).toEqual([{ pk: { S: 'a' }, value: { S: 'master' } }]);
    expect(state.slaves.get('eu')?.mode).toBe('live');
    expect(new Set(endpoints)).toEqual(new Set(['http://127.0.0.1:8000']));
  });
});
