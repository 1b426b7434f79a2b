/**
 * Item-by-item comparison of a master table and a slave, for tests and the demo's verdict.
 *
 * Items are compared in a canonical form: binary by its bytes, numbers by their exact
 * decimal string (both engines normalise the same way, so the strings must match),
 * sets as sets, maps without regard to key order.
 */
import {
  DescribeTableCommand,
  ScanCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';

/** A table to scan. */
export interface TableRef {
  readonly client: DynamoDBClient;
  readonly tableName: string;
}

/** Options of {@link compareTables}. */
export interface CompareTablesOptions {
  readonly master: TableRef;
  readonly slave: TableRef;
  /** Parallel scan segments per table; default 4. */
  readonly segments?: number;
  /** Keys listed per kind of difference; default 10. */
  readonly sampleSize?: number;
}

/** The outcome of {@link compareTables}. Keys are canonical JSON of the item's key attributes. */
export interface TableComparison {
  readonly masterItems: number;
  readonly slaveItems: number;
  /** In the master, not in the slave. */
  readonly missing: number;
  /** In the slave, not in the master. */
  readonly extra: number;
  /** In both, with different attributes. */
  readonly different: number;
  readonly sampleKeys: { readonly missing: string[]; readonly extra: string[]; readonly different: string[] };
  /** True when nothing is missing, extra or different. */
  readonly identical: boolean;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/**
 * A JSON-ready canonical form of one attribute value. Type tags are kept so that
 * `{S: "1"}` and `{N: "1"}` never compare equal.
 */
export function canonicalAttributeValue(value: AttributeValue): unknown {
  if (value.S !== undefined) return { S: value.S };
  if (value.N !== undefined) return { N: value.N };
  if (value.B !== undefined) return { B: hex(value.B) };
  if (value.SS !== undefined) return { SS: [...value.SS].sort() };
  if (value.NS !== undefined) return { NS: [...value.NS].sort() };
  if (value.BS !== undefined) return { BS: value.BS.map(hex).sort() };
  if (value.M !== undefined) return { M: canonicalItem(value.M) };
  if (value.L !== undefined) return { L: value.L.map(canonicalAttributeValue) };
  if (value.NULL !== undefined) return { NULL: value.NULL };
  if (value.BOOL !== undefined) return { BOOL: value.BOOL };
  throw new TypeError(`Unknown attribute value type: ${Object.keys(value).join(', ')}`);
}

/** A canonical form of an item (or map): attributes in name order. */
export function canonicalItem(item: Record<string, AttributeValue>): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const name of Object.keys(item).sort()) {
    const value = item[name];
    if (value !== undefined) result[name] = canonicalAttributeValue(value);
  }
  return result;
}

async function keyNames(table: TableRef): Promise<string[]> {
  const { Table } = await table.client.send(new DescribeTableCommand({ TableName: table.tableName }));
  const names = (Table?.KeySchema ?? []).map((key) => key.AttributeName ?? '');
  if (names.length === 0) throw new Error(`Table ${table.tableName} has no key schema`);
  return names;
}

async function scanAll(
  table: TableRef,
  segments: number,
  visit: (item: Record<string, AttributeValue>) => void,
): Promise<void> {
  await Promise.all(
    Array.from({ length: segments }, async (_, segment) => {
      let exclusiveStartKey: Record<string, AttributeValue> | undefined;
      do {
        const page = await table.client.send(
          new ScanCommand({
            TableName: table.tableName,
            Segment: segment,
            TotalSegments: segments,
            ConsistentRead: true,
            ...(exclusiveStartKey === undefined ? {} : { ExclusiveStartKey: exclusiveStartKey }),
          }),
        );
        for (const item of page.Items ?? []) visit(item);
        exclusiveStartKey = page.LastEvaluatedKey;
      } while (exclusiveStartKey !== undefined);
    }),
  );
}

/** Scans both tables (parallel scan, consistent reads) and compares them item by item. */
export async function compareTables(options: CompareTablesOptions): Promise<TableComparison> {
  const segments = options.segments ?? 4;
  const sampleSize = options.sampleSize ?? 10;
  const keys = await keyNames(options.master);
  const keyOf = (item: Record<string, AttributeValue>): string =>
    JSON.stringify(keys.map((name) => (item[name] === undefined ? null : canonicalAttributeValue(item[name]))));

  const master = new Map<string, string>();
  await scanAll(options.master, segments, (item) => master.set(keyOf(item), JSON.stringify(canonicalItem(item))));

  const samples = { missing: [] as string[], extra: [] as string[], different: [] as string[] };
  let extra = 0;
  let different = 0;
  let slaveItems = 0;
  const seen = new Set<string>();
  await scanAll(options.slave, segments, (item) => {
    slaveItems += 1;
    const key = keyOf(item);
    seen.add(key);
    const expected = master.get(key);
    if (expected === undefined) {
      extra += 1;
      if (samples.extra.length < sampleSize) samples.extra.push(key);
    } else if (expected !== JSON.stringify(canonicalItem(item))) {
      different += 1;
      if (samples.different.length < sampleSize) samples.different.push(key);
    }
  });
  let missing = 0;
  for (const key of master.keys()) {
    if (seen.has(key)) continue;
    missing += 1;
    if (samples.missing.length < sampleSize) samples.missing.push(key);
  }
  return {
    masterItems: master.size,
    slaveItems,
    missing,
    extra,
    different,
    sampleKeys: samples,
    identical: missing === 0 && extra === 0 && different === 0,
  };
}
