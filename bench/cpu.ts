/**
 * Client CPU per record (issue 13's target: at most 1.1x raw): the bundle's CPU (user + system, `process.cpuUsage()`
 * around its invocations, decoding, compaction, the state read, logs and metrics included) per 1,000 records, against
 * two raw BatchWriteItem loops writing the same records, already decoded, at the bundle's default write concurrency,
 * through the SDK's client as a user creates it (`new DynamoDBClient(...)`: its default middleware, keep-alive
 * sockets, no cache), the raw SDK call the target names:
 * - the raw loop (the target's baseline): every record's write, the calls kept in flight across the whole run;
 * - the raw loop of the same batches: each batch's writes, one batch after another as Lambda invokes on a shard, the
 *   fewest calls a replicator of these batches makes. Small batches cost it more too: each call waits alone.
 * Each round measures both loops before and after the bundle and takes each one's mean as its baseline, so neither
 * order is favoured.
 */
import { DynamoDBClient, type WriteRequest } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { DEFAULTS } from '../handler/config';
import type { DynamoDbLocal } from '../test/support/dynamodb-local';
import { loadWarmBundle, replicate } from './bundle';
import { BENCH_CREDENTIALS, dropTable, freshStateTable, freshTable, rawBatchWrites } from './engine';
import { betweenEachBaseline } from './report';
import { batchesOf, syntheticRecords, writesOf } from './synthetic';

export interface CpuCost {
  readonly batchSize: number;
  /** Median client CPU milliseconds per 1,000 records through the bundle. */
  readonly bundleMs: number;
  /** Median of the rounds' baselines: the raw loop's CPU per 1,000 records. */
  readonly rawMs: number;
  /** Median of the rounds' ratios, each against its own round's baseline. */
  readonly ratio: number;
  /** The same for the raw loop of the same batches. */
  readonly rawBatchesMs: number;
  readonly ratioToBatches: number;
}

const perThousand = (used: NodeJS.CpuUsage, records: number): number => (used.user + used.system) / 1000 / (records / 1000);

const sdkClients = new Map<string, DynamoDBClient>();

/** The SDK's DynamoDB client with its defaults, as a user creates it, one per engine. */
function sdkClientFor(engine: DynamoDbLocal): DynamoDBClient {
  let client = sdkClients.get(engine.endpoint);
  if (client === undefined) {
    client = new DynamoDBClient({ region: 'eu-west-1', endpoint: engine.endpoint, credentials: BENCH_CREDENTIALS });
    sdkClients.set(engine.endpoint, client);
  }
  return client;
}

/** The raw loop's CPU per 1,000 writes, for writes in groups written one after another. */
async function rawCpu(groups: readonly (readonly WriteRequest[])[], engine: DynamoDbLocal): Promise<number> {
  const table = await freshTable(engine, 'cpu-raw');
  try {
    const started = process.cpuUsage();
    for (const writes of groups) await rawBatchWrites(sdkClientFor(engine), table, writes, DEFAULTS.writeConcurrency);
    return perThousand(process.cpuUsage(started), groups.reduce((sum, writes) => sum + writes.length, 0));
  } finally {
    await dropTable(engine, table);
  }
}

async function bundleCpu(batches: readonly DynamoDBStreamEvent[], records: number, slaveEngine: DynamoDbLocal, masterEngine: DynamoDbLocal): Promise<number> {
  const [table, stateTable] = await Promise.all([freshTable(slaveEngine, 'cpu'), freshStateTable(masterEngine)]);
  try {
    const bundle = await loadWarmBundle({ slaves: { s0: { region: 'eu-west-1', table_name: table, endpoint: slaveEngine.endpoint } }, masterEngine, stateTable }, batches[0]?.Records.length ?? 1);
    const started = process.cpuUsage();
    await replicate(bundle, batches);
    return perThousand(process.cpuUsage(started), records);
  } finally {
    await Promise.all([dropTable(slaveEngine, table), dropTable(masterEngine, stateTable)]);
  }
}

export async function cpuScenario(records: number, batchSizes: readonly number[], rounds: number, slaveEngine: DynamoDbLocal, masterEngine: DynamoDbLocal): Promise<CpuCost[]> {
  // Unique keys: compaction leaves every record a write, so both sides make the same writes.
  const { records: stream } = syntheticRecords({ records, keys: records, deleteShare: 0.05, seed: 7 });
  const writes = writesOf(stream);
  const costs: CpuCost[] = [];
  for (const batchSize of batchSizes) {
    const batches = batchesOf(stream, batchSize);
    const batchWrites = batches.map((batch) => writesOf(batch.Records));
    const [flat, perBatch] = await betweenEachBaseline(
      rounds,
      [() => rawCpu([writes], slaveEngine), () => rawCpu(batchWrites, slaveEngine)],
      () => bundleCpu(batches, records, slaveEngine, masterEngine),
    );
    if (flat === undefined || perBatch === undefined) throw new Error('the raw loops were not measured');
    costs.push({ batchSize, bundleMs: flat.measured, rawMs: flat.baseline, ratio: flat.ratio, rawBatchesMs: perBatch.baseline, ratioToBatches: perBatch.ratio });
  }
  return costs;
}
