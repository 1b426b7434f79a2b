/**
 * `npx tsx bench/backfill.ts`: backfill items/s into one slave against the engine's raw BatchWriteItem limit, both
 * measured in this run on the same items, so the ratio holds whatever the machine. The master and the slave are in two
 * DynamoDB Local engines, so the raw writes and the backfill's writes land on an engine doing nothing else. The last
 * line of standard output is one JSON object.
 */
import { ScanCommand, type AttributeValue, type DynamoDBClient, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../handler/cli/program';
import { BENCH_CREDENTIALS, clientFor, freshTable, RAW_CONCURRENCIES, rawBatchWrites } from './engine';
import { startDynamoDbLocal, type DynamoDbLocal } from '../test/support/dynamodb-local';
import { randomItem, seededRandom, workloadKey } from '../test/support/workload';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 10_000);
const SEGMENTS = 8;
type Item = Record<string, AttributeValue>;

const puts = (items: readonly Item[]): WriteRequest[] => items.map((item) => ({ PutRequest: { Item: item } }));

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
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: BENCH_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: BENCH_CREDENTIALS.secretAccessKey });
  const [masterEngine, slaveEngine] = await Promise.all([startDynamoDbLocal(), startDynamoDbLocal()]);
  try {
    const random = seededRandom(5);
    const seeded = Array.from({ length: ITEMS }, (_, index) => randomItem(random, workloadKey(index, false), 0));
    const master = await freshTable(masterEngine, 'master', { stream: true });
    await rawBatchWrites(clientFor(masterEngine), master, puts(seeded), 16);
    // The same items as the backfill reads them, so both sides write the very same bytes.
    const items = await scanAll(clientFor(masterEngine), master);

    // Warm the JIT of this process and of the slave's engine before anything is measured.
    await rawBatchWrites(clientFor(slaveEngine), await freshTable(slaveEngine, 'warm'), puts(items.slice(0, 3_000)), 16);
    await backfill(masterEngine, master, slaveEngine, await freshTable(slaveEngine, 'warm'));

    const raw: Record<number, number> = {};
    for (const concurrency of RAW_CONCURRENCIES) {
      raw[concurrency] = items.length / (await rawBatchWrites(clientFor(slaveEngine), await freshTable(slaveEngine, 'raw'), puts(items), concurrency));
    }
    const backfillItemsPerSec = await backfill(masterEngine, master, slaveEngine, await freshTable(slaveEngine, 'slave'));
    // The raw limit again after the backfill, at its best concurrency: the better of before and after is the limit.
    const best = RAW_CONCURRENCIES.reduce((a, b) => ((raw[b] ?? 0) > (raw[a] ?? 0) ? b : a));
    const rawAfter = items.length / (await rawBatchWrites(clientFor(slaveEngine), await freshTable(slaveEngine, 'raw'), puts(items), best));
    const rawItemsPerSec = Math.max(rawAfter, ...Object.values(raw));
    console.log(`raw BatchWriteItem items/s by concurrency: ${JSON.stringify(Object.fromEntries(Object.entries(raw).map(([c, rate]) => [c, Math.round(rate)])))}, after the backfill at ${best}: ${Math.round(rawAfter)}`);
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
