import { BatchWriteItemCommand, DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keyIdentity } from '../../handler/attribute-value';
import { drainSlaves, UNSETTLED_GRACE_MS, type DrainOptions } from '../../handler/drain';
import { partitions } from '../../handler/state-store';
import { ConfigurationError } from '../../handler/errors';
import type { ReplicatorConfig } from '../../handler/types';
import { deployedConfig, EU, mockedClients, US } from './helpers/config';
import { FakeStateTable } from './helpers/fake-state-table';
import { parkedContent } from './helpers/state';
import { awsError, FAST_BACKOFF } from './helpers/writes';
import { recordedTelemetry } from './helpers/telemetry';
import type { Telemetry } from '../../handler/telemetry';

const ddb = mockClient(DynamoDBClient);
const NOW = 1_800_000_000_000;
let started = Date.now();
/** Starts at NOW and runs with the real clock, so a drain that never ends still meets its deadline. */
const clock = (): number => NOW + Date.now() - started;

let fake: FakeStateTable;
let logged: Record<string, unknown>[];
let telemetry: Telemetry;

function drainWith(config: Partial<ReplicatorConfig> = {}, remainingMs = 10_000): ReturnType<typeof drainSlaves> {
  const options: DrainOptions = { config: deployedConfig({ slaves: [EU], ...config }), clients: mockedClients(), telemetry, now: clock, backoff: FAST_BACKOFF };
  return drainSlaves(options, remainingMs);
}

const slaveEvents = (): string[] => fake.events.filter((event) => event.startsWith('write orders-eu') || event.startsWith('live'));

/**
 * The slave's writes of a drain that finds `changes` in the open bucket, each in its own partition: the probe that
 * tells the slave answers writes them once, and the drain of their bucket, once closed, again.
 */
const probedAndDrained = (...changes: string[]): string[] => [...changes, ...changes].map((change) => `write orders-eu ${change}`);

describe('Function: drainSlaves', () => {
  beforeEach(() => {
    started = Date.now();
    fake = new FakeStateTable(clock);
    fake.install(ddb);
    ({ telemetry, logged } = recordedTelemetry({ namespace: 'DynamoReplicator', replicatorName: 'orders-replicator' }));
  });

  afterEach(() => {
    ddb.reset();
  });

  it('applies every parked change and goes live when the open bucket is found empty; the next drain deletes what it applied', async () => {
    // Prepare
    fake.setSlave('eu', { mode: 'parked', generation: 4, epoch: 2, parkedSince: NOW - 90_000 });
    fake.park('eu', 'a', { value: '1', seq: '10', epoch: 2 });
    fake.park('eu', 'b', { kind: 'delete', seq: '11', epoch: 2 });

    // Act
    const result = await drainWith();

    // Assess
    expect(result.pending).toEqual({ eu: 0 });
    expect(result.slaves.eu).toEqual({ mode: 'live', drained: 2, pending: 0, oldestParkedAgeSeconds: 0, errors: [] });
    expect(fake.events.filter((event) => !event.startsWith('reason'))).toEqual(expect.arrayContaining(['write orders-eu put a=1', 'write orders-eu delete b', 'live eu']));
    expect(fake.events.at(-1)).toBe('live eu');
    expect(fake.slaves.get('eu')).toMatchObject({ mode: 'live', epoch: 3, bucket: 1, drainedBelow: 1, cleanedBelow: 0 });
    expect(fake.slaves.get('eu')?.leaseOwner).toBeUndefined();
    // Applied, and below the drained bucket: no drain reads them again.
    expect(fake.parkedOf('eu')).toHaveLength(2);

    // Act: the next run of the schedule
    const next = await drainWith();

    // Assess
    expect(next.slaves.eu).toEqual({ mode: 'live', drained: 0, pending: 0, oldestParkedAgeSeconds: 0, errors: [] });
    expect(fake.events.slice(-3).sort()).toEqual(['cleaned eu below 1', 'delete a', 'delete b']);
    expect(fake.parkedOf('eu')).toEqual([]);
    expect(fake.slaves.get('eu')?.leaseOwner).toBeUndefined();
  });

  it('goes on from its cursor after a drain that stopped half-way through a closed bucket, applying nothing twice', async () => {
    // Prepare: bucket 0 is closed, and a drain applied one partition's changes up to its cursor before it stopped
    fake.setSlave('eu', { mode: 'parked', generation: 2, epoch: 0, bucket: 1, drainedBelow: 0 });
    const ids = Array.from({ length: 1_200 }, (_, index) => `k${index}`);
    for (const id of ids) fake.park('eu', id, { value: 'v', bucket: 0 });
    const partition = fake.parkedOf('eu').filter((item) => item.pk?.S === 'parked#eu#00').sort((a, b) => ((a.sk?.S ?? '') < (b.sk?.S ?? '') ? -1 : 1));
    const cursor = partition[9]?.sk?.S ?? '';
    fake.slaves.get('eu')?.cursors.set(0, cursor);

    // Act
    const result = await drainWith();

    // Assess: the ten changes up to the cursor are not written again; every other one is, once
    const written = fake.events.filter((event) => event.startsWith('write orders-eu')).map((event) => event.slice('write orders-eu put '.length, -'=v'.length));
    const skipped = new Set(partition.slice(0, 10).map((item) => parkedContent(item).id));
    expect(written.filter((id) => skipped.has(id))).toEqual([]);
    expect(new Set(written)).toEqual(new Set(ids.filter((id) => !skipped.has(id))));
    expect(written).toHaveLength(ids.length - 10);
    expect(result.slaves.eu).toMatchObject({ mode: 'live', drained: ids.length - 10, pending: 0 });
    expect(fake.slaves.get('eu')?.cursors.size).toBe(0);
  });

  it('does not go live when a change is parked between its last round and the switch, and drains again first', async () => {
    // Prepare
    fake.setSlave('eu', { mode: 'parked', generation: 4, epoch: 0 });
    fake.park('eu', 'a', { value: '1', seq: '10' });
    let raced = false;
    fake.beforeMarkLive = (slave) => {
      if (raced) return;
      raced = true;
      // A stream invocation parks a change and raises the generation after the drain's pass found nothing.
      fake.park(slave, 'late', { value: 'new', seq: '20' });
      const state = fake.slaves.get(slave);
      if (state !== undefined) state.generation += 1;
    };

    // Act
    const result = await drainWith();

    // Assess
    expect(slaveEvents()).toEqual([...probedAndDrained('put a=1'), ...probedAndDrained('put late=new'), 'live eu']);
    expect(ddb.commandCalls(UpdateItemCommand).filter((call) => call.args[0].input.UpdateExpression?.startsWith('SET #mode = :live') === true)).toHaveLength(2);
    expect(result.slaves.eu).toMatchObject({ mode: 'live', drained: 2, pending: 0 });
  });

  it(`leaves a slave marked parked less than UNSETTLED_GRACE_MS (${UNSETTLED_GRACE_MS / 1000} s) ago with nothing kept yet parked: its parker is waiting out the settle time`, async () => {
    // Prepare: marked parked 5 s ago, never settled, nothing parked
    fake.setSlave('eu', { mode: 'parked', generation: 1, epoch: 2, settledEpoch: 1, parkedSince: NOW - 5_000 });

    // Act
    const result = await drainWith();

    // Assess
    expect(slaveEvents()).toEqual([]);
    expect(result.slaves.eu).toMatchObject({ mode: 'parked', drained: 0, pending: 0 });
  });

  it('puts live a slave marked parked longer ago than that and never settled: its parker is gone', async () => {
    // Prepare
    fake.setSlave('eu', { mode: 'parked', generation: 1, epoch: 2, settledEpoch: 1, parkedSince: NOW - UNSETTLED_GRACE_MS });

    // Act
    const result = await drainWith();

    // Assess
    expect(slaveEvents()).toEqual(['live eu']);
    expect(result.slaves.eu).toMatchObject({ mode: 'live', pending: 0 });
  });

  it('goes live only at the generation it read before its last round: a change parked while the open bucket was found empty is applied first', async () => {
    // Prepare
    fake.setSlave('eu', { mode: 'parked', generation: 4, epoch: 0 });
    const queried = new Set<string>();
    let raced = false;
    fake.afterParkedQuery = (slave, partition, range) => {
      if (range !== 'open') return;
      queried.add(partition);
      if (raced || queried.size < partitions().length) return;
      raced = true;
      // Every partition of the open bucket has answered empty: a stream invocation parks a change and raises the
      // generation, as its announcement does, before the drain decides to go live.
      fake.park(slave, 'late', { value: 'new', seq: '20' });
      const state = fake.slaves.get(slave);
      if (state !== undefined) state.generation += 1;
    };

    // Act
    const result = await drainWith();

    // Assess
    expect(raced).toBe(true);
    expect(slaveEvents()).toEqual([...probedAndDrained('put late=new'), 'live eu']);
    expect(result.slaves.eu).toMatchObject({ mode: 'live', drained: 1, pending: 0 });
  });

  it('deletes changes parked under an older epoch without writing them: their batch was re-delivered and applied', async () => {
    // Prepare
    fake.setSlave('eu', { mode: 'parked', generation: 9, epoch: 5 });
    fake.park('eu', 'stale', { value: 'old', seq: '10', epoch: 4 });
    fake.park('eu', 'current', { value: 'new', seq: '11', epoch: 5 });

    // Act
    const result = await drainWith();

    // Assess
    expect(slaveEvents()).toEqual([...probedAndDrained('put current=new'), 'live eu']);
    expect(result.slaves.eu).toMatchObject({ mode: 'live', drained: 1, pending: 0 });

    // Act: the next run of the schedule deletes it with the applied ones, unwritten
    await drainWith();

    // Assess
    expect(fake.events).toContain('delete stale');
    expect(slaveEvents()).toEqual([...probedAndDrained('put current=new'), 'live eu']);
  });

  it('drains the bucket it closed and leaves a change parked meanwhile in the open bucket, applying it in its turn', async () => {
    // Prepare
    fake.setSlave('eu', { mode: 'parked', generation: 1, epoch: 0 });
    fake.park('eu', 'a', { value: 'old', seq: '10' });
    let parkedMeanwhile = false;
    fake.afterSlaveWrite = (table) => {
      const state = fake.slaves.get('eu');
      if (table !== 'orders-eu' || parkedMeanwhile || state === undefined || state.bucket === 0) return;
      // The bucket of a=old is closed and being drained: a newer change of a is parked, in the open bucket.
      parkedMeanwhile = true;
      fake.park('eu', 'a', { value: 'newer', seq: '30' });
      state.generation += 1;
    };

    // Act
    const result = await drainWith();

    // Assess
    expect(parkedMeanwhile).toBe(true);
    expect(fake.events.filter((event) => event.startsWith('write orders-eu') || event.startsWith('close') || event.startsWith('live'))).toEqual([
      'write orders-eu put a=old',
      'close eu 0',
      'write orders-eu put a=old',
      ...probedAndDrained('put a=newer').slice(0, 1),
      'close eu 1',
      ...probedAndDrained('put a=newer').slice(1),
      'live eu',
    ]);
    expect(result.slaves.eu).toMatchObject({ mode: 'live', drained: 2, pending: 0 });
  });

  it('never applies a change that landed in a bucket after the drain read it: its parker kept it again in the open bucket', async () => {
    // Prepare: bucket 0 was closed, drained and deleted; then a parker that had read it wrote there, was refused, and
    // kept its change again in bucket 1
    fake.setSlave('eu', { mode: 'parked', generation: 3, epoch: 0, bucket: 1, drainedBelow: 1, cleanedBelow: 1 });
    fake.park('eu', 'late', { value: 'left-over', seq: '40', bucket: 0 });
    fake.park('eu', 'late', { value: 'kept-again', seq: '40', bucket: 1 });

    // Act
    const result = await drainWith();

    // Assess
    expect(slaveEvents()).toEqual([...probedAndDrained('put late=kept-again'), 'live eu']);
    expect(result.slaves.eu).toMatchObject({ mode: 'live', drained: 1, pending: 0 });

    // Act: the next run deletes both
    await drainWith();

    // Assess
    expect(fake.events.filter((event) => event === 'delete late')).toHaveLength(2);
    expect(fake.parkedOf('eu')).toEqual([]);
  });

  it('carries a change whose item the slave rejects over to the open bucket, applies the others, and stays parked', async () => {
    // Prepare
    fake.setSlave('eu', { mode: 'parked', generation: 1, epoch: 0, parkedSince: NOW - 60_000 });
    for (const id of ['poison', 'b', 'c', 'd']) fake.park('eu', id, { value: id });
    fake.slaveAnswers.set('orders-eu', (requests) =>
      requests.some((request) => request.PutRequest?.Item?.pk?.S === 'poison') ? Promise.reject(awsError('ValidationException', 400, 'Item size has exceeded the maximum allowed size')) : Promise.resolve({}),
    );

    // Act
    const result = await drainWith();

    // Assess
    const taken = new Set(fake.events.filter((event) => event.startsWith('write orders-eu put') && !event.includes('poison')));
    expect(taken).toEqual(new Set(['write orders-eu put b=b', 'write orders-eu put c=c', 'write orders-eu put d=d']));
    expect(fake.events).toContain('carry poison to 1');
    expect(fake.parkedOf('eu').filter((item) => item.sk?.S?.startsWith(`${String(fake.slaves.get('eu')?.bucket).padStart(10, '0')}#`) === true).map((item) => parkedContent(item).id)).toEqual(['poison']);
    expect(result.slaves.eu).toMatchObject({ mode: 'parked', drained: 3, pending: 1 });
    expect(result.slaves.eu?.errors[0]).toContain('ValidationException: Item size has exceeded the maximum allowed size');
  });

  it('applies nothing while another drain holds the lease', async () => {
    // Prepare
    fake.setSlave('eu', { mode: 'parked', generation: 1, epoch: 0, leaseOwner: 'other-drain', leaseUntil: NOW + 60_000, parkedSince: NOW - 30_000 });
    fake.park('eu', 'a');

    // Act
    const result = await drainWith();

    // Assess
    expect(slaveEvents()).toEqual([]);
    expect(fake.parkedOf('eu')).toHaveLength(1);
    expect(result.slaves.eu).toEqual({ mode: 'parked', drained: 0, pending: 1, oldestParkedAgeSeconds: 30, errors: ['another drain holds this slave'] });
    expect(fake.slaves.get('eu')?.leaseOwner).toBe('other-drain');
  });

  it('takes over a lease that has expired', async () => {
    // Prepare
    fake.setSlave('eu', { mode: 'parked', generation: 1, epoch: 0, leaseOwner: 'killed-drain', leaseUntil: NOW - 1 });
    fake.park('eu', 'a', { value: '1' });

    // Act
    const result = await drainWith();

    // Assess
    expect(slaveEvents()).toEqual([...probedAndDrained('put a=1'), 'live eu']);
    expect(result.slaves.eu?.mode).toBe('live');
  });

  it('applies nothing while the initial copy is pending, and takes no lease', async () => {
    // Prepare
    fake.setSlave('eu', { mode: 'parked', generation: 1, epoch: 0, copy: 'pending', parkedSince: NOW - 5_000 });
    fake.park('eu', 'a');

    // Act
    const result = await drainWith({ slaves: [{ ...EU, initialCopy: true }] });

    // Assess
    expect(slaveEvents()).toEqual([]);
    expect(result.slaves.eu).toEqual({ mode: 'parked', drained: 0, pending: 1, oldestParkedAgeSeconds: 5, errors: [] });
    expect(ddb.commandCalls(UpdateItemCommand)).toHaveLength(0);
  });

  it('applies nothing to a paused slave (enabled: false), takes no lease, and reports its backlog and age', async () => {
    // Prepare
    fake.setSlave('eu', { mode: 'parked', generation: 1, epoch: 0, parkedSince: NOW - 7_000 });
    fake.park('eu', 'a');

    // Act
    const result = await drainWith({ slaves: [{ ...EU, enabled: false }] });

    // Assess
    expect(slaveEvents()).toEqual([]);
    expect(result.slaves.eu).toEqual({ mode: 'parked', drained: 0, pending: 1, oldestParkedAgeSeconds: 7, errors: [] });
    expect(ddb.commandCalls(UpdateItemCommand)).toHaveLength(0);

    // Act: enabled again
    const resumed = await drainWith({ slaves: [EU] });

    // Assess
    expect(slaveEvents()).toEqual([...probedAndDrained('put a=parked'), 'live eu']);
    expect(resumed.slaves.eu).toMatchObject({ mode: 'live', drained: 1, pending: 0 });
  });

  it('creates the state of a new initial-copy slave parked with its copy pending, and applies nothing', async () => {
    // Act
    const result = await drainWith({ slaves: [{ ...EU, initialCopy: true }] });

    // Assess
    expect(fake.slaves.get('eu')).toMatchObject({ mode: 'parked', copy: 'pending', reason: 'initial copy pending' });
    expect(result.slaves.eu).toMatchObject({ mode: 'parked', drained: 0, pending: 0 });
  });

  it('hands a slave over once its copy is done: drains it and puts it live', async () => {
    // Prepare
    fake.setSlave('eu', { mode: 'parked', generation: 2, epoch: 0, copy: 'done' });
    fake.park('eu', 'a', { value: 'after-copy' });

    // Act
    const result = await drainWith({ slaves: [{ ...EU, initialCopy: true }] });

    // Assess
    expect(slaveEvents()).toEqual([...probedAndDrained('put a=after-copy'), 'live eu']);
    expect(result.slaves.eu?.mode).toBe('live');
  });

  it('stops at a slave still failing, leaves its changes, and notes why', async () => {
    // Prepare
    fake.setSlave('eu', { mode: 'parked', generation: 1, epoch: 0, parkedSince: NOW - 120_000 });
    fake.park('eu', 'a');
    fake.park('eu', 'b');
    fake.slaveAnswers.set('orders-eu', () => Promise.reject(awsError('ResourceNotFoundException', 400, 'Requested resource not found')));

    // Act
    const result = await drainWith();

    // Assess
    expect(fake.parkedOf('eu')).toHaveLength(2);
    expect(fake.events.some((event) => event.startsWith('live'))).toBe(false);
    expect(result.pending).toEqual({ eu: 2 });
    expect(result.slaves.eu).toMatchObject({ mode: 'parked', drained: 0, pending: 2, oldestParkedAgeSeconds: 120 });
    expect(result.slaves.eu?.errors[0]).toContain('ResourceNotFoundException: Requested resource not found');
    expect(fake.slaves.get('eu')?.reason).toContain('could not write key');
    expect(fake.slaves.get('eu')?.leaseOwner).toBeUndefined();
    // A slave still down keeps its open bucket: each key keeps one item however long the outage lasts.
    expect(fake.events.some((event) => event.startsWith('close'))).toBe(false);
    expect(fake.slaves.get('eu')?.bucket).toBe(0);
  });

  it('keeps the open bucket when the slave fails its changes after taking the closed bucket\'s', async () => {
    // Prepare: a closed bucket 0 to drain and an open bucket 1; the slave takes one call, then is gone
    fake.setSlave('eu', { mode: 'parked', generation: 3, epoch: 0, bucket: 1, drainedBelow: 0, parkedSince: NOW - 30_000 });
    fake.park('eu', 'a', { value: 'closed', bucket: 0 });
    fake.park('eu', 'b', { value: 'open', bucket: 1 });
    let calls = 0;
    fake.slaveAnswers.set('orders-eu', () => {
      calls += 1;
      return calls === 1 ? Promise.resolve({}) : Promise.reject(awsError('ResourceNotFoundException', 400, 'Requested resource not found'));
    });

    // Act
    const result = await drainWith();

    // Assess: the probe's write of b was tried and failed (the fake logs only what a slave took)
    expect(slaveEvents()).toEqual(['write orders-eu put a=closed']);
    expect(calls).toBe(2);
    expect(fake.events.some((event) => event.startsWith('close'))).toBe(false);
    expect(fake.slaves.get('eu')).toMatchObject({ mode: 'parked', bucket: 1, drainedBelow: 1 });
    expect(result.slaves.eu).toMatchObject({ mode: 'parked', drained: 1, pending: 1 });
  });

  it('keeps at most twice the write concurrency of calls in flight to the slave, whatever the partitions', async () => {
    // Prepare: a closed bucket of 2,000 changes over every partition; the slave answers each call after a while
    fake.setSlave('eu', { mode: 'parked', generation: 2, epoch: 0, bucket: 1, drainedBelow: 0 });
    for (let index = 0; index < 2_000; index += 1) fake.park('eu', `k${index}`, { bucket: 0 });
    let inFlight = 0;
    let most = 0;
    fake.slaveAnswers.set('orders-eu', async () => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight -= 1;
      return {};
    });

    // Act
    const result = await drainWith({ writeConcurrency: 16 });

    // Assess
    expect(result.slaves.eu).toMatchObject({ mode: 'live', drained: 2_000 });
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(32);
  });

  it('leaves a live slave alone', async () => {
    // Prepare
    fake.setSlave('eu', { mode: 'live', generation: 1, epoch: 1 });

    // Act
    const result = await drainWith();

    // Assess
    expect(result.slaves.eu).toEqual({ mode: 'live', drained: 0, pending: 0, oldestParkedAgeSeconds: 0, errors: [] });
    expect(ddb.commandCalls(UpdateItemCommand)).toHaveLength(0);
  });

  it('reads a change parked as its key from the master: the current item is put, a gone one deleted', async () => {
    // Prepare
    fake.setSlave('eu', { mode: 'parked', generation: 1, epoch: 0 });
    fake.park('eu', 'big', { kind: 'read-master' });
    fake.park('eu', 'gone', { kind: 'read-master' });
    fake.master.set(keyIdentity({ pk: { S: 'big' } }), { pk: { S: 'big' }, value: { S: 'current' } });

    // Act
    const result = await drainWith();

    // Assess
    expect(new Set(slaveEvents().filter((event) => event.startsWith('write')))).toEqual(new Set(['write orders-eu delete gone', 'write orders-eu put big=current']));
    expect(result.slaves.eu).toMatchObject({ mode: 'live', drained: 2 });
  });

  it('cannot apply a change parked as its key without REPLICATOR_MASTER_TABLE, and says so', async () => {
    // Prepare
    fake.setSlave('eu', { mode: 'parked', generation: 1, epoch: 0 });
    fake.park('eu', 'big', { kind: 'read-master' });
    const withoutMaster = Object.fromEntries(Object.entries(deployedConfig({ slaves: [EU] })).filter(([name]) => name !== 'masterTable')) as unknown as ReplicatorConfig;

    // Act
    const result = await drainSlaves({ config: withoutMaster, clients: mockedClients(), telemetry, now: clock, backoff: FAST_BACKOFF }, 10_000);

    // Assess
    expect(slaveEvents()).toEqual([]);
    expect(result.slaves.eu).toMatchObject({ mode: 'parked', pending: 1 });
    expect(result.slaves.eu?.errors).toContain('REPLICATOR_MASTER_TABLE is not set: a change parked as its key needs the master table to be read');
  });

  it('drains each slave on its own and resolves the parked changes left per slave', async () => {
    // Prepare
    fake.setSlave('eu', { mode: 'parked', generation: 1, epoch: 0 });
    fake.park('eu', 'a');
    fake.setSlave('us', { mode: 'parked', generation: 1, epoch: 0 });
    fake.park('us', 'a');
    fake.park('us', 'b');
    fake.slaveAnswers.set('orders-us', () => Promise.reject(awsError('AccessDeniedException', 400, 'denied')));

    // Act
    const result = await drainWith({ slaves: [EU, US] });

    // Assess
    expect(result.pending).toEqual({ eu: 0, us: 2 });
    expect(result.slaves.eu?.mode).toBe('live');
    expect(result.slaves.us?.mode).toBe('parked');
  });

  it('logs a line and a metrics document per slave: DrainedRecords, ParkedPending and OldestParkedAgeSeconds', async () => {
    // Prepare
    fake.setSlave('eu', { mode: 'parked', generation: 1, epoch: 0, parkedSince: NOW - 61_000 });
    fake.park('eu', 'a');
    fake.slaveAnswers.set('orders-eu', () => Promise.reject(awsError('AccessDeniedException', 400, 'denied')));

    // Act
    await drainWith();

    // Assess
    expect(logged[0]).toMatchObject({ level: 'WARN', message: 'drain', slave: 'eu', mode: 'parked', pending: 1 });
    expect(logged[1]).toEqual({
      _aws: {
        Timestamp: expect.any(Number) as unknown,
        CloudWatchMetrics: [
          {
            Namespace: 'DynamoReplicator',
            Dimensions: [['Replicator', 'Slave']],
            Metrics: [
              { Name: 'DrainedRecords', Unit: 'Count' },
              { Name: 'ParkedPending', Unit: 'Count' },
              { Name: 'OldestParkedAgeSeconds', Unit: 'Seconds' },
            ],
          },
        ],
      },
      Replicator: 'orders-replicator',
      Slave: 'eu',
      DrainedRecords: 0,
      ParkedPending: 1,
      OldestParkedAgeSeconds: 61,
    });
  });

  it('emits OldestParkedAgeSeconds 0 for a live slave every run, so missing data means the drain is not running', async () => {
    // Prepare
    fake.setSlave('eu', { mode: 'live', generation: 1, epoch: 1 });

    // Act
    await drainWith();

    // Assess
    expect(logged[1]).toMatchObject({ Slave: 'eu', DrainedRecords: 0, ParkedPending: 0, OldestParkedAgeSeconds: 0 });
  });

  it('reports a slave whose state cannot be read with pending -1, an error and no metrics, and drains the others', async () => {
    // Prepare
    fake.setSlave('us', { mode: 'live', generation: 1, epoch: 1 });
    ddb.on(GetItemCommand, { Key: { pk: { S: 'slave#eu' }, sk: { S: 'state' } } }).rejects(awsError('AccessDeniedException', 400, 'denied'));

    // Act
    const result = await drainWith({ slaves: [EU, US] });

    // Assess
    expect(result.pending).toEqual({ eu: -1, us: 0 });
    expect(result.slaves.eu?.errors[0]).toContain('StateTableError');
    expect(logged.filter((entry) => entry.Slave === 'eu')).toEqual([]);
    expect(logged.filter((entry) => entry.Slave === 'us')).toHaveLength(1);
  });

  it('stops when its time is up, leaving what it has not applied', async () => {
    // Prepare
    fake.setSlave('eu', { mode: 'parked', generation: 1, epoch: 0 });
    fake.park('eu', 'a');

    // Act
    const result = await drainWith({ deadlineMarginMs: 0 }, 0);

    // Assess
    expect(ddb.commandCalls(BatchWriteItemCommand)).toHaveLength(0);
    expect(result.slaves.eu?.mode).toBe('parked');
  });

  it.each([
    ['stateTable', 'REPLICATOR_STATE_TABLE: is not set: the drain applies the changes parked in the state table'],
    ['masterRegion', "AWS_REGION: is not set: the drain runs in the master's region"],
  ])('refuses to run without %s', async (missing, message) => {
    // Prepare
    const config = Object.fromEntries(Object.entries(deployedConfig()).filter(([name]) => name !== missing)) as unknown as ReplicatorConfig;

    // Act
    const draining = drainSlaves({ config, clients: mockedClients(), telemetry }, 10_000);

    // Assess
    await expect(draining).rejects.toBeInstanceOf(ConfigurationError);
    await expect(draining).rejects.toThrow(message);
  });
});
