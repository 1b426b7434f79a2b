/**
 * Throughput of the stream path against the raw BatchWriteItem limit, and the original package's approach: each
 * round measures the raw limit before and after the approaches, and every ratio is against the better of the two.
 */
import { DeleteItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { decodeImage } from '../handler/attribute-value';
import type { DynamoDbLocal } from '../test/support/dynamodb-local';
import { loadWarmBundle, replicate } from './bundle';
import { clientFor, dropTable, freshStateTable, freshTable, RAW_CONCURRENCIES, RawLimit } from './engine';
import { ScenarioRows, timed } from './report';
import { batchesOf, syntheticRecords, writesOf, wrongItems, type WorkloadShape } from './synthetic';

export interface ThroughputSettings {
  readonly batchSize: number;
  readonly rounds: number;
  /** The engine of the master's region, holding the state table. */
  readonly masterEngine: DynamoDbLocal;
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

/**
 * One scenario, in `rounds` rounds. A round times the raw limit, the replicator, the original package and the raw
 * limit again, so each ratio compares runs made seconds apart against the better limit; the table shows medians,
 * which a passing load on the machine moves far less than a single run.
 */
export async function throughputScenario(name: string, shape: WorkloadShape, engines: readonly DynamoDbLocal[], withOriginal: boolean, settings: ThroughputSettings): Promise<ScenarioRows> {
  const { records, finalState } = syntheticRecords(shape);
  const batches = batchesOf(records, settings.batchSize);
  const first = engines[0];
  if (first === undefined) throw new Error('no engine');
  const raw = new RawLimit(engines, writesOf(records));

  const timings = { raw: [] as number[], replicator: [] as number[], original: [] as number[] };
  const ratios = { replicator: [] as number[], original: [] as number[] };
  let wrong = 0;
  let originalWrong = 0;
  for (let round = 0; round < settings.rounds; round += 1) {
    const before = await raw.measure();

    const tables = await Promise.all(engines.map((engine) => freshTable(engine, 'replica')));
    const stateTable = await freshStateTable(settings.masterEngine);
    const bundle = await loadWarmBundle(
      {
        slaves: Object.fromEntries(engines.map((engine, i) => [`s${i}`, { region: 'eu-west-1', table_name: tables[i] ?? '', endpoint: engine.endpoint }])),
        masterEngine: settings.masterEngine,
        stateTable,
      },
      settings.batchSize,
    );
    const seconds = await timed(() => replicate(bundle, batches));
    wrong = Math.max(wrong, (await Promise.all(engines.map((engine, i) => wrongItems(engine, tables[i] ?? '', finalState)))).reduce((a, b) => a + b, 0));
    await Promise.all([...engines.map((engine, i) => dropTable(engine, tables[i] ?? '')), dropTable(settings.masterEngine, stateTable)]);

    let originalSeconds: number | undefined;
    if (withOriginal) {
      const table = await freshTable(first, 'original');
      originalSeconds = await timed(() => originalPackage(first, table, batches));
      originalWrong = Math.max(originalWrong, await wrongItems(first, table, finalState));
      await dropTable(first, table);
    }

    const limit = Math.min(before, await raw.measure());
    timings.raw.push(limit);
    timings.replicator.push(seconds);
    ratios.replicator.push(limit / seconds);
    if (originalSeconds !== undefined) {
      timings.original.push(originalSeconds);
      if (engines.length === 1) ratios.original.push(limit / originalSeconds);
    }
  }

  const rows = new ScenarioRows(name);
  rows.add(`raw BatchWriteItem, ${raw.concurrency} calls at once (best of ${RAW_CONCURRENCIES.join('/')}: engine limit)`, records.length, 'records/s', timings.raw, { toRaw: timings.raw.map(() => 1) });
  rows.add(`dynamo-replicator (bundle, batches of ${settings.batchSize})`, records.length, 'records/s', timings.replicator, { toRaw: ratios.replicator }, wrong);
  if (withOriginal) {
    rows.add('original package (PutItem/DeleteItem per record, all at once)', records.length, 'records/s', timings.original, ratios.original.length > 0 ? { toRaw: ratios.original } : {}, originalWrong);
  }
  return rows;
}
