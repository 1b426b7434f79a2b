/**
 * Turns stream records read with `@aws-sdk/client-dynamodb-streams` into the event a
 * DynamoDB stream event source mapping hands a Lambda function.
 *
 * The SDK decodes what the service sends: binary as `Uint8Array`, the creation time as a
 * `Date`. Lambda passes the service's JSON through instead, so binary arrives as base64
 * strings (at any depth inside M and L) and the time as epoch seconds. The handler must be
 * tested against the latter, because that is where double-base64 corruption hides.
 */
import type { AttributeValue as SdkAttributeValue, _Record as SdkStreamRecord } from '@aws-sdk/client-dynamodb-streams';
import type { AttributeValue, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';

/** Encodes one attribute value as it appears in stream JSON. */
export function toLambdaAttributeValue(value: SdkAttributeValue): AttributeValue {
  if (value.S !== undefined) return { S: value.S };
  if (value.N !== undefined) return { N: value.N };
  if (value.B !== undefined) return { B: Buffer.from(value.B).toString('base64') };
  if (value.SS !== undefined) return { SS: [...value.SS] };
  if (value.NS !== undefined) return { NS: [...value.NS] };
  if (value.BS !== undefined) return { BS: value.BS.map((bytes) => Buffer.from(bytes).toString('base64')) };
  if (value.M !== undefined) return { M: toLambdaImage(value.M) };
  if (value.L !== undefined) return { L: value.L.map(toLambdaAttributeValue) };
  if (value.NULL !== undefined) return { NULL: value.NULL };
  if (value.BOOL !== undefined) return { BOOL: value.BOOL };
  // The SDK decodes an empty map `{"M":{}}` as `{}` (seen with client-dynamodb-streams 3.11xx); an empty map is the
  // only value that can come out empty, and Lambda would pass `{"M":{}}` through.
  if (Object.keys(value).length === 0) return { M: {} };
  throw new TypeError(`Unknown attribute value type: ${Object.keys(value).join(', ')}`);
}

/** Encodes a map of attribute values (an item image, its keys, or an M value). */
export function toLambdaImage(image: Record<string, SdkAttributeValue>): Record<string, AttributeValue> {
  const result: Record<string, AttributeValue> = {};
  for (const [name, value] of Object.entries(image)) result[name] = toLambdaAttributeValue(value);
  return result;
}

/**
 * One stream record as Lambda delivers it. Fields the service left out stay out (a
 * KEYS_ONLY record has no images; only TTL deletes carry `userIdentity`).
 *
 * `awsRegion` replaces the record's own: DynamoDB Local with `-sharedDb` says "ddblocal",
 * where Lambda would say the master's region.
 */
export function toLambdaRecord(record: SdkStreamRecord, streamArn: string, awsRegion?: string): DynamoDBRecord {
  const source = record.dynamodb ?? {};
  const dynamodb: NonNullable<DynamoDBRecord['dynamodb']> = {};
  if (source.ApproximateCreationDateTime !== undefined) {
    // Lambda shows whole seconds, as the service's JSON does. (DynamoDB Local rounds this
    // down to the minute: a lag computed from it locally is up to 60 s too long.)
    dynamodb.ApproximateCreationDateTime = Math.floor(source.ApproximateCreationDateTime.getTime() / 1000);
  }
  if (source.Keys !== undefined) dynamodb.Keys = toLambdaImage(source.Keys);
  if (source.NewImage !== undefined) dynamodb.NewImage = toLambdaImage(source.NewImage);
  if (source.OldImage !== undefined) dynamodb.OldImage = toLambdaImage(source.OldImage);
  if (source.SequenceNumber !== undefined) dynamodb.SequenceNumber = source.SequenceNumber;
  if (source.SizeBytes !== undefined) dynamodb.SizeBytes = source.SizeBytes;
  if (source.StreamViewType !== undefined) dynamodb.StreamViewType = source.StreamViewType;

  const result: DynamoDBRecord = {
    eventID: record.eventID ?? '',
    eventName: record.eventName ?? 'MODIFY',
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: awsRegion ?? record.awsRegion ?? '',
    dynamodb,
    eventSourceARN: streamArn,
  };
  if (record.userIdentity !== undefined) {
    result.userIdentity = { type: record.userIdentity.Type, principalId: record.userIdentity.PrincipalId };
  }
  return result;
}

/**
 * The event for one batch, after a `JSON.stringify`/`JSON.parse` round trip so the
 * handler gets plain JSON data and nothing that only exists in this process (no
 * `Uint8Array`, no `Date`, no `undefined` fields).
 */
export function toLambdaEvent(records: readonly SdkStreamRecord[], streamArn: string, awsRegion?: string): DynamoDBStreamEvent {
  const event: DynamoDBStreamEvent = { Records: records.map((record) => toLambdaRecord(record, streamArn, awsRegion)) };
  return JSON.parse(JSON.stringify(event)) as DynamoDBStreamEvent;
}
