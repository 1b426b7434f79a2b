import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { MasterTableError } from './errors';
import { describeError } from '../errors';

/** What the tool needs to know of a table, from DescribeTable. */
export interface TableFacts {
  readonly tableName: string;
  /** Key attribute names, partition key first. */
  readonly keyNames: readonly string[];
  /** DynamoDB's estimate, refreshed about every six hours: good for an ETA, not for a proof. */
  readonly itemCount: number;
  readonly sizeBytes: number;
  /** Provisioned read capacity units, or null for an on-demand table. */
  readonly readCapacityUnits: number | null;
  readonly streamEnabled: boolean;
  readonly streamViewType: string | undefined;
}

/**
 * Describes a table.
 *
 * @param label how the table is named in errors, e.g. `master table orders in eu-west-1`.
 * @throws MasterTableError when the table does not exist or cannot be described.
 */
export async function readTableFacts(client: DynamoDBClient, tableName: string, label: string): Promise<TableFacts> {
  let table;
  try {
    ({ Table: table } = await client.send(new DescribeTableCommand({ TableName: tableName })));
  } catch (error) {
    const reason = describeError(error);
    throw new MasterTableError(`${label}: DescribeTable failed: ${reason}`, { cause: error });
  }
  if (table === undefined) throw new MasterTableError(`${label}: DescribeTable returned no table`);
  const schema = table.KeySchema ?? [];
  const hash = schema.find((element) => element.KeyType === 'HASH')?.AttributeName;
  const range = schema.find((element) => element.KeyType === 'RANGE')?.AttributeName;
  if (hash === undefined) throw new MasterTableError(`${label}: DescribeTable returned no partition key`);
  const onDemand = table.BillingModeSummary?.BillingMode === 'PAY_PER_REQUEST';
  const readCapacity = table.ProvisionedThroughput?.ReadCapacityUnits ?? 0;
  return {
    tableName,
    keyNames: range === undefined ? [hash] : [hash, range],
    itemCount: table.ItemCount ?? 0,
    sizeBytes: table.TableSizeBytes ?? 0,
    // An on-demand table reports 0 provisioned units; treat 0 the same so a share of it is never computed.
    readCapacityUnits: onDemand || readCapacity === 0 ? null : readCapacity,
    streamEnabled: table.StreamSpecification?.StreamEnabled === true,
    streamViewType: table.StreamSpecification?.StreamViewType,
  };
}
