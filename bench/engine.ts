/** What every benchmark needs of a DynamoDB Local engine: clients, fresh tables, and the raw BatchWriteItem limit. */
import { BatchWriteItemCommand, CreateTableCommand, DeleteTableCommand, ScanCommand, type AttributeValue, type DynamoDBClient, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { createDynamoDBClient } from '../handler/clients';
import type { DynamoDbLocal } from '../test/support/dynamodb-local';

export const BENCH_CREDENTIALS = { accessKeyId: 'bench', secretAccessKey: 'bench' };

/** The raw limit is the best of these concurrencies, so the baseline is the engine's, not a poor client's. */
export const RAW_CONCURRENCIES = [8, 16, 32] as const;

const clients = new Map<string, DynamoDBClient>();

/** A client as lean as the replicator's (no logger middleware), so the raw baseline is the engine's limit. */
export function clientFor(engine: DynamoDbLocal): DynamoDBClient {
  let client = clients.get(engine.endpoint);
  if (client === undefined) {
    client = createDynamoDBClient({ region: 'eu-west-1', endpoint: engine.endpoint, credentials: BENCH_CREDENTIALS, maxAttempts: 3 });
    clients.set(engine.endpoint, client);
  }
  return client;
}

let tables = 0;

export interface TableOptions {
  /** Enables a NEW_AND_OLD_IMAGES stream, as a master has. */
  readonly stream?: boolean;
  /** Adds a string sort key `sk`, as the replicator's state table has. */
  readonly sortKey?: boolean;
}

/** A new on-demand table keyed by `pk` (S), with a sort key `sk` (S) and a stream when asked. */
export async function freshTable(engine: DynamoDbLocal, label: string, options: TableOptions = {}): Promise<string> {
  tables += 1;
  const name = `bench-${label}-${tables}`;
  const keys = options.sortKey === true ? ['pk', 'sk'] : ['pk'];
  await clientFor(engine).send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: keys.map((key) => ({ AttributeName: key, AttributeType: 'S' })),
      KeySchema: keys.map((key, index) => ({ AttributeName: key, KeyType: index === 0 ? 'HASH' : 'RANGE' })),
      BillingMode: 'PAY_PER_REQUEST',
      ...(options.stream === true ? { StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' } } : {}),
    }),
  );
  return name;
}

/** A new state table, as the module creates it: string `pk` and `sk`. */
export function freshStateTable(engine: DynamoDbLocal): Promise<string> {
  return freshTable(engine, 'state', { sortKey: true });
}

/** Drops a table once measured, so an engine holds only what the next run needs. */
export async function dropTable(engine: DynamoDbLocal, table: string): Promise<void> {
  await clientFor(engine).send(new DeleteTableCommand({ TableName: table }));
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

/** The raw limit of one or more engines taking the same writes at once: the slowest engine's seconds. */
export async function rawSecondsAt(engines: readonly DynamoDbLocal[], writes: readonly WriteRequest[], concurrency: number): Promise<number> {
  const rawTables = await Promise.all(engines.map((engine) => freshTable(engine, 'raw')));
  const seconds = Math.max(...(await Promise.all(engines.map((engine, i) => rawBatchWrites(clientFor(engine), rawTables[i] ?? '', writes, concurrency)))));
  await Promise.all(engines.map((engine, i) => dropTable(engine, rawTables[i] ?? '')));
  return seconds;
}

/**
 * The raw limit as each scenario measures it, before and after what it compares: the first call tries every
 * concurrency of RAW_CONCURRENCIES and keeps the best; later calls use that one.
 */
export class RawLimit {
  private best: number | undefined;

  public constructor(
    private readonly engines: readonly DynamoDbLocal[],
    private readonly writes: readonly WriteRequest[],
  ) {}

  /** The concurrency the limit was reached at (the first of RAW_CONCURRENCIES before any measure). */
  public get concurrency(): number {
    return this.best ?? RAW_CONCURRENCIES[0];
  }

  /** Seconds the engines take for the writes at their limit. */
  public async measure(): Promise<number> {
    if (this.best !== undefined) return rawSecondsAt(this.engines, this.writes, this.best);
    let fastest = Number.POSITIVE_INFINITY;
    for (const concurrency of RAW_CONCURRENCIES) {
      const seconds = await rawSecondsAt(this.engines, this.writes, concurrency);
      if (seconds < fastest) [fastest, this.best] = [seconds, concurrency];
    }
    return fastest;
  }
}

/** Items of a table, counted by a scan. */
export async function countItems(engine: DynamoDbLocal, table: string): Promise<number> {
  let count = 0;
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await clientFor(engine).send(new ScanCommand({ TableName: table, Select: 'COUNT', ExclusiveStartKey: start }));
    count += page.Count ?? 0;
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return count;
}
