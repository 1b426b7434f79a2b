/**
 * `npm run bench`: replication throughput, the drain, a healthy slave during another's outage, the initial copy and
 * memory, on DynamoDB Local, each against a baseline measured in the same run, so the ratios hold whatever the
 * machine. Prints a Markdown table and writes bench/results.json.
 *
 * Sizes: BENCH_RECORDS (stream records per throughput and outage run, 20,000), BENCH_BATCH_SIZE (1,000),
 * BENCH_ROUNDS (3), BENCH_DRAIN_CHANGES (20,000), BENCH_COPY_ITEMS (20,000), BENCH_COPY_SEGMENTS (8), BENCH_ITEMS
 * (the command-line backfill, 10,000). BENCH_ONLY=drain,outage,... runs some of: throughput, drain, outage, copy,
 * memory, telemetry, cpu, curve, backfill, lag. The curve's grid: BENCH_CURVE_BATCH_SIZES (100,500,1000,5000),
 * BENCH_CURVE_CONCURRENCIES (8,16,32,64), BENCH_CURVE_FACTORS (1,4), BENCH_CURVE_RECORDS (20,000).
 *
 * The lag scenario (bench/lag.ts) measures replication lag at steady write rates through the bundle, through its lean
 * peer (bench/peer.ts: mapbox/dynamodb-replicator's `replicate`, written again in the bench) and through a handler
 * that does nothing (the poll floor), all read by the stream poller at four reads a second: BENCH_LAG_RATES (writes
 * per second, 200,800), BENCH_LAG_SECONDS (seconds of writes measured per run, 20), BENCH_LAG_WARM_SECONDS (seconds of
 * writes before them in each run, not counted, 2). With the defaults it takes 7 to 8 minutes.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDynamoDbLocal, startDynamoDbLocal, type DynamoDbLocal } from '../test/support/dynamodb-local';
import { loadBundle, replicate } from './bundle';
import { BENCH_CREDENTIALS, clientFor, freshStateTable, freshTable, rawBatchWrites } from './engine';
import { initialCopyScenario } from './initial-copy';
import { drainScenario, outageScenario } from './isolation';
import { describeMachine, machineLine, markdownTable, type Row } from './report';
import { batchesOf, syntheticRecords, writesOf } from './synthetic';
import { curveScenario, type CurvePoint } from './curve';
import { telemetryScenario, type TelemetryCost } from './telemetry';
import { cpuScenario, type CpuCost } from './cpu';
import { throughputScenario } from './throughput';
import { LAG_BATCH_SIZE, lagScenario, POLL_INTERVAL_MS, type LagResult } from './lag';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 20_000);
const BATCH_SIZE = Number(process.env.BENCH_BATCH_SIZE ?? 1_000);
/** Rounds per scenario: each round measures the baseline and the approaches back to back; medians are reported. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DRAIN_CHANGES = Number(process.env.BENCH_DRAIN_CHANGES ?? 20_000);
const COPY_ITEMS = Number(process.env.BENCH_COPY_ITEMS ?? 20_000);
const COPY_SEGMENTS = Number(process.env.BENCH_COPY_SEGMENTS ?? 8);
const COPY_WORKERS = [1, 2, 4] as const;
const SCENARIOS = ['throughput', 'drain', 'outage', 'copy', 'memory', 'telemetry', 'cpu', 'curve', 'backfill', 'lag'] as const;
const numbers = (name: string, fallback: string): number[] => (process.env[name] ?? fallback).split(',').map(Number);
const CURVE = {
  records: Number(process.env.BENCH_CURVE_RECORDS ?? 20_000),
  batchSizes: numbers('BENCH_CURVE_BATCH_SIZES', '100,500,1000,5000'),
  concurrencies: numbers('BENCH_CURVE_CONCURRENCIES', '8,16,32,64'),
  factors: numbers('BENCH_CURVE_FACTORS', '1,4'),
};
/** Stream records per telemetry run, and its batch sizes: the default one and a live-rate one. */
const TELEMETRY_RECORDS = Number(process.env.BENCH_TELEMETRY_RECORDS ?? 10_000);
const TELEMETRY_BATCH_SIZES = [100, 25] as const;
/** Batch sizes of the CPU scenario (as many records as the telemetry one): the module's default, 100, and a live-rate one. */
const CPU_BATCH_SIZES = [1000, 100, 25] as const;
/** The lag scenario's write rates, and the seconds of writes it measures (and warms with) per run. */
const LAG = {
  rates: numbers('BENCH_LAG_RATES', '200,800'),
  seconds: Number(process.env.BENCH_LAG_SECONDS ?? 20),
  warmSeconds: Number(process.env.BENCH_LAG_WARM_SECONDS ?? 2),
};
type Scenario = (typeof SCENARIOS)[number];
const ONLY = new Set((process.env.BENCH_ONLY ?? SCENARIOS.join(',')).split(',').map((name) => name.trim()));
for (const name of ONLY) if (!(SCENARIOS as readonly string[]).includes(name)) throw new Error(`BENCH_ONLY: "${name}" is not one of ${SCENARIOS.join(', ')}`);
const runs = (scenario: Scenario): boolean => ONLY.has(scenario);

interface MemoryResult {
  eventOnlyRssMb: number;
  peakRssMb: number;
  eventJsonMb: number;
}

async function memoryScenario(engine: DynamoDbLocal): Promise<MemoryResult> {
  const [event] = batchesOf(syntheticRecords({ records: 10_000, keys: 10_000, deleteShare: 0.05, seed: 4 }).records, 10_000);
  const eventFile = join(mkdtempSync(join(tmpdir(), 'bench-')), 'event.json');
  writeFileSync(eventFile, JSON.stringify(event));
  const output = execFileSync(process.execPath, ['--expose-gc', 'bench/memory-probe.mjs'], {
    env: { ...process.env, PROBE_ENDPOINT: engine.endpoint, PROBE_TABLE: await freshTable(engine, 'memory'), PROBE_STATE_TABLE: await freshStateTable(engine), PROBE_EVENT_FILE: eventFile },
    encoding: 'utf8',
  });
  const result = JSON.parse(output.trim().split('\n').at(-1) ?? '{}') as MemoryResult;
  writeFileSync('bench/memory.json', `${JSON.stringify(result, null, 2)}\n`);
  return result;
}

interface BackfillResult {
  items: number;
  backfillItemsPerSec: number;
  rawItemsPerSec: number;
  ratio: number;
}

/**
 * The command-line backfill (no state table) runs in a process of its own, with its own engines; its last line is
 * its result. It gets none of the bundle's REPLICATOR_* settings this process has set.
 */
function backfillScenario(): BackfillResult {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('REPLICATOR_') && name !== 'AWS_ENDPOINT_URL_DYNAMODB'));
  const output = execFileSync(process.execPath, ['--import', 'tsx', 'bench/backfill.ts'], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(output.trim().split('\n').at(-1) ?? '{}') as BackfillResult;
}

/** Warms the JIT of this process and of every engine, for each kind of call the scenarios make, before any measure. */
async function warmUp(masterEngine: DynamoDbLocal, slaveEngines: readonly DynamoDbLocal[]): Promise<void> {
  const warm = syntheticRecords({ records: 3_000, keys: 3_000, deleteShare: 0, seed: 99 }).records;
  for (const engine of [masterEngine, ...slaveEngines]) await rawBatchWrites(clientFor(engine), await freshTable(engine, 'warm'), writesOf(warm), 8);
  const warmTables = await Promise.all(slaveEngines.map((engine) => freshTable(engine, 'warm')));
  const bundle = await loadBundle({
    slaves: Object.fromEntries(slaveEngines.map((engine, i) => [`w${i}`, { region: 'eu-west-1', table_name: warmTables[i] ?? '', endpoint: engine.endpoint }])),
    masterEngine,
    stateTable: await freshStateTable(masterEngine),
  });
  await replicate(bundle, batchesOf(warm, BATCH_SIZE));
  const [slaveEngine] = slaveEngines;
  if (slaveEngine === undefined) throw new Error('no slave engine');
  const settings = { batchSize: BATCH_SIZE, rounds: 1, masterEngine };
  if (runs('drain') || runs('outage')) await drainScenario(3_000, slaveEngine, settings);
  if (runs('copy')) await initialCopyScenario({ items: 3_000, totalSegments: COPY_SEGMENTS, workers: [2], rounds: 1, masterEngine, slaveEngine });
}

async function main(): Promise<void> {
  const started = performance.now();
  // Every bundle instance has its own SDK, and each would warn that Node 20 is near its end of support.
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: BENCH_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: BENCH_CREDENTIALS.secretAccessKey, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
  const machine = describeMachine((await ensureDynamoDbLocal()).version);
  // The master's region (state tables, the copy's master) has an engine of its own; the slaves have three.
  const [masterEngine, first, second, third] = await Promise.all([startDynamoDbLocal(), startDynamoDbLocal(), startDynamoDbLocal(), startDynamoDbLocal()]);
  const rows: Row[] = [];
  const notes: string[] = [];
  let memory: MemoryResult | undefined;
  let telemetry: TelemetryCost[] | undefined;
  let cpu: CpuCost[] | undefined;
  let curve: CurvePoint[] | undefined;
  let lag: LagResult | undefined;
  try {
    await warmUp(masterEngine, [first, second, third]);
    const settings = { batchSize: BATCH_SIZE, rounds: ROUNDS, masterEngine };
    if (runs('throughput')) {
      rows.push(...(await throughputScenario('uniform keys, 1 slave', { records: RECORDS, keys: RECORDS, deleteShare: 0.05, seed: 1 }, [first], true, settings)).rows);
      rows.push(...(await throughputScenario('uniform keys, 3 slaves (3 engines)', { records: RECORDS, keys: RECORDS, deleteShare: 0.05, seed: 2 }, [first, second, third], false, settings)).rows);
      rows.push(...(await throughputScenario('hot keys (500 keys), 1 slave', { records: RECORDS, keys: 500, deleteShare: 0.1, seed: 3 }, [first], true, settings)).rows);
    }
    if (runs('drain')) rows.push(...(await drainScenario(DRAIN_CHANGES, first, settings)).rows);
    if (runs('outage')) rows.push(...(await outageScenario(RECORDS, [first, second], settings)).rows);
    if (runs('copy')) rows.push(...(await initialCopyScenario({ items: COPY_ITEMS, totalSegments: COPY_SEGMENTS, workers: COPY_WORKERS, rounds: ROUNDS, masterEngine, slaveEngine: first })).rows);
    if (runs('memory')) {
      memory = await memoryScenario(first);
      notes.push(
        `memory, one batch of 10,000 records (${memory.eventJsonMb.toFixed(1)} MB of JSON): peak RSS ${memory.peakRssMb.toFixed(0)} MB against ${memory.eventOnlyRssMb.toFixed(0)} MB for the runtime holding the parsed event alone (${(memory.peakRssMb / memory.eventOnlyRssMb).toFixed(2)}x)`,
      );
    }
    if (runs('telemetry')) {
      telemetry = await telemetryScenario(TELEMETRY_RECORDS, TELEMETRY_BATCH_SIZES, ROUNDS, first, masterEngine);
      for (const cost of telemetry) {
        notes.push(
          `logs and metrics (Powertools Logger and Metrics), batches of ${cost.batchSize}, 1 slave: ${cost.withTelemetryMs.toFixed(1)} ms of client CPU per 1,000 records against ${cost.withoutTelemetryMs.toFixed(1)} ms with both off (${cost.ratio.toFixed(2)}x)`,
        );
      }
    }
    if (runs('cpu')) {
      cpu = await cpuScenario(TELEMETRY_RECORDS, CPU_BATCH_SIZES, ROUNDS, first, masterEngine);
      for (const cost of cpu) {
        notes.push(
          `client CPU, batches of ${cost.batchSize}, 1 slave: ${cost.bundleMs.toFixed(1)} ms per 1,000 records through the bundle against ${cost.rawMs.toFixed(1)} ms for a raw BatchWriteItem loop of the same decoded writes (${cost.ratio.toFixed(2)}x) and ${cost.rawBatchesMs.toFixed(1)} ms for the raw loop of the same batches, one after another (${cost.ratioToBatches.toFixed(2)}x)`,
        );
      }
    }
    if (runs('curve')) {
      const result = await curveScenario(first, { ...CURVE, rounds: ROUNDS, masterEngine });
      rows.push(...result.rows.rows);
      curve = result.points;
    }
    if (runs('lag')) {
      lag = await lagScenario({ ...LAG, rounds: ROUNDS, slaveEngine: first });
      for (const point of lag.points) {
        const lagOf = (of: { p50Ms: number; p99Ms: number }): string => `${of.p50Ms.toFixed(0)}/${of.p99Ms.toFixed(0)} ms`;
        notes.push(
          `lag at ${point.rate} writes/s, 1 slave (poller at ${1000 / POLL_INTERVAL_MS} reads/s, batches of up to ${LAG_BATCH_SIZE}, ${point.records} records measured per run), p50/p99: ${lagOf(point.bundle)} through the bundle, ${lagOf(point.peer)} through the lean peer (mapbox's replicate, bench/peer.ts), ${lagOf(point.floor)} for the poll floor (a handler that does nothing); bundle p99 ${point.bundleToPeerP99.toFixed(2)}x the peer's, ${point.bundleToFloorP99.toFixed(2)}x the floor's`,
        );
      }
      notes.push(`lag, items missing from the slaves at the end: ${lag.missing.bundle} through the bundle, ${lag.missing.peer} through the peer`);
    }
  } finally {
    await Promise.all([masterEngine, first, second, third].map((engine) => engine.stop()));
  }
  const backfill = runs('backfill') ? backfillScenario() : undefined;
  if (backfill !== undefined) {
    notes.push(`backfill (CLI, no state table) of ${backfill.items} items: ${backfill.backfillItemsPerSec} items/s against the raw limit of ${backfill.rawItemsPerSec} items/s (${backfill.ratio.toFixed(2)}x)`);
  }
  const wallSeconds = Math.round((performance.now() - started) / 1000);

  console.log(`\n${machineLine(machine)}`);
  console.log(`medians of ${ROUNDS} paired rounds, every ratio against a baseline measured in the same round (the better of the runs before and after); wrong items: the most seen in a round`);
  for (const note of notes) console.log(`- ${note}`);
  console.log(`\n${markdownTable(rows)}\n`);
  console.log(`wall time: ${Math.floor(wallSeconds / 60)} min ${wallSeconds % 60} s`);
  writeFileSync(
    'bench/results.json',
    `${JSON.stringify({ machine, records: RECORDS, batchSize: BATCH_SIZE, rounds: ROUNDS, drainChanges: DRAIN_CHANGES, copyItems: COPY_ITEMS, copySegments: COPY_SEGMENTS, wallSeconds, rows, memory, telemetry, cpu, curve, backfill, lag }, null, 2)}\n`,
  );
}

await main();
