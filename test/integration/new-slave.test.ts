/**
 * A slave joins a running replicator: marked initial_copy, it is parked from the function's first invocation with it,
 * the copy writes the master's items into it while puts, updates and deletes go on, the copy marks it copied, and the
 * drain hands it over. The emulated mapping's record-age limit is far shorter than the copy, so a procedure that
 * relied on the stream still holding the changes made during the copy would lose them here.
 */
import { BatchWriteItemCommand, DynamoDBClient, GetItemCommand, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { compareTables, type TableComparison } from '../support/compare-tables';
import { localClientConfig, startDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local';
import { StreamPoller, type OnFailureInvocationRecord } from '../support/stream-poller';
import { createTable } from '../support/tables';
import { runWorkload } from '../support/workload';
import { contextWith, loadBundleModule, type Bundle, type BundleHandler } from './helpers/bundle';
import { runInProcess, seedTable } from './helpers/cli';
import { scheduleDrain, type DrainSchedule } from '../support/drain-schedule';
import { eventually as waitFor } from '../support/eventually';

let masterEngine: DynamoDbLocal;
let otherEngine: DynamoDbLocal;
let master: DynamoDBClient;
let other: DynamoDBClient;
let streams: DynamoDBStreamsClient;
let workDir: string;
let tableCount = 0;
const pollers: StreamPoller[] = [];
const schedules: DrainSchedule[] = [];
const savedEnv = { ...process.env };
/** The bundle's log line of every stream invocation. */
interface InvocationLog {
  readonly message: string;
  readonly slaves: Record<string, { readonly mode: string; readonly parked: number; readonly failed: number; readonly written: number; readonly errors: readonly string[] }>;
}
const invocationLogs: InvocationLog[] = [];

beforeAll(async () => {
  [masterEngine, otherEngine] = await Promise.all([startDynamoDbLocal(), startDynamoDbLocal()]);
  master = new DynamoDBClient(localClientConfig(masterEngine.endpoint, 'eu-west-1'));
  other = new DynamoDBClient(localClientConfig(otherEngine.endpoint, 'eu-west-1'));
  streams = new DynamoDBStreamsClient(localClientConfig(masterEngine.endpoint, 'eu-west-1'));
  workDir = await mkdtemp(join(tmpdir(), 'new-slave-'));
  // The bundle's log lines: Powertools writes WARN and ERROR ones (parked changes, re-deliveries) to standard error.
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((line: string | Uint8Array) => {
      const text = String(line);
      if (text.includes('"message":"batch replicated') || text.includes('"message":"batch partly replicated')) invocationLogs.push(JSON.parse(text) as InvocationLog);
      return true;
    });
  }
});

afterEach(async () => {
  invocationLogs.length = 0;
  await Promise.all(schedules.splice(0).map((schedule) => schedule.stop()));
  await Promise.all(pollers.splice(0).map((poller) => poller.stop()));
  process.env = { ...savedEnv };
});

afterAll(async () => {
  await Promise.all([masterEngine.stop(), otherEngine.stop(), rm(workDir, { recursive: true, force: true })]);
});

function name(label: string): string {
  tableCount += 1;
  return `${label}-${tableCount}`;
}

interface Replicator {
  readonly masterTable: string;
  readonly stateTable: string;
  readonly firstSlave: string;
  readonly newSlave: string;
  readonly poller: StreamPoller;
  readonly givenUp: OnFailureInvocationRecord[];
  /** The configuration with the new slave, as the module writes it once `initial_copy = true` is applied. */
  readonly withNewSlave: { readonly env: Record<string, string>; readonly slaves: Record<string, unknown>; readonly bundle: Bundle };
}

/**
 * A master holding `items` items, replicated to a first slave; then the apply that adds the new slave, which the
 * running mapping picks up at its next invocation.
 */
async function runningReplicator(items: number): Promise<Replicator> {
  const [masterTable, firstSlave, newSlave, stateTable] = await Promise.all([
    createTable(master, { tableName: name('orders'), streamViewType: 'NEW_AND_OLD_IMAGES' }),
    createTable(master, { tableName: name('orders-copy') }),
    createTable(other, { tableName: name('orders-eu') }),
    createTable(master, { tableName: name('replicator-state'), sortKey: { name: 'sk', type: 'S' } }),
  ]);
  const first = { copy: { region: 'eu-west-1', table_name: firstSlave.tableName, endpoint: masterEngine.endpoint } };
  const common = {
    AWS_ENDPOINT_URL_DYNAMODB: masterEngine.endpoint,
    REPLICATOR_STATE_TABLE: stateTable.tableName,
    REPLICATOR_MASTER_TABLE: masterTable.tableName,
    REPLICATOR_DEADLINE_MARGIN_MS: '300',
  };
  let handler: BundleHandler = (await loadBundleModule({ ...common, REPLICATOR_SLAVES: JSON.stringify(first) })).handler;
  const givenUp: OnFailureInvocationRecord[] = [];
  const poller = new StreamPoller({
    streams,
    streamArn: masterTable.streamArn ?? '',
    handler: (event, context) => handler(event, context),
    batchSize: 100,
    timeoutMs: 5_000,
    pollIntervalMs: 50,
    retryBackoffMs: 50,
    maximumRetryAttempts: 2,
    // Far shorter than the copy: a change left waiting in the stream through the copy would be given up.
    maximumRecordAgeMs: 2_000,
    bisectBatchOnFunctionError: true,
    onFailure: (record) => givenUp.push(record),
  });
  pollers.push(poller);
  await poller.start();
  await seedTable(master, masterTable.tableName, items);
  await poller.waitUntilCaughtUp();

  const slaves = { ...first, eu: { region: 'eu-central-1', table_name: newSlave.tableName, endpoint: otherEngine.endpoint, initial_copy: true } };
  const env = { ...common, REPLICATOR_SLAVES: JSON.stringify(slaves) };
  const bundle = await loadBundleModule(env);
  handler = bundle.handler;
  return { masterTable: masterTable.tableName, stateTable: stateTable.tableName, firstSlave: firstSlave.tableName, newSlave: newSlave.tableName, poller, givenUp, withNewSlave: { env, slaves, bundle } };
}

function compare(replicator: Replicator, slave: 'first' | 'new'): Promise<TableComparison> {
  return compareTables({
    master: { client: master, tableName: replicator.masterTable },
    slave: slave === 'first' ? { client: master, tableName: replicator.firstSlave } : { client: other, tableName: replicator.newSlave },
  });
}

async function slaveMode(replicator: Replicator, slave: string): Promise<string | undefined> {
  const { Item } = await master.send(new GetItemCommand({ TableName: replicator.stateTable, Key: { pk: { S: `slave#${slave}` }, sk: { S: 'state' } }, ConsistentRead: true }));
  return Item?.mode?.S;
}

/**
 * Waits until the condition holds, failing only after 90 s in which it never did while nothing moved: the poller's
 * counters and the state table's items (modes, parked changes, copy checkpoints) stayed as they were.
 */
async function eventually(replicator: Replicator, condition: () => Promise<boolean>, what: string): Promise<void> {
  await waitFor(condition, what, async () => {
    const { Items } = await master.send(new ScanCommand({ TableName: replicator.stateTable, ConsistentRead: true, ProjectionExpression: 'pk, sk, #mode, generation, epoch, #items, done', ExpressionAttributeNames: { '#mode': 'mode', '#items': 'items' } }));
    return [replicator.poller.stats, Items];
  }, { idleMs: 90_000, pollMs: 200 });
}

/** Live puts, updates and deletes over the seeded keys and new ones, until stopped. */
function liveWrites(replicator: Replicator, keySpace: number): { stop(): Promise<{ updates: number; deletes: number; errors: number }> } {
  const stop = new AbortController();
  const workload = runWorkload({ client: master, tableName: replicator.masterTable, keySpace: keySpace + 200, hotKeys: 10, rate: 60, concurrency: 4, signal: stop.signal });
  return {
    stop: async () => {
      await new Promise((done) => setTimeout(done, 500));
      stop.abort();
      return workload;
    },
  };
}

async function expectHandedOver(replicator: Replicator): Promise<void> {
  await replicator.poller.waitUntilCaughtUp();
  await eventually(replicator, async () => (await slaveMode(replicator, 'eu')) === 'live', 'the new slave is handed over');
  await replicator.poller.waitUntilCaughtUp();
  for (const slave of ['first', 'new'] as const) {
    expect(await compare(replicator, slave), `${slave} slave against the master`).toMatchObject({ missing: 0, extra: 0, different: 0, identical: true });
  }
  expect(replicator.givenUp, 'records given up by the mapping').toEqual([]);
  expect(replicator.poller.stats.handlerErrors).toBe(0);
  // A batch is re-delivered only when the new slave went live while the batch was parking its changes: they were
  // parked under the old epoch, and the re-delivery writes them directly.
  const redelivered = invocationLogs.filter((log) => log.message.startsWith('batch partly replicated'));
  expect(redelivered.length).toBe(replicator.poller.stats.retries);
  for (const log of redelivered) expect(log.slaves.eu?.errors.join(' ')).toContain('went live while its changes were being parked');
  // The first slave took every write of every invocation directly, while the copy ran and after: never behind.
  const withNewSlave = invocationLogs.filter((log) => 'eu' in log.slaves && log.message.startsWith('batch replicated'));
  expect(withNewSlave.length).toBeGreaterThan(5);
  for (const log of withNewSlave) expect(log.slaves.copy).toMatchObject({ mode: 'live', parked: 0, failed: 0 });
  expect(withNewSlave.some((log) => (log.slaves.eu?.parked ?? 0) > 0)).toBe(true);
}

describe('A new slave joins a running replicator', () => {
  it('copies through the CLI while the function replicates, then hands over, whatever the copy takes', async () => {
    // Prepare
    const keySpace = 1_500;
    const replicator = await runningReplicator(keySpace);
    const writes = liveWrites(replicator, keySpace);
    schedules.push(scheduleDrain(replicator.withNewSlave.bundle.drain, 300));
    await eventually(replicator, async () => (await slaveMode(replicator, 'eu')) === 'parked', 'the new slave is parked');
    const started = Date.now();

    // Act: the copy, at a rate that makes it last several times the record-age limit
    const backfill = await runInProcess([
      'backfill',
      '--table', replicator.masterTable,
      '--region', 'eu-west-1',
      '--endpoint', masterEngine.endpoint,
      '--slaves', JSON.stringify({ eu: replicator.withNewSlave.slaves.eu }),
      '--state-table', replicator.stateTable,
      '--settle-seconds', '1',
      '--segments', '4',
      '--rate', '250',
      '--checkpoint-dir', join(workDir, 'cli-checkpoints'),
      '--json',
    ]);
    const copyMs = Date.now() - started;
    const result = await writes.stop();

    // Assess
    expect(backfill.code, backfill.stderr + backfill.stdout).toBe(0);
    expect(JSON.parse(backfill.stdout)).toMatchObject({ markedCopied: ['eu'], stateTable: replicator.stateTable, failedWrites: 0 });
    expect(copyMs, 'the copy outlasted the record-age limit').toBeGreaterThan(3 * 2_000);
    expect(result.errors).toBe(0);
    expect(result.updates).toBeGreaterThan(0);
    expect(result.deletes).toBeGreaterThan(0);
    await expectHandedOver(replicator);
    const status = await runInProcess(['status', '--table', replicator.masterTable, '--region', 'eu-west-1', '--endpoint', masterEngine.endpoint, '--slaves', JSON.stringify(replicator.withNewSlave.slaves), '--state-table', replicator.stateTable, '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ slaves: [{ name: 'copy', mode: 'live', pending: 0 }, { name: 'eu', mode: 'live', pending: 0, copy: { state: 'done', segmentsDone: 4, totalSegments: 4 } }] });
  });

  it('copies through copySegment as the state machine invokes it, over several segments and iterations, one of them killed half-way', async () => {
    // Prepare
    const keySpace = 1_200;
    const replicator = await runningReplicator(keySpace);
    const writes = liveWrites(replicator, keySpace);
    schedules.push(scheduleDrain(replicator.withNewSlave.bundle.drain, 300));
    const totalSegments = 3;
    const input = (segment: number) => ({ slave: 'eu', segment, totalSegments, itemsPerSecond: 150, settleSeconds: 1 });

    // Act: segment 0 in its own process, killed once it has copied and checkpointed part of its items
    const bundleUrl = pathToFileURL(resolve('dist/lambda/index.mjs')).href;
    const child = spawn(
      process.execPath,
      ['--input-type=module', '-e', `const m = await import(${JSON.stringify(bundleUrl)}); const end = Date.now() + 120000; await m.copySegment(${JSON.stringify(input(0))}, { getRemainingTimeInMillis: () => end - Date.now() });`],
      { env: { ...process.env, ...replicator.withNewSlave.env }, stdio: 'ignore' },
    );
    await eventually(replicator, async () => {
      const { Item } = await master.send(new GetItemCommand({ TableName: replicator.stateTable, Key: { pk: { S: 'copy#eu' }, sk: { S: 'segment#000000' } }, ConsistentRead: true }));
      return Number(Item?.items?.N ?? '0') >= 100;
    }, 'the first segment checkpoints');
    child.kill('SIGKILL');
    await new Promise((done) => child.once('exit', done));

    // Act: the Distributed Map's iterations: each segment invoked again until done, with little time each
    const iterations = new Map<number, number>();
    let copied = false;
    await Promise.all(
      Array.from({ length: totalSegments }, async (_, segment) => {
        for (;;) {
          iterations.set(segment, (iterations.get(segment) ?? 0) + 1);
          const result = await replicator.withNewSlave.bundle.copySegment(input(segment), contextWith(2_500));
          copied ||= result.copied;
          if (result.done) return;
        }
      }),
    );
    const result = await writes.stop();

    // Assess
    expect(copied).toBe(true);
    expect([...iterations.values()].every((count) => count > 1), JSON.stringify([...iterations])).toBe(true);
    expect(result.errors).toBe(0);
    expect(result.deletes).toBeGreaterThan(0);
    await expectHandedOver(replicator);
  });

  it('hands over a slave copied by other means, as an export imported into it, once mark-copied names a point in time after it was parked', async () => {
    // Prepare: the new slave parked, then a point-in-time copy of the master made outside the replicator (here a
    // strongly consistent scan written straight into the slave, standing in for an S3 export and import)
    const keySpace = 800;
    const replicator = await runningReplicator(keySpace);
    const writes = liveWrites(replicator, keySpace);
    schedules.push(scheduleDrain(replicator.withNewSlave.bundle.drain, 300));
    await eventually(replicator, async () => (await slaveMode(replicator, 'eu')) === 'parked', 'the new slave is parked');
    await new Promise((done) => setTimeout(done, 1_200));
    const copiedAt = new Date().toISOString();
    await copyByScan(replicator.masterTable, replicator.newSlave);
    const base = ['mark-copied', '--table', replicator.masterTable, '--region', 'eu-west-1', '--endpoint', masterEngine.endpoint, '--slaves', JSON.stringify({ eu: replicator.withNewSlave.slaves.eu }), '--state-table', replicator.stateTable];

    // Act
    const tooEarly = await runInProcess([...base, '--copied-at', new Date(Date.now() - 3_600_000).toISOString(), '--settle-seconds', '1']);
    const marked = await runInProcess([...base, '--copied-at', copiedAt, '--settle-seconds', '1']);
    const result = await writes.stop();

    // Assess
    expect(tooEarly.code).toBe(2);
    expect(tooEarly.stderr).toContain('is too early for slave "eu"');
    expect(marked.code, marked.stderr).toBe(0);
    expect(result.deletes).toBeGreaterThan(0);
    await expectHandedOver(replicator);
  });
});

/** A strongly consistent scan of `from` written into `to`: a point-in-time copy made without the replicator. */
async function copyByScan(from: string, to: string): Promise<void> {
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await master.send(new ScanCommand({ TableName: from, ConsistentRead: true, ...(start === undefined ? {} : { ExclusiveStartKey: start }) }));
    const items = page.Items ?? [];
    for (let i = 0; i < items.length; i += 25) {
      let requests = items.slice(i, i + 25).map((item) => ({ PutRequest: { Item: item } }));
      while (requests.length > 0) {
        const { UnprocessedItems } = await other.send(new BatchWriteItemCommand({ RequestItems: { [to]: requests } }));
        requests = (UnprocessedItems?.[to] ?? []).flatMap((request) => (request.PutRequest?.Item === undefined ? [] : [{ PutRequest: { Item: request.PutRequest.Item } }]));
      }
    }
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
}
