import { ScanCommand, type AttributeValue, type WriteRequest } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { decodeImage } from '../handler/attribute-value';
import type { DynamoDbLocal } from '../test/support/dynamodb-local';
import { seededRandom } from '../test/support/workload';
import { clientFor } from './engine';

export interface WorkloadShape {
  readonly records: number;
  /** Distinct keys: as many as records for a uniform workload, far fewer for hot keys. */
  readonly keys: number;
  /** Share of records that delete their item. */
  readonly deleteShare: number;
  readonly seed: number;
  /** Keys are `<keyPrefix>-<n>`; `key` by default. */
  readonly keyPrefix?: string;
}

const STREAM_ARN = 'arn:aws:dynamodb:eu-west-1:123456789012:table/bench-master/stream/2026-11-24T00:00:00.000';

/**
 * Stream records as Lambda delivers them (JSON, binary as base64), with their final state per key: what every slave
 * must hold once they are all applied.
 */
export function syntheticRecords(shape: WorkloadShape): { records: DynamoDBRecord[]; finalState: Map<string, string | null> } {
  const random = seededRandom(shape.seed);
  const records: DynamoDBRecord[] = [];
  const finalState = new Map<string, string | null>();
  let sequence = 10n ** 20n;
  for (let i = 0; i < shape.records; i += 1) {
    const prefix = shape.keyPrefix ?? 'key';
    const id = shape.keys >= shape.records ? `${prefix}-${i}` : `${prefix}-${Math.floor(random() ** 2 * shape.keys)}`;
    const version = `v${i}`;
    const remove = random() < shape.deleteShare;
    sequence += 1000n;
    const key = { pk: { S: id } };
    const blob = Buffer.alloc(64, i % 251).toString('base64');
    records.push({
      eventID: `e${i}`,
      eventName: remove ? 'REMOVE' : 'MODIFY',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'eu-west-1',
      eventSourceARN: STREAM_ARN,
      dynamodb: {
        ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
        Keys: key,
        ...(remove
          ? {}
          : {
              NewImage: {
                ...key,
                version: { S: version },
                amount: { N: '12345678901234567890.123456789012345678' },
                blob: { B: blob },
                tags: { SS: ['a', 'b', 'c'] },
                nested: { M: { list: { L: [{ N: String(i) }, { BOOL: true }, { NULL: true }] } } },
                padding: { S: 'x'.repeat(200) },
              },
            }),
        SequenceNumber: sequence.toString(),
        SizeBytes: 400,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    });
    finalState.set(id, remove ? null : version);
  }
  return { records, finalState };
}

/** Cuts records into event source mapping batches, passed through JSON like Lambda's payload. */
export function batchesOf(records: readonly DynamoDBRecord[], size: number): DynamoDBStreamEvent[] {
  const batches: DynamoDBStreamEvent[] = [];
  for (let start = 0; start < records.length; start += size) {
    batches.push(JSON.parse(JSON.stringify({ Records: records.slice(start, start + size) })) as DynamoDBStreamEvent);
  }
  return batches;
}

/** Every record's write, as the raw baseline sends it (no compaction). */
export function writesOf(records: readonly DynamoDBRecord[]): WriteRequest[] {
  return records.map((record) =>
    record.eventName === 'REMOVE'
      ? { DeleteRequest: { Key: decodeImage(record.dynamodb?.Keys, 'Keys') } }
      : { PutRequest: { Item: decodeImage(record.dynamodb?.NewImage, 'NewImage') } },
  );
}

/** Items of a slave whose state differs from the last change of their key: stale, missing, or brought back. */
export async function wrongItems(engine: DynamoDbLocal, table: string, finalState: ReadonlyMap<string, string | null>): Promise<number> {
  const found = new Map<string, string>();
  let start: Record<string, AttributeValue> | undefined;
  const client = clientFor(engine);
  do {
    const page = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    for (const item of page.Items ?? []) found.set(item.pk?.S ?? '', item.version?.S ?? '');
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  let wrong = 0;
  for (const [key, version] of finalState) if ((found.get(key) ?? null) !== version) wrong += 1;
  return wrong;
}
