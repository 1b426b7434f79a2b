import { BatchWriteItemCommand, DynamoDBClient, ScanCommand, type ScanCommandInput } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CheckpointStore } from '../../../handler/cli/checkpoint';
import { runCli } from '../../../handler/cli/program';
import { STATE_TABLE } from '../helpers/config';
import { FakeStateTable } from '../helpers/fake-state-table';
import { awsError } from '../helpers/writes';
import { captureIo, FakeTables, providerOf } from './helpers/fake-tables';
import { installReplication } from './helpers/replication';

const client = new DynamoDBClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
const ddb = mockClient(client);
const SLAVES = JSON.stringify({ eu: { region: 'eu-west-1', table_name: 'orders-eu' }, us: { region: 'us-east-1', table_name: 'orders-us' } });

describe('Command: backfill', () => {
  let dir: string;
  let fake: FakeTables;
  const run = async (...args: string[]) => {
    const io = captureIo();
    const code = await runCli(
      ['backfill', '--table', 'orders', '--region', 'eu-west-1', '--slaves', SLAVES, '--checkpoint-dir', dir, '--no-progress', ...args],
      { ...io, env: {}, signal: new AbortController().signal, clients: providerOf(client) },
    );
    return { code, stdout: io.stdout.text, stderr: io.stderr.text };
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'backfill-test-'));
    fake = new FakeTables(['orders', 'orders-eu', 'orders-us']);
    for (let i = 0; i < 57; i += 1) fake.put('orders', { pk: { S: `item-${String(i).padStart(3, '0')}` }, n: { N: String(i) }, b: { B: new Uint8Array([i, 0, 255]) } });
    fake.install(ddb);
  });
  afterEach(async () => {
    ddb.reset();
    await rm(dir, { recursive: true, force: true });
  });

  it('copies every item to every slave through a consistent parallel scan and marks each segment done', async () => {
    // Act
    const { code, stdout } = await run('--segments', '3', '--page-size', '10', '--json');

    // Assess
    expect(code).toBe(0);
    for (const slave of ['orders-eu', 'orders-us']) {
      expect(fake.items(slave)).toHaveLength(57);
      expect(fake.items(slave)).toEqual(expect.arrayContaining(fake.items('orders')));
    }
    expect(ddb.commandCalls(ScanCommand).every((call) => call.args[0].input.ConsistentRead === true && call.args[0].input.TotalSegments === 3)).toBe(true);
    const summary = JSON.parse(stdout) as { itemsCopied: number; segmentsDone: number; failedWrites: number };
    expect(summary).toMatchObject({ itemsCopied: 57, segmentsDone: 3, failedWrites: 0 });
    const store = new CheckpointStore(dir, { table: 'orders', region: 'eu-west-1', totalSegments: 3, slaves: ['eu=eu-west-1/orders-eu', 'us=us-east-1/orders-us'] });
    expect((await Promise.all([0, 1, 2].map((segment) => store.load(segment)))).map((checkpoint) => checkpoint?.done)).toEqual([true, true, true]);
  });

  it('resumes a segment from its checkpoint and skips a finished one', async () => {
    // Prepare
    const store = new CheckpointStore(dir, { table: 'orders', region: 'eu-west-1', totalSegments: 2, slaves: ['eu=eu-west-1/orders-eu', 'us=us-east-1/orders-us'] });
    await store.save({ segment: 0, lastEvaluatedKey: null, done: true, itemsCopied: 30, startedAt: Date.now() - 60_000 });
    await store.save({ segment: 1, lastEvaluatedKey: { pk: { S: 'item-050' } }, done: false, itemsCopied: 5, startedAt: Date.now() - 60_000 });

    // Act
    const { code, stdout } = await run('--segments', '2', '--json');

    // Assess
    expect(code).toBe(0);
    const scans = ddb.commandCalls(ScanCommand).map((call) => call.args[0].input);
    expect(scans).toHaveLength(1);
    expect(scans[0]).toMatchObject({ Segment: 1, ExclusiveStartKey: { pk: { S: 'item-050' } } });
    expect(JSON.parse(stdout)).toMatchObject({ segmentsAlreadyDone: 1, segmentsResumed: 1, segmentsDone: 1 });
  });

  it('stops with exit 1 and names the slave and key when writes fail after retries, keeping the checkpoint before that page', async () => {
    // Prepare
    ddb.on(BatchWriteItemCommand).callsFake((input: { RequestItems: Record<string, unknown[]> }) => {
      if (input.RequestItems['orders-us'] !== undefined) return Promise.reject(awsError('AccessDeniedException', 400, 'not allowed'));
      return Promise.resolve({});
    });

    // Act
    const { code, stdout } = await run('--segments', '1', '--page-size', '5');

    // Assess
    expect(code).toBe(1);
    expect(stdout).toMatch(/FAILED: 5 writes could not be applied/);
    expect(stdout).toContain('slave "us", key {pk: "item-000"}: slave "us" (table orders-us in us-east-1): could not write key {pk: "item-000"}: AccessDeniedException: not allowed');
    await expect(readFile(join(dir, 'orders.segment-0-of-1.json'), 'utf8')).rejects.toThrow(/ENOENT/);
  });

  it('refuses to start when the master has no stream, unless told it is a one-off copy', async () => {
    // Prepare
    fake.streamEnabled = false;

    // Act
    const refused = await run();
    const allowed = await run('--allow-no-stream');

    // Assess
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/master table orders in eu-west-1 has no stream enabled\. Enable it .* before the copy starts/);
    expect(allowed.code).toBe(0);
  });

  it('refuses --capacity-share for an on-demand table and says to use --rate', async () => {
    // Act
    const { code, stderr } = await run('--capacity-share', '0.5');

    // Assess
    expect(code).toBe(2);
    expect(stderr).toContain('--capacity-share: master table orders is on-demand (no provisioned read capacity to take a share of): limit the copy with --rate');
  });

  it('takes its page size from a share of provisioned capacity', async () => {
    // Prepare
    fake.readCapacityUnits = 100;

    // Act
    const { code, stdout } = await run('--capacity-share', '0.25', '--segments', '1', '--json');

    // Assess: 25 units/s of 4 KB over items of 100 bytes allow 1,024 items/s, so pages of a fifth of that.
    expect(code).toBe(0);
    expect(ddb.commandCalls(ScanCommand)[0]?.args[0].input.Limit).toBe(204);
    expect(JSON.parse(stdout)).toMatchObject({ rateLimit: { readUnitsPerSecond: 25, itemsPerSecond: null } });
  });

  it('retries a throttled Scan instead of failing the run', async () => {
    // Prepare
    // One chain: a second `on(ScanCommand)` would replace the rejection instead of following it.
    ddb
      .on(ScanCommand)
      .rejectsOnce(awsError('ProvisionedThroughputExceededException', 400))
      .callsFake(() => Promise.resolve({ Items: [{ pk: { S: 'only' } }] }));

    // Act
    const { code } = await run('--segments', '1');

    // Assess
    expect(code).toBe(0);
    expect(ddb.commandCalls(ScanCommand)).toHaveLength(2);
    expect(fake.items('orders-eu')).toEqual([{ pk: { S: 'only' } }]);
  });
});

describe('Command: backfill --state-table (a new slave marked initial_copy)', () => {
  const NEW_SLAVES = JSON.stringify({ eu: { region: 'eu-west-1', table_name: 'orders-eu', initial_copy: true }, us: { region: 'us-east-1', table_name: 'orders-us', initial_copy: true } });
  let dir: string;
  let tables: FakeTables;
  let state: FakeStateTable;
  const run = async (slaves: string, args: string[], signal: AbortSignal = new AbortController().signal) => {
    const io = captureIo();
    const code = await runCli(['backfill', '--table', 'orders', '--region', 'eu-west-1', '--slaves', slaves, '--checkpoint-dir', dir, '--no-progress', '--state-table', STATE_TABLE, ...args], {
      ...io,
      env: {},
      signal,
      clients: providerOf(client),
    });
    return { code, stdout: io.stdout.text, stderr: io.stderr.text };
  };
  const parkedLongAgo = { mode: 'parked', copy: 'pending', parkedSince: Date.now() - 3_600_000 } as const;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'backfill-state-test-'));
    tables = new FakeTables(['orders', 'orders-eu', 'orders-us']);
    for (let i = 0; i < 20; i += 1) tables.put('orders', { pk: { S: `item-${String(i).padStart(3, '0')}` } });
    state = new FakeStateTable();
    installReplication(ddb, tables, state);
  });
  afterEach(async () => {
    ddb.reset();
    await rm(dir, { recursive: true, force: true });
  });

  it('copies, records each segment in the state table and marks every slave copied when the last segment finishes', async () => {
    // Prepare
    state.setSlave('eu', parkedLongAgo);
    state.setSlave('us', parkedLongAgo);

    // Act
    const { code, stdout } = await run(NEW_SLAVES, ['--segments', '2', '--json']);

    // Assess
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ stateTable: STATE_TABLE, markedCopied: ['eu', 'us'], itemsCopied: 20, segmentsDone: 2 });
    expect(tables.items('orders-eu')).toHaveLength(20);
    expect(state.slaves.get('eu')?.copy).toBe('done');
    expect(state.slaves.get('us')?.copy).toBe('done');
    expect([...state.rows.keys()].sort()).toEqual(['copy#eu|segment#000000', 'copy#eu|segment#000001', 'copy#us|segment#000000', 'copy#us|segment#000001']);
    expect([...state.rows.values()].every((row) => row.done?.BOOL === true && row.total_segments?.N === '2')).toBe(true);
  });

  it('marks the slaves copied only once every segment of the copy is done, on whichever machine', async () => {
    // Prepare
    state.setSlave('eu', parkedLongAgo);
    state.setSlave('us', parkedLongAgo);

    // Act
    const first = await run(NEW_SLAVES, ['--segment', '0', '--total-segments', '2', '--json']);
    const pendingAfterFirst = state.slaves.get('eu')?.copy;
    const second = await run(NEW_SLAVES, ['--segment', '1', '--total-segments', '2', '--json']);

    // Assess
    expect(JSON.parse(first.stdout)).toMatchObject({ stateTable: STATE_TABLE, markedCopied: [] });
    expect(pendingAfterFirst).toBe('pending');
    expect(JSON.parse(second.stdout)).toMatchObject({ markedCopied: ['eu', 'us'] });
    expect(state.slaves.get('eu')?.copy).toBe('done');
  });

  it('creates the state of a slave nothing has parked yet, and waits the settle time before it reads the master', async () => {
    // Prepare
    const started = Date.now();
    let firstScanAt: number | undefined;
    ddb.on(ScanCommand).callsFake((input: ScanCommandInput) => {
      firstScanAt ??= Date.now();
      return tables.scan(input);
    });

    // Act
    const { code, stderr } = await run(NEW_SLAVES, ['--segments', '1', '--settle-seconds', '1']);

    // Assess
    expect(code).toBe(0);
    expect(stderr).toContain('waiting 1s before reading the master: invocations of the replicator that started before the new slave was parked may still be running (--settle-seconds)');
    expect((firstScanAt ?? 0) - started).toBeGreaterThanOrEqual(900);
    expect(state.slaves.get('eu')).toMatchObject({ mode: 'parked', copy: 'done', reason: 'initial copy pending' });
  });

  it('stops without reading the master when interrupted while it waits the settle time', async () => {
    // Prepare
    const interrupt = new AbortController();
    setTimeout(() => interrupt.abort(), 200);

    // Act
    const { code } = await run(NEW_SLAVES, ['--segments', '1', '--settle-seconds', '5'], interrupt.signal);

    // Assess
    expect(code).toBe(130);
    expect(ddb).not.toHaveReceivedCommand(ScanCommand);
    expect(state.slaves.get('eu')?.copy).toBe('pending');
  });

  it.each([
    ['a slave not marked initial_copy', SLAVES, undefined, /^dynamo-replicator: slaves\.eu: is not marked initial_copy/],
    ['a slave copied and handed over already', NEW_SLAVES, { mode: 'live', copy: 'done' } as const, /^dynamo-replicator: slave "eu": was copied and handed over already \(state table orders-replicator-state\): it is live; use verify --repair/],
    ['a live slave with no copy pending', NEW_SLAVES, { mode: 'live' } as const, /^dynamo-replicator: slaves\.eu: is live in state table orders-replicator-state/],
  ])('refuses %s with exit 2 before copying anything', async (_, slaves, eu, message) => {
    // Prepare
    if (eu !== undefined) state.setSlave('eu', eu);

    // Act
    const { code, stderr } = await run(slaves, ['--segments', '1']);

    // Assess
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(ddb).not.toHaveReceivedCommand(ScanCommand);
    expect(tables.items('orders-eu')).toEqual([]);
  });

  it('records no state table and marks nothing copied without --state-table', async () => {
    // Act
    const io = captureIo();
    const code = await runCli(['backfill', '--table', 'orders', '--region', 'eu-west-1', '--slaves', SLAVES, '--checkpoint-dir', dir, '--no-progress', '--json'], {
      ...io,
      env: {},
      signal: new AbortController().signal,
      clients: providerOf(client),
    });

    // Assess
    expect(code).toBe(0);
    expect(JSON.parse(io.stdout.text)).toMatchObject({ stateTable: null, markedCopied: [] });
    expect(state.slaves.size).toBe(0);
  });
});
