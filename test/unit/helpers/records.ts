import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';

export const STREAM_ARN = 'arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2026-11-24T08:00:00.000';

type LambdaImage = Record<string, unknown>;

let sequence = 100_000_000_000_000_000_000n;

/** A fresh, increasing sequence number, 21 digits like the real ones. */
export function nextSequenceNumber(): string {
  sequence += 100n;
  return sequence.toString();
}

export interface RecordOptions {
  readonly key?: LambdaImage;
  readonly newImage?: LambdaImage;
  readonly oldImage?: LambdaImage;
  readonly sequenceNumber?: string;
  readonly viewType?: 'NEW_IMAGE' | 'NEW_AND_OLD_IMAGES' | 'KEYS_ONLY' | 'OLD_IMAGE';
  readonly createdAt?: number;
  readonly ttl?: boolean;
}

/** A stream record as Lambda delivers it (JSON: binary as base64 strings). */
export function streamRecord(eventName: 'INSERT' | 'MODIFY' | 'REMOVE', options: RecordOptions = {}): DynamoDBRecord {
  const key = options.key ?? { pk: { S: 'item-1' } };
  const viewType = options.viewType ?? 'NEW_AND_OLD_IMAGES';
  const withNew = eventName !== 'REMOVE' && (viewType === 'NEW_IMAGE' || viewType === 'NEW_AND_OLD_IMAGES');
  const sequenceNumber = options.sequenceNumber ?? nextSequenceNumber();
  return {
    eventID: `event-${sequenceNumber}`,
    eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'eu-west-1',
    eventSourceARN: STREAM_ARN,
    dynamodb: {
      ApproximateCreationDateTime: options.createdAt ?? 1_790_000_000,
      Keys: key,
      ...(withNew ? { NewImage: options.newImage ?? { ...key, value: { S: 'v' } } } : {}),
      ...(options.oldImage === undefined ? {} : { OldImage: options.oldImage }),
      SequenceNumber: sequenceNumber,
      SizeBytes: 64,
      StreamViewType: viewType,
    },
    ...(options.ttl === true ? { userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' } } : {}),
  } as DynamoDBRecord;
}

export const put = (id: string, value: string, options: RecordOptions = {}): DynamoDBRecord =>
  streamRecord('MODIFY', { key: { pk: { S: id } }, newImage: { pk: { S: id }, value: { S: value } }, ...options });

export const remove = (id: string, options: RecordOptions = {}): DynamoDBRecord => streamRecord('REMOVE', { key: { pk: { S: id } }, ...options });

/** A batch as the event source mapping hands it to the function, through JSON like the real one. */
export function streamEvent(...records: DynamoDBRecord[]): DynamoDBStreamEvent {
  return JSON.parse(JSON.stringify({ Records: records })) as DynamoDBStreamEvent;
}

/** A Lambda context with this much time left. */
export function contextWith(remainingMs: number): { getRemainingTimeInMillis(): number } {
  const end = Date.now() + remainingMs;
  return { getRemainingTimeInMillis: () => end - Date.now() };
}
