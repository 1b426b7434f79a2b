import { DynamoDBClient, PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localClientConfig, startDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local';
import { toLambdaEvent } from '../support/lambda-event';
import { StreamPoller } from '../support/stream-poller';
import { createTable } from '../support/tables';

describe('Function: toLambdaEvent', () => {
  let engine: DynamoDbLocal;
  let client: DynamoDBClient;
  let streams: DynamoDBStreamsClient;

  beforeAll(async () => {
    engine = await startDynamoDbLocal();
    client = new DynamoDBClient(localClientConfig(engine.endpoint, 'eu-west-1'));
    streams = new DynamoDBStreamsClient(localClientConfig(engine.endpoint, 'eu-west-1'));
  });

  afterAll(async () => {
    client.destroy();
    streams.destroy();
    await engine.stop();
  });

  async function recordsFor(items: Record<string, AttributeValue>[]): Promise<{ records: DynamoDBRecord[]; streamArn: string }> {
    const tableName = `shape-${Math.random().toString(36).slice(2)}`;
    const { streamArn } = await createTable(client, { tableName, streamViewType: 'NEW_AND_OLD_IMAGES' });
    if (streamArn === undefined) throw new Error('no stream');
    for (const item of items) await client.send(new PutItemCommand({ TableName: tableName, Item: item }));
    const records: DynamoDBRecord[] = [];
    const poller = new StreamPoller({
      streams,
      streamArn,
      handler: (event) => {
        records.push(...event.Records);
      },
    });
    await poller.start();
    await poller.waitUntilCaughtUp();
    await poller.stop();
    return { records, streamArn };
  }

  it('encodes binary as base64 at every depth and keeps numbers as exact strings', async () => {
    // Prepare
    const bytes = Uint8Array.from([0, 1, 2, 253, 254, 255]);
    const base64Lookalike = new TextEncoder().encode('aGVsbG8=');
    const item: Record<string, AttributeValue> = {
      pk: { S: 'binary' },
      b: { B: bytes },
      lookalike: { B: base64Lookalike },
      bs: { BS: [bytes, base64Lookalike] },
      n: { N: '12345678901234567890123456789012345678' },
      tiny: { N: '-0.000000000000000000000000000000000001' },
      ns: { NS: ['1', '99999999999999999999999999999999999999'] },
      m: { M: { inner: { B: bytes }, list: { L: [{ B: bytes }, { M: { deep: { BS: [bytes] } } }] } } },
      l: { L: [{ B: base64Lookalike }, { N: '1E+10' }, { NULL: true }, { BOOL: false }, { S: '' }] },
      ss: { SS: ['a', 'b'] },
    };

    // Act
    const { records, streamArn } = await recordsFor([item]);

    // Assess
    const record = records[0];
    const b64 = Buffer.from(bytes).toString('base64');
    const lookalike64 = Buffer.from(base64Lookalike).toString('base64');
    expect(record).toMatchObject({ eventName: 'INSERT', eventSource: 'aws:dynamodb', eventSourceARN: streamArn });
    expect([typeof record?.eventVersion, typeof record?.eventID, typeof record?.awsRegion]).toEqual(['string', 'string', 'string']);
    expect(record?.dynamodb?.StreamViewType).toBe('NEW_AND_OLD_IMAGES');
    expect(record?.dynamodb?.SequenceNumber).toMatch(/^\d+$/);
    expect(record?.dynamodb?.SizeBytes).toBeGreaterThan(0);
    const created = record?.dynamodb?.ApproximateCreationDateTime ?? 0;
    expect(Number.isInteger(created)).toBe(true);
    expect(Math.abs(created - Date.now() / 1000)).toBeLessThan(120);
    expect(record?.dynamodb?.Keys).toEqual({ pk: { S: 'binary' } });
    const image = record?.dynamodb?.NewImage;
    expect(image?.['b']).toEqual({ B: b64 });
    expect(image?.['lookalike']).toEqual({ B: lookalike64 });
    expect(image?.['bs']?.BS?.slice().sort()).toEqual([b64, lookalike64].sort());
    expect(image?.['n']).toEqual({ N: '12345678901234567890123456789012345678' });
    expect(image?.['tiny']?.N).toMatch(/^-?[0-9.E+-]+$/);
    expect(image?.['m']).toEqual({ M: { inner: { B: b64 }, list: { L: [{ B: b64 }, { M: { deep: { BS: [b64] } } }] } } });
    expect(image?.['l']?.L?.[0]).toEqual({ B: lookalike64 });
    expect(image?.['l']?.L?.slice(2)).toEqual([{ NULL: true }, { BOOL: false }, { S: '' }]);
    expect(record?.dynamodb?.OldImage).toBeUndefined();
    expect(record?.userIdentity).toBeUndefined();
    expect(JSON.parse(JSON.stringify(records))).toEqual(records);
  });

  it('keeps userIdentity of TTL deletes and can set the region Lambda would report', () => {
    // Prepare
    const streamArn = 'arn:aws:dynamodb:ddblocal:000000000000:table/master/stream/2026-01-01T00:00:00.000';
    const ttlDelete = {
      eventID: 'id-1',
      eventName: 'REMOVE' as const,
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'ddblocal',
      userIdentity: { Type: 'Service', PrincipalId: 'dynamodb.amazonaws.com' },
      dynamodb: {
        ApproximateCreationDateTime: new Date('2026-01-01T00:00:01.900Z'),
        Keys: { pk: { B: Uint8Array.from([255]) } },
        OldImage: { pk: { B: Uint8Array.from([255]) }, n: { N: '1' } },
        SequenceNumber: '100000000000000000001',
        SizeBytes: 12,
        StreamViewType: 'NEW_AND_OLD_IMAGES' as const,
      },
    };

    // Act
    const event = toLambdaEvent([ttlDelete], streamArn, 'eu-west-1');

    // Assess
    expect(event).toEqual({
      Records: [
        {
          eventID: 'id-1',
          eventName: 'REMOVE',
          eventVersion: '1.1',
          eventSource: 'aws:dynamodb',
          awsRegion: 'eu-west-1',
          eventSourceARN: streamArn,
          userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' },
          dynamodb: {
            ApproximateCreationDateTime: 1767225601,
            Keys: { pk: { B: '/w==' } },
            OldImage: { pk: { B: '/w==' }, n: { N: '1' } },
            SequenceNumber: '100000000000000000001',
            SizeBytes: 12,
            StreamViewType: 'NEW_AND_OLD_IMAGES',
          },
        },
      ],
    });
  });
});
