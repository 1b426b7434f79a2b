import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ScanCommand,
  type BatchGetItemCommandInput,
  type BatchWriteItemCommandInput,
  type ScanCommandInput,
} from '@aws-sdk/client-dynamodb';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import { keyIdentity, pickKey } from '../../../../handler/attribute-value';
import type { ClientProvider } from '../../../../handler/clients';
import type { AttributeMap } from '../../../../handler/types';

type Mock = AwsClientStub<DynamoDBClient>;

/** Tables keyed by `pk` (S), held in memory behind a mocked DynamoDBClient: Scan, BatchGetItem, BatchWriteItem, DescribeTable. */
export class FakeTables {
  public readonly tables = new Map<string, Map<string, AttributeMap>>();
  public streamEnabled = true;
  public readCapacityUnits: number | null = null;

  public constructor(names: readonly string[]) {
    for (const name of names) this.tables.set(name, new Map());
  }

  public put(table: string, item: AttributeMap): void {
    this.table(table).set(keyIdentity(pickKey(item, ['pk']), ['pk']), item);
  }

  public items(table: string): AttributeMap[] {
    return [...this.table(table).values()];
  }

  /** Installs the fake behind the mock; `ddb.on(...)` afterwards overrides one command. */
  public install(ddb: Mock): void {
    ddb.on(DescribeTableCommand).callsFake((input: { TableName: string }) => {
      const table = this.table(input.TableName);
      return Promise.resolve({
        Table: {
          TableName: input.TableName,
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
          ItemCount: table.size,
          TableSizeBytes: table.size * 100,
          StreamSpecification: { StreamEnabled: this.streamEnabled, StreamViewType: 'NEW_AND_OLD_IMAGES' },
          ...(this.readCapacityUnits === null
            ? { BillingModeSummary: { BillingMode: 'PAY_PER_REQUEST' }, ProvisionedThroughput: { ReadCapacityUnits: 0, WriteCapacityUnits: 0 } }
            : { ProvisionedThroughput: { ReadCapacityUnits: this.readCapacityUnits, WriteCapacityUnits: 5 } }),
        },
      });
    });
    ddb.on(ScanCommand).callsFake((input: ScanCommandInput) => Promise.resolve(this.scan(input)));
    ddb.on(BatchGetItemCommand).callsFake((input: BatchGetItemCommandInput) => this.batchGetItem(input));
    ddb.on(BatchWriteItemCommand).callsFake((input: BatchWriteItemCommandInput) => this.batchWriteItem(input));
  }

  /** Answers a BatchGetItem as the tables stand. */
  public batchGetItem(input: BatchGetItemCommandInput): Promise<{ Responses: Record<string, AttributeMap[]> }> {
    const responses: Record<string, AttributeMap[]> = {};
    for (const [name, { Keys = [] }] of Object.entries(input.RequestItems ?? {})) {
      responses[name] = Keys.map((key) => this.table(name).get(keyIdentity(key, ['pk']))).filter((item) => item !== undefined);
    }
    return Promise.resolve({ Responses: responses });
  }

  /** Applies a BatchWriteItem, every request taken. */
  public batchWriteItem(input: BatchWriteItemCommandInput): Promise<object> {
    for (const [name, requests] of Object.entries(input.RequestItems ?? {})) {
      for (const request of requests) {
        if (request.PutRequest?.Item !== undefined) this.put(name, request.PutRequest.Item);
        if (request.DeleteRequest?.Key !== undefined) this.table(name).delete(keyIdentity(request.DeleteRequest.Key, ['pk']));
      }
    }
    return Promise.resolve({});
  }

  /** Answers one Scan page of a segment, in key order. */
  public scan(input: ScanCommandInput): { Items: AttributeMap[]; LastEvaluatedKey?: AttributeMap; ConsumedCapacity: { CapacityUnits: number } } {
    const total = input.TotalSegments ?? 1;
    const segment = input.Segment ?? 0;
    const ordered = [...this.table(input.TableName ?? '')].sort(([a], [b]) => (a < b ? -1 : 1)).filter(([id]) => segmentOf(id, total) === segment);
    const after = input.ExclusiveStartKey === undefined ? '' : keyIdentity(input.ExclusiveStartKey, ['pk']);
    const rest = ordered.filter(([id]) => id > after);
    const page = rest.slice(0, input.Limit ?? 1000);
    const last = page.at(-1);
    return {
      Items: page.map(([, item]) => item),
      ...(rest.length > page.length && last !== undefined ? { LastEvaluatedKey: pickKey(last[1], ['pk']) } : {}),
      ConsumedCapacity: { CapacityUnits: page.length },
    };
  }

  private table(name: string): Map<string, AttributeMap> {
    const table = this.tables.get(name);
    if (table === undefined) throw Object.assign(new Error(`Requested resource not found: ${name}`), { name: 'ResourceNotFoundException' });
    return table;
  }
}

function segmentOf(keyId: string, total: number): number {
  let hash = 0;
  for (const char of keyId) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return hash % total;
}

/** A client provider that hands out the one mocked client for every table. */
export function providerOf(client: DynamoDBClient): ClientProvider {
  return { forSlave: () => client, forMaster: () => client };
}

/** Standard output and error captured as text. */
export function captureIo(): { stdout: { write(text: string): boolean; text: string }; stderr: { isTTY: boolean; write(text: string): boolean; text: string } } {
  const stream = () => ({
    text: '',
    isTTY: false,
    write(chunk: string): boolean {
      this.text += chunk;
      return true;
    },
  });
  return { stdout: stream(), stderr: stream() };
}
