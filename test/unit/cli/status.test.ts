import { DescribeTableCommand, DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StateOptions } from '../../../handler/cli/options';
import { formatStatus, markCopied, runStatus, type StatusSummary } from '../../../handler/cli/status';
import { ConfigurationError } from '../../../handler/errors';
import { StateStore } from '../../../handler/state-store';
import { Deadline } from '../../../handler/timing';
import type { SlaveConfig } from '../../../handler/types';
import { EU, STATE_TABLE, US } from '../helpers/config';
import { FakeStateTable } from '../helpers/fake-state-table';
import { FAST_BACKOFF } from '../helpers/writes';
import { providerOf } from './helpers/fake-tables';

const client = new DynamoDBClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
const ddb = mockClient(client);
const NOW = 1_800_000_000_000;
const now = (): number => NOW;

const COPYING: SlaveConfig = { name: 'ap', region: 'ap-south-1', tableName: 'orders-ap', initialCopy: true };
const COPIED: SlaveConfig = { name: 'sa', region: 'sa-east-1', tableName: 'orders-sa', initialCopy: true };
const NEW: SlaveConfig = { name: 'ca', region: 'ca-central-1', tableName: 'orders-ca', initialCopy: true };

const optionsFor = (slaves: readonly SlaveConfig[]): StateOptions => ({ master: { tableName: 'orders', region: 'eu-west-1' }, slaves, stateTable: STATE_TABLE, writeConcurrency: 2, json: false });

let state: FakeStateTable;
let store: StateStore;
let deadline: Deadline;

beforeEach(() => {
  state = new FakeStateTable(now);
  state.install(ddb);
  ddb.on(DescribeTableCommand).resolves({ Table: { TableName: 'orders', KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], ItemCount: 10_000, TableSizeBytes: 1_000_000 } });
  store = new StateStore(client, STATE_TABLE, { concurrency: 2, backoff: FAST_BACKOFF, now });
  deadline = new Deadline(Date.now() + 10_000);
});
afterEach(() => {
  deadline.release();
  ddb.reset();
});

describe('Function: runStatus', () => {
  it('shows each slave live or parked with its parked changes, the oldest age, its copy progress at its rate, and the rejected records', async () => {
    // Prepare
    state.setSlave('eu', { mode: 'live', generation: 3, epoch: 2 });
    state.setSlave('us', { mode: 'parked', generation: 4, epoch: 2, parkedSince: NOW - 125_000, reason: 'slave "us" answered 503' });
    for (const id of ['a', 'b', 'c']) state.park('us', id);
    state.setSlave('ap', { mode: 'parked', copy: 'pending', parkedSince: NOW - 3_600_000, reason: 'initial copy pending' });
    state.park('ap', 'a');
    // A copy in 4 segments, 100 s in: 5,000 items (50 a second) of the master's 10,000; a checkpoint of an earlier split in 2 is left out.
    await store.saveCopyCheckpoint('ap', { segment: 0, totalSegments: 4, done: true, items: 2_000, startedAt: NOW - 100_000 }, deadline);
    await store.saveCopyCheckpoint('ap', { segment: 1, totalSegments: 4, done: true, items: 2_000, startedAt: NOW - 90_000 }, deadline);
    await store.saveCopyCheckpoint('ap', { segment: 2, totalSegments: 4, done: false, items: 1_000, startedAt: NOW - 80_000, startKey: { pk: { S: 'x' } } }, deadline);
    await store.saveCopyCheckpoint('ap', { segment: 3, totalSegments: 2, done: true, items: 7_777, startedAt: NOW - 900_000 }, deadline);
    state.setSlave('sa', { mode: 'parked', copy: 'done', parkedSince: NOW - 7_200_000, reason: 'initial copy pending' });
    state.park('sa', 'a');
    state.park('sa', 'b');
    await store.saveCopyCheckpoint('sa', { segment: 0, totalSegments: 1, done: true, items: 10_000, startedAt: NOW - 600_000 }, deadline);
    await store.keepRejected(
      [
        { eventId: 'e1', sequenceNumber: '1', record: { eventID: 'e1' }, reason: 'not decodable' },
        { eventId: 'e2', sequenceNumber: '2', record: { eventID: 'e2' }, reason: 'not decodable' },
      ],
      deadline,
    );

    // Act
    const summary = await runStatus(optionsFor([EU, US, COPYING, COPIED, NEW]), { clients: providerOf(client), now });

    // Assess
    expect(summary).toEqual({
      table: 'orders',
      stateTable: STATE_TABLE,
      rejectedRecords: 2,
      slaves: [
        { name: 'eu', table: 'orders-eu', region: 'eu-west-1', mode: 'live', pending: 0, oldestParkedAgeSeconds: 0, reason: null, copy: null },
        { name: 'us', table: 'orders-us', region: 'us-east-1', mode: 'parked', pending: 3, oldestParkedAgeSeconds: 125, reason: 'slave "us" answered 503', copy: null },
        {
          name: 'ap',
          table: 'orders-ap',
          region: 'ap-south-1',
          mode: 'parked',
          pending: 1,
          oldestParkedAgeSeconds: 3_600,
          reason: 'initial copy pending',
          copy: { state: 'pending', totalSegments: 4, segmentsDone: 2, items: 5_000, itemsPerSecond: 50, etaSeconds: 100 },
        },
        {
          name: 'sa',
          table: 'orders-sa',
          region: 'sa-east-1',
          mode: 'parked',
          pending: 2,
          oldestParkedAgeSeconds: 7_200,
          reason: 'initial copy pending',
          copy: { state: 'done', totalSegments: 1, segmentsDone: 1, items: 10_000, itemsPerSecond: 17, etaSeconds: 0 },
        },
        expect.objectContaining({ name: 'ca', pending: 0, copy: { state: 'pending', totalSegments: 0, segmentsDone: 0, items: 0, itemsPerSecond: null, etaSeconds: null } }),
      ],
    });
  });

  it('reads no table description when no slave is marked initial_copy', async () => {
    // Act
    await runStatus(optionsFor([EU]), { clients: providerOf(client), now });

    // Assess
    expect(ddb).not.toHaveReceivedCommand(DescribeTableCommand);
  });
});

describe('Function: formatStatus', () => {
  it('writes one line a slave, its copy and why it is parked, and how to replay the rejected records', () => {
    // Prepare
    const summary: StatusSummary = {
      table: 'orders',
      stateTable: STATE_TABLE,
      rejectedRecords: 2,
      slaves: [
        { name: 'eu', table: 'orders-eu', region: 'eu-west-1', mode: 'live', pending: 0, oldestParkedAgeSeconds: 0, reason: null, copy: null },
        { name: 'us', table: 'orders-us', region: 'us-east-1', mode: 'parked', pending: 12_345, oldestParkedAgeSeconds: 125, reason: 'slave "us" answered 503', copy: null },
        {
          name: 'ap',
          table: 'orders-ap',
          region: 'ap-south-1',
          mode: 'parked',
          pending: 1,
          oldestParkedAgeSeconds: 3_600,
          reason: 'initial copy pending',
          copy: { state: 'pending', totalSegments: 4, segmentsDone: 2, items: 5_000, itemsPerSecond: 1_500, etaSeconds: 100 },
        },
        { name: 'ca', table: 'orders-ca', region: 'ca-central-1', mode: 'parked', pending: 0, oldestParkedAgeSeconds: 0, reason: null, copy: { state: 'pending', totalSegments: 0, segmentsDone: 0, items: 0, itemsPerSecond: null, etaSeconds: null } },
        { name: 'sa', table: 'orders-sa', region: 'sa-east-1', mode: 'parked', pending: 2, oldestParkedAgeSeconds: 60, reason: null, copy: { state: 'done', totalSegments: 1, segmentsDone: 1, items: 10_000, itemsPerSecond: 17, etaSeconds: 0 } },
        { name: 'br', table: 'orders-br', region: 'sa-east-1', mode: 'live', pending: 0, oldestParkedAgeSeconds: 0, reason: null, copy: { state: 'done', totalSegments: 8, segmentsDone: 8, items: 1_234_567, itemsPerSecond: 900, etaSeconds: 0 } },
      ],
    };

    // Act
    const text = formatStatus(summary);

    // Assess
    expect(text.split('\n')).toEqual([
      `replication of orders (state table ${STATE_TABLE})`,
      '  eu (orders-eu in eu-west-1): LIVE',
      '  us (orders-us in us-east-1): PARKED  12,345 changes waiting, oldest 2m05s',
      '    why: slave "us" answered 503',
      '  ap (orders-ap in ap-south-1): PARKED  1 changes waiting, oldest 1h00m',
      '    initial copy: 2 of 4 segments done, 5,000 items, 1,500 items/s, about 1m40s left',
      '    why: initial copy pending',
      '  ca (orders-ca in ca-central-1): PARKED  0 changes waiting, oldest 0s',
      '    initial copy: 0 of ? segments done, 0 items',
      '  sa (orders-sa in sa-east-1): PARKED  2 changes waiting, oldest 1m00s',
      '    initial copy done: 10,000 items in 1 segments; the drain is applying the changes parked meanwhile',
      '  br (orders-br in sa-east-1): LIVE',
      '    initial copy done: 1,234,567 items in 8 segments',
      '2 stream records could not be applied at all; they are kept for npx dynamo-replicator redrive --rejected',
    ]);
  });

  it('says nothing of rejected records when there are none', () => {
    // Act
    const text = formatStatus({ table: 'orders', stateTable: STATE_TABLE, rejectedRecords: 0, slaves: [] });

    // Assess
    expect(text).toBe(`replication of orders (state table ${STATE_TABLE})`);
  });
});

describe('Function: markCopied', () => {
  const SETTLE_MS = 900_000;
  const mark = (slaves: readonly SlaveConfig[], copiedAt: number): Promise<string[]> =>
    markCopied({ ...optionsFor(slaves), copiedAt, settleMs: SETTLE_MS }, { clients: providerOf(client), now });

  it('marks copied each slave parked for the settle time before the copy shows the master', async () => {
    // Prepare
    state.setSlave('ap', { mode: 'parked', copy: 'pending', parkedSince: NOW - 2_000_000 });
    state.setSlave('sa', { mode: 'parked', copy: 'pending', parkedSince: NOW - 1_000_000 });

    // Act: the export shows the master 1,000 s after the first was parked, and exactly the settle time after the second.
    const marked = await mark([COPYING, COPIED], NOW - 100_000);

    // Assess
    expect(marked).toEqual(['ap', 'sa']);
    expect(state.slaves.get('ap')?.copy).toBe('done');
    expect(state.slaves.get('sa')?.copy).toBe('done');
  });

  it('refuses a copy from before a slave had been parked for the settle time, naming --copied-at, and marks no slave', async () => {
    // Prepare
    state.setSlave('ap', { mode: 'parked', copy: 'pending', parkedSince: NOW - 2_000_000 });
    state.setSlave('sa', { mode: 'parked', copy: 'pending', parkedSince: NOW - 1_000_000 });

    // Act: one second short of the second slave's settle time.
    const marking = mark([COPYING, COPIED], NOW - 100_001);

    // Assess
    await expect(marking).rejects.toThrow(ConfigurationError);
    await expect(marking).rejects.toThrow(
      `--copied-at: ${new Date(NOW - 100_001).toISOString()} is too early for slave "sa": it was parked at ${new Date(NOW - 1_000_000).toISOString()}, so changes before ${new Date(NOW - 100_000).toISOString()} may be in neither the copy nor the state table; export again from a later time`,
    );
    expect(state.slaves.get('ap')?.copy).toBe('pending');
    expect(ddb.commandCalls(UpdateItemCommand).filter((call) => call.args[0].input.UpdateExpression?.startsWith('SET copy_state') === true)).toHaveLength(0);
  });

  it('refuses a slave marked copied already', async () => {
    // Prepare
    state.setSlave('ap', { mode: 'parked', copy: 'done', parkedSince: NOW - 2_000_000 });

    // Act & Assess
    await expect(mark([COPYING], NOW)).rejects.toThrow(`slave "ap": was marked copied already (state table ${STATE_TABLE})`);
  });

  it('refuses a slave not marked initial_copy, which replication writes already', async () => {
    // Prepare
    state.setSlave('eu', { mode: 'live', generation: 1, epoch: 1 });

    // Act & Assess
    await expect(mark([EU], NOW)).rejects.toThrow(/^slaves\.eu: is not marked initial_copy/);
    expect(state.slaves.get('eu')?.copy).toBeUndefined();
  });
});
