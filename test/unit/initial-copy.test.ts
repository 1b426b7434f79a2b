import { DynamoDBClient, GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../handler/errors';
import { copyReadiness, DEFAULT_SETTLE_MS, finishSegment } from '../../handler/initial-copy';
import { StateStore } from '../../handler/state-store';
import { EU, STATE_TABLE } from './helpers/config';
import { deadlineIn, releaseDeadlines } from './helpers/deadlines';
import { slaveItem } from './helpers/state';

const ddb = mockClient(DynamoDBClient);
const NOW = 1_800_000_000_000;
const FRESH = { ...EU, initialCopy: true as const };

const store = (): StateStore => new StateStore(new DynamoDBClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } }), STATE_TABLE, { concurrency: 2, now: () => NOW });
const done = (segment: number, totalSegments: number): Record<string, { N: string } | { BOOL: boolean }> => ({ segment: { N: String(segment) }, total_segments: { N: String(totalSegments) }, done: { BOOL: true } });

describe('Function: copyReadiness', () => {
  afterEach(() => {
    ddb.reset();
    releaseDeadlines();
  });

  it('refuses a slave not marked initial_copy, before reading anything', async () => {
    // Act
    const checking = copyReadiness(store(), EU, DEFAULT_SETTLE_MS, NOW, deadlineIn(5_000));

    // Assess
    await expect(checking).rejects.toBeInstanceOf(ConfigurationError);
    await expect(checking).rejects.toThrow('slaves.eu: is not marked initial_copy');
    expect(ddb.calls()).toHaveLength(0);
  });

  it('refuses a slave that is live, or parked with no copy pending', async () => {
    // Prepare
    ddb.on(GetItemCommand).resolvesOnce({ Item: slaveItem('eu', { mode: 'live' }) }).resolves({ Item: slaveItem('eu', { mode: 'parked' }) });

    // Act & Assess
    await expect(copyReadiness(store(), FRESH, 0, NOW, deadlineIn(5_000))).rejects.toThrow(`slaves.eu: is live in state table ${STATE_TABLE}`);
    await expect(copyReadiness(store(), FRESH, 0, NOW, deadlineIn(5_000))).rejects.toThrow(ConfigurationError);
  });

  it('creates the state of a new slave parked with its copy pending, and makes the copy wait the whole settle time', async () => {
    // Prepare
    ddb.on(GetItemCommand).resolvesOnce({}).resolves({ Item: slaveItem('eu', { copy: 'pending', parkedSince: NOW }) });
    ddb.on(UpdateItemCommand).resolves({});

    // Act
    const readiness = await copyReadiness(store(), FRESH, DEFAULT_SETTLE_MS, NOW, deadlineIn(5_000));

    // Assess
    expect(readiness).toMatchObject({ ready: false, waitMs: 900_000 });
    expect(ddb).toHaveReceivedCommandWith(UpdateItemCommand, { ExpressionAttributeValues: expect.objectContaining({ ':pending': { S: 'pending' } }) as Record<string, AttributeValue> });
  });

  it('is ready once the slave has been parked for the settle time, and at once for a copy already done', async () => {
    // Prepare
    ddb.on(GetItemCommand).resolvesOnce({ Item: slaveItem('eu', { copy: 'pending', parkedSince: NOW - 60_000 }) }).resolves({ Item: slaveItem('eu', { mode: 'live', copy: 'done' }) });

    // Act
    const settled = await copyReadiness(store(), FRESH, 60_000, NOW, deadlineIn(5_000));
    const copied = await copyReadiness(store(), FRESH, 60_000, NOW, deadlineIn(5_000));

    // Assess
    expect(settled.ready).toBe(true);
    expect(copied).toMatchObject({ ready: true, state: { copy: 'done' } });
  });
});

describe('Function: finishSegment', () => {
  afterEach(() => {
    ddb.reset();
    releaseDeadlines();
  });

  it('saves the segment done and marks the slave copied once every segment of the copy is', async () => {
    // Prepare
    ddb.on(PutItemCommand).resolves({});
    ddb.on(QueryCommand).resolvesOnce({ Items: [done(0, 2)] }).resolves({ Items: [done(0, 2), done(1, 2)] });
    ddb.on(UpdateItemCommand).resolves({});

    // Act
    const first = await finishSegment(store(), 'eu', 0, 2, 10, NOW - 1_000, deadlineIn(5_000));
    const last = await finishSegment(store(), 'eu', 1, 2, 12, NOW - 1_000, deadlineIn(5_000));

    // Assess
    expect([first, last]).toEqual([false, true]);
    expect(ddb).toHaveReceivedCommandWith(PutItemCommand, { Item: expect.objectContaining({ sk: { S: 'segment#000001' }, done: { BOOL: true }, items: { N: '12' } }) as Record<string, AttributeValue> });
    expect(ddb).toHaveReceivedCommandTimes(UpdateItemCommand, 1);
  });
});
