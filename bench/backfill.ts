/**
 * `npx tsx bench/backfill.ts`: backfill items/s into one slave against the engine's raw BatchWriteItem limit, both
 * measured in this run on the same items, so the ratio holds whatever the machine. The master and the slave are in two
 * DynamoDB Local engines, so the raw writes and the backfill's writes land on an engine doing nothing else. The last
 * line of standard output is one JSON object.
 */
import { BatchWriteItemCommand, CreateTableCommand, DynamoDBClient, ScanCommand, type AttributeValue, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../handler/cli/program';
import { startDynamoDbLocal, type DynamoDbLocal } from '../test/support/dynamodb-local';
import { randomItem, seededRandom, workloadKey } from '../test/support/workload';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 10_000);
/** The raw limit is the best of these concurrencies, so the baseline is the engine's, not a poor client's. */
const RAW_CONCURRENCIES = [8, 16, 32] as const;
const SEGMENTS = 8;
const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };
type Item = Record<string, AttributeValue>;
let tables = 0;

const clientFor = (engine: DynamoDbLocal): DynamoDBClient => new DynamoDBClient({ region: 'eu-west-1', endpoint: engine.endpoint, credentials });

async function freshTable(engine: DynamoDbLocal, label: string, stream = false): Promise<string> {
  tables += 1;
  const name = `bench-${label}-${tables}`;
  await clientFor(engine).send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      ...(stream ? { StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' } } : {}),
    }),
  );
  return name;
}

/** Writes items with BatchWriteItem, 25 a call, `concurrency` calls at once, re-sending unprocessed items; items/s. */
async function rawBatchWrites(client: DynamoDBClient, table: string, items: readonly Item[], concurrency: number): Promise<number> {
  const batches: WriteRequest[][] = [];
  for (let start = 0; start < items.length; start += 25) batches.push(items.slice(start, start + 25).map((item) => ({ PutRequest: { Item: item } })));
  const started = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let batch = batches[next++]; batch !== undefined; batch = batches[next++]) {
      let requests = batch;
      while (requests.length > 0) {
        const { UnprocessedItems } = await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: requests } }));
        requests = UnprocessedItems?.[table] ?? [];
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return items.length / ((performance.now() - started) / 1000);
}

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

async function backfill(masterEngine: DynamoDbLocal, master: string, slaveEngine: DynamoDbLocal, slave: string): Promise<number> {
  const checkpoints = mkdtempSync(join(tmpdir(), 'bench-backfill-'));
  const slaves = JSON.stringify({ bench: { region: 'eu-west-1', table_name: slave, endpoint: slaveEngine.endpoint } });
  let output = '';
  try {
    const started = performance.now();
    const code = await runCli(
      ['backfill', '--table', master, '--region', 'eu-west-1', '--endpoint', masterEngine.endpoint, '--slaves', slaves, '--segments', String(SEGMENTS), '--checkpoint-dir', checkpoints, '--no-progress', '--json'],
      { stdout: { write: (text: string) => (output += text) }, stderr: process.stderr, env: process.env, signal: new AbortController().signal },
    );
    const seconds = (performance.now() - started) / 1000;
    if (code !== 0) throw new Error(`backfill exited ${code}: ${output}`);
    const { itemsCopied } = JSON.parse(output) as { itemsCopied: number };
    if (itemsCopied !== ITEMS) throw new Error(`backfill copied ${itemsCopied} items, not ${ITEMS}`);
    return itemsCopied / seconds;
  } finally {
    rmSync(checkpoints, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey });
  const [masterEngine, slaveEngine] = await Promise.all([startDynamoDbLocal(), startDynamoDbLocal()]);
  try {
    const random = seededRandom(5);
    const seeded = Array.from({ length: ITEMS }, (_, index) => randomItem(random, workloadKey(index, false), 0));
    const master = await freshTable(masterEngine, 'master', true);
    await rawBatchWrites(clientFor(masterEngine), master, seeded, 16);
    // The same items as the backfill reads them, so both sides write the very same bytes.
    const items = await scanAll(clientFor(masterEngine), master);

    // Warm the JIT of this process and of the slave's engine before anything is measured.
    await rawBatchWrites(clientFor(slaveEngine), await freshTable(slaveEngine, 'warm'), items.slice(0, 3_000), 16);
    await backfill(masterEngine, master, slaveEngine, await freshTable(slaveEngine, 'warm'));

    const raw: Record<number, number> = {};
    for (const concurrency of RAW_CONCURRENCIES) raw[concurrency] = await rawBatchWrites(clientFor(slaveEngine), await freshTable(slaveEngine, 'raw'), items, concurrency);
    const backfillItemsPerSec = await backfill(masterEngine, master, slaveEngine, await freshTable(slaveEngine, 'slave'));
    const rawItemsPerSec = Math.max(...Object.values(raw));
    console.log(`raw BatchWriteItem items/s by concurrency: ${JSON.stringify(Object.fromEntries(Object.entries(raw).map(([c, rate]) => [c, Math.round(rate)])))}`);
    console.log(
      JSON.stringify({
        scenario: 'backfill',
        items: ITEMS,
        backfillItemsPerSec: Math.round(backfillItemsPerSec),
        rawItemsPerSec: Math.round(rawItemsPerSec),
        ratio: Number((backfillItemsPerSec / rawItemsPerSec).toFixed(3)),
      }),
    );
  } finally {
    await Promise.all([masterEngine.stop(), slaveEngine.stop()]);
  }
}

await main();
