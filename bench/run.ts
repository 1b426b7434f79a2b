/**
 * `npm run bench`: replication throughput and memory on DynamoDB Local, each against a baseline measured in the same
 * run, so the ratios hold whatever the machine. Prints a Markdown table and writes bench/results.json.
 */
import { DeleteItemCommand, PutItemCommand, ScanCommand, type WriteRequest } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { decodeImage } from '../handler/attribute-value';
import { startDynamoDbLocal, type DynamoDbLocal } from '../test/support/dynamodb-local';
import { BENCH_CREDENTIALS, clientFor, freshTable, RAW_CONCURRENCIES, rawBatchWrites } from './engine';
import { batchesOf, syntheticRecords, type WorkloadShape } from './synthetic';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 20_000);
const BATCH_SIZE = Number(process.env.BENCH_BATCH_SIZE ?? 1_000);
const BUNDLE = pathToFileURL(resolve('dist/lambda/index.mjs')).href;

type Handler = (event: DynamoDBStreamEvent, context: { getRemainingTimeInMillis(): number }) => Promise<{ batchItemFailures: unknown[] }>;

interface Row {
  scenario: string;
  approach: string;
  records: number;
  seconds: number;
  recordsPerSec: number;
  ratioToRaw: number | null;
  staleOrMissing: number | null;
}

const rows: Row[] = [];
let bundleInstances = 0;

/** Loads a fresh instance of the committed bundle with these slaves (a new URL is a new module). */
async function loadBundle(slaves: Record<string, { region: string; table_name: string; endpoint: string }>): Promise<Handler> {
  process.env.REPLICATOR_SLAVES = JSON.stringify(slaves);
  process.env.AWS_ACCESS_KEY_ID = BENCH_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = BENCH_CREDENTIALS.secretAccessKey;
  bundleInstances += 1;
  const module = (await import(`${BUNDLE}?instance=${bundleInstances}`)) as { handler: Handler };
  return module.handler;
}

async function timed(work: () => Promise<void>): Promise<number> {
  const started = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** The replicator as Lambda runs it on one shard: one batch at a time, in order. */
async function replicate(handler: Handler, batches: readonly DynamoDBStreamEvent[]): Promise<void> {
  const quiet = process.stdout.write.bind(process.stdout);
  process.stdout.write = () => true;
  try {
    for (const batch of batches) {
      const response = await handler(batch, { getRemainingTimeInMillis: () => 300_000 });
      if (response.batchItemFailures.length > 0) throw new Error('the replicator reported a failure during the benchmark');
    }
  } finally {
    process.stdout.write = quiet;
  }
}

/** Every record's write, as the raw baseline sends it (no compaction). */
function writesOf(records: readonly DynamoDBRecord[]): WriteRequest[] {
  return records.map((record) =>
    record.eventName === 'REMOVE'
      ? { DeleteRequest: { Key: decodeImage(record.dynamodb?.Keys, 'Keys') } }
      : { PutRequest: { Item: decodeImage(record.dynamodb?.NewImage, 'NewImage') } },
  );
}

/** The original package: one PutItem or DeleteItem per record, all of a batch fired at once. */
async function originalPackage(engine: DynamoDbLocal, table: string, batches: readonly DynamoDBStreamEvent[]): Promise<void> {
  const client = clientFor(engine);
  for (const batch of batches) {
    await Promise.all(
      batch.Records.map((record) =>
        record.eventName === 'REMOVE'
          ? client.send(new DeleteItemCommand({ TableName: table, Key: decodeImage(record.dynamodb?.Keys, 'Keys') }))
          : client.send(new PutItemCommand({ TableName: table, Item: decodeImage(record.dynamodb?.NewImage, 'NewImage') })),
      ),
    );
  }
}

/** Items whose state differs from the last change of their key: stale, missing, or brought back. */
async function wrongItems(engine: DynamoDbLocal, table: string, finalState: ReadonlyMap<string, string | null>): Promise<number> {
  const found = new Map<string, string>();
  let start: Record<string, never> | undefined;
  const client = clientFor(engine);
  do {
    const page = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    for (const item of page.Items ?? []) found.set(item.pk?.S ?? '', item.version?.S ?? '');
    start = page.LastEvaluatedKey as Record<string, never> | undefined;
  } while (start !== undefined);
  let wrong = 0;
  for (const [key, version] of finalState) if ((found.get(key) ?? null) !== version) wrong += 1;
  return wrong;
}

/** Rounds per scenario: each round measures the raw limit and the approaches back to back; the median is reported. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

async function rawSecondsAt(engines: readonly DynamoDbLocal[], writes: readonly WriteRequest[], concurrency: number): Promise<number> {
  const rawTables = await Promise.all(engines.map((engine) => freshTable(engine, 'raw')));
  return Math.max(...(await Promise.all(engines.map((engine, i) => rawBatchWrites(clientFor(engine), rawTables[i] ?? '', writes, concurrency)))));
}

/**
 * One scenario, in ROUNDS rounds. A round times the raw limit, then the replicator, then the original package, so
 * each ratio compares runs made seconds apart; the table shows medians, which a passing load on the machine moves
 * far less than a single run. The raw limit's concurrency is the best of RAW_CONCURRENCIES in the first round.
 */
async function throughputScenario(name: string, shape: WorkloadShape, engines: readonly DynamoDbLocal[], withOriginal: boolean): Promise<void> {
  const { records, finalState } = syntheticRecords(shape);
  const batches = batchesOf(records, BATCH_SIZE);
  const writes = writesOf(records);
  const first = engines[0];
  if (first === undefined) throw new Error('no engine');

  const timings = { raw: [] as number[], replicator: [] as number[], original: [] as number[] };
  const ratios = { replicator: [] as number[], original: [] as number[] };
  let wrong = 0;
  let originalWrong = 0;
  let bestConcurrency: number = RAW_CONCURRENCIES[0];
  for (let round = 0; round < ROUNDS; round += 1) {
    let rawSeconds: number;
    if (round === 0) {
      rawSeconds = Number.POSITIVE_INFINITY;
      for (const concurrency of RAW_CONCURRENCIES) {
        const seconds = await rawSecondsAt(engines, writes, concurrency);
        if (seconds < rawSeconds) [rawSeconds, bestConcurrency] = [seconds, concurrency];
      }
    } else {
      rawSeconds = await rawSecondsAt(engines, writes, bestConcurrency);
    }
    timings.raw.push(rawSeconds);

    const tables = await Promise.all(engines.map((engine) => freshTable(engine, 'replica')));
    const handler = await loadBundle(Object.fromEntries(engines.map((engine, i) => [`s${i}`, { region: 'eu-west-1', table_name: tables[i] ?? '', endpoint: engine.endpoint }])));
    const seconds = await timed(() => replicate(handler, batches));
    timings.replicator.push(seconds);
    ratios.replicator.push(rawSeconds / seconds);
    wrong = Math.max(wrong, (await Promise.all(engines.map((engine, i) => wrongItems(engine, tables[i] ?? '', finalState)))).reduce((a, b) => a + b, 0));

    if (withOriginal) {
      const table = await freshTable(first, 'original');
      const originalSeconds = await timed(() => originalPackage(first, table, batches));
      timings.original.push(originalSeconds);
      if (engines.length === 1) ratios.original.push(rawSeconds / originalSeconds);
      originalWrong = Math.max(originalWrong, await wrongItems(first, table, finalState));
    }
  }

  const row = (approach: string, seconds: readonly number[], ratio: number | null, staleOrMissing: number | null): void => {
    const typical = median(seconds);
    rows.push({ scenario: name, approach, records: records.length, seconds: typical, recordsPerSec: Math.round(records.length / typical), ratioToRaw: ratio, staleOrMissing });
  };
  row(`raw BatchWriteItem, ${bestConcurrency} calls at once (best of ${RAW_CONCURRENCIES.join('/')}: engine limit)`, timings.raw, 1, null);
  row(`dynamo-replicator (bundle, batches of ${BATCH_SIZE})`, timings.replicator, median(ratios.replicator), wrong);
  if (withOriginal) row('original package (PutItem/DeleteItem per record, all at once)', timings.original, ratios.original.length > 0 ? median(ratios.original) : null, originalWrong);
}

async function memoryScenario(engine: DynamoDbLocal): Promise<void> {
  const [event] = batchesOf(syntheticRecords({ records: 10_000, keys: 10_000, deleteShare: 0.05, seed: 4 }).records, 10_000);
  const eventFile = join(mkdtempSync(join(tmpdir(), 'bench-')), 'event.json');
  writeFileSync(eventFile, JSON.stringify(event));
  const output = execFileSync(process.execPath, ['--expose-gc', 'bench/memory-probe.mjs'], {
    env: { ...process.env, PROBE_ENDPOINT: engine.endpoint, PROBE_TABLE: await freshTable(engine, 'memory'), PROBE_EVENT_FILE: eventFile },
    encoding: 'utf8',
  });
  const result = JSON.parse(output.trim().split('\n').at(-1) ?? '{}') as { eventOnlyRssMb: number; peakRssMb: number; eventJsonMb: number };
  console.log(`memory, one batch of 10,000 records (${result.eventJsonMb.toFixed(1)} MB of JSON): peak RSS ${result.peakRssMb.toFixed(0)} MB against ${result.eventOnlyRssMb.toFixed(0)} MB for the runtime holding the parsed event alone (${(result.peakRssMb / result.eventOnlyRssMb).toFixed(2)}x)`);
  writeFileSync('bench/memory.json', `${JSON.stringify(result, null, 2)}\n`);
}

/** The backfill benchmark runs in a process of its own, with its own engines; its last line is its result. */
function backfillScenario(): Record<string, unknown> {
  const output = execFileSync(process.execPath, ['--import', 'tsx', 'bench/backfill.ts'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const result = JSON.parse(output.trim().split('\n').at(-1) ?? '{}') as { backfillItemsPerSec: number; rawItemsPerSec: number; ratio: number; items: number };
  console.log(`backfill of ${result.items} items: ${result.backfillItemsPerSec} items/s against the raw limit of ${result.rawItemsPerSec} items/s (${result.ratio.toFixed(2)}x)`);
  return result;
}

async function main(): Promise<void> {
  const first = await startDynamoDbLocal();
  const engines = [first, ...(await Promise.all([startDynamoDbLocal(), startDynamoDbLocal()]))];
  try {
    // Warm the JIT of both this process and the engines before anything is measured.
    const warmUp = syntheticRecords({ records: 3_000, keys: 3_000, deleteShare: 0, seed: 99 }).records;
    for (const engine of engines) await rawBatchWrites(clientFor(engine), await freshTable(engine, 'warm'), writesOf(warmUp), 8);
    const warmTables = await Promise.all(engines.map((engine) => freshTable(engine, 'warm')));
    await replicate(
      await loadBundle(Object.fromEntries(engines.map((engine, i) => [`w${i}`, { region: 'eu-west-1', table_name: warmTables[i] ?? '', endpoint: engine.endpoint }]))),
      batchesOf(warmUp, BATCH_SIZE),
    );
    await throughputScenario('uniform keys, 1 slave', { records: RECORDS, keys: RECORDS, deleteShare: 0.05, seed: 1 }, [first], true);
    await throughputScenario('uniform keys, 3 slaves (3 engines)', { records: RECORDS, keys: RECORDS, deleteShare: 0.05, seed: 2 }, engines, false);
    await throughputScenario('hot keys (500 keys), 1 slave', { records: RECORDS, keys: 500, deleteShare: 0.1, seed: 3 }, [first], true);
    await memoryScenario(first);
  } finally {
    await Promise.all(engines.map((engine) => engine.stop()));
  }
  console.log(`\nmedians of ${ROUNDS} rounds; wrong items: the most seen in a round`);
  console.log('\n| scenario | approach | records/s | vs raw limit | wrong items at the end |\n| --- | --- | ---: | ---: | ---: |');
  for (const row of rows) {
    console.log(`| ${row.scenario} | ${row.approach} | ${row.recordsPerSec} | ${row.ratioToRaw === null ? 'n/a' : `${row.ratioToRaw.toFixed(2)}x`} | ${row.staleOrMissing ?? '-'} |`);
  }
  const backfill = backfillScenario();
  writeFileSync('bench/results.json', `${JSON.stringify({ records: RECORDS, batchSize: BATCH_SIZE, rows, backfill }, null, 2)}\n`);
}

await main();
