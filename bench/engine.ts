/** What both benchmarks need of a DynamoDB Local engine: clients, fresh tables, and the raw BatchWriteItem limit. */
import { BatchWriteItemCommand, CreateTableCommand, type DynamoDBClient, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { createDynamoDBClient } from '../handler/clients';
import type { DynamoDbLocal } from '../test/support/dynamodb-local';

export const BENCH_CREDENTIALS = { accessKeyId: 'bench', secretAccessKey: 'bench' };

/** The raw limit is the best of these concurrencies, so the baseline is the engine's, not a poor client's. */
export const RAW_CONCURRENCIES = [8, 16, 32] as const;

/** A client as lean as the replicator's (no logger middleware), so the raw baseline is the engine's limit. */
export function clientFor(engine: DynamoDbLocal): DynamoDBClient {
  return createDynamoDBClient({ region: 'eu-west-1', endpoint: engine.endpoint, credentials: BENCH_CREDENTIALS, maxAttempts: 3 });
}

let tables = 0;

/** A new on-demand table keyed by `pk` (S), with a stream when asked. */
export async function freshTable(engine: DynamoDbLocal, label: string, stream = false): Promise<string> {
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

/**
 * Sends write requests as BatchWriteItem calls of up to 25, `concurrency` calls at once with no barrier between
 * them, re-sending unprocessed items: the most an engine takes. Returns the seconds it took.
 */
export async function rawBatchWrites(client: DynamoDBClient, table: string, requests: readonly WriteRequest[], concurrency: number): Promise<number> {
  const chunks: WriteRequest[][] = [];
  let chunk: WriteRequest[] = [];
  let keys = new Set<string>();
  for (const request of requests) {
    const key = JSON.stringify((request.PutRequest?.Item ?? request.DeleteRequest?.Key)?.pk);
    // BatchWriteItem rejects two requests for one key in a call: close the chunk early.
    if (chunk.length === 25 || keys.has(key)) {
      chunks.push(chunk);
      chunk = [];
      keys = new Set();
    }
    keys.add(key);
    chunk.push(request);
  }
  if (chunk.length > 0) chunks.push(chunk);
  const started = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let pending = chunks[next++]; pending !== undefined; pending = chunks[next++]) {
      let left = pending;
      while (left.length > 0) {
        const response = await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: left } }));
        left = response.UnprocessedItems?.[table] ?? [];
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return (performance.now() - started) / 1000;
}
