/**
 * One slave's outage never holds back the others and loses nothing: the committed bundle, fed from a real DynamoDB
 * Local stream by the emulated event source mapping, with the fault proxy in front of one slave and the drain run on
 * a schedule as EventBridge would run it.
 */
import { DeleteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { compareTables } from '../support/compare-tables';
import { localClientConfig, startDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local';
import { FaultKind, startFaultProxy, type FaultProxy, type WriteRequestJson } from '../support/fault-proxy';
import { StreamPoller, type OnFailureInvocationRecord } from '../support/stream-poller';
import { startLambdaControlPlane, type LambdaControlPlane } from '../support/lambda-control-plane';
import { createTable } from '../support/tables';
import { contextWith, loadBundleModule, type Bundle } from './helpers/bundle';
import { toLambdaImage } from '../support/lambda-event';
import { runInProcess } from './helpers/cli';
import { scheduleDrain as startDrainSchedule, type DrainSchedule } from '../support/drain-schedule';
import { eventually as waitFor } from '../support/eventually';

let masterEngine: DynamoDbLocal;
let otherEngine: DynamoDbLocal;
let master: DynamoDBClient;
let other: DynamoDBClient;
let streams: DynamoDBStreamsClient;
let tableCount = 0;
const pollers: StreamPoller[] = [];
const proxies: FaultProxy[] = [];
const schedules: { stop(): Promise<void> }[] = [];
const planes: LambdaControlPlane[] = [];
const cleanups: (() => Promise<void>)[] = [];
const savedEnv = { ...process.env };

beforeAll(async () => {
  [masterEngine, otherEngine] = await Promise.all([startDynamoDbLocal(), startDynamoDbLocal()]);
  master = new DynamoDBClient(localClientConfig(masterEngine.endpoint, 'eu-west-1'));
  other = new DynamoDBClient(localClientConfig(otherEngine.endpoint, 'eu-west-1'));
  streams = new DynamoDBStreamsClient(localClientConfig(masterEngine.endpoint, 'eu-west-1'));
  // The bundle's log lines (Powertools: WARN and ERROR on standard error) are not what these tests read.
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
});

afterEach(async () => {
  await Promise.all(schedules.splice(0).map((schedule) => schedule.stop()));
  await Promise.all(pollers.splice(0).map((poller) => poller.stop()));
  await Promise.all(proxies.splice(0).map((proxy) => proxy.stop()));
  await Promise.all(planes.splice(0).map((plane) => plane.stop()));
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
  process.env = { ...savedEnv };
});

afterAll(async () => {
  await Promise.all([masterEngine.stop(), otherEngine.stop()]);
});

function name(label: string): string {
  tableCount += 1;
  return `${label}-${tableCount}`;
}

interface Topology {
  readonly masterTable: string;
  readonly streamArn: string;
  readonly stateTable: string;
  /** The slave in the master's engine, written directly. */
  readonly healthy: { readonly client: DynamoDBClient; readonly table: string };
  /** The slave in the other engine, behind the fault proxy. */
  readonly sick: { readonly client: DynamoDBClient; readonly table: string };
  readonly proxy: FaultProxy;
  /** Every write request the sick slave's engine applied, in the order it applied them. */
  readonly applied: WriteRequestJson[];
  readonly env: Record<string, string>;
  readonly bundle: Bundle;
  /** What the emulated mapping gave up on and sent to its on-failure destination. */
  readonly givenUp: OnFailureInvocationRecord[];
}

/** A master, a healthy slave, a slave behind the fault proxy, and the state table, with the bundle configured for them. */
async function setUp(overrides: Record<string, string> = {}): Promise<Topology> {
  const [masterTable, healthyTable, sickTable, stateTable] = await Promise.all([
    createTable(master, { tableName: name('orders'), streamViewType: 'NEW_AND_OLD_IMAGES' }),
    createTable(master, { tableName: name('orders-copy') }),
    createTable(other, { tableName: name('orders-eu') }),
    createTable(master, { tableName: name('replicator-state'), sortKey: { name: 'sk', type: 'S' } }),
  ]);
  const applied: WriteRequestJson[] = [];
  const proxy = await startFaultProxy({ target: otherEngine.endpoint, seed: 3, onBatchWrite: (observation) => applied.push(...(observation.applied[sickTable.tableName] ?? [])) });
  proxies.push(proxy);
  const env = {
    AWS_ENDPOINT_URL_DYNAMODB: masterEngine.endpoint,
    REPLICATOR_SLAVES: JSON.stringify({
      copy: { region: 'eu-west-1', table_name: healthyTable.tableName, endpoint: masterEngine.endpoint },
      eu: { region: 'eu-central-1', table_name: sickTable.tableName, endpoint: proxy.endpoint },
    }),
    REPLICATOR_STATE_TABLE: stateTable.tableName,
    REPLICATOR_MASTER_TABLE: masterTable.tableName,
    REPLICATOR_SLAVE_BUDGET_MS: '400',
    REPLICATOR_DEADLINE_MARGIN_MS: '500',
    ...overrides,
  };
  return {
    masterTable: masterTable.tableName,
    streamArn: masterTable.streamArn ?? '',
    stateTable: stateTable.tableName,
    healthy: { client: master, table: healthyTable.tableName },
    sick: { client: other, table: sickTable.tableName },
    proxy,
    applied,
    env,
    bundle: await loadBundleModule(env),
    givenUp: [],
  };
}

/**
 * The mapping as Lambda runs it, with a short retry limit: a design that let a batch wait for a sick slave would see
 * it given up (and counted in `givenUp`) well within any outage here.
 */
async function replicate(topology: Topology, options: { batchSize?: number } = {}): Promise<StreamPoller> {
  const poller = new StreamPoller({
    streams,
    streamArn: topology.streamArn,
    handler: topology.bundle.handler,
    batchSize: options.batchSize ?? 50,
    timeoutMs: 4_000,
    pollIntervalMs: 50,
    retryBackoffMs: 50,
    maximumRetryAttempts: 2,
    bisectBatchOnFunctionError: true,
    onFailure: (record) => topology.givenUp.push(record),
  });
  pollers.push(poller);
  await poller.start();
  return poller;
}

function scheduleDrain(bundle: Bundle, everyMs: number): DrainSchedule {
  const schedule = startDrainSchedule(bundle.drain, everyMs);
  schedules.push(schedule);
  return schedule;
}

async function expectEqual(topology: Topology, slave: { client: DynamoDBClient; table: string }): Promise<number> {
  const comparison = await compareTables({ master: { client: master, tableName: topology.masterTable }, slave: { client: slave.client, tableName: slave.table } });
  expect(comparison, `${slave.table} against ${topology.masterTable}`).toMatchObject({ missing: 0, extra: 0, different: 0, identical: true });
  return comparison.masterItems;
}

async function slaveState(topology: Topology, slave: string): Promise<Record<string, AttributeValue> | undefined> {
  const { Item } = await master.send(new GetItemCommand({ TableName: topology.stateTable, Key: { pk: { S: `slave#${slave}` }, sk: { S: 'state' } }, ConsistentRead: true }));
  return Item;
}

/**
 * Waits until the condition holds, failing only after a minute in which it never did while nothing moved: no request
 * reached the sick slave's proxy, its engine applied nothing, the state table kept its item count and the slave its
 * state.
 */
async function eventually(topology: Topology, condition: () => Promise<boolean>, what: string): Promise<void> {
  await waitFor(condition, what, async () => {
    const { Count } = await master.send(new ScanCommand({ TableName: topology.stateTable, Select: 'COUNT', ConsistentRead: true }));
    return [topology.proxy.stats.requests, topology.applied.length, Count, await slaveState(topology, 'eu')];
  }, { idleMs: 60_000 });
}

/** The bundle's drain in a process of its own, as a new Lambda execution environment runs it. */
function startDrainProcess(env: Record<string, string>, remainingMs: number): ChildProcess {
  const bundleUrl = pathToFileURL(resolve('dist/lambda/index.mjs')).href;
  return spawn(
    process.execPath,
    ['--input-type=module', '-e', `const m = await import(${JSON.stringify(bundleUrl)}); const end = Date.now() + ${remainingMs}; await m.drain({}, { getRemainingTimeInMillis: () => end - Date.now() });`],
    { env: { ...process.env, ...env, AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' }, stdio: 'ignore' },
  );
}

async function runDrainProcess(env: Record<string, string>, remainingMs: number): Promise<void> {
  const child = startDrainProcess(env, remainingMs);
  const code = await new Promise<number | null>((done) => child.once('exit', done));
  expect(code, 'the drain process exit code').toBe(0);
}

const item = (pk: string, version: number): Record<string, AttributeValue> => ({ pk: { S: pk }, version: { N: String(version) }, body: { S: `v${version}` } });

describe('Isolation: each slave on its own', () => {
  it('keeps the healthy slave complete at every point of an outage longer than a batch can wait, then brings the other slave level with no manual step', async () => {
    // Prepare
    const topology = await setUp();
    const poller = await replicate(topology);
    scheduleDrain(topology.bundle, 300);
    topology.proxy.failRandomly(FaultKind.SERVICE_UNAVAILABLE, 1);

    // Act: the outage, checked after each round of writes
    let version = 0;
    for (let round = 0; round < 4; round += 1) {
      for (let i = 0; i < 60; i += 1) {
        version += 1;
        const pk = `k${(round * 60 + i) % 97}`;
        if (i % 13 === 12) await master.send(new DeleteItemCommand({ TableName: topology.masterTable, Key: { pk: { S: pk } } }));
        else await master.send(new PutItemCommand({ TableName: topology.masterTable, Item: item(pk, version) }));
      }
      await poller.waitUntilCaughtUp();

      // Assess: the healthy slave is complete at every point, and the sick one is parked, not retried
      await expectEqual(topology, topology.healthy);
      expect((await slaveState(topology, 'eu'))?.mode?.S).toBe('parked');
    }
    expect(poller.stats.retries, 'no batch waited for the sick slave').toBe(0);
    expect(topology.givenUp, 'no batch given up').toEqual([]);
    // A drain while the slave is still down applies nothing and reports what waits.
    const duringOutage = await topology.bundle.drain({}, contextWith(3_000));
    expect(duringOutage.pending.eu).toBeGreaterThan(0);

    // Act: recovery, with writes going on (mostly to keys the outage did not touch)
    topology.proxy.clearFaults();
    for (let i = 0; i < 120; i += 1) {
      version += 1;
      await master.send(new PutItemCommand({ TableName: topology.masterTable, Item: item(i % 10 === 0 ? `k${i}` : `new-${i}`, version) }));
    }
    await poller.waitUntilCaughtUp();
    await eventually(topology, async () => (await slaveState(topology, 'eu'))?.mode?.S === 'live', 'the sick slave goes live again');
    await poller.waitUntilCaughtUp();

    // Assess
    expect(await expectEqual(topology, topology.healthy)).toBeGreaterThan(100);
    await expectEqual(topology, topology.sick);
    expect(topology.proxy.stats.injected['service-unavailable']).toBeGreaterThan(0);
  });

  it('parks a slave that answers AccessDenied at once, and drains it once access is back', async () => {
    // Prepare
    const topology = await setUp({ REPLICATOR_SLAVE_BUDGET_MS: '30000' });
    const poller = await replicate(topology);
    topology.proxy.failRandomly(FaultKind.ACCESS_DENIED, 1);

    // Act
    const started = Date.now();
    for (let i = 0; i < 80; i += 1) await master.send(new PutItemCommand({ TableName: topology.masterTable, Item: item(`a${i % 30}`, i) }));
    await poller.waitUntilCaughtUp();
    const outageMs = Date.now() - started;

    // Assess: not retried for the 30 s budget, but parked at once
    await expectEqual(topology, topology.healthy);
    expect(outageMs).toBeLessThan(30_000);
    expect((await slaveState(topology, 'eu'))?.reason?.S).toContain('AccessDeniedException');
    expect(poller.stats.retries).toBe(0);

    // Act
    topology.proxy.clearFaults();
    scheduleDrain(topology.bundle, 200);
    await eventually(topology, async () => (await slaveState(topology, 'eu'))?.mode?.S === 'live', 'the slave goes live again');

    // Assess
    await expectEqual(topology, topology.sick);
  });

  it('parks the batch after one that parked, on an instance that read the slave live just before: a read is reused for less time than parking waits', async () => {
    // Prepare: instance B reaches the sick slave through the proxy, which fails it; instance A reaches the same table
    // directly. The states say live. Key k ends at version 3 on the master.
    const topology = await setUp();
    const direct = await loadBundleModule({ ...topology.env, REPLICATOR_SLAVES: JSON.stringify({ eu: { region: 'eu-central-1', table_name: topology.sick.table, endpoint: otherEngine.endpoint } }) });
    await master.send(new PutItemCommand({ TableName: topology.masterTable, Item: item('other', 1) }));
    await master.send(new PutItemCommand({ TableName: topology.masterTable, Item: item('k', 3) }));
    const change = (pk: string, version: number, sequenceNumber: string): DynamoDBStreamEvent => ({
      Records: [
        {
          eventID: `e${sequenceNumber}`,
          eventName: 'MODIFY',
          eventVersion: '1.1',
          eventSource: 'aws:dynamodb',
          awsRegion: 'eu-west-1',
          eventSourceARN: topology.streamArn,
          dynamodb: { Keys: { pk: { S: pk } }, NewImage: toLambdaImage(item(pk, version)), SequenceNumber: sequenceNumber, SizeBytes: 40, StreamViewType: 'NEW_AND_OLD_IMAGES' },
        },
      ],
    });
    topology.proxy.failRandomly(FaultKind.SERVICE_UNAVAILABLE, 1);

    // Act: B's batch (k at 2) fails against the slave, and then parks; while it fails, A replicates another shard's
    // batch and reads the states, all live; once B has returned, A gets k's next batch (k at 3)
    const parking = topology.bundle.handler(change('k', 2, '200'), contextWith(30_000));
    await waitFor(() => Promise.resolve(topology.proxy.stats.requests > 0), 'B writes to the sick slave', () => Promise.resolve([topology.proxy.stats.requests]), { idleMs: 30_000, pollMs: 5 });
    await direct.handler(change('other', 1, '100'), contextWith(30_000));
    expect(await parking).toEqual({ batchItemFailures: [] });
    expect((await slaveState(topology, 'eu'))?.mode?.S).toBe('parked');
    expect(await direct.handler(change('k', 3, '300'), contextWith(30_000))).toEqual({ batchItemFailures: [] });

    // Assess: A parked k at 3 after k at 2, rather than write it directly under the drain's k at 2
    topology.proxy.clearFaults();
    await runDrainProcess(topology.env, 60_000);
    expect((await slaveState(topology, 'eu'))?.mode?.S).toBe('live');
    const { Item } = await other.send(new GetItemCommand({ TableName: topology.sick.table, Key: { pk: { S: 'k' } }, ConsistentRead: true }));
    expect(Item?.version).toEqual({ N: '3' });
  });

  it('never lets a direct write and a drained one of the same key land out of order, across the switch back to live', async () => {
    // Prepare: a parked slave with a backlog over many keys
    const topology = await setUp();
    const poller = await replicate(topology, { batchSize: 25 });
    topology.proxy.failRandomly(FaultKind.SERVICE_UNAVAILABLE, 1);
    const keys = Array.from({ length: 150 }, (_, i) => `hot-${i}`);
    let version = 0;
    const writeRound = async (): Promise<void> => {
      for (const key of keys) {
        version += 1;
        await master.send(new PutItemCommand({ TableName: topology.masterTable, Item: item(key, version) }));
      }
    };
    await writeRound();
    await poller.waitUntilCaughtUp();
    expect((await slaveState(topology, 'eu'))?.mode?.S).toBe('parked');

    // Act: the slave answers again; live writes to the same keys go on while the drain runs on its schedule, so
    // each key's parked change and its newer live change race, across the switch back to live
    topology.proxy.clearFaults();
    topology.proxy.failRandomly(FaultKind.PARTIAL, 0.2, { unprocessedFraction: 0.5 });
    await writeRound();
    const drains = scheduleDrain(topology.bundle, 150);
    await writeRound();
    await writeRound();
    await poller.waitUntilCaughtUp();
    await eventually(topology, async () => (await slaveState(topology, 'eu'))?.mode?.S === 'live', 'the slave goes live again');
    await writeRound();
    await poller.waitUntilCaughtUp();

    // Assess: each key's versions reached the slave in increasing order, and the slave equals the master
    const seen = new Map<string, number>();
    for (const request of topology.applied) {
      const written = request.PutRequest?.Item;
      if (written === undefined) continue;
      const pk = (written.pk as { S: string }).S;
      const writtenVersion = Number((written.version as { N: string }).N);
      expect(writtenVersion, `version of ${pk} written after ${seen.get(pk) ?? 0}`).toBeGreaterThanOrEqual(seen.get(pk) ?? 0);
      seen.set(pk, writtenVersion);
    }
    expect(seen.size).toBe(keys.length);
    await expectEqual(topology, topology.sick);
    await expectEqual(topology, topology.healthy);
    expect(drains.runs.length).toBeGreaterThan(1);
  });

  it('does not switch back to live over a change parked during the drain\'s last round', async () => {
    // Prepare: a parked slave, and a drain whose calls to the state table pass through a proxy that holds its
    // switch to live until a live invocation has parked one more change
    const topology = await setUp();
    const poller = await replicate(topology);
    topology.proxy.failRandomly(FaultKind.SERVICE_UNAVAILABLE, 1);
    for (let i = 0; i < 20; i += 1) await master.send(new PutItemCommand({ TableName: topology.masterTable, Item: item(`s${i}`, i) }));
    await poller.waitUntilCaughtUp();
    topology.proxy.clearFaults();
    let held = false;
    const stateProxy = await startFaultProxy({
      target: masterEngine.endpoint,
      beforeForward: async (operation, body) => {
        if (held || operation !== 'UpdateItem' || !JSON.stringify(body).includes('"S":"live"')) return;
        held = true;
        await master.send(new PutItemCommand({ TableName: topology.masterTable, Item: item('s3', 1_000) }));
        await poller.waitUntilCaughtUp();
      },
    });
    proxies.push(stateProxy);

    // Act: one drain in its own process, as the schedule would start it
    await runDrainProcess({ ...topology.env, AWS_ENDPOINT_URL_DYNAMODB: stateProxy.endpoint, REPLICATOR_SLAVES: (topology.env.REPLICATOR_SLAVES ?? '').replaceAll(masterEngine.endpoint, stateProxy.endpoint) }, 20_000);

    // Assess: the switch was attempted over the new change, refused, and the change applied before going live
    expect(held).toBe(true);
    expect((await slaveState(topology, 'eu'))?.mode?.S).toBe('live');
    await expectEqual(topology, topology.sick);
  });

  it('loses nothing when a drain is killed half-way: the next one continues', async () => {
    // Prepare: 600 parked changes
    const topology = await setUp();
    const poller = await replicate(topology, { batchSize: 100 });
    topology.proxy.failRandomly(FaultKind.SERVICE_UNAVAILABLE, 1);
    for (let i = 0; i < 600; i += 1) await master.send(new PutItemCommand({ TableName: topology.masterTable, Item: item(`d${i}`, i) }));
    await poller.waitUntilCaughtUp();
    topology.proxy.clearFaults();

    // Act: a drain in its own process, killed once the slave has taken some of the changes
    const child = startDrainProcess(topology.env, 8_000);
    topology.proxy.failRandomly(FaultKind.PARTIAL, 0.5, { unprocessedFraction: 0.9 });
    await eventually(topology, async () => Promise.resolve(topology.applied.length >= 50), 'the killed drain applied some changes');
    child.kill('SIGKILL');
    await new Promise((done) => child.once('exit', done));
    const appliedBeforeKill = topology.applied.length;
    topology.proxy.clearFaults();

    // Assess: it was killed half-way
    expect(appliedBeforeKill).toBeLessThan(600);

    // Act: the next drains, on schedule; the first ones find the killed drain's lease until it runs out
    const drains = scheduleDrain(topology.bundle, 500);
    await eventually(topology, async () => Promise.resolve(drains.runs.at(-1)?.pending.eu === 0), 'the next drain applies the rest');

    // Assess
    expect(drains.runs.at(-1)?.pending).toEqual({ copy: 0, eu: 0 });
    await expectEqual(topology, topology.sick);
  });

  it('consumes no record when its configuration is broken: it disables its own mapping, and resumes where it stopped once fixed', async () => {
    // Prepare: the mapping's control plane, and a function whose REPLICATOR_SLAVES names no table for a slave
    const topology = await setUp();
    const plane = await startLambdaControlPlane();
    planes.push(plane);
    const broken = await loadBundleModule({ ...topology.env, AWS_ENDPOINT_URL_LAMBDA: plane.endpoint, REPLICATOR_SLAVES: '{"eu":{"region":"eu-central-1"}}' });
    let handler = broken.handler;
    const poller = new StreamPoller({
      streams,
      streamArn: topology.streamArn,
      handler: (event, context) => handler(event, context),
      batchSize: 20,
      timeoutMs: 4_000,
      pollIntervalMs: 50,
      retryBackoffMs: 50,
      maximumRetryAttempts: 2,
      bisectBatchOnFunctionError: true,
      controlPlane: plane,
      functionName: 'orders-replicator',
      onFailure: (record) => topology.givenUp.push(record),
    });
    pollers.push(poller);
    await poller.start();
    const uuid = poller.eventSourceMappingUuid ?? '';

    // Act
    for (let i = 0; i < 50; i += 1) await master.send(new PutItemCommand({ TableName: topology.masterTable, Item: item(`c${i}`, i) }));
    await eventually(topology, async () => Promise.resolve(plane.getEventSourceMapping(uuid)?.State === 'Disabled'), 'the function disables its mapping');
    await new Promise((done) => setTimeout(done, 1_000));

    // Assess: nothing consumed, nothing given up, nothing written
    expect(poller.stats.recordsAcknowledged).toBe(0);
    expect(topology.givenUp).toEqual([]);
    expect((await compareTables({ master: { client: master, tableName: topology.masterTable }, slave: { client: topology.healthy.client, tableName: topology.healthy.table } })).slaveItems).toBe(0);

    // Act: the configuration is fixed and the mapping enabled again, as the next terraform apply does
    handler = (await loadBundleModule(topology.env)).handler;
    plane.setEnabled(uuid, true);
    await poller.waitUntilCaughtUp();

    // Assess
    expect(await expectEqual(topology, topology.healthy)).toBe(50);
    await expectEqual(topology, topology.sick);
    expect(topology.givenUp).toEqual([]);
  });

  it('repairs drift through the state table while replication writes the same keys, leaving no slave older than replication made it', async () => {
    // Prepare: a slave that drifted: 20 keys missing, 20 different, of which these and 20 more keep changing
    const topology = await setUp();
    const poller = await replicate(topology);
    const keys = Array.from({ length: 60 }, (_, i) => `r${i}`);
    let version = 0;
    for (const key of keys) await master.send(new PutItemCommand({ TableName: topology.masterTable, Item: item(key, (version += 1)) }));
    await poller.waitUntilCaughtUp();
    for (const key of keys.slice(0, 20)) await other.send(new DeleteItemCommand({ TableName: topology.sick.table, Key: { pk: { S: key } } }));
    for (const key of keys.slice(20, 40)) await other.send(new PutItemCommand({ TableName: topology.sick.table, Item: item(key, -1) }));
    const stopWrites = new AbortController();
    const writes = (async () => {
      while (!stopWrites.signal.aborted) {
        const key = keys[20 + (version % 40)] ?? 'r20';
        await master.send(new PutItemCommand({ TableName: topology.masterTable, Item: item(key, (version += 1)) }));
        await new Promise((done) => setTimeout(done, 10));
      }
    })();
    scheduleDrain(topology.bundle, 500);

    // Act
    const repair = await runInProcess([
      'verify', '--table', topology.masterTable, '--region', 'eu-west-1', '--endpoint', masterEngine.endpoint,
      '--slaves', JSON.stringify({ eu: (JSON.parse(topology.env.REPLICATOR_SLAVES ?? '{}') as Record<string, unknown>).eu }),
      '--state-table', topology.stateTable, '--repair', '--recheck-delay', '100', '--recheck-window', '2', '--json',
    ]);
    stopWrites.abort();
    await writes;
    await poller.waitUntilCaughtUp();
    await eventually(topology, async () => (await slaveState(topology, 'eu'))?.mode?.S === 'live', 'the slave goes live again');

    // Assess: the repair went through the drain, and the slave ends equal to the master
    const summary = JSON.parse(repair.stdout) as { slaves: { repaired: number; missing: number; different: number }[] };
    expect(repair.code, repair.stdout + repair.stderr).toBe(0);
    expect(summary.slaves[0]?.missing).toBe(20);
    expect(summary.slaves[0]?.repaired).toBeGreaterThanOrEqual(20);
    await expectEqual(topology, topology.sick);
    await expectEqual(topology, topology.healthy);
  });

  it('replays what the mapping gave up, from its on-failure records, with redrive: every key brought level with the master', async () => {
    // Prepare: a function whose state table does not exist yet, under a mapping that gives a batch up after one retry
    const topology = await setUp();
    const missingState = name('replicator-state-later');
    const bundle = await loadBundleModule({ ...topology.env, REPLICATOR_STATE_TABLE: missingState });
    const poller = new StreamPoller({
      streams,
      streamArn: topology.streamArn,
      handler: bundle.handler,
      batchSize: 50,
      timeoutMs: 3_000,
      pollIntervalMs: 50,
      retryBackoffMs: 50,
      maximumRetryAttempts: 1,
      onFailure: (record) => topology.givenUp.push(record),
    });
    pollers.push(poller);
    await poller.start();
    for (let i = 0; i < 40; i += 1) await master.send(new PutItemCommand({ TableName: topology.masterTable, Item: item(`g${i}`, i) }));
    await master.send(new DeleteItemCommand({ TableName: topology.masterTable, Key: { pk: { S: 'g3' } } }));
    await poller.waitUntilCaughtUp();
    await poller.stop();
    const directory = await mkdtemp(join(tmpdir(), 'redrive-'));
    cleanups.push(() => rm(directory, { recursive: true, force: true }));
    for (const [index, record] of topology.givenUp.entries()) await writeFile(join(directory, `record-${index}.json`), JSON.stringify(record));
    await createTable(master, { tableName: missingState, sortKey: { name: 'sk', type: 'S' } });

    // Act
    const redrive = await runInProcess([
      'redrive', '--table', topology.masterTable, '--region', 'eu-west-1', '--endpoint', masterEngine.endpoint,
      '--slaves', topology.env.REPLICATOR_SLAVES ?? '', '--state-table', missingState, '--from', directory, '--json',
    ]);

    // Assess: the batches were given up (nothing reached the slaves), then every key was brought level
    expect(topology.givenUp.length).toBeGreaterThan(0);
    expect(redrive.code, redrive.stdout + redrive.stderr).toBe(0);
    expect(JSON.parse(redrive.stdout)).toMatchObject({ records: 41, keys: 40, undecodable: [], drain: { pending: { copy: 0, eu: 0 } } });
    expect(await expectEqual(topology, topology.healthy)).toBe(39);
    await expectEqual(topology, topology.sick);
  });

  it('ends every invocation before its timeout when a slave holds its answers past the deadline, and parks what it did not confirm', async () => {
    // Prepare: every answer of the slave held for 30 s, well past the 4-second function timeout
    const topology = await setUp({ REPLICATOR_SLAVE_BUDGET_MS: '60000' });
    const poller = await replicate(topology);
    topology.proxy.failRandomly(FaultKind.SLOW_RESPONSE, 1, { delayMs: 30_000 });

    // Act
    for (let i = 0; i < 30; i += 1) await master.send(new PutItemCommand({ TableName: topology.masterTable, Item: item(`h${i}`, i) }));
    await poller.waitUntilCaughtUp();

    // Assess: no invocation outlived its timeout (the poller would count a timeout as a handler error), nothing was
    // re-delivered or given up, and the slave is parked
    expect(poller.stats).toMatchObject({ handlerErrors: 0, retries: 0, recordsGivenUp: 0 });
    expect(topology.proxy.stats.injected['slow-response']).toBeGreaterThan(0);
    await expectEqual(topology, topology.healthy);
    expect((await slaveState(topology, 'eu'))?.mode?.S).toBe('parked');

    // Act: the slave answers again
    topology.proxy.clearFaults();
    scheduleDrain(topology.bundle, 200);
    await eventually(topology, async () => (await slaveState(topology, 'eu'))?.mode?.S === 'live', 'the slave goes live again');

    // Assess
    await expectEqual(topology, topology.sick);
  });
});
