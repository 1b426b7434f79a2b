/**
 * Creating master and slave tables on a local engine.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  type ScalarAttributeType,
  type StreamViewType,
} from '@aws-sdk/client-dynamodb';

/** One key attribute: its name and scalar type. */
export interface KeyAttribute {
  readonly name: string;
  readonly type: ScalarAttributeType;
}

/** Options of {@link createTable}. */
export interface CreateTableOptions {
  readonly tableName: string;
  /** Default `{ name: 'pk', type: 'S' }`. */
  readonly partitionKey?: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  /** Enables a stream with this view type (the master needs NEW_AND_OLD_IMAGES). */
  readonly streamViewType?: StreamViewType;
}

/** The created table, and its stream's ARN when it has one. */
export interface CreatedTable {
  readonly tableName: string;
  readonly streamArn?: string;
}

/** Creates an on-demand table and waits until it is ACTIVE. */
export async function createTable(client: DynamoDBClient, options: CreateTableOptions): Promise<CreatedTable> {
  const partitionKey = options.partitionKey ?? { name: 'pk', type: 'S' };
  const keys = options.sortKey ? [partitionKey, options.sortKey] : [partitionKey];
  await client.send(
    new CreateTableCommand({
      TableName: options.tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: keys.map((key) => ({ AttributeName: key.name, AttributeType: key.type })),
      KeySchema: keys.map((key, index) => ({ AttributeName: key.name, KeyType: index === 0 ? 'HASH' : 'RANGE' })),
      ...(options.streamViewType
        ? { StreamSpecification: { StreamEnabled: true, StreamViewType: options.streamViewType } }
        : {}),
    }),
  );
  for (;;) {
    const { Table: table } = await client.send(new DescribeTableCommand({ TableName: options.tableName }));
    if (table?.TableStatus === 'ACTIVE') {
      return table.LatestStreamArn === undefined
        ? { tableName: options.tableName }
        : { tableName: options.tableName, streamArn: table.LatestStreamArn };
    }
    await new Promise((done) => setTimeout(done, 50));
  }
}
