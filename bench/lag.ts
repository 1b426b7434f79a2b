/**
 * Lag under a steady write rate: how long after the master acknowledges a write its change is on the slave, through
 * the bundle, through the lean peer (bench/peer.ts, mapbox's `replicate`) and through a handler that does nothing (the
 * poll floor: what a replicator that costs nothing would see with this poller).
 *
 * The approaches take turns on one master table with a stream (see {@link lagScenario} for its engine); the bundle and
 * the peer write a slave table each on the slave engine. Each run reads the master from its latest record with the
 * integration tests' StreamPoller, as the module's event source mapping reads it: four reads a second (the reads
 * paced to that, see {@link pacedStreams}), no batching window, batches of up to the module's default of 1,000. A
 * writer in a worker thread of its own (so the handlers' work never delays its writes or its clock) writes items into
 * the master at a steady rate, each at its due time counted from the start, and notes when the master acknowledged
 * each one. A record's lag is the time the invocation that carried it returned without failures, less that
 * acknowledgement; the first seconds of writes of every run warm the path and are not counted.
 *
 * The bundle and the peer are loaded once, as warm Lambda environments, and every approach runs once before any
 * measure. Each round runs the three in turn for each rate, the floor between the other two, whose order alternates
 * between rounds; the results are the medians of the rounds, and each ratio the median of the rounds' own ratios.
 */
import { BatchWriteItemCommand, DescribeTableCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { Context, DynamoDBStreamEvent } from 'aws-lambda';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { createDynamoDBClient } from '../handler/clients';
import { startDynamoDbLocal, type DynamoDbLocal } from '../test/support/dynamodb-local';
import { StartingPosition, StreamPoller } from '../test/support/stream-poller';
import { loadBundle, quietly } from './bundle';
import { BENCH_CREDENTIALS, clientFor, countItems, freshStateTable, freshTable } from './engine';
import { leanPeer } from './peer';
import { median } from './report';

/** Four reads a second, as Lambda polls a shard. */
export const POLL_INTERVAL_MS = 250;
/** The module's default batch size (variables.tf, batch_size). */
export const LAG_BATCH_SIZE = 1_000;

export interface LagSettings {
  /** Writes per second, one after the other. */
  readonly rates: readonly number[];
  /** Seconds of writes measured per run. */
  readonly seconds: number;
  /** Seconds of writes before them in every run, not counted. */
  readonly warmSeconds: number;
  readonly rounds: number;
  /** The slaves' engine; the master has an engine of its own (see {@link lagScenario}). */
  readonly slaveEngine: DynamoDbLocal;
}

export interface LagPercentiles {
  /** Medians of the rounds' percentiles, in milliseconds. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Median records per invocation. */
  readonly recordsPerInvocation: number;
}

/** One rate: each approach's lag, and the median of the rounds' ratios of the bundle's p99 to the others'. */
export interface LagPoint {
  readonly rate: number;
  /** Records measured per run. */
  readonly records: number;
  readonly bundle: LagPercentiles;
  readonly peer: LagPercentiles;
  readonly floor: LagPercentiles;
  readonly bundleToPeerP99: number;
  readonly bundleToFloorP99: number;
}

export interface LagResult {
  readonly points: LagPoint[];
  /** Items missing from each slave at the end, of all the puts made through it. */
  readonly missing: { readonly bundle: number; readonly peer: number };
}

const APPROACHES = ['bundle', 'peer', 'floor'] as const;
type Approach = (typeof APPROACHES)[number];

/** What the poller calls: it answers, or throws. */
type Handler = (event: DynamoDBStreamEvent, context: Context) => Promise<{ readonly batchItemFailures: readonly unknown[] }>;

/** The master table every run writes, and its stream. */
interface Master {
  readonly engine: DynamoDbLocal;
  readonly table: string;
  readonly streamArn: string;
}

interface Lane {
  readonly handler: Handler;
  /** Puts made into the master through its runs so far. */
  puts: number;
}

/** One run's write order, to the writer thread. */
interface WriteJob {
  readonly endpoint: string;
  readonly table: string;
  readonly rate: number;
  readonly seconds: number;
  readonly prefix: string;
}

/** The epoch milliseconds of each acknowledgement, by write index (NaN for a write that failed). */
interface WriteOutcome {
  readonly acks: number[];
  readonly errors: number;
  /** The first failure's message. */
  readonly firstError?: string;
}

const WRITER = 'lag-writer';
/** Milliseconds since the epoch, to a fraction: comparable between the threads of a process. */
const epochMs = (): number => performance.timeOrigin + performance.now();
const pause = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, Math.max(0, ms)));

/** An item as big as the other scenarios' ones, binary and nesting included. */
function itemOf(prefix: string, index: number): Record<string, AttributeValue> {
  return {
    pk: { S: `${prefix}-${index}` },
    n: { N: String(index) },
    blob: { B: Buffer.alloc(64, index % 251) },
    nested: { M: { list: { L: [{ N: String(index) }, { BOOL: true }, { NULL: true }] } } },
    padding: { S: 'x'.repeat(200) },
  };
}

const writerClients = new Map<string, DynamoDBClient>();

/** BatchWriteItem calls the writer has in flight at most: beyond them, due writes wait and go together in the next call. */
const WRITER_CALLS = 16;

/**
 * The writer's side: writes at `rate` a second, each due at its time counted from the start, so a late one does not
 * delay the next. The writes that are due go together in a BatchWriteItem call of up to 25, at most WRITER_CALLS calls
 * at once: about one write a call while the engine keeps up, and when it falls behind the writes that wait go in
 * fewer calls, so the backlog clears instead of piling up as calls.
 */
async function writeSteadily(job: WriteJob): Promise<WriteOutcome> {
  let client = writerClients.get(job.endpoint);
  if (client === undefined) {
    client = createDynamoDBClient({ region: 'eu-west-1', endpoint: job.endpoint, credentials: BENCH_CREDENTIALS, maxAttempts: 3 });
    writerClients.set(job.endpoint, client);
  }
  const total = Math.round(job.rate * job.seconds);
  const interval = 1000 / job.rate;
  const acks = new Array<number>(total).fill(Number.NaN);
  let errors = 0;
  let firstError: string | undefined;
  let inFlight = 0;
  const calls: Promise<void>[] = [];
  const started = performance.now();
  // Writes [sent, due) are due and not sent yet.
  let due = 0;
  let sent = 0;
  while (sent < total) {
    const now = performance.now();
    while (due < total && started + due * interval <= now) due += 1;
    while (sent < due && inFlight < WRITER_CALLS) {
      inFlight += 1;
      const indices = Array.from({ length: Math.min(25, due - sent) }, (_, offset) => sent + offset);
      sent += indices.length;
      const call = client.send(new BatchWriteItemCommand({ RequestItems: { [job.table]: indices.map((index) => ({ PutRequest: { Item: itemOf(job.prefix, index) } })) } }));
      calls.push(
        call
          .then(
            (response) => {
              const at = epochMs();
              for (const index of indices) acks[index] = at;
              // DynamoDB Local never leaves items unprocessed; should it, the run fails rather than measure them.
              const unprocessed = response.UnprocessedItems?.[job.table]?.length ?? 0;
              errors += unprocessed;
              if (unprocessed > 0) firstError ??= 'UnprocessedItems';
            },
            (error: unknown) => {
              errors += indices.length;
              firstError ??= String(error);
            },
          )
          .finally(() => {
            inFlight -= 1;
          }),
      );
    }
    if (sent < total) await pause(sent < due ? 1 : started + due * interval - performance.now());
  }
  await Promise.all(calls);
  return { acks, errors, ...(firstError === undefined ? {} : { firstError }) };
}

if (!isMainThread && workerData === WRITER) {
  parentPort?.on('message', (job: WriteJob) => {
    // A failure is unhandled on purpose: it ends the thread, and the scenario with it.
    void writeSteadily(job).then((outcome) => parentPort?.postMessage(outcome));
  });
}

/** The writer thread: this module again, loaded through tsx, serving one job at a time. */
class SteadyWriter {
  readonly #worker = new Worker(
    `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then(({ register }) => { register(); return import(${JSON.stringify(import.meta.url)}); })`,
    { eval: true, workerData: WRITER },
  );

  public write(job: WriteJob): Promise<WriteOutcome> {
    return new Promise((resolve, reject) => {
      const done = (outcome: WriteOutcome): void => {
        this.#worker.off('error', fail);
        resolve(outcome);
      };
      const fail = (error: unknown): void => {
        this.#worker.off('message', done);
        reject(error instanceof Error ? error : new Error(String(error)));
      };
      this.#worker.once('message', done).once('error', fail);
      this.#worker.postMessage(job);
    });
  }

  public async close(): Promise<void> {
    await this.#worker.terminate();
  }
}

/** The `p`-th percentile, nearest rank. */
function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN;
}

/** A fresh master table with a NEW_AND_OLD_IMAGES stream, and its stream's ARN. */
async function masterOn(engine: DynamoDbLocal): Promise<Master> {
  const table = await freshTable(engine, 'lag-master', { stream: true });
  const streamArn = (await clientFor(engine).send(new DescribeTableCommand({ TableName: table }))).Table?.LatestStreamArn;
  if (streamArn === undefined) throw new Error(`${table} has no stream`);
  return { engine, table, streamArn };
}

/**
 * A streams client whose GetRecords calls start at least POLL_INTERVAL_MS apart: four reads a second, as Lambda reads
 * a shard. The poller reads again at once after a read that found records, which at these rates would mean hundreds
 * of reads a second, every one a call on the master's engine (and the writes behind them). One client per run: a
 * master of DynamoDB Local has one shard, so this paces that shard's reads.
 */
function pacedStreams(engine: DynamoDbLocal): DynamoDBStreamsClient {
  const streams = new DynamoDBStreamsClient({ region: 'eu-west-1', endpoint: engine.endpoint, credentials: BENCH_CREDENTIALS });
  let nextReadAt = 0;
  streams.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'GetRecordsCommand') {
        const at = Math.max(performance.now(), nextReadAt);
        nextReadAt = at + POLL_INTERVAL_MS;
        await pause(at - performance.now());
      }
      return next(args);
    },
    { step: 'initialize', name: 'pacedGetRecords' },
  );
  return streams;
}

interface RunResult {
  /** Lags of the measured records, in milliseconds, sorted. */
  readonly lags: number[];
  readonly recordsPerInvocation: number;
}

let runs = 0;

/**
 * One run: a poller on the master from its latest record, handing batches to the lane's handler, `warmSeconds +
 * seconds` of writes at `rate`, then the wait for the poller to catch up (on progress, as `waitUntilCaughtUp` waits).
 */
async function lagRun(master: Master, lane: Lane, rate: number, timing: Pick<LagSettings, 'seconds' | 'warmSeconds'>, writer: SteadyWriter): Promise<RunResult> {
  runs += 1;
  const prefix = `run${runs}`;
  const returnedAt = new Map<string, number>();
  let invocations = 0;
  let records = 0;
  let failures = 0;
  const streams = pacedStreams(master.engine);
  const poller = new StreamPoller({
    streams,
    streamArn: master.streamArn,
    startingPosition: StartingPosition.LATEST,
    batchSize: LAG_BATCH_SIZE,
    batchingWindowMs: 0,
    pollIntervalMs: POLL_INTERVAL_MS,
    region: 'eu-west-1',
    handler: async (event, context) => {
      const response = await lane.handler(event, context);
      const at = epochMs();
      if (response.batchItemFailures.length > 0) {
        failures += 1;
        throw new Error('the replicator reported a failure during the benchmark');
      }
      invocations += 1;
      records += event.Records.length;
      for (const record of event.Records) returnedAt.set(record.dynamodb?.Keys?.pk?.S ?? '', at);
      return { batchItemFailures: [] };
    },
  });
  await poller.start();
  let outcome: WriteOutcome;
  try {
    outcome = await writer.write({ endpoint: master.engine.endpoint, table: master.table, rate, seconds: timing.warmSeconds + timing.seconds, prefix });
    await poller.waitUntilCaughtUp();
  } finally {
    await poller.stop();
    streams.destroy();
  }
  lane.puts += outcome.acks.length;
  const lags: number[] = [];
  for (let index = Math.round(rate * timing.warmSeconds); index < outcome.acks.length; index += 1) {
    lags.push((returnedAt.get(`${prefix}-${index}`) ?? Number.NaN) - (outcome.acks[index] ?? Number.NaN));
  }
  const unmeasured = lags.filter((lag) => Number.isNaN(lag)).length;
  if (outcome.errors > 0 || failures > 0 || unmeasured > 0) {
    throw new Error(`lag run ${prefix}: ${outcome.errors} writes failed (${outcome.firstError ?? 'none'}), ${failures} invocations reported failures, ${unmeasured} records never replicated`);
  }
  return { lags: lags.sort((a, b) => a - b), recordsPerInvocation: records / invocations };
}

/**
 * The scenario: see the module comment. The master is the first table with a stream of an engine of its own:
 * DynamoDB Local takes writes to any later stream-enabled table of an engine far more slowly (at 800 a second, tens of
 * milliseconds each against under two, even once the earlier ones are dropped), so the approaches share that table,
 * each run reading it from its latest record.
 */
export async function lagScenario(settings: LagSettings): Promise<LagResult> {
  const { slaveEngine } = settings;
  const masterEngine = await startDynamoDbLocal();
  const writer = new SteadyWriter();
  try {
    const master = await masterOn(masterEngine);
    const slaves = { bundle: await freshTable(slaveEngine, 'lag-bundle'), peer: await freshTable(slaveEngine, 'lag-peer') };
    const bundle = await loadBundle({
      slaves: { lag: { region: 'eu-west-1', table_name: slaves.bundle, endpoint: slaveEngine.endpoint } },
      masterEngine,
      stateTable: await freshStateTable(masterEngine),
    });
    const lanes: Record<Approach, Lane> = {
      bundle: { handler: bundle.handler, puts: 0 },
      peer: { handler: leanPeer({ endpoint: slaveEngine.endpoint, table: slaves.peer }), puts: 0 },
      floor: { handler: () => Promise.resolve({ batchItemFailures: [] }), puts: 0 },
    };
    return await quietly(async () => {
      const warmRate = Math.max(...settings.rates);
      for (const approach of APPROACHES) await lagRun(master, lanes[approach], warmRate, { seconds: settings.warmSeconds, warmSeconds: settings.warmSeconds }, writer);

      const points: LagPoint[] = [];
      for (const rate of settings.rates) {
        const runsOf = (): { p50: number[]; p99: number[]; perInvocation: number[] } => ({ p50: [], p99: [], perInvocation: [] });
        const stats: Record<Approach, ReturnType<typeof runsOf>> = { bundle: runsOf(), peer: runsOf(), floor: runsOf() };
        let records = 0;
        for (let round = 0; round < settings.rounds; round += 1) {
          const order: readonly Approach[] = round % 2 === 0 ? ['bundle', 'floor', 'peer'] : ['peer', 'floor', 'bundle'];
          for (const approach of order) {
            const run = await lagRun(master, lanes[approach], rate, settings, writer);
            stats[approach].p50.push(percentile(run.lags, 0.5));
            stats[approach].p99.push(percentile(run.lags, 0.99));
            stats[approach].perInvocation.push(run.recordsPerInvocation);
            records = run.lags.length;
          }
        }
        const summary = (approach: Approach): LagPercentiles => ({ p50Ms: median(stats[approach].p50), p99Ms: median(stats[approach].p99), recordsPerInvocation: median(stats[approach].perInvocation) });
        const bundleOver = (approach: Approach): number => median(stats.bundle.p99.map((p99, round) => p99 / (stats[approach].p99[round] ?? Number.NaN)));
        points.push({ rate, records, bundle: summary('bundle'), peer: summary('peer'), floor: summary('floor'), bundleToPeerP99: bundleOver('peer'), bundleToFloorP99: bundleOver('floor') });
      }
      const missing = { bundle: lanes.bundle.puts - (await countItems(slaveEngine, slaves.bundle)), peer: lanes.peer.puts - (await countItems(slaveEngine, slaves.peer)) };
      return { points, missing };
    });
  } finally {
    await writer.close();
    await masterEngine.stop();
  }
}
