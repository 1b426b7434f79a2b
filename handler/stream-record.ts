import { decodeImage, keyIdentity } from './attribute-value';
import { InvalidEventError, InvalidStreamRecordError } from './errors';
import type { Change, MasterTable, StreamChange } from './types';

const STREAM_ARN = /^arn:aws[a-z-]*:dynamodb:([a-z0-9-]+):\d{12}:table\/([A-Za-z0-9_.-]{3,255})\/stream\/[^/]+$/;
const SEQUENCE_NUMBER = /^\d{1,40}$/;
const TTL_PRINCIPAL = 'dynamodb.amazonaws.com';

/** A stream batch, read record by record until the first one that cannot be replicated. */
export interface ParsedBatch {
  /** Records in the event, valid or not. */
  readonly recordCount: number;
  readonly master: MasterTable | undefined;
  /** The valid records before the first invalid one, in stream order. */
  readonly changes: readonly StreamChange[];
  /** The first record that cannot be replicated: it and all after it are left for re-delivery. */
  readonly invalid: InvalidStreamRecordError | undefined;
}

/**
 * Checks that the payload is a DynamoDB stream batch and decodes its records.
 *
 * Records after an invalid one are not decoded: Lambda re-delivers from the invalid record's sequence number, and
 * order per item forbids applying a later change before it.
 *
 * @throws InvalidEventError when the payload is not a stream batch at all, or a bad record carries no sequence number
 *   to report it by.
 */
export function parseStreamBatch(event: unknown): ParsedBatch {
  if (typeof event !== 'object' || event === null || !Array.isArray((event as { Records?: unknown }).Records)) {
    throw new InvalidEventError('the event is not a DynamoDB stream batch: expected an object with a "Records" array, as Lambda delivers from a DynamoDB stream event source mapping');
  }
  const records = (event as { Records: unknown[] }).Records;
  const changes: StreamChange[] = [];
  let master: MasterTable | undefined;
  for (const [index, record] of records.entries()) {
    try {
      const source = readSource(record, index);
      if (master === undefined) master = source;
      else if (source.streamArn !== master.streamArn) {
        throw invalid(record, index, `comes from stream ${source.streamArn}, but the batch began with ${master.streamArn}: one batch must come from one stream`);
      }
      changes.push(readChange(record, index));
    } catch (error) {
      if (!(error instanceof InvalidStreamRecordError)) throw error;
      if (error.sequenceNumber === undefined) {
        throw new InvalidEventError(`${error.message}; without a sequence number the record cannot be reported for re-delivery, so the whole batch fails`);
      }
      return { recordCount: records.length, master, changes, invalid: error };
    }
  }
  return { recordCount: records.length, master, changes, invalid: undefined };
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

function readChange(record: unknown, index: number): StreamChange {
  const fields = asObject(record) ?? {};
  const body = asObject(fields.dynamodb);
  if (body === undefined) throw invalid(record, index, 'has no "dynamodb" object');
  const sequenceNumber = body.SequenceNumber;
  if (typeof sequenceNumber !== 'string' || !SEQUENCE_NUMBER.test(sequenceNumber)) {
    throw invalid(record, index, `dynamodb.SequenceNumber ${JSON.stringify(sequenceNumber)} is not a decimal string`);
  }
  const decode = <T>(what: () => T): T => {
    try {
      return what();
    } catch (error) {
      throw invalid(record, index, (error as Error).message);
    }
  };
  const keys = body.Keys;
  if (asObject(keys) === undefined || Object.keys(keys as object).length === 0) {
    throw invalid(record, index, 'has no dynamodb.Keys: every stream record names the key of the item it changed');
  }
  const key = decode(() => decodeImage(keys, 'dynamodb.Keys'));
  const keyId = decode(() => keyIdentity(key));
  const eventName = fields.eventName;
  let change: Change;
  switch (eventName) {
    case 'INSERT':
    case 'MODIFY':
      change = body.NewImage === undefined ? { kind: 'read-master' } : { kind: 'put', item: decode(() => decodeImage(body.NewImage, 'dynamodb.NewImage')) };
      break;
    case 'REMOVE':
      change = { kind: 'delete' };
      break;
    default:
      throw invalid(record, index, `eventName ${JSON.stringify(eventName)} is unknown: expected INSERT, MODIFY or REMOVE`);
  }
  if (change.kind === 'put') {
    for (const [name, value] of Object.entries(key)) {
      if (!sameKeyValue(change.item[name], value)) {
        throw invalid(record, index, `dynamodb.NewImage.${name} does not match dynamodb.Keys.${name}`);
      }
    }
  }
  const created = body.ApproximateCreationDateTime;
  const identity = asObject(fields.userIdentity);
  return {
    eventId: eventIdOf(record, index),
    sequenceNumber,
    keyId,
    key,
    change,
    createdAtMs: typeof created === 'number' ? Math.round(created * 1000) : Date.now(),
    isTtlDelete: eventName === 'REMOVE' && identity?.type === 'Service' && identity.principalId === TTL_PRINCIPAL,
  };
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
    `${reason}. It is reported as failed so Lambda re-delivers it; fix the record's source or let the event source mapping's retry limit send it to the on-failure destination`,
  );
}

function eventIdOf(record: unknown, index: number): string {
  const id = asObject(record)?.eventID;
  return typeof id === 'string' ? id : `#${index}`;
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
