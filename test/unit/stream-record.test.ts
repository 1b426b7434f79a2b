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
    expect(batch.invalid).toBeUndefined();
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
    expect(parseStreamBatch({ Records: [] })).toEqual({ recordCount: 0, master: undefined, changes: [], invalid: undefined });
  });

  it.each([null, 'text', {}, { Records: 'x' }, { records: [] }])('rejects %j, which is not a stream batch', (event) => {
    expect(() => parseStreamBatch(event)).toThrow(InvalidEventError);
    expect(() => parseStreamBatch(event)).toThrow('the event is not a DynamoDB stream batch');
  });

  it.each([
    ['an unknown eventName', (r: Record<string, unknown>): Record<string, unknown> => ({ ...r, eventName: 'UPSERT' }), 'eventName "UPSERT" is unknown: expected INSERT, MODIFY or REMOVE'],
    ['no Keys', (r: Record<string, unknown>): Record<string, unknown> => ({ ...r, dynamodb: { ...(r.dynamodb as object), Keys: undefined } }), 'has no dynamodb.Keys'],
    ['empty Keys', (r: Record<string, unknown>): Record<string, unknown> => ({ ...r, dynamodb: { ...(r.dynamodb as object), Keys: {} } }), 'has no dynamodb.Keys'],
    ['another event source', (r: Record<string, unknown>): Record<string, unknown> => ({ ...r, eventSource: 'aws:kinesis' }), 'eventSource is "aws:kinesis", expected "aws:dynamodb"'],
    ['a bad stream ARN', (r: Record<string, unknown>): Record<string, unknown> => ({ ...r, eventSourceARN: 'arn:aws:sqs:eu-west-1:1:q' }), 'is not a DynamoDB stream ARN'],
    ['a bad binary', (r: Record<string, unknown>): Record<string, unknown> => ({ ...r, dynamodb: { ...(r.dynamodb as object), NewImage: { pk: { S: 'b' }, x: { B: '***' } } } }), 'dynamodb.NewImage.x is not base64'],
    ['a new image of another key', (r: Record<string, unknown>): Record<string, unknown> => ({ ...r, dynamodb: { ...(r.dynamodb as object), NewImage: { pk: { S: 'zzz' } } } }), 'dynamodb.NewImage.pk does not match dynamodb.Keys.pk'],
    ['another stream', (r: Record<string, unknown>): Record<string, unknown> => ({ ...r, eventSourceARN: STREAM_ARN.replace('orders', 'payments') }), 'one batch must come from one stream'],
  ])('stops at a record with %s, keeping the records before it and naming the bad one', (_case, spoil, reason) => {
    // Prepare
    const good = put('a', '1');
    const bad = spoil(put('b', '2') as unknown as Record<string, unknown>) as { eventID: string; dynamodb: { SequenceNumber: string } };
    const after = put('c', '3');

    // Act
    const batch = parseStreamBatch(streamEvent(good, bad, after));

    // Assess
    expect(batch.changes.map((change) => change.key)).toEqual([{ pk: { S: 'a' } }]);
    expect(batch.invalid?.sequenceNumber).toBe(bad.dynamodb.SequenceNumber);
    expect(batch.invalid?.message).toContain(`stream record ${bad.eventID}`);
    expect(batch.invalid?.message).toContain(reason);
    expect(batch.recordCount).toBe(3);
  });

  it('fails the whole batch when a bad record has no sequence number to report', () => {
    // Prepare
    const bad = put('b', '2');
    delete (bad.dynamodb as Record<string, unknown>).SequenceNumber;

    // Act
    const parse = (): unknown => parseStreamBatch(streamEvent(put('a', '1'), bad));

    // Assess
    expect(parse).toThrow(InvalidEventError);
    expect(parse).toThrow('without a sequence number the record cannot be reported for re-delivery');
  });
});
