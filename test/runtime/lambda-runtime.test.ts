/**
 * The shipped artefact in AWS's own Lambda runtime: the zip and the settings a `terraform plan` of the module gives
 * the stream and drain functions, run by the Lambda Runtime Interface Emulator (`aws-lambda-rie`) with the Node.js
 * Runtime Interface Client (`aws-lambda-ric`) as bootstrap, invoked over the emulator's HTTP API with DynamoDB stream
 * events, and replicating into DynamoDB Local.
 *
 * What the plan gives is all the functions get: the zip (`filename`), extracted as the task root; `handler`;
 * `timeout` (AWS_LAMBDA_FUNCTION_TIMEOUT, from which the runtime's deadline and `getRemainingTimeInMillis` come);
 * `memory_size`, `function_name` and the function's region (the variables Lambda sets); and
 * `environment.variables`. The only other variables are what Lambda itself would provide, with local stand-ins:
 * credentials, and AWS_ENDPOINT_URL_DYNAMODB for the region's DynamoDB endpoint.
 *
 * The plan runs against moto (MOTO_SERVER_BIN) for the master's data source and the caller identity. Run by
 * `test/runtime/run.sh`, which installs and names the tools through scripts/toolchain/ensure.sh.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  DeleteItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as SdkStreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareTables } from '../support/compare-tables';
import { freePort, localClientConfig, startDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local';
import { FaultKind, startFaultProxy, type FaultProxy } from '../support/fault-proxy';
import { toLambdaEvent } from '../support/lambda-event';
import { createTable } from '../support/tables';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(`${name} is not set: run test/runtime/run.sh, which sources the toolchain's env.sh (scripts/toolchain/ensure.sh)`);
  }
  return value;
}

const MASTER = 'orders';
const NAME = 'orders-replicator';
const REGION = 'us-east-1';
/** The module's inputs that this test depends on: a timeout short enough to be reached, a budget over half of it. */
const TIMEOUT_SECONDS = 6;
const BUDGET_SECONDS = 5;

/** A planned aws_lambda_function, as `terraform show -json` gives it. */
interface PlannedFunction {
  readonly address: string;
  readonly function_name: string;
  readonly filename: string;
  readonly handler: string;
  readonly runtime: string;
  readonly timeout: number;
  readonly memory_size: number;
  readonly region?: string;
  readonly environment: readonly { readonly variables: Record<string, string> }[];
}

interface PlanModule {
  readonly resources?: readonly { address: string; type: string; values: Record<string, unknown> }[];
  readonly child_modules?: readonly PlanModule[];
}

function plannedResources(module: PlanModule): { address: string; type: string; values: Record<string, unknown> }[] {
  return [...(module.resources ?? []), ...(module.child_modules ?? []).flatMap(plannedResources)];
}

function run(command: string, args: readonly string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, env: { ...process.env, TF_IN_AUTOMATION: '1' } });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} (in ${cwd}) exited ${String(result.status)}:\n${result.stdout.slice(-4000)}\n${result.stderr.slice(-8000)}`);
  return result.stdout;
}

/** Kills the child once this process is gone, even by SIGKILL (a crashed vitest worker), so that no port outlives the run. */
function reapWithThisProcess(child: ChildProcess): void {
  if (child.pid === undefined) return;
  const script = `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${child.pid} 2>/dev/null; do sleep 1; done; kill -9 ${child.pid} 2>/dev/null; exit 0`;
  spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' }).unref();
}

/** moto_server on a free loopback port, for the plan's data sources. */
async function startMoto(): Promise<{ endpoint: string; stop: () => void }> {
  const port = await freePort();
  const child = spawn(requiredEnv('MOTO_SERVER_BIN'), ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  reapWithThisProcess(child);
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await (await fetch(`${endpoint}/moto-api/`)).arrayBuffer();
      return { endpoint, stop: () => child.kill('SIGKILL') };
    } catch {
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill('SIGKILL');
        throw new Error(`moto_server did not answer on ${endpoint}`);
      }
      await new Promise((done) => setTimeout(done, 200));
    }
  }
}

/** One function under the emulator: `aws-lambda-rie aws-lambda-ric <handler>` in the task root. */
interface EmulatedFunction {
  readonly planned: PlannedFunction;
  /** POSTs the event; resolves with the emulator's HTTP status, body and the wall time of the call. */
  invoke(event: unknown): Promise<{ status: number; body: string; ms: number }>;
  /** Everything the emulator and the function wrote. */
  output(): string;
  stop(): void;
}

async function startEmulated(planned: PlannedFunction, taskRoot: string, extraEnv: Record<string, string>): Promise<EmulatedFunction> {
  const port = await freePort();
  // The Runtime API the client polls: 127.0.0.1:9001 by default, so each emulator gets its own.
  const runtimeApiPort = await freePort();
  const variables = planned.environment[0]?.variables ?? {};
  const region = planned.region ?? REGION;
  // A clean environment: the plan's variables and what Lambda sets, nothing of this process's.
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: process.env['HOME'] ?? '/tmp',
    ...variables,
    LAMBDA_TASK_ROOT: taskRoot,
    AWS_LAMBDA_FUNCTION_NAME: planned.function_name,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(planned.memory_size),
    AWS_LAMBDA_FUNCTION_TIMEOUT: String(planned.timeout),
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_SESSION_TOKEN: 'local',
    ...extraEnv,
  };
  const child: ChildProcess = spawn(
    requiredEnv('AWS_LAMBDA_RIE_BIN'),
    ['--runtime-interface-emulator-address', `127.0.0.1:${port}`, '--runtime-api-address', `127.0.0.1:${runtimeApiPort}`, requiredEnv('AWS_LAMBDA_RIC_BIN'), planned.handler],
    { cwd: taskRoot, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  reapWithThisProcess(child);
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-64_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const url = `http://127.0.0.1:${port}/2015-03-31/functions/function/invocations`;
  // The emulator listens at once; the runtime starts (INIT) on the first invocation, as on Lambda.
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await (await fetch(`http://127.0.0.1:${port}/`)).arrayBuffer();
      break;
    } catch {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`aws-lambda-rie did not listen on ${port}:\n${output}`);
      await new Promise((done) => setTimeout(done, 50));
    }
  }
  return {
    planned,
    async invoke(event) {
      const started = Date.now();
      const response = await fetch(url, { method: 'POST', body: JSON.stringify(event), signal: AbortSignal.timeout((planned.timeout + 30) * 1000) });
      const body = await response.text();
      return { status: response.status, body, ms: Date.now() - started };
    },
    output: () => output,
    stop: () => child.kill('SIGKILL'),
  };
}

/** Every record of the table's stream from `after` on (DynamoDB Local has one shard per table here). */
async function streamRecords(streams: DynamoDBStreamsClient, streamArn: string, seen: Set<string>): Promise<SdkStreamRecord[]> {
  const { StreamDescription: description } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
  const records: SdkStreamRecord[] = [];
  for (const shard of description?.Shards ?? []) {
    let { ShardIterator: iterator } = await streams.send(
      new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
    );
    for (let pages = 0; iterator !== undefined && pages < 100; pages += 1) {
      const page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
      const fresh = (page.Records ?? []).filter((record) => !seen.has(record.dynamodb?.SequenceNumber ?? ''));
      records.push(...fresh);
      if ((page.Records ?? []).length === 0) break;
      iterator = page.NextShardIterator;
    }
  }
  for (const record of records) seen.add(record.dynamodb?.SequenceNumber ?? '');
  return records;
}

/** An item of every attribute type; its sort key follows from `pk` (`k7` → 7 % 3), so a new version is an update. */
function item(pk: string, version: number): Record<string, AttributeValue> {
  return {
    pk: { S: pk },
    sk: { N: String(Number(pk.slice(1)) % 3) },
    version: { N: String(version) },
    big: { N: '12345678901234567890123456789012345678' },
    bytes: { B: new Uint8Array([0, 255, version % 256, 10]) },
    tags: { SS: ['a', `v${version}`] },
    nested: { M: { list: { L: [{ BOOL: true }, { NULL: true }, { B: new Uint8Array([1, 2, 3]) }] } } },
  };
}

describe('the planned functions in the Lambda runtime (aws-lambda-rie + aws-lambda-ric)', () => {
  let engine: DynamoDbLocal;
  let proxy: FaultProxy;
  let moto: { endpoint: string; stop: () => void };
  let root: string;
  let taskRoot: string;
  let ddb: DynamoDBClient;
  let streams: DynamoDBStreamsClient;
  let streamArn: string;
  let stream: EmulatedFunction;
  let drain: EmulatedFunction;
  let plannedStream: PlannedFunction;
  let plannedDrain: PlannedFunction;
  let stateTable: string;
  const seen = new Set<string>();
  /** What beforeAll started or made, undone in reverse order whether or not it got to the end. */
  const cleanups: (() => Promise<void> | void)[] = [];
  const slaves = { copy: 'orders-copy', eu: 'orders-eu', slow: 'orders-slow' } as const;

  beforeAll(async () => {
    engine = await startDynamoDbLocal();
    cleanups.push(() => engine.stop());
    proxy = await startFaultProxy({ target: engine.endpoint });
    cleanups.push(() => proxy.stop());
    moto = await startMoto();
    cleanups.push(() => moto.stop());
    ddb = new DynamoDBClient(localClientConfig(engine.endpoint, REGION));
    streams = new DynamoDBStreamsClient(localClientConfig(engine.endpoint, REGION));
    const keys = { partitionKey: { name: 'pk', type: 'S' }, sortKey: { name: 'sk', type: 'N' } } as const;
    streamArn = (await createTable(ddb, { tableName: MASTER, ...keys, streamViewType: 'NEW_AND_OLD_IMAGES' })).streamArn ?? '';
    for (const table of Object.values(slaves)) await createTable(ddb, { tableName: table, ...keys });
    // The master the plan's data source reads, in moto.
    await createTable(new DynamoDBClient(localClientConfig(moto.endpoint, REGION)), { tableName: MASTER, ...keys, streamViewType: 'NEW_AND_OLD_IMAGES' });

    // A root calling the module from this checkout: one slave through the default endpoint, two through `endpoint`.
    root = await mkdtemp(join(tmpdir(), 'dynamo-replicator-runtime-'));
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    const motoServices = ['dynamodb', 'iam', 'kms', 'lambda', 'logs', 's3', 'sns', 'sqs', 'sts', 'cloudwatch', 'events', 'scheduler', 'sfn'];
    await writeFile(
      join(root, 'main.tf'),
      `provider "aws" {
  region                      = "${REGION}"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  endpoints {
${motoServices.map((service) => `    ${service} = "${moto.endpoint}"`).join('\n')}
  }
}

module "replicator" {
  source = "${repoRoot}"

  name                       = "${NAME}"
  master_table_name          = "${MASTER}"
  timeout                    = ${TIMEOUT_SECONDS}
  slave_write_budget_seconds = ${BUDGET_SECONDS}
  memory_size                = 256

  slaves = {
    copy = { region = "${REGION}", table_name = "${slaves.copy}" }
    eu   = { region = "eu-west-1", table_name = "${slaves.eu}", endpoint = "${engine.endpoint}" }
    slow = { region = "ap-southeast-2", table_name = "${slaves.slow}", endpoint = "${proxy.endpoint}" }
  }
}
`,
    );
    const tf = requiredEnv('TERRAFORM_BINARY');
    run(tf, ['init', '-input=false', '-no-color', '-backend=false'], root);
    run(tf, ['plan', '-input=false', '-no-color', '-refresh=true', '-out=plan.tfplan'], root);
    const plan = JSON.parse(run(tf, ['show', '-json', 'plan.tfplan'], root)) as { planned_values: { root_module: PlanModule } };
    const resources = plannedResources(plan.planned_values.root_module);
    const fn = (address: string): PlannedFunction => {
      const found = resources.find((resource) => resource.address === address);
      if (found === undefined) throw new Error(`the plan has no ${address}; it has ${resources.map((r) => r.address).join(', ')}`);
      return { address, ...(found.values as Omit<PlannedFunction, 'address'>) };
    };
    plannedStream = fn('module.replicator.aws_lambda_function.this');
    plannedDrain = fn('module.replicator.aws_lambda_function.drain');
    const state = resources.find((resource) => resource.address === 'module.replicator.aws_dynamodb_table.state');
    if (state === undefined) throw new Error('the plan has no module.replicator.aws_dynamodb_table.state');
    stateTable = String(state.values['name']);
    // The state table as planned: its keys and their types.
    const attributes = state.values['attribute'] as { name: string; type: 'S' | 'N' | 'B' }[];
    const hashKey = state.values['hash_key'] as string;
    const rangeKey = state.values['range_key'] as string | null;
    const keySchema = [
      { AttributeName: hashKey, KeyType: 'HASH' as const },
      ...(rangeKey === null ? [] : [{ AttributeName: rangeKey, KeyType: 'RANGE' as const }]),
    ];
    await ddb.send(
      new CreateTableCommand({
        TableName: stateTable,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: attributes.map((attribute) => ({ AttributeName: attribute.name, AttributeType: attribute.type })),
        KeySchema: keySchema,
      }),
    );

    // The very zip the plan names (relative paths are the root's), extracted as the task root.
    expect(plannedDrain.filename).toBe(plannedStream.filename);
    const zip = isAbsolute(plannedStream.filename) ? plannedStream.filename : join(root, plannedStream.filename);
    if (!existsSync(zip)) throw new Error(`the plan's filename ${plannedStream.filename} does not exist (resolved to ${zip})`);
    taskRoot = join(root, 'task');
    run('python3', ['-m', 'zipfile', '-e', zip, taskRoot], root);
    expect(readdirSync(taskRoot).length).toBeGreaterThan(0);

    const regionEndpoint = { AWS_ENDPOINT_URL_DYNAMODB: engine.endpoint };
    stream = await startEmulated(plannedStream, taskRoot, regionEndpoint);
    cleanups.push(() => stream.stop());
    drain = await startEmulated(plannedDrain, taskRoot, regionEndpoint);
    cleanups.push(() => drain.stop());
  });

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  async function expectSlaveEqual(slave: keyof typeof slaves): Promise<number> {
    const comparison = await compareTables({ master: { client: ddb, tableName: MASTER }, slave: { client: ddb, tableName: slaves[slave] } });
    expect(comparison, `slave ${slave} equals the master`).toMatchObject({ identical: true });
    return comparison.masterItems;
  }

  async function slaveMode(slave: string): Promise<string | undefined> {
    const { Item } = await ddb.send(new GetItemCommand({ TableName: stateTable, Key: { pk: { S: `slave#${slave}` }, sk: { S: 'state' } }, ConsistentRead: true }));
    return Item?.['mode']?.S;
  }

  function expectBatchSucceeded(result: { status: number; body: string }, what: EmulatedFunction): void {
    expect(result.status, what.output()).toBe(200);
    expect(JSON.parse(result.body) as unknown, `${result.body}\n${what.output()}`).toEqual({ batchItemFailures: [] });
  }

  it('plans the settings this test runs the functions with', async () => {
    expect(plannedStream).toMatchObject({ handler: 'index.handler', timeout: TIMEOUT_SECONDS, memory_size: 256 });
    expect(plannedDrain.handler).toBe('index.drain');
    expect(plannedStream.environment[0]?.variables['REPLICATOR_STATE_TABLE']).toBe(stateTable);
    expect(await readFile(join(taskRoot, 'index.mjs'), 'utf8')).toContain('drain');
  });

  it('replicates a batch of stream records into every slave through the runtime', async () => {
    // Prepare: puts, an update and a delete on the master, read back from its stream
    for (let i = 0; i < 12; i += 1) await ddb.send(new PutItemCommand({ TableName: MASTER, Item: item(`k${i}`, i) }));
    await ddb.send(new PutItemCommand({ TableName: MASTER, Item: item('k1', 1001) }));
    await ddb.send(new DeleteItemCommand({ TableName: MASTER, Key: { pk: { S: 'k2' }, sk: { N: '2' } } }));
    const records = await streamRecords(streams, streamArn, seen);
    expect(records.length).toBe(14);

    // Act
    const result = await stream.invoke(toLambdaEvent(records, streamArn, REGION));

    // Assess: the batch succeeded, each slave equals the master, and the runtime reported the planned memory
    expectBatchSucceeded(result, stream);
    expect(await expectSlaveEqual('copy')).toBe(11);
    await expectSlaveEqual('eu');
    await expectSlaveEqual('slow');
    expect(stream.output()).toMatch(/REPORT RequestId: \S+\s+Init Duration: [\d.]+ ms\s+Duration: [\d.]+ ms\s+Billed Duration: \d+ ms\s+Memory Size: 256 MB/);
  });

  it('ends within the planned timeout when a slave holds every answer, parking what it did not confirm', async () => {
    // Prepare: every answer of the slow slave held for 30 s, past the 6-second timeout
    proxy.failRandomly(FaultKind.SLOW_RESPONSE, 1, { delayMs: 30_000 });
    for (let i = 20; i < 30; i += 1) await ddb.send(new PutItemCommand({ TableName: MASTER, Item: item(`k${i}`, i) }));
    const records = await streamRecords(streams, streamArn, seen);

    // Act
    const result = await stream.invoke(toLambdaEvent(records, streamArn, REGION));

    // Assess: answered before the runtime's deadline (which only getRemainingTimeInMillis tells the function), with
    // nothing to re-deliver; the healthy slaves have everything and the slow one is parked
    expect(result.body).not.toMatch(/Task timed out/);
    expectBatchSucceeded(result, stream);
    expect(result.ms).toBeLessThan(TIMEOUT_SECONDS * 1000);
    expect(proxy.stats.injected['slow-response']).toBeGreaterThan(0);
    await expectSlaveEqual('copy');
    await expectSlaveEqual('eu');
    expect(await slaveMode('slow')).toBe('parked');
  });

  it('drains the parked changes through the drain export once the slave answers again', async () => {
    // Prepare
    proxy.clearFaults();

    // Act: the scheduled drain, as its schedule invokes it, until the slave is live again (a few passes at most)
    let pending: Record<string, number> = {};
    for (let pass = 0; pass < 5 && (await slaveMode('slow')) !== 'live'; pass += 1) {
      const result = await drain.invoke({});
      expect(result.status, drain.output()).toBe(200);
      expect(result.body, drain.output()).not.toMatch(/errorType|Task timed out/);
      ({ pending } = JSON.parse(result.body) as { pending: Record<string, number> });
    }

    // Assess
    expect(pending).toMatchObject({ slow: 0 });
    expect(await slaveMode('slow')).toBe('live');
    await expectSlaveEqual('slow');
  });
});
