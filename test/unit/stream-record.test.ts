import { describe, expect, it } from 'vitest';
import { InvalidEventError } from '../../handler/errors';
import { parseStreamBatch } from '../../handler/stream-record';
import { put, remove, STREAM_ARN, streamEvent, streamRecord } from './helpers/records';

describe('Function: parseStreamBatch', () => {
  it('decodes each record into the change it asks of the slaves', () => {
    // Prepare
    const event = streamEvent(
      streamRecord('INSERT', { key: { pk: { S: 'a' } }, newImage: { pk: { S: 'a' }, bin: { B: 'AAE=' } }, createdAt: 1_790_000_000.5 }),
      remove('b'),
      streamRecord('MODIFY', { key: { pk: { S: 'c' } }, viewType: 'KEYS_ONLY' }),
      streamRecord('MODIFY', { key: { pk: { S: 'd' } }, viewType: 'OLD_IMAGE', oldImage: { pk: { S: 'd' } } }),
    );

    // Act
    const batch = parseStreamBatch(event);

    // Assess
    expect(batch.master).toEqual({ region: 'eu-west-1', tableName: 'orders', streamArn: STREAM_ARN });
    expect(batch.readBack).toEqual([]);
    expect(batch.unusable).toEqual([]);
    expect(batch.recordCount).toBe(4);
    expect(batch.changes.map((change) => change.change)).toEqual([
      { kind: 'put', item: { pk: { S: 'a' }, bin: { B: new Uint8Array([0, 1]) } } },
      { kind: 'delete' },
      { kind: 'read-master' },
      { kind: 'read-master' },
    ]);
    expect(batch.changes[0]?.createdAtMs).toBe(1_790_000_000_500);
    expect(batch.changes[0]?.sequenceNumber).toBe(event.Records[0]?.dynamodb?.SequenceNumber);
  });

  it('tells deletes made by TTL from deletes made by a user', () => {
    // Act
    const batch = parseStreamBatch(streamEvent(remove('a', { ttl: true }), remove('b')));

    // Assess
    expect(batch.changes.map((change) => change.isTtlDelete)).toEqual([true, false]);
  });

  it('accepts an empty batch', () => {
    expect(parseStreamBatch({ Records: [] })).toEqual({ recordCount: 0, master: undefined, changes: [], readBack: [], unusable: [] });
  });

  it.each([null, 'text', {}, { Records: 'x' }, { records: [] }])('rejects %j, which is not a stream batch', (event) => {
    expect(() => parseStreamBatch(event)).toThrow(InvalidEventError);
    expect(() => parseStreamBatch(event)).toThrow('the event is not a DynamoDB stream batch');
  });

  it.each([
    ['an unknown eventName', (r: Record<string, unknown>): Record<string, unknown> => ({ ...r, eventName: 'UPSERT' }), 'eventName "UPSERT" is unknown: expected INSERT, MODIFY or REMOVE'],
    ['a bad binary', (r: Record<string, unknown>): Record<string, unknown> => ({ ...r, dynamodb: { ...(r.dynamodb as object), NewImage: { pk: { S: 'b' }, x: { B: '***' } } } }), 'dynamodb.NewImage.x is not base64'],
    ['an unknown attribute type', (r: Record<string, unknown>): Record<string, unknown> => ({ ...r, dynamodb: { ...(r.dynamodb as object), NewImage: { pk: { S: 'b' }, x: { Q: '1' } } } }), 'dynamodb.NewImage.x has unknown type "Q"'],
    ['a new image of another key', (r: Record<string, unknown>): Record<string, unknown> => ({ ...r, dynamodb: { ...(r.dynamodb as object), NewImage: { pk: { S: 'zzz' } } } }), 'dynamodb.NewImage.pk does not match dynamodb.Keys.pk'],
  ])('reads back from the master a record with %s, whose key is usable, and decodes the records after it', (_case, spoil, reason) => {
    // Prepare
    const bad = spoil(put('b', '2', { ttl: true }) as unknown as Record<string, unknown>) as { eventID: string; dynamodb: { SequenceNumber: string } };

    // Act
    const batch = parseStreamBatch(streamEvent(put('a', '1'), bad, put('c', '3')));

    // Assess
    expect(batch.changes.map((change) => [change.key.pk?.S, change.change.kind])).toEqual([
      ['a', 'put'],
      ['b', 'read-master'],
      ['c', 'put'],
    ]);
    expect(batch.changes[1]).toMatchObject({ sequenceNumber: bad.dynamodb.SequenceNumber, eventId: bad.eventID, isTtlDelete: false });
    expect(batch.readBack).toHaveLength(1);
    expect(batch.readBack[0]?.message).toContain(`stream record ${bad.eventID} (sequence number ${bad.dynamodb.SequenceNumber}): `);
    expect(batch.readBack[0]?.message).toContain(reason);
    expect(batch.unusable).toEqual([]);
  });

  it.each([
    ['no Keys', (r: Record<string, unknown>): Record<string, unknown> => ({ ...r, dynamodb: { ...(r.dynamodb as object), Keys: undefined } }), 'has no dynamodb.Keys'],
    ['empty Keys', (r: Record<string, unknown>): Record<string, unknown> => ({ ...r, dynamodb: { ...(r.dynamodb as object), Keys: {} } }), 'has no dynamodb.Keys'],
    ['a key that is not an attribute value', (r: Record<string, unknown>): Record<string, unknown> => ({ ...r, dynamodb: { ...(r.dynamodb as object), Keys: { pk: 'b' } } }), 'dynamodb.Keys.pk is not a DynamoDB attribute value'],
    ['no dynamodb object', (r: Record<string, unknown>): Record<string, unknown> => ({ ...r, dynamodb: undefined }), 'has no "dynamodb" object'],
    ['another event source', (r: Record<string, unknown>): Record<string, unknown> => ({ ...r, eventSource: 'aws:kinesis' }), 'eventSource is "aws:kinesis", expected "aws:dynamodb"'],
    ['a bad stream ARN', (r: Record<string, unknown>): Record<string, unknown> => ({ ...r, eventSourceARN: 'arn:aws:sqs:eu-west-1:1:q' }), 'is not a DynamoDB stream ARN'],
    ['another stream', (r: Record<string, unknown>): Record<string, unknown> => ({ ...r, eventSourceARN: STREAM_ARN.replace('orders', 'payments') }), 'one batch must come from one stream'],
  ])('sets apart a record with %s, kept whole, and decodes the records after it', (_case, spoil, reason) => {
    // Prepare
    const bad = spoil(put('b', '2') as unknown as Record<string, unknown>);
    const event = streamEvent(put('a', '1'), bad, put('c', '3'));

    // Act
    const batch = parseStreamBatch(event);

    // Assess
    expect(batch.changes.map((change) => change.key)).toEqual([{ pk: { S: 'a' } }, { pk: { S: 'c' } }]);
    expect(batch.unusable).toHaveLength(1);
    expect(batch.unusable[0]?.record).toEqual(event.Records[1]);
    expect(batch.unusable[0]?.error.eventId).toBe(event.Records[1]?.eventID);
    expect(batch.unusable[0]?.error.message).toContain(reason);
    expect(batch.readBack).toEqual([]);
    expect(batch.recordCount).toBe(3);
  });

  it('sets apart a record without a sequence number, naming it by its position when it has no event id either', () => {
    // Prepare
    const bad = put('b', '2') as unknown as Record<string, unknown>;
    delete (bad.dynamodb as Record<string, unknown>).SequenceNumber;
    delete bad.eventID;

    // Act
    const batch = parseStreamBatch(streamEvent(put('a', '1'), bad));

    // Assess
    expect(batch.changes).toHaveLength(1);
    expect(batch.unusable[0]?.error).toMatchObject({ eventId: '#1', sequenceNumber: undefined });
    expect(batch.unusable[0]?.error.message).toBe('stream record #1: dynamodb.SequenceNumber undefined is not a decimal string');
  });

  it('keeps a record that is not an object as unusable', () => {
    // Act
    const batch = parseStreamBatch({ Records: ['not a record'] });

    // Assess
    expect(batch.master).toBeUndefined();
    expect(batch.unusable.map(({ record }) => record)).toEqual(['not a record']);
  });
});
