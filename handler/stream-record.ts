import { decodeImage, keyIdentity } from './attribute-value';
import { InvalidEventError, InvalidStreamRecordError } from './errors';
import type { AttributeMap, Change, MasterTable, StreamChange } from './types';

const STREAM_ARN = /^arn:aws[a-z-]*:dynamodb:([a-z0-9-]+):\d{12}:table\/([A-Za-z0-9_.-]{3,255})\/stream\/[^/]+$/;
const SEQUENCE_NUMBER = /^\d{1,40}$/;
const TTL_PRINCIPAL = 'dynamodb.amazonaws.com';

/** A stream record that cannot be applied at all: without a usable key, sequence number or stream. */
export interface UnusableRecord {
  readonly error: InvalidStreamRecordError;
  /** The record as it came, kept whole for `redrive`. */
  readonly record: unknown;
}

/** A stream batch, decoded record by record. */
export interface ParsedBatch {
  /** Records in the event, valid or not. */
  readonly recordCount: number;
  readonly master: MasterTable | undefined;
  /** Every record with a usable key, in stream order. */
  readonly changes: readonly StreamChange[];
  /**
   * Records whose key is usable but whose image is not (an unknown attribute type, say): each became a read of the
   * master's current item, which is at least as new as the record, so the slaves still converge.
   */
  readonly readBack: readonly InvalidStreamRecordError[];
  /** Records that cannot be applied at all; nothing later depends on them, since each change carries a whole item. */
  readonly unusable: readonly UnusableRecord[];
}

/**
 * Checks that the payload is a DynamoDB stream batch and decodes its records.
 *
 * One bad record costs only itself: a record whose image cannot be decoded is read back from the master instead, and
 * a record without a usable key, sequence number or stream is set apart, while every other record is decoded.
 *
 * @throws InvalidEventError when the payload is not a stream batch at all.
 */
export function parseStreamBatch(event: unknown): ParsedBatch {
  if (typeof event !== 'object' || event === null || !Array.isArray((event as { Records?: unknown }).Records)) {
    throw new InvalidEventError('the event is not a DynamoDB stream batch: expected an object with a "Records" array, as Lambda delivers from a DynamoDB stream event source mapping');
  }
  const records = (event as { Records: unknown[] }).Records;
  const changes: StreamChange[] = [];
  const readBack: InvalidStreamRecordError[] = [];
  const unusable: UnusableRecord[] = [];
  let master: MasterTable | undefined;
  for (let index = 0; index < records.length; index += 1) {
    const record = records[index];
    try {
      const fields = asObject(record);
      // Every record of a batch names the same stream: only a different ARN is read again.
      if (master === undefined || fields?.eventSourceARN !== master.streamArn || fields.eventSource !== 'aws:dynamodb') {
        const source = readSource(record, index);
        master ??= source;
        if (source.streamArn !== master.streamArn) {
          throw invalid(record, index, `comes from stream ${source.streamArn}, but the batch began with ${master.streamArn}: one batch must come from one stream`);
        }
      }
      changes.push(readChange(record, fields ?? {}, index, readBack));
    } catch (error) {
      if (!(error instanceof InvalidStreamRecordError)) throw error;
      unusable.push({ error, record });
    }
  }
  return { recordCount: records.length, master, changes, readBack, unusable };
}

function readSource(record: unknown, index: number): MasterTable {
  const fields = asObject(record);
  if (fields?.eventSource !== 'aws:dynamodb') {
    throw invalid(record, index, `eventSource is ${JSON.stringify(fields?.eventSource)}, expected "aws:dynamodb"`);
  }
  const arn = fields.eventSourceARN;
  const match = typeof arn === 'string' ? STREAM_ARN.exec(arn) : null;
  if (match === null || typeof arn !== 'string') {
    throw invalid(record, index, `eventSourceARN ${JSON.stringify(arn)} is not a DynamoDB stream ARN (arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>)`);
  }
  const region = typeof fields.awsRegion === 'string' ? fields.awsRegion : match[1];
  return { region: region ?? '', tableName: match[2] ?? '', streamArn: arn };
}

/**
 * One record's change. A record whose image cannot be decoded becomes a read of the master, and its error is added
 * to `readBack`.
 */
function readChange(record: unknown, fields: Record<string, unknown>, index: number, readBack: InvalidStreamRecordError[]): StreamChange {
  const body = asObject(fields.dynamodb);
  if (body === undefined) throw invalid(record, index, 'has no "dynamodb" object');
  const sequenceNumber = body.SequenceNumber;
  if (typeof sequenceNumber !== 'string' || !SEQUENCE_NUMBER.test(sequenceNumber)) {
    throw invalid(record, index, `dynamodb.SequenceNumber ${JSON.stringify(sequenceNumber)} is not a decimal string`);
  }
  const keys = body.Keys;
  if (asObject(keys) === undefined || Object.keys(keys as object).length === 0) {
    throw invalid(record, index, 'has no dynamodb.Keys: every stream record names the key of the item it changed');
  }
  let key: AttributeMap;
  let keyId: string;
  try {
    key = decodeImage(keys, 'dynamodb.Keys');
    keyId = keyIdentity(key);
  } catch (error) {
    throw invalid(record, index, (error as Error).message);
  }
  const created = body.ApproximateCreationDateTime;
  const eventName = fields.eventName;
  let change: Change;
  let isTtlDelete = false;
  try {
    change = changeOf(body, eventName, key, record, index);
    if (eventName === 'REMOVE') {
      const identity = asObject(fields.userIdentity);
      isTtlDelete = identity?.type === 'Service' && identity.principalId === TTL_PRINCIPAL;
    }
  } catch (error) {
    if (!(error instanceof InvalidStreamRecordError)) throw error;
    readBack.push(error);
    change = { kind: 'read-master' };
  }
  return {
    eventId: eventIdOf(record, index),
    sequenceNumber,
    keyId,
    key,
    createdAtMs: typeof created === 'number' ? Math.round(created * 1000) : Date.now(),
    isTtlDelete,
    change,
  };
}

function changeOf(body: Record<string, unknown>, eventName: unknown, key: AttributeMap, record: unknown, index: number): Change {
  switch (eventName) {
    case 'INSERT':
    case 'MODIFY': {
      if (body.NewImage === undefined) return { kind: 'read-master' };
      let item: AttributeMap;
      try {
        item = decodeImage(body.NewImage, 'dynamodb.NewImage');
      } catch (error) {
        throw invalid(record, index, (error as Error).message);
      }
      for (const [name, value] of Object.entries(key)) {
        if (!sameKeyValue(item[name], value)) throw invalid(record, index, `dynamodb.NewImage.${name} does not match dynamodb.Keys.${name}`);
      }
      return { kind: 'put', item };
    }
    case 'REMOVE':
      return { kind: 'delete' };
    default:
      throw invalid(record, index, `eventName ${JSON.stringify(eventName)} is unknown: expected INSERT, MODIFY or REMOVE`);
  }
}

function sameKeyValue(a: { S?: string; N?: string; B?: Uint8Array } | undefined, b: { S?: string; N?: string; B?: Uint8Array }): boolean {
  if (a === undefined) return false;
  if (b.B !== undefined) return a.B !== undefined && Buffer.from(a.B).equals(Buffer.from(b.B));
  return a.S === b.S && a.N === b.N;
}

function invalid(record: unknown, index: number, reason: string): InvalidStreamRecordError {
  const sequenceNumber = asObject(asObject(record)?.dynamodb)?.SequenceNumber;
  return new InvalidStreamRecordError(
    eventIdOf(record, index),
    typeof sequenceNumber === 'string' && SEQUENCE_NUMBER.test(sequenceNumber) ? sequenceNumber : undefined,
    reason,
  );
}

function eventIdOf(record: unknown, index: number): string {
  const id = asObject(record)?.eventID;
  return typeof id === 'string' ? id : `#${index}`;
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
