import { BatchWriteItemCommand, DynamoDBClient, type BatchWriteItemCommandInput } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXIT, runCli } from '../../../handler/cli/program';
import { STATE_TABLE } from '../helpers/config';
import { FakeStateTable } from '../helpers/fake-state-table';
import { put, streamEvent } from '../helpers/records';
import { awsError } from '../helpers/writes';
import { captureIo, FakeTables, providerOf } from './helpers/fake-tables';
import { installReplication } from './helpers/replication';

const client = new DynamoDBClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
const ddb = mockClient(client);
const SLAVES = JSON.stringify({ eu: { region: 'eu-west-1', table_name: 'orders-eu' } });
const NEW_SLAVES = JSON.stringify({ eu: { region: 'eu-west-1', table_name: 'orders-eu', initial_copy: true } });
const MASTER = ['--table', 'orders', '--region', 'eu-west-1', '--state-table', STATE_TABLE];

let tables: FakeTables;
let state: FakeStateTable;
let dir: string;

async function run(args: string[], signal: AbortSignal = new AbortController().signal): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = captureIo();
  const code = await runCli(args, { ...io, env: {}, signal, clients: providerOf(client) });
  return { code, stdout: io.stdout.text, stderr: io.stderr.text };
}

beforeEach(async () => {
  tables = new FakeTables(['orders', 'orders-eu']);
  state = new FakeStateTable();
  installReplication(ddb, tables, state);
  tables.put('orders', { pk: { S: 'a' }, value: { S: 'current' } });
  dir = await mkdtemp(join(tmpdir(), 'program-test-'));
});
afterEach(async () => {
  ddb.reset();
  await rm(dir, { recursive: true, force: true });
});

describe('Command: status', () => {
  it('exits 0 and prints the state as text, or as JSON with --json', async () => {
    // Prepare
    state.setSlave('eu', { mode: 'parked', parkedSince: Date.now() - 5_000, reason: 'slave "eu" answered 503' });
    state.park('eu', 'a');

    // Act
    const text = await run(['status', ...MASTER, '--slaves', SLAVES]);
    const json = await run(['status', ...MASTER, '--slaves', SLAVES, '--json']);

    // Assess
    expect(text.code).toBe(EXIT.ok);
    expect(text.stdout).toMatch(/^replication of orders \(state table orders-replicator-state\)\n {2}eu \(orders-eu in eu-west-1\): PARKED {2}1 changes waiting, oldest \d+s\n {4}why: slave "eu" answered 503\n$/);
    expect(json.code).toBe(EXIT.ok);
    expect(JSON.parse(json.stdout)).toMatchObject({ stateTable: STATE_TABLE, slaves: [{ name: 'eu', mode: 'parked', pending: 1 }], rejectedRecords: 0 });
  });

  it('exits 2 naming --state-table when there is none', async () => {
    // Act
    const { code, stderr } = await run(['status', '--table', 'orders', '--region', 'eu-west-1', '--slaves', SLAVES]);

    // Assess
    expect(code).toBe(EXIT.usage);
    expect(stderr).toMatch(/^dynamo-replicator: --state-table: is required/);
  });
});

describe('Command: mark-copied', () => {
  it('exits 0 and names the slaves marked copied', async () => {
    // Prepare
    state.setSlave('eu', { mode: 'parked', copy: 'pending', parkedSince: Date.now() - 3_600_000 });

    // Act
    const text = await run(['mark-copied', ...MASTER, '--slaves', NEW_SLAVES, '--copied-at', new Date().toISOString()]);

    // Assess
    expect(text.code).toBe(EXIT.ok);
    expect(text.stdout).toBe('marked copied: eu; the drain now applies the changes parked since each was parked and puts it live (npx dynamo-replicator status shows when)\n');
    expect(state.slaves.get('eu')?.copy).toBe('done');
  });

  it('prints the slaves marked copied as JSON with --json', async () => {
    // Prepare
    state.setSlave('eu', { mode: 'parked', copy: 'pending', parkedSince: Date.now() - 3_600_000 });

    // Act
    const { code, stdout } = await run(['mark-copied', ...MASTER, '--slaves', NEW_SLAVES, '--copied-at', new Date().toISOString(), '--json']);

    // Assess
    expect(code).toBe(EXIT.ok);
    expect(JSON.parse(stdout)).toEqual({ markedCopied: ['eu'] });
  });

  it('exits 2 naming --copied-at when the copy is too early', async () => {
    // Prepare
    state.setSlave('eu', { mode: 'parked', copy: 'pending', parkedSince: Date.now() });

    // Act
    const { code, stderr } = await run(['mark-copied', ...MASTER, '--slaves', NEW_SLAVES, '--copied-at', new Date().toISOString()]);

    // Assess
    expect(code).toBe(EXIT.usage);
    expect(stderr).toMatch(/^dynamo-replicator: --copied-at: .* is too early for slave "eu"/);
    expect(state.slaves.get('eu')?.copy).toBe('pending');
  });
});

describe('Command: redrive', () => {
  const redrive = async (...records: object[]) => {
    const file = join(dir, 'failure.json');
    await writeFile(file, JSON.stringify({ Records: records }));
    return run(['redrive', ...MASTER, '--slaves', SLAVES, '--from', file]);
  };

  it('exits 0 once every slave is level with the master', async () => {
    // Act
    const { code, stdout } = await redrive(put('a', 'old'));

    // Assess
    expect(code).toBe(EXIT.ok);
    expect(stdout).toBe('redrive: 1 records from 1 sources; 1 keys parked for the drain to bring from the master\n  eu: level with the master\n');
    expect(tables.items('orders-eu')).toEqual([{ pk: { S: 'a' }, value: { S: 'current' } }]);
  });

  it('exits 1 when a record cannot be replayed', async () => {
    // Act
    const { code, stdout } = await redrive(put('a', 'old'), { eventID: 'x', eventSource: 'aws:kinesis' });

    // Assess
    expect(code).toBe(EXIT.failed);
    expect(stdout).toContain('cannot be replayed');
  });

  it('exits 1 when the drain leaves changes parked for a slave', async () => {
    // Prepare
    ddb.on(BatchWriteItemCommand).callsFake((input: BatchWriteItemCommandInput) =>
      input.RequestItems?.[STATE_TABLE] === undefined ? Promise.reject(awsError('AccessDeniedException', 400, 'no')) : state.batchWriteItem(input),
    );

    // Act
    const { code, stdout } = await redrive(put('a', 'old'));

    // Assess
    expect(code).toBe(EXIT.failed);
    expect(stdout).toContain('eu: 1 changes still parked; the scheduled drain goes on');
  });

  it('exits 1 with the message when a source cannot be read', async () => {
    // Act
    const { code, stderr } = await run(['redrive', ...MASTER, '--slaves', SLAVES, '--from', join(dir, 'missing.json')]);

    // Assess
    expect(code).toBe(EXIT.failed);
    expect(stderr).toMatch(/^dynamo-replicator: --from .*missing\.json: Error: ENOENT/);
  });

  it('exits 2 naming --from when given neither --from nor --rejected', async () => {
    // Act
    const { code, stderr } = await run(['redrive', ...MASTER, '--slaves', SLAVES]);

    // Assess
    expect(code).toBe(EXIT.usage);
    expect(stderr).toMatch(/^dynamo-replicator: --from: or --rejected is required/);
  });

  it('prints the summary as JSON with --json', async () => {
    // Prepare
    const file = join(dir, 'failure.json');
    await writeFile(file, JSON.stringify(streamEvent(put('a', 'old'))));

    // Act
    const { code, stdout } = await run(['redrive', ...MASTER, '--slaves', SLAVES, '--from', file, '--json']);

    // Assess
    expect(code).toBe(EXIT.ok);
    expect(JSON.parse(stdout)).toMatchObject({ sources: 1, records: 1, keys: 1, undecodable: [], drain: { pending: { eu: 0 } } });
  });
});

describe('Command line: help and interruption', () => {
  it('exits 0 after printing the help', async () => {
    // Act
    const { code, stdout } = await run(['--help']);

    // Assess
    expect(code).toBe(EXIT.ok);
    expect(stdout).toContain('mark-copied');
  });

  it('exits 130 when a verify is interrupted before its comparison', async () => {
    // Prepare
    const interrupt = new AbortController();
    interrupt.abort();

    // Act
    const { code, stdout } = await run(['verify', '--table', 'orders', '--region', 'eu-west-1', '--slaves', SLAVES, '--no-progress'], interrupt.signal);

    // Assess
    expect(code).toBe(EXIT.interrupted);
    expect(stdout).toContain('Interrupted before the comparison finished: nothing is proven.');
  });
});
