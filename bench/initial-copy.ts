/**
 * A new slave's initial copy, against the raw BatchWriteItem limit of the slave's engine on the same items: through
 * the bundle's `copySegment`, invoked as the Step Functions Distributed Map does (each segment again until done,
 * `workers` segments at once), with 1, 2 and 4 workers; and through the command-line backfill into an
 * `initial_copy` slave with a state table.
 */
import { ScanCommand, type AttributeValue, type DynamoDBClient, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBackfill } from '../handler/cli/backfill';
import { parseBackfillOptions } from '../handler/cli/options';
import { createClientProvider } from '../handler/clients';
import type { DynamoDbLocal } from '../test/support/dynamodb-local';
import { randomItem, seededRandom, workloadKey } from '../test/support/workload';
import { contextWith, loadBundle, quietly, type Bundle } from './bundle';
import { clientFor, countItems, dropTable, freshStateTable, freshTable, RAW_CONCURRENCIES, rawBatchWrites, RawLimit } from './engine';
import { ScenarioRows, timed } from './report';

export interface CopySettings {
  readonly items: number;
  /** Segments of the parallel scan, for copySegment and the backfill alike. */
  readonly totalSegments: number;
  /** The numbers of segment workers copySegment is measured with. */
  readonly workers: readonly number[];
  readonly rounds: number;
  /** The engine of the master's region: the master table and the state table. */
  readonly masterEngine: DynamoDbLocal;
  readonly slaveEngine: DynamoDbLocal;
}

/** Function time each copySegment invocation gets: the module's default timeout of the copy function (900 s). */
const COPY_TIMEOUT_MS = 900_000;

type Item = Record<string, AttributeValue>;

async function scanAll(client: DynamoDBClient, table: string): Promise<Item[]> {
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
}

/** The Distributed Map: `workers` iterations at once, each invoking one segment again until it is done. */
async function distributedMap(bundle: Bundle, slave: string, totalSegments: number, workers: number): Promise<{ copied: boolean; invocations: number }> {
  const queue = Array.from({ length: totalSegments }, (_, segment) => segment);
  let copied = false;
  let invocations = 0;
  const worker = async (): Promise<void> => {
    for (let segment = queue.shift(); segment !== undefined; segment = queue.shift()) {
      for (let done = false; !done; ) {
        invocations += 1;
        const result = await bundle.copySegment({ slave, segment, totalSegments, settleSeconds: 0 }, contextWith(COPY_TIMEOUT_MS));
        copied ||= result.copied;
        done = result.done;
      }
    }
  };
  await quietly(() => Promise.all(Array.from({ length: workers }, worker)));
  return { copied, invocations };
}

/** A copy of the master into a new slave; resolves with its seconds, after checking the slave holds every item. */
type Copy = (slaveTable: string, stateTable: string) => Promise<number>;

export async function initialCopyScenario(settings: CopySettings): Promise<ScenarioRows> {
  const { masterEngine, slaveEngine, totalSegments } = settings;
  const random = seededRandom(5);
  const seeded = Array.from({ length: settings.items }, (_, index) => randomItem(random, workloadKey(index, false), 0));
  const master = await freshTable(masterEngine, 'master', { stream: true });
  await rawBatchWrites(clientFor(masterEngine), master, seeded.map((item) => ({ PutRequest: { Item: item } })), 16);
  // The items as the copy reads them, so the raw limit writes the very same bytes.
  const writes: WriteRequest[] = (await scanAll(clientFor(masterEngine), master)).map((item) => ({ PutRequest: { Item: item } }));
  const raw = new RawLimit([slaveEngine], writes);

  const viaCopySegment =
    (workers: number): Copy =>
    async (slaveTable, stateTable) => {
      const bundle = await loadBundle({ slaves: { fresh: { region: 'eu-west-1', table_name: slaveTable, endpoint: slaveEngine.endpoint, initial_copy: true } }, masterEngine, stateTable, masterTable: master });
      let result = { copied: false, invocations: 0 };
      const seconds = await timed(async () => (result = await distributedMap(bundle, 'fresh', totalSegments, workers)));
      if (!result.copied) throw new Error(`copySegment with ${workers} workers never marked the slave copied`);
      return seconds;
    };
  const viaBackfill: Copy = async (slaveTable, stateTable) => {
    const checkpointDir = mkdtempSync(join(tmpdir(), 'bench-copy-'));
    try {
      const slaves = JSON.stringify({ fresh: { region: 'eu-west-1', table_name: slaveTable, endpoint: slaveEngine.endpoint, initial_copy: true } });
      // The command line's own defaults (workers, page size, write concurrency), as `backfill --settle-seconds 0` has them.
      const options = parseBackfillOptions(
        { table: master, region: 'eu-west-1', endpoint: masterEngine.endpoint, slaves, stateTable, segments: String(totalSegments), checkpointDir, settleSeconds: '0', progress: false },
        {},
      );
      let copied: readonly string[] = [];
      const seconds = await timed(async () => {
        const summary = await runBackfill(options, { clients: createClientProvider(), stderr: { write: () => true }, signal: new AbortController().signal });
        if (summary.failedWrites > 0 || summary.itemsCopied !== settings.items) throw new Error(`the backfill copied ${summary.itemsCopied} of ${settings.items} items, ${summary.failedWrites} writes failed`);
        copied = summary.markedCopied;
      });
      if (!copied.includes('fresh')) throw new Error('the backfill never marked the slave copied');
      return seconds;
    } finally {
      rmSync(checkpointDir, { recursive: true, force: true });
    }
  };
  const approaches: { approach: string; copy: Copy; seconds: number[]; ratios: number[] }[] = [
    ...settings.workers.map((workers) => ({
      approach: `bundle's copySegment, ${totalSegments} segments, ${workers} at once (Distributed Map)`,
      copy: viaCopySegment(workers),
      seconds: [] as number[],
      ratios: [] as number[],
    })),
    { approach: `CLI backfill into an initial_copy slave (runBackfill, state table, ${totalSegments} segments, default workers)`, copy: viaBackfill, seconds: [], ratios: [] },
  ];

  const rawSeconds: number[] = [];
  try {
    for (let round = 0; round < settings.rounds; round += 1) {
      const before = await raw.measure();
      const measured: number[] = [];
      for (const { copy } of approaches) {
        const [slaveTable, stateTable] = await Promise.all([freshTable(slaveEngine, 'fresh-slave'), freshStateTable(masterEngine)]);
        measured.push(await copy(slaveTable, stateTable));
        const count = await countItems(slaveEngine, slaveTable);
        if (count !== settings.items) throw new Error(`the copy left ${count} of ${settings.items} items in the slave`);
        await Promise.all([dropTable(slaveEngine, slaveTable), dropTable(masterEngine, stateTable)]);
      }
      const limit = Math.min(before, await raw.measure());
      rawSeconds.push(limit);
      approaches.forEach((approach, i) => {
        const seconds = measured[i] ?? Number.NaN;
        approach.seconds.push(seconds);
        approach.ratios.push(limit / seconds);
      });
    }
  } finally {
    await dropTable(masterEngine, master);
  }
  const rows = new ScenarioRows(`initial copy of ${settings.items} items`);
  rows.add(`raw BatchWriteItem of the same items, ${raw.concurrency} calls at once (best of ${RAW_CONCURRENCIES.join('/')}: engine limit)`, settings.items, 'items/s', rawSeconds, { toRaw: rawSeconds.map(() => 1) });
  for (const approach of approaches) rows.add(approach.approach, settings.items, 'items/s', approach.seconds, { toRaw: approach.ratios });
  return rows;
}
