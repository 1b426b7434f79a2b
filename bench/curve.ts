/**
 * The curve the module's defaults are chosen from: the bundle's throughput into one slave at each batch size, write
 * concurrency (REPLICATOR_WRITE_CONCURRENCY) and parallelization factor, against the raw BatchWriteItem limit. Each
 * batch size's runs sit between a raw measure before and one after them; every ratio is against the better of the
 * two, and the table shows the median of the rounds.
 *
 * The parallelization factor is emulated as Lambda applies it to one shard: its records are split by partition key
 * into `factor` streams, each in the shard's order, whose batches run one after another while the streams run at once.
 */
import type { DynamoDBRecord } from 'aws-lambda';
import type { DynamoDbLocal } from '../test/support/dynamodb-local';
import { laneOfKeys } from '../test/support/stream-poller';
import { loadWarmBundle, quietly, replicateLoud, type Bundle } from './bundle';
import { dropTable, freshStateTable, freshTable, RawLimit } from './engine';
import { median, ScenarioRows, timed } from './report';
import { batchesOf, syntheticRecords, writesOf, wrongItems } from './synthetic';

export interface CurveSettings {
  readonly records: number;
  readonly batchSizes: readonly number[];
  readonly concurrencies: readonly number[];
  readonly factors: readonly number[];
  readonly rounds: number;
  readonly masterEngine: DynamoDbLocal;
}

/** One point of the curve: its median ratio to the raw limit, and the most wrong items seen in a round. */
export interface CurvePoint {
  readonly batchSize: number;
  readonly writeConcurrency: number;
  readonly factor: number;
  readonly ratio: number;
  readonly recordsPerSec: number;
  readonly wrongItems: number;
}

/** A shard's records as `factor` streams, split by key as the integration tests' poller does, each in the shard's order. */
export function streamsByKey(records: readonly DynamoDBRecord[], factor: number): DynamoDBRecord[][] {
  const streams: DynamoDBRecord[][] = Array.from({ length: factor }, () => []);
  for (const record of records) streams[laneOfKeys(record.dynamodb?.Keys ?? {}, factor)]?.push(record);
  return streams;
}

async function replicateAtFactor(bundle: Bundle, records: readonly DynamoDBRecord[], batchSize: number, factor: number): Promise<void> {
  const streams = streamsByKey(records, factor).map((stream) => batchesOf(stream, batchSize));
  await quietly(() => Promise.all(streams.map((batches) => replicateLoud(bundle, batches))));
}

export async function curveScenario(engine: DynamoDbLocal, settings: CurveSettings): Promise<{ rows: ScenarioRows; points: CurvePoint[] }> {
  const { records, finalState } = syntheticRecords({ records: settings.records, keys: settings.records, deleteShare: 0.05, seed: 6 });
  const raw = new RawLimit([engine], writesOf(records));
  const configs = settings.batchSizes.flatMap((batchSize) => settings.concurrencies.flatMap((writeConcurrency) => settings.factors.map((factor) => ({ batchSize, writeConcurrency, factor }))));
  const seconds = new Map(configs.map((config) => [config, [] as number[]]));
  const ratios = new Map(configs.map((config) => [config, [] as number[]]));
  const wrong = new Map(configs.map((config) => [config, 0]));
  const limits: number[] = [];
  for (let round = 0; round < settings.rounds; round += 1) {
    for (const batchSize of settings.batchSizes) {
      const before = await raw.measure();
      const measured: [(typeof configs)[number], number][] = [];
      for (const config of configs.filter((candidate) => candidate.batchSize === batchSize)) {
        const table = await freshTable(engine, 'curve');
        const stateTable = await freshStateTable(settings.masterEngine);
        const bundle = await loadWarmBundle({ slaves: { s0: { region: 'eu-west-1', table_name: table, endpoint: engine.endpoint } }, masterEngine: settings.masterEngine, stateTable, writeConcurrency: config.writeConcurrency }, config.batchSize);
        measured.push([config, await timed(() => replicateAtFactor(bundle, records, config.batchSize, config.factor))]);
        wrong.set(config, Math.max(wrong.get(config) ?? 0, await wrongItems(engine, table, finalState)));
        await Promise.all([dropTable(engine, table), dropTable(settings.masterEngine, stateTable)]);
      }
      const limit = Math.min(before, await raw.measure());
      limits.push(limit);
      for (const [config, taken] of measured) {
        seconds.get(config)?.push(taken);
        ratios.get(config)?.push(limit / taken);
      }
    }
  }
  const rows = new ScenarioRows(`curve, ${settings.records} records, 1 slave`);
  rows.add(`raw BatchWriteItem, ${raw.concurrency} calls at once (engine limit)`, records.length, 'records/s', limits, { toRaw: limits.map(() => 1) });
  const points: CurvePoint[] = [];
  for (const config of configs) {
    const taken = seconds.get(config) ?? [];
    rows.add(`batches of ${config.batchSize}, write concurrency ${config.writeConcurrency}, factor ${config.factor}`, records.length, 'records/s', taken, { toRaw: ratios.get(config) ?? [] }, wrong.get(config) ?? 0);
    points.push({ ...config, ratio: median(ratios.get(config) ?? []), recordsPerSec: Math.round(median(taken.map((s) => records.length / s))), wrongItems: wrong.get(config) ?? 0 });
  }
  return { rows, points };
}
