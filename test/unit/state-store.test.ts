import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type QueryCommandInput,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { keyIdentity } from '../../handler/attribute-value';
import { StateTableError } from '../../handler/errors';
import { PARKED_PARTITIONS, parkedChangeFor, partitions, StateStore, type NotKept, type ParkedChange, type ParkingPlace, type SlaveState } from '../../handler/state-store';
import { LIVE_STATES_REUSE_MS, PARK_SETTLE_MS } from '../../handler/timing';
import { EU, STATE_TABLE, US } from './helpers/config';
import { deadlineIn, releaseDeadlines } from './helpers/deadlines';
import { parkedChange, parkedItem, slaveItem } from './helpers/state';
import { awsError, FAST_BACKOFF, putWrite } from './helpers/writes';

const ddb = mockClient(DynamoDBClient);
const NOW = 1_800_000_000_000;
const conditionFailed = (): Error => awsError('ConditionalCheckFailedException', 400, 'The conditional request failed');

function storeWith(options: { random?: () => number; backoff?: { baseDelayMs: number; maxDelayMs: number }; settleMs?: number } = {}): StateStore {
  const client = new DynamoDBClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  return new StateStore(client, STATE_TABLE, {
    concurrency: 4,
    backoff: options.backoff ?? FAST_BACKOFF,
    now: () => NOW,
    ...(options.random === undefined ? {} : { random: options.random }),
    ...(options.settleMs === undefined ? {} : { settleMs: options.settleMs }),
  });
}

/**
 * The partition and sort key a parked change of `keyId` must have in a bucket: both from the key's SHA-256 digest,
 * the sort key after the bucket's number in ten digits.
 */
function expectedParkedKey(slave: string, keyId: string, bucket = 0): { pk: string; sk: string } {
  const digest = createHash('sha256').update(keyId).digest();
  return { pk: `parked#${slave}#${String(digest.readUInt32BE(0) % 16).padStart(2, '0')}`, sk: `${String(bucket).padStart(10, '0')}#${digest.toString('base64url')}` };
}

/**
 * Parks changes of a slave read parked and settled at `place` (its announcement accepted), and resolves with those
 * not kept.
 */
async function parkIn(store: StateStore, slave: string, changes: readonly ParkedChange[], place: ParkingPlace = { epoch: 0, bucket: 0, settled: true }): Promise<NotKept[]> {
  ddb.on(UpdateItemCommand).resolves({});
  const parked = await store.parkAndAnnounce(slave, changes, place, { reason: 'why', startsCopy: false, markFirst: false }, deadlineIn(5_000));
  if (parked.status === 'went-live') throw new Error('the slave went live');
  return parked.notKept;
}

const SLAVE_KEY = { pk: { S: 'slave#eu' }, sk: { S: 'state' } };

describe('Class: StateStore', () => {
  afterEach(() => {
    ddb.reset();
    releaseDeadlines();
  });

  describe('reading slave states', () => {
    it('reads every slave state in one strongly consistent BatchGetItem, a slave without an item being live at generation 0', async () => {
      // Prepare
      ddb.on(BatchGetItemCommand).resolves({ Responses: { [STATE_TABLE]: [slaveItem('eu', { mode: 'parked', generation: 4, epoch: 2, parkedSince: 1_000, reason: 'throttled', copy: 'pending' })] } });

      // Act
      const states = await storeWith().readSlaveStates([EU, US], deadlineIn(5_000));

      // Assess
      expect(ddb).toHaveReceivedCommandTimes(BatchGetItemCommand, 1);
      expect(ddb).toHaveReceivedCommandWith(BatchGetItemCommand, {
        RequestItems: { [STATE_TABLE]: { Keys: [SLAVE_KEY, { pk: { S: 'slave#us' }, sk: { S: 'state' } }], ConsistentRead: true } },
      });
      expect(states.get('eu')).toEqual({ slave: 'eu', mode: 'parked', settled: false, generation: 4, epoch: 2, parkedSince: 1_000, reason: 'throttled', copy: 'pending', bucket: 0, drainedBelow: 0, cursors: new Map(), cleanedBelow: 0, exists: true });
      expect(states.get('us')).toEqual({ slave: 'us', mode: 'live', settled: false, generation: 0, epoch: 0, bucket: 0, drainedBelow: 0, cursors: new Map(), cleanedBelow: 0, exists: false });
    });

    it('reads unprocessed keys again', async () => {
      // Prepare
      ddb
        .on(BatchGetItemCommand)
        .resolvesOnce({ Responses: { [STATE_TABLE]: [slaveItem('eu')] }, UnprocessedKeys: { [STATE_TABLE]: { Keys: [{ pk: { S: 'slave#us' }, sk: { S: 'state' } }] } } })
        .resolves({ Responses: { [STATE_TABLE]: [slaveItem('us', { mode: 'live', epoch: 5 })] } });

      // Act
      const states = await storeWith().readSlaveStates([EU, US], deadlineIn(5_000));

      // Assess
      expect(ddb.commandCalls(BatchGetItemCommand).map((call) => call.args[0].input.RequestItems?.[STATE_TABLE]?.Keys?.length)).toEqual([2, 1]);
      expect(ddb.commandCalls(BatchGetItemCommand)[1]?.args[0].input.RequestItems?.[STATE_TABLE]?.ConsistentRead).toBe(true);
      expect(states.get('us')).toMatchObject({ mode: 'live', epoch: 5, exists: true });
    });

    it('pauses with backoff before reading unprocessed keys again, as for any throttled call', async () => {
      // Prepare
      const sentAt: number[] = [];
      ddb.on(BatchGetItemCommand).callsFake(() => {
        sentAt.push(Date.now());
        return Promise.resolve(
          sentAt.length < 3 ? { Responses: {}, UnprocessedKeys: { [STATE_TABLE]: { Keys: [SLAVE_KEY] } } } : { Responses: { [STATE_TABLE]: [slaveItem('eu')] } },
        );
      });

      // Act
      await storeWith({ backoff: { baseDelayMs: 40, maxDelayMs: 40 }, random: () => 0.99 }).readSlaveStates([EU], deadlineIn(5_000));

      // Assess: BatchGetItem returns unprocessed keys when throttled; sending them straight back only adds to it.
      expect(sentAt).toHaveLength(3);
      expect((sentAt[1] ?? 0) - (sentAt[0] ?? 0)).toBeGreaterThanOrEqual(30);
      expect((sentAt[2] ?? 0) - (sentAt[1] ?? 0)).toBeGreaterThanOrEqual(30);
    });

    it('reads one slave state with a strongly consistent GetItem', async () => {
      // Prepare
      ddb.on(GetItemCommand).resolvesOnce({ Item: slaveItem('eu', { mode: 'live', generation: 2, epoch: 1 }) }).resolves({});

      // Act
      const found = await storeWith().readSlaveState('eu', deadlineIn(5_000));
      const missing = await storeWith().readSlaveState('eu', deadlineIn(5_000));

      // Assess
      expect(ddb).toHaveReceivedCommandWith(GetItemCommand, { TableName: STATE_TABLE, Key: SLAVE_KEY, ConsistentRead: true });
      expect(found).toEqual({ slave: 'eu', mode: 'live', settled: false, generation: 2, epoch: 1, bucket: 0, drainedBelow: 0, cursors: new Map(), cleanedBelow: 0, exists: true });
      expect(missing).toEqual({ slave: 'eu', mode: 'live', settled: false, generation: 0, epoch: 0, bucket: 0, drainedBelow: 0, cursors: new Map(), cleanedBelow: 0, exists: false });
    });

    it('retries throttling of the state table until it clears', async () => {
      // Prepare
      ddb.on(GetItemCommand).rejectsOnce(awsError('ProvisionedThroughputExceededException', 400)).rejectsOnce(awsError('InternalServerError', 500)).resolves({ Item: slaveItem('eu') });

      // Act
      const state = await storeWith().readSlaveState('eu', deadlineIn(5_000));

      // Assess
      expect(ddb).toHaveReceivedCommandTimes(GetItemCommand, 3);
      expect(state.mode).toBe('parked');
    });

    it('throws StateTableError naming the table, the call and the AWS error on a fatal error, without retrying', async () => {
      // Prepare
      ddb.on(GetItemCommand).rejects(awsError('AccessDeniedException', 400, 'not authorized to perform: dynamodb:GetItem'));

      // Act
      const reading = storeWith().readSlaveState('eu', deadlineIn(5_000));

      // Assess
      await expect(reading).rejects.toBeInstanceOf(StateTableError);
      await expect(reading).rejects.toThrow(`state table ${STATE_TABLE}: could not read slave "eu"'s state: AccessDeniedException: not authorized to perform: dynamodb:GetItem`);
      expect(ddb).toHaveReceivedCommandTimes(GetItemCommand, 1);
    });

    it('throws StateTableError when throttling outlasts the deadline', async () => {
      // Prepare
      ddb.on(BatchGetItemCommand).rejects(awsError('ThrottlingException', 400, 'Rate exceeded'));

      // Act
      const reading = storeWith({ backoff: { baseDelayMs: 5, maxDelayMs: 10 } }).readSlaveStates([EU], deadlineIn(60));

      // Assess
      await expect(reading).rejects.toBeInstanceOf(StateTableError);
      await expect(reading).rejects.toThrow(/could not read the slaves' states: OutOfTimeError: .*not done before the deadline \(last error: ThrottlingException: Rate exceeded\)/);
    });
  });

  describe('parking', () => {
    it('puts each change in its own item, spread over the 16 partitions by the digest of its key', async () => {
      // Prepare
      ddb.on(BatchWriteItemCommand).resolves({});
      const changes = Array.from({ length: 200 }, (_, index) => parkedChange(`item-${index}`, { sequenceNumber: String(1_000 + index) }));

      // Act
      const notKept = await parkIn(storeWith(), 'eu', changes);

      // Assess
      expect(notKept).toEqual([]);
      const items = ddb.commandCalls(BatchWriteItemCommand).flatMap((call) => call.args[0].input.RequestItems?.[STATE_TABLE] ?? []).map((request) => request.PutRequest?.Item ?? {});
      expect(items).toHaveLength(200);
      for (const [index, item] of items.entries()) {
        const expected = expectedParkedKey('eu', keyIdentity({ pk: { S: `item-${index}` } }));
        expect({ pk: item.pk?.S, sk: item.sk?.S }).toEqual(expected);
      }
      expect(new Set(items.map((item) => item.pk?.S)).size).toBe(PARKED_PARTITIONS);
      expect(partitions()).toEqual(Array.from({ length: 16 }, (_, index) => index));
    });

    it('keeps the change whole with its bookkeeping: kind, key, image, sequence number, times, reason and epoch', async () => {
      // Prepare
      ddb.on(BatchWriteItemCommand).resolves({});
      const put = parkedChange('a', { sequenceNumber: '4200', epoch: 3, reason: 'x'.repeat(2_000) });
      const removal = parkedChange('b', { change: { kind: 'delete' }, sequenceNumber: '4201' });

      // Act
      await parkIn(storeWith(), 'eu', [put, removal]);

      // Assess
      const [putItem, deleteItem] = ddb.commandCalls(BatchWriteItemCommand)[0]?.args[0].input.RequestItems?.[STATE_TABLE]?.map((request) => request.PutRequest?.Item) ?? [];
      // Keys and the epoch as attributes; the change itself as one JSON text, key and image in DynamoDB JSON.
      expect(putItem).toEqual({
        pk: { S: expectedParkedKey('eu', put.keyId).pk },
        sk: { S: expectedParkedKey('eu', put.keyId).sk },
        epoch: { N: '3' },
        change: { S: `{"kind":"put","key":{"pk":{"S":"a"}},"image":{"pk":{"S":"a"},"value":{"S":"v"}},"seq":"4200","createdAt":1000,"parkedAt":2000,"reason":"${'x'.repeat(1_000)}"}` },
      });
      expect(JSON.parse(deleteItem?.change?.S ?? '')).toEqual({ kind: 'delete', key: { pk: { S: 'b' } }, seq: '4201', createdAt: 1_000, parkedAt: 2_000, reason: 'slave unavailable' });
    });

    it('keeps a key parked twice as one item, so only the newer change stays', async () => {
      // Prepare
      ddb.on(BatchWriteItemCommand).resolves({});
      const store = storeWith();

      // Act
      await parkIn(store, 'eu', [parkedChange('a', { sequenceNumber: '1' })]);
      await parkIn(store, 'eu', [parkedChange('a', { sequenceNumber: '2' })]);
      await parkIn(store, 'us', [parkedChange('a', { sequenceNumber: '2' })]);
      await parkIn(store, 'eu', [parkedChange('a', { sequenceNumber: '3' })], { epoch: 0, bucket: 1, settled: true });

      // Assess
      const keys = ddb.commandCalls(BatchWriteItemCommand).map((call) => {
        const item = call.args[0].input.RequestItems?.[STATE_TABLE]?.[0]?.PutRequest?.Item;
        return `${item?.pk?.S ?? ''}|${item?.sk?.S ?? ''}`;
      });
      expect(keys[0]).toBe(keys[1]);
      expect(keys[2]).not.toBe(keys[0]);
      // Another bucket is another item of the same partition, sorting after the first.
      expect(keys[3]?.split('|')[0]).toBe(keys[0]?.split('|')[0]);
      expect((keys[3] ?? '') > (keys[0] ?? '')).toBe(true);
    });

    it('returns the changes the state table would not take, with the reason', async () => {
      // Prepare
      ddb.on(BatchWriteItemCommand).rejects(awsError('AccessDeniedException', 400, 'denied'));
      const change = parkedChange('a');

      // Act
      const parked = await storeWith().parkAndAnnounce('eu', [change], { epoch: 0, bucket: 0 }, { reason: 'why', startsCopy: false, markFirst: false }, deadlineIn(5_000));

      // Assess: nothing kept, nothing announced
      expect(parked.status).toBe('not-kept');
      const notKept = parked.status === 'went-live' ? [] : parked.notKept;
      expect(notKept).toEqual([{ change, error: expect.any(Error) as unknown }]);
      expect(ddb).not.toHaveReceivedCommand(UpdateItemCommand);
      expect(notKept[0]?.error.message).toBe(`state table ${STATE_TABLE} (parking for slave "eu"): could not write key {pk: "${expectedParkedKey('eu', change.keyId).pk}", sk: "${expectedParkedKey('eu', change.keyId).sk}"}: AccessDeniedException: denied (not retryable: fix the table, its permissions or the item)`);
    });

    it('retries throttled parking until it clears', async () => {
      // Prepare
      ddb.on(BatchWriteItemCommand).rejectsOnce(awsError('ThrottlingException', 400)).resolves({});

      // Act
      const notKept = await parkIn(storeWith(), 'eu', [parkedChange('a')]);

      // Assess
      expect(notKept).toEqual([]);
      expect(ddb).toHaveReceivedCommandTimes(BatchWriteItemCommand, 2);
    });
  });

  describe('Function: parkedChangeFor', () => {
    it('parks a put with its image while it fits in a state item, and a larger one as its key to read back', () => {
      // Prepare
      const small = putWrite('a');
      const large = { ...putWrite('b'), item: { pk: { S: 'b' }, blob: { S: 'x'.repeat(399 * 1024) } } };

      // Act
      const smallChange = parkedChangeFor(small, '10', 1, 2, 'why', 4);
      const largeChange = parkedChangeFor(large, '11', 1, 2, 'why', 4);

      // Assess
      expect(smallChange).toEqual({
        keyId: small.keyId,
        key: small.key,
        change: { kind: 'put', item: { pk: { S: 'a' }, value: { S: 'v' } } },
        imageText: '{"pk":{"S":"a"},"value":{"S":"v"}}',
        sequenceNumber: '10',
        createdAtMs: 1,
        parkedAtMs: 2,
        reason: 'why',
        epoch: 4,
      });
      expect(largeChange.change).toEqual({ kind: 'read-master' });
      expect(largeChange.key).toEqual({ pk: { S: 'b' } });
    });

    it('parks as its key an image whose text does not fit, though the item itself would: binary grows by a third in base64', () => {
      // Prepare: 300 KB of binary is 400 KB of base64
      const binary = { ...putWrite('c'), item: { pk: { S: 'c' }, blob: { B: new Uint8Array(300 * 1024) } } };

      // Act
      const change = parkedChangeFor(binary, '12', 1, 2, 'why', 0);

      // Assess
      expect(change.change).toEqual({ kind: 'read-master' });
      expect(change).not.toHaveProperty('imageText');
    });

    it('parks a delete as a delete', () => {
      // Prepare
      const key = { pk: { S: 'gone' } };

      // Act
      const change = parkedChangeFor({ kind: 'delete', keyId: keyIdentity(key), key }, '12', 1, 2, 'why', 0);

      // Assess
      expect(change.change).toEqual({ kind: 'delete' });
    });

    it('parks an oversized image as read-master in the state table, with no image', async () => {
      // Prepare
      ddb.on(BatchWriteItemCommand).resolves({});
      const large = { ...putWrite('b'), item: { pk: { S: 'b' }, blob: { S: 'x'.repeat(399 * 1024) } } };

      // Act
      await parkIn(storeWith(), 'eu', [parkedChangeFor(large, '11', 1, 2, 'why', 0)]);

      // Assess
      const item = ddb.commandCalls(BatchWriteItemCommand)[0]?.args[0].input.RequestItems?.[STATE_TABLE]?.[0]?.PutRequest?.Item;
      expect(JSON.parse(item?.change?.S ?? '')).toEqual({ kind: 'read-master', key: { pk: { S: 'b' } }, seq: '11', createdAt: 1, parkedAt: 2, reason: 'why' });
    });
  });

  describe('modes', () => {
    it('announces parked changes by marking the slave parked only while its epoch and open bucket hold, raising its generation, keeping when it was first parked and marking it settled in that epoch', async () => {
      // Prepare
      ddb.on(UpdateItemCommand).resolves({});

      // Act
      const parked = await storeWith().parkAndAnnounce('eu', [], { epoch: 3, bucket: 7 }, { reason: 'slave "eu" throttled', startsCopy: false, markFirst: false }, deadlineIn(5_000));

      // Assess
      expect(parked).toEqual({ status: 'announced', notKept: [] });
      expect(ddb).toHaveReceivedCommandTimes(UpdateItemCommand, 1);
      expect(ddb).toHaveReceivedCommandWith(UpdateItemCommand, {
        TableName: STATE_TABLE,
        Key: SLAVE_KEY,
        UpdateExpression: 'SET #mode = :parked, parked_since = if_not_exists(parked_since, :now), reason = :reason, epoch = if_not_exists(epoch, :epoch), settled_epoch = :epoch ADD generation :one',
        ConditionExpression: '(attribute_not_exists(epoch) OR epoch = :epoch) AND (attribute_not_exists(#bucket) OR #bucket = :bucket)',
        ExpressionAttributeNames: { '#mode': 'mode', '#bucket': 'bucket' },
        ExpressionAttributeValues: { ':parked': { S: 'parked' }, ':now': { N: String(NOW) }, ':reason': { S: 'slave "eu" throttled' }, ':epoch': { N: '3' }, ':bucket': { N: '7' }, ':one': { N: '1' } },
      });
    });

    it('marks a live slave parked before keeping its changes, and announces them after', async () => {
      // Prepare
      ddb.on(UpdateItemCommand).resolves({});
      ddb.on(BatchWriteItemCommand).resolves({});

      // Act
      await storeWith().parkAndAnnounce('eu', [parkedChange('a')], { epoch: 0, bucket: 0 }, { reason: 'why', startsCopy: false, markFirst: true }, deadlineIn(5_000));

      // Assess
      const order = ddb.calls().map((call) => (call.args[0] instanceof UpdateItemCommand ? 'mark' : call.args[0] instanceof BatchWriteItemCommand ? 'keep' : 'other'));
      expect(order).toEqual(['mark', 'keep', 'mark']);
    });

    describe('settling', () => {
      /** When each call reached the state table, on the monotonic clock. */
      const callTimes = (): { mark: number[]; keep: number[] } => {
        const times = { mark: [] as number[], keep: [] as number[] };
        ddb.on(UpdateItemCommand).callsFake(() => {
          times.mark.push(performance.now());
          return {};
        });
        ddb.on(BatchWriteItemCommand).callsFake(() => {
          times.keep.push(performance.now());
          return {};
        });
        return times;
      };

      it(`keeps no change until PARK_SETTLE_MS (${PARK_SETTLE_MS} ms) after marking a live slave parked, longer than a read of the states is reused (${LIVE_STATES_REUSE_MS} ms)`, async () => {
        // Prepare
        const times = callTimes();

        // Act
        const parked = await storeWith().parkAndAnnounce('eu', [parkedChange('a')], { epoch: 0, bucket: 0 }, { reason: 'why', startsCopy: false, markFirst: true }, deadlineIn(10_000));

        // Assess
        expect(parked).toEqual({ status: 'announced', notKept: [] });
        expect(PARK_SETTLE_MS).toBeGreaterThan(LIVE_STATES_REUSE_MS);
        expect((times.keep[0] ?? 0) - (times.mark[0] ?? Number.POSITIVE_INFINITY)).toBeGreaterThanOrEqual(PARK_SETTLE_MS);
      });

      it('waits as long for a slave read parked but not settled: whoever marked it may have stopped before keeping anything', async () => {
        // Prepare
        const times = callTimes();
        const started = performance.now();

        // Act
        await storeWith().parkAndAnnounce('eu', [parkedChange('a')], { epoch: 2, bucket: 0, settled: false }, { reason: 'why', startsCopy: false, markFirst: false }, deadlineIn(10_000));

        // Assess
        expect((times.keep[0] ?? 0) - started).toBeGreaterThanOrEqual(PARK_SETTLE_MS);
      });

      it('keeps the changes at once for a slave read parked and settled', async () => {
        // Prepare: a settle time longer than the deadline, which a parker that waited could never reach
        callTimes();

        // Act
        const parked = await storeWith({ settleMs: 600_000 }).parkAndAnnounce('eu', [parkedChange('a')], { epoch: 2, bucket: 0, settled: true }, { reason: 'why', startsCopy: false, markFirst: false }, deadlineIn(10_000));

        // Assess
        expect(parked).toEqual({ status: 'announced', notKept: [] });
      });

      it('keeps and announces nothing when the deadline comes before the settle time, so the batch is re-delivered', async () => {
        // Prepare
        callTimes();

        // Act
        const parked = await storeWith({ settleMs: 600_000 }).parkAndAnnounce('eu', [parkedChange('a')], { epoch: 0, bucket: 0 }, { reason: 'why', startsCopy: false, markFirst: true }, deadlineIn(10_000));

        // Assess
        expect(parked.status).toBe('not-kept');
        expect(parked.status === 'not-kept' ? parked.notKept.map(({ error }) => error.message) : []).toEqual([
          'state table orders-replicator-state: not enough time left to keep changes for slave "eu", which was marked parked less than 600000 ms ago',
        ]);
        expect(ddb).toHaveReceivedCommandTimes(UpdateItemCommand, 1);
        expect(ddb).not.toHaveReceivedCommand(BatchWriteItemCommand);
      });

      it('reads a parked slave as settled only in the epoch it was marked settled in', async () => {
        // Prepare
        ddb.on(BatchGetItemCommand).resolves({
          Responses: {
            [STATE_TABLE]: [slaveItem('eu', { mode: 'parked', epoch: 4, settledEpoch: 4 }), slaveItem('us', { mode: 'parked', epoch: 5, settledEpoch: 4 })],
          },
        });

        // Act
        const states = await storeWith().readSlaveStates([EU, US], deadlineIn(5_000));

        // Assess
        expect([states.get('eu')?.settled, states.get('us')?.settled]).toEqual([true, false]);
      });
    });

    it('keeps the changes again in the bucket now open when a drain closed the one it read, and announces them there', async () => {
      // Prepare: the first announcement is refused; the state read back has the same epoch and bucket 8 open
      ddb.on(UpdateItemCommand).rejectsOnce(conditionFailed()).resolves({});
      ddb.on(GetItemCommand).resolves({ Item: slaveItem('eu', { epoch: 3, bucket: 8 }) });
      ddb.on(BatchWriteItemCommand).resolves({});
      const change = parkedChange('a', { epoch: 3 });

      // Act
      const parked = await storeWith().parkAndAnnounce('eu', [change], { epoch: 3, bucket: 7 }, { reason: 'why', startsCopy: false, markFirst: false }, deadlineIn(5_000));

      // Assess
      expect(parked).toEqual({ status: 'announced', notKept: [] });
      const kept = ddb.commandCalls(BatchWriteItemCommand).map((call) => call.args[0].input.RequestItems?.[STATE_TABLE]?.[0]?.PutRequest?.Item?.sk?.S);
      expect(kept).toEqual([expectedParkedKey('eu', change.keyId, 7).sk, expectedParkedKey('eu', change.keyId, 8).sk]);
      expect(ddb.commandCalls(UpdateItemCommand).map((call) => call.args[0].input.ExpressionAttributeValues?.[':bucket'])).toEqual([{ N: '7' }, { N: '8' }]);
    });

    it('starts a copy as pending when marking a new slave parked for its initial copy', async () => {
      // Prepare
      ddb.on(UpdateItemCommand).resolves({});

      // Act
      await storeWith().parkAndAnnounce('eu', [], { epoch: 0, bucket: 0 }, { reason: 'initial copy pending', startsCopy: true, markFirst: true }, deadlineIn(5_000));

      // Assess
      const input = ddb.commandCalls(UpdateItemCommand)[0]?.args[0].input;
      expect(input?.UpdateExpression).toBe(
        'SET #mode = :parked, parked_since = if_not_exists(parked_since, :now), reason = :reason, epoch = if_not_exists(epoch, :epoch), copy_state = if_not_exists(copy_state, :pending) ADD generation :one',
      );
      expect(input?.ExpressionAttributeValues?.[':pending']).toEqual({ S: 'pending' });
    });

    it('announces nothing when the epoch changed (the slave went live meanwhile)', async () => {
      // Prepare
      ddb.on(UpdateItemCommand).rejects(conditionFailed());
      ddb.on(GetItemCommand).resolves({ Item: slaveItem('eu', { mode: 'live', epoch: 4, bucket: 7 }) });
      ddb.on(BatchWriteItemCommand).resolves({});

      // Act & Assess
      await expect(storeWith().parkAndAnnounce('eu', [parkedChange('a', { epoch: 3 })], { epoch: 3, bucket: 7 }, { reason: 'why', startsCopy: false, markFirst: false }, deadlineIn(5_000))).resolves.toEqual({ status: 'went-live' });
      await expect(storeWith().parkAndAnnounce('eu', [parkedChange('a', { epoch: 3 })], { epoch: 3, bucket: 7 }, { reason: 'why', startsCopy: false, markFirst: true }, deadlineIn(5_000))).resolves.toEqual({ status: 'went-live' });
      // Marked first and refused: nothing was kept for the second call.
      expect(ddb).toHaveReceivedCommandTimes(BatchWriteItemCommand, 1);
    });

    it('throws StateTableError from the announcement on any other error', async () => {
      // Prepare
      ddb.on(UpdateItemCommand).rejects(awsError('ResourceNotFoundException', 400, 'Requested resource not found'));

      // Act & Assess
      await expect(storeWith().parkAndAnnounce('eu', [], { epoch: 3, bucket: 0 }, { reason: 'why', startsCopy: false, markFirst: true }, deadlineIn(5_000))).rejects.toThrow(
        `state table ${STATE_TABLE}: could not mark slave "eu" parked: ResourceNotFoundException: Requested resource not found`,
      );
    });

    it('marks a slave live only at the generation its drain read, under its lease, with no copy pending, raising the epoch', async () => {
      // Prepare
      ddb.on(UpdateItemCommand).resolvesOnce({}).rejects(conditionFailed());
      const store = storeWith();

      // Act
      const live = await store.markLive('eu', 7, 'drain-1', deadlineIn(5_000));
      const notLive = await store.markLive('eu', 7, 'drain-1', deadlineIn(5_000));

      // Assess
      expect([live, notLive]).toEqual([true, false]);
      expect(ddb).toHaveReceivedNthCommandWith(UpdateItemCommand, 1, {
        TableName: STATE_TABLE,
        Key: SLAVE_KEY,
        UpdateExpression: 'SET #mode = :live REMOVE parked_since, reason ADD epoch :one',
        ConditionExpression: 'generation = :generation AND lease_owner = :owner AND (attribute_not_exists(copy_state) OR copy_state = :done)',
        ExpressionAttributeNames: { '#mode': 'mode' },
        ExpressionAttributeValues: { ':live': { S: 'live' }, ':generation': { N: '7' }, ':owner': { S: 'drain-1' }, ':done': { S: 'done' }, ':one': { N: '1' } },
      });
    });

    it('throws StateTableError from markLive on any other error', async () => {
      // Prepare
      ddb.on(UpdateItemCommand).rejects(awsError('AccessDeniedException', 400, 'denied'));

      // Act & Assess
      await expect(storeWith().markLive('eu', 7, 'drain-1', deadlineIn(5_000))).rejects.toBeInstanceOf(StateTableError);
    });
  });

  describe('drain lease', () => {
    it('takes the lease of an existing slave whose lease is free, expired or its own, and returns the state', async () => {
      // Prepare
      ddb.on(UpdateItemCommand).resolves({ Attributes: slaveItem('eu', { generation: 9, leaseOwner: 'drain-1' }) });

      // Act
      const state = await storeWith().takeDrainLease('eu', 'drain-1', NOW + 60_000, deadlineIn(5_000));

      // Assess
      expect(state).toMatchObject({ slave: 'eu', mode: 'parked', generation: 9, exists: true });
      expect(ddb).toHaveReceivedCommandWith(UpdateItemCommand, {
        TableName: STATE_TABLE,
        Key: SLAVE_KEY,
        UpdateExpression: 'SET lease_owner = :owner, lease_until = :until',
        ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(lease_until) OR lease_until < :now OR lease_owner = :owner)',
        ExpressionAttributeValues: { ':owner': { S: 'drain-1' }, ':until': { N: String(NOW + 60_000) }, ':now': { N: String(NOW) } },
        ReturnValues: 'ALL_NEW',
      });
    });

    it('resolves undefined when another drain holds the lease', async () => {
      // Prepare
      ddb.on(UpdateItemCommand).rejects(conditionFailed());

      // Act & Assess
      await expect(storeWith().takeDrainLease('eu', 'drain-2', NOW + 60_000, deadlineIn(5_000))).resolves.toBeUndefined();
    });

    it('resolves undefined when the answer carries no attributes', async () => {
      // Prepare
      ddb.on(UpdateItemCommand).resolves({});

      // Act & Assess
      await expect(storeWith().takeDrainLease('eu', 'drain-2', NOW + 60_000, deadlineIn(5_000))).resolves.toBeUndefined();
    });

    it('throws StateTableError when the lease cannot be asked for', async () => {
      // Prepare
      ddb.on(UpdateItemCommand).rejects(awsError('AccessDeniedException', 400, 'denied'));

      // Act & Assess
      await expect(storeWith().takeDrainLease('eu', 'drain-2', NOW + 60_000, deadlineIn(5_000))).rejects.toBeInstanceOf(StateTableError);
    });

    it('gives the lease back only if it still holds it, and is quiet when it does not', async () => {
      // Prepare
      ddb.on(UpdateItemCommand).rejects(conditionFailed());

      // Act
      await storeWith().releaseDrainLease('eu', 'drain-1', deadlineIn(5_000));

      // Assess
      expect(ddb).toHaveReceivedCommandWith(UpdateItemCommand, {
        TableName: STATE_TABLE,
        Key: SLAVE_KEY,
        UpdateExpression: 'REMOVE lease_owner, lease_until',
        ConditionExpression: 'lease_owner = :owner',
        ExpressionAttributeValues: { ':owner': { S: 'drain-1' } },
      });
    });

    it('throws StateTableError when the lease cannot be given back', async () => {
      // Prepare
      ddb.on(UpdateItemCommand).rejects(awsError('AccessDeniedException', 400, 'denied'));

      // Act & Assess
      await expect(storeWith().releaseDrainLease('eu', 'drain-1', deadlineIn(5_000))).rejects.toBeInstanceOf(StateTableError);
    });

    it('notes why a drain stopped under its lease, cut to 1,000 characters, and is quiet when the lease is gone', async () => {
      // Prepare
      ddb.on(UpdateItemCommand).resolvesOnce({}).rejectsOnce(conditionFailed()).rejects(awsError('AccessDeniedException', 400, 'denied'));
      const store = storeWith();

      // Act
      await store.noteDrainStopped('eu', 'drain-1', 'y'.repeat(1_500), deadlineIn(5_000));
      await store.noteDrainStopped('eu', 'drain-1', 'why', deadlineIn(5_000));
      const failing = store.noteDrainStopped('eu', 'drain-1', 'why', deadlineIn(5_000));

      // Assess
      await expect(failing).rejects.toBeInstanceOf(StateTableError);
      expect(ddb).toHaveReceivedNthCommandWith(UpdateItemCommand, 1, {
        TableName: STATE_TABLE,
        Key: SLAVE_KEY,
        UpdateExpression: 'SET reason = :reason',
        ConditionExpression: 'lease_owner = :owner',
        ExpressionAttributeValues: { ':owner': { S: 'drain-1' }, ':reason': { S: 'y'.repeat(1_000) } },
      });
    });
  });

  describe('parked changes', () => {
    it('reads a page of the closed bucket of one partition from its cursor, strongly consistently, and decodes each change with its bucket and sort key', async () => {
      // Prepare
      const sk = (bucket: number): { S: string } => ({ S: `${String(bucket).padStart(10, '0')}#digest` });
      ddb.on(QueryCommand).resolves({
        Items: [{ sk: sk(4), ...parkedItem('a', { value: '1', seq: '7', epoch: 2 }) }, { sk: sk(5), ...parkedItem('b', { kind: 'delete' }) }, { sk: sk(5), ...parkedItem('c', { kind: 'read-master' }) }],
        LastEvaluatedKey: { pk: { S: 'parked#eu#03' }, sk: { S: 'x' } },
      });

      // Act
      const page = await storeWith().parkedPage('eu', 3, { after: '0000000004#cursor', below: 6 }, { pk: { S: 'parked#eu#03' }, sk: { S: 'w' } }, 500, deadlineIn(5_000));

      // Assess
      expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
        TableName: STATE_TABLE,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :after AND :below',
        ExpressionAttributeValues: { ':pk': { S: 'parked#eu#03' }, ':after': { S: '0000000004#cursor' }, ':below': { S: '0000000006#' } },
        ConsistentRead: true,
        Limit: 500,
        ExclusiveStartKey: { pk: { S: 'parked#eu#03' }, sk: { S: 'w' } },
      });
      expect(page.next).toEqual({ pk: { S: 'parked#eu#03' }, sk: { S: 'x' } });
      expect(page.changes[0]).toEqual({
        keyId: keyIdentity({ pk: { S: 'a' } }),
        key: { pk: { S: 'a' } },
        change: { kind: 'put', item: { pk: { S: 'a' }, value: { S: '1' } } },
        sequenceNumber: '7',
        createdAtMs: 1_000,
        parkedAtMs: 2_000,
        reason: 'slave unavailable',
        epoch: 2,
        bucket: 4,
        sortKey: '0000000004#digest',
      });
      expect(page.changes.map((change) => change.change.kind)).toEqual(['put', 'delete', 'read-master']);
      expect(page.changes.map((change) => change.bucket)).toEqual([4, 5, 5]);
    });

    it('applies a put whose kept image cannot be read back from the master instead, never drops it', async () => {
      // Prepare
      const text = (image: unknown): Record<string, AttributeValue> => ({ epoch: { N: '0' }, change: { S: JSON.stringify({ kind: 'put', key: { pk: { S: 'a' } }, image, seq: '1', createdAt: 1, parkedAt: 2, reason: 'r' }) } });
      ddb.on(QueryCommand).resolves({ Items: [text({ pk: { S: 'a' }, v: { B: 'not base64!' } }), text('not an image')] });

      // Act
      const page = await storeWith().parkedPage('eu', 0, { open: 0 }, undefined, 10, deadlineIn(5_000));

      // Assess
      expect(page.changes.map((change) => change.change)).toEqual([{ kind: 'read-master' }, { kind: 'read-master' }]);
      expect(page.changes.map((change) => change.key)).toEqual([{ pk: { S: 'a' } }, { pk: { S: 'a' } }]);
    });

    it('refuses a parked item whose key cannot be read back, naming it and what to do, instead of dropping it', async () => {
      // Prepare
      ddb.on(QueryCommand).resolves({ Items: [{ pk: { S: 'parked#eu#00' }, sk: { S: '0000000000#x' }, epoch: { N: '0' }, change: { S: '{truncated' } }] });

      // Act & Assess
      await expect(storeWith().parkedPage('eu', 0, { open: 0 }, undefined, 10, deadlineIn(5_000))).rejects.toThrow(
        /parked change parked#eu#00 \/ 0000000000#x cannot be read back \(.*\): delete that item, then bring the slave level with `npx dynamo-replicator verify --repair`/,
      );
    });

    it('reads a page of the open bucket of one partition, and of the drained buckets below one', async () => {
      // Prepare
      ddb.on(QueryCommand).resolves({ Items: [] });

      // Act
      await storeWith().parkedPage('eu', 15, { open: 6 }, undefined, 1, deadlineIn(5_000));
      await storeWith().parkedPage('eu', 15, { below: 5 }, undefined, 500, deadlineIn(5_000));

      // Assess
      expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :bucket)',
        ExpressionAttributeValues: { ':pk': { S: 'parked#eu#15' }, ':bucket': { S: '0000000006#' } },
        ConsistentRead: true,
        Limit: 1,
      });
      expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
        KeyConditionExpression: 'pk = :pk AND sk < :below',
        ExpressionAttributeValues: { ':pk': { S: 'parked#eu#15' }, ':below': { S: '0000000005#' } },
        ConsistentRead: true,
        Limit: 500,
      });
    });

    it('deletes drained changes of one partition with BatchWriteItem, each by the sort key it was read with', async () => {
      // Prepare
      ddb.on(BatchWriteItemCommand).resolves({});
      const changes = Array.from({ length: 30 }, (_, index) => ({ sortKey: `${String(index % 2).padStart(10, '0')}#digest-${index}` }));

      // Act
      await storeWith().deleteParked('eu', 7, changes, deadlineIn(5_000));

      // Assess
      const requests = ddb.commandCalls(BatchWriteItemCommand).flatMap((call) => call.args[0].input.RequestItems?.[STATE_TABLE] ?? []);
      expect(requests).toHaveLength(30);
      const expected = changes.map((change) => ({ pk: 'parked#eu#07', sk: change.sortKey }));
      expect(requests.map((request) => ({ pk: request.DeleteRequest?.Key?.pk?.S, sk: request.DeleteRequest?.Key?.sk?.S })).sort((a, b) => ((a.sk ?? '') < (b.sk ?? '') ? -1 : 1))).toEqual(expected.sort((a, b) => (a.sk < b.sk ? -1 : 1)));
    });

    it('throws StateTableError when a drained change cannot be deleted', async () => {
      // Prepare
      ddb.on(BatchWriteItemCommand).rejects(awsError('AccessDeniedException', 400, 'denied'));

      // Act & Assess
      await expect(storeWith().deleteParked('eu', 0, [{ sortKey: '0000000000#a' }], deadlineIn(5_000))).rejects.toThrow(/could not delete 1 drained changes of slave "eu": .*AccessDeniedException: denied/);
    });

    it('carries a change the slave refused over to the open bucket unless a change of the current epoch holds its key there', async () => {
      // Prepare: the second key has a newer change in the open bucket already
      ddb.on(PutItemCommand).resolvesOnce({}).rejectsOnce(conditionFailed());
      const refused = [{ ...parkedChange('a', { epoch: 2 }), bucket: 4 }, { ...parkedChange('b', { epoch: 2 }), bucket: 4 }];

      // Act
      await storeWith({}).carryOver('eu', refused, 5, deadlineIn(5_000));

      // Assess
      const puts = ddb.commandCalls(PutItemCommand).map((call) => call.args[0].input);
      expect(puts).toHaveLength(2);
      expect(puts[0]).toMatchObject({
        TableName: STATE_TABLE,
        Item: { pk: { S: expectedParkedKey('eu', refused[0]?.keyId ?? '', 5).pk }, sk: { S: expectedParkedKey('eu', refused[0]?.keyId ?? '', 5).sk }, epoch: { N: '2' } },
        ConditionExpression: 'attribute_not_exists(pk) OR epoch < :epoch',
        ExpressionAttributeValues: { ':epoch': { N: '2' } },
      });
    });

    it('records the buckets drained and closes the open bucket only under its lease, at the bucket it read, once the older ones are drained', async () => {
      // Prepare
      ddb.on(UpdateItemCommand).resolvesOnce({}).resolvesOnce({}).rejects(conditionFailed());
      const store = storeWith();

      // Act
      const drained = await store.markDrained('eu', 5, 'drain-1', deadlineIn(5_000));
      const closed = await store.closeBucket('eu', 5, 'drain-1', deadlineIn(5_000));
      const refused = await store.closeBucket('eu', 5, 'drain-1', deadlineIn(5_000));

      // Assess
      expect([drained, closed, refused]).toEqual([true, true, false]);
      const [markInput, closeInput] = ddb.commandCalls(UpdateItemCommand).map((call) => call.args[0].input);
      expect(markInput).toMatchObject({
        Key: SLAVE_KEY,
        UpdateExpression: `SET drained_below = :bucket REMOVE ${Array.from({ length: 16 }, (_, index) => `cursor_${String(index).padStart(2, '0')}`).join(', ')}`,
        ConditionExpression: 'lease_owner = :owner AND (attribute_not_exists(#bucket) OR #bucket = :bucket)',
        ExpressionAttributeValues: { ':bucket': { N: '5' }, ':owner': { S: 'drain-1' } },
      });
      expect(closeInput).toMatchObject({
        Key: SLAVE_KEY,
        UpdateExpression: 'SET #bucket = :next',
        ConditionExpression:
          'lease_owner = :owner AND (attribute_not_exists(#bucket) OR #bucket = :bucket) AND ((attribute_not_exists(#bucket) AND attribute_not_exists(drained_below)) OR drained_below = :bucket)',
        ExpressionAttributeValues: { ':bucket': { N: '5' }, ':next': { N: '6' }, ':owner': { S: 'drain-1' } },
      });
    });

    it('counts the parked changes not applied yet of every partition, after its drain cursor or from the first bucket not drained, page by page, strongly consistently', async () => {
      // Prepare
      ddb.on(QueryCommand).callsFake((input: QueryCommandInput) => {
        const partition = input.ExpressionAttributeValues?.[':pk']?.S ?? '';
        if (partition === 'parked#eu#05' && input.ExclusiveStartKey === undefined) return Promise.resolve({ Count: 3, LastEvaluatedKey: { pk: { S: partition }, sk: { S: 'm' } } });
        return Promise.resolve({ Count: partition === 'parked#eu#05' ? 2 : 1 });
      });

      // Act
      const state: SlaveState = { slave: 'eu', mode: 'parked', settled: true, generation: 1, epoch: 0, bucket: 4, drainedBelow: 3, cursors: new Map([[5, '0000000003#cursor']]), cleanedBelow: 0, exists: true };
      const count = await storeWith().countParked('eu', state, deadlineIn(5_000));

      // Assess
      expect(count).toBe(15 + 5);
      const queried = ddb.commandCalls(QueryCommand).map((call) => call.args[0].input);
      expect(new Set(queried.map((input) => input.ExpressionAttributeValues?.[':pk']?.S))).toEqual(new Set(Array.from({ length: 16 }, (_, index) => `parked#eu#${String(index).padStart(2, '0')}`)));
      expect(queried.every((input) => input.Select === 'COUNT' && input.ConsistentRead === true && input.KeyConditionExpression === 'pk = :pk AND sk > :after')).toBe(true);
      const after = (partition: string): string | undefined => queried.find((input) => input.ExpressionAttributeValues?.[':pk']?.S === partition)?.ExpressionAttributeValues?.[':after']?.S;
      expect([after('parked#eu#05'), after('parked#eu#06')]).toEqual(['0000000003#cursor', '0000000003#']);
    });
  });

  describe('rejected records', () => {
    it('keeps each rejected record gzipped, keyed by sequence number and event id', async () => {
      // Prepare
      ddb.on(BatchWriteItemCommand).resolves({});
      const record = { eventID: 'e1', eventSource: 'aws:kinesis', dynamodb: { SequenceNumber: '300' } };

      // Act
      const notKept = await storeWith().keepRejected(
        [
          { eventId: 'e1', sequenceNumber: '300', record, reason: 'r'.repeat(20_000) },
          { eventId: '#4', sequenceNumber: undefined, record: 'junk', reason: 'not an object' },
        ],
        deadlineIn(5_000),
      );

      // Assess
      expect(notKept).toEqual([]);
      const [first, second] = ddb.commandCalls(BatchWriteItemCommand)[0]?.args[0].input.RequestItems?.[STATE_TABLE]?.map((request) => request.PutRequest?.Item) ?? [];
      expect(first?.pk).toEqual({ S: 'rejected' });
      expect(first?.sk).toEqual({ S: '300#e1' });
      expect(JSON.parse(gunzipSync(first?.record?.B ?? new Uint8Array()).toString())).toEqual(record);
      expect(first?.reason?.S).toHaveLength(10_000);
      expect(first?.received_at).toEqual({ N: String(NOW) });
      expect(second?.sk).toEqual({ S: '-##4' });
    });

    it('returns the records it could not keep', async () => {
      // Prepare
      ddb.on(BatchWriteItemCommand).rejects(awsError('AccessDeniedException', 400, 'denied'));
      const rejected = { eventId: 'e1', sequenceNumber: '300', record: {}, reason: 'bad' };

      // Act
      const notKept = await storeWith().keepRejected([rejected], deadlineIn(5_000));

      // Assess
      expect(notKept.map(({ record }) => record)).toEqual([rejected]);
    });

    it('lists the kept records, oldest first, and deletes one once replayed', async () => {
      // Prepare
      ddb
        .on(QueryCommand)
        .resolvesOnce({ Items: [{ pk: { S: 'rejected' }, sk: { S: '300#e1' }, record: { B: new Uint8Array([1]) }, reason: { S: 'bad' } }], LastEvaluatedKey: { pk: { S: 'rejected' }, sk: { S: '300#e1' } } })
        .resolves({ Items: [{ pk: { S: 'rejected' }, sk: { S: '301#e2' } }] });
      ddb.on(DeleteItemCommand).resolves({});
      const store = storeWith();

      // Act
      const records = await store.rejectedRecords(deadlineIn(5_000));
      await store.deleteRejected('300#e1', deadlineIn(5_000));

      // Assess
      expect(records).toEqual([{ sortKey: '300#e1', record: new Uint8Array([1]), reason: 'bad' }]);
      expect(ddb).toHaveReceivedNthCommandWith(QueryCommand, 2, { ExclusiveStartKey: { pk: { S: 'rejected' }, sk: { S: '300#e1' } }, ConsistentRead: true });
      expect(ddb).toHaveReceivedCommandWith(DeleteItemCommand, { TableName: STATE_TABLE, Key: { pk: { S: 'rejected' }, sk: { S: '300#e1' } } });
    });
  });

  describe('initial copy', () => {
    it('saves and reads back a segment checkpoint', async () => {
      // Prepare
      ddb.on(PutItemCommand).resolves({});
      ddb.on(GetItemCommand).resolves({
        Item: { segment: { N: '3' }, total_segments: { N: '16' }, done: { BOOL: false }, items: { N: '42' }, started_at: { N: '100' }, updated_at: { N: '200' }, start_key: { M: { pk: { S: 'k' } } } },
      });
      const store = storeWith();

      // Act
      await store.saveCopyCheckpoint('eu', { segment: 3, totalSegments: 16, done: false, items: 42, startedAt: 100, startKey: { pk: { S: 'k' } } }, deadlineIn(5_000));
      const checkpoint = await store.readCopyCheckpoint('eu', 3, deadlineIn(5_000));

      // Assess
      expect(ddb).toHaveReceivedCommandWith(PutItemCommand, {
        TableName: STATE_TABLE,
        Item: {
          pk: { S: 'copy#eu' },
          sk: { S: 'segment#000003' },
          segment: { N: '3' },
          total_segments: { N: '16' },
          done: { BOOL: false },
          items: { N: '42' },
          started_at: { N: '100' },
          updated_at: { N: String(NOW) },
          start_key: { M: { pk: { S: 'k' } } },
        },
      });
      expect(ddb).toHaveReceivedCommandWith(GetItemCommand, { TableName: STATE_TABLE, Key: { pk: { S: 'copy#eu' }, sk: { S: 'segment#000003' } }, ConsistentRead: true });
      expect(checkpoint).toEqual({ segment: 3, totalSegments: 16, done: false, items: 42, startedAt: 100, updatedAt: 200, startKey: { pk: { S: 'k' } } });
    });

    it('reads no checkpoint for a segment not started', async () => {
      // Prepare
      ddb.on(GetItemCommand).resolves({});

      // Act & Assess
      await expect(storeWith().readCopyCheckpoint('eu', 0, deadlineIn(5_000))).resolves.toBeUndefined();
    });

    it('lists every checkpoint of a slave, page by page', async () => {
      // Prepare
      ddb
        .on(QueryCommand)
        .resolvesOnce({ Items: [{ segment: { N: '0' }, done: { BOOL: true } }], LastEvaluatedKey: { pk: { S: 'copy#eu' }, sk: { S: 'segment#000000' } } })
        .resolves({ Items: [{ segment: { N: '1' } }] });

      // Act
      const checkpoints = await storeWith().copyCheckpoints('eu', deadlineIn(5_000));

      // Assess
      expect(checkpoints).toEqual([
        { segment: 0, totalSegments: 0, done: true, items: 0, startedAt: 0 },
        { segment: 1, totalSegments: 0, done: false, items: 0, startedAt: 0 },
      ]);
      expect(ddb).toHaveReceivedNthCommandWith(QueryCommand, 1, { TableName: STATE_TABLE, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: 'copy#eu' } }, ConsistentRead: true });
    });

    it('marks a slave copied only if its state exists', async () => {
      // Prepare
      ddb.on(UpdateItemCommand).resolves({});

      // Act
      await storeWith().markCopied('eu', deadlineIn(5_000));

      // Assess
      expect(ddb).toHaveReceivedCommandWith(UpdateItemCommand, {
        TableName: STATE_TABLE,
        Key: SLAVE_KEY,
        UpdateExpression: 'SET copy_state = :done, copied_at = :now',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':done': { S: 'done' }, ':now': { N: String(NOW) } },
      });
    });

    it('starts a copy by marking the slave parked with its copy pending, unless it has a state, and reads the state back', async () => {
      // Prepare
      ddb.on(UpdateItemCommand).rejects(conditionFailed());
      ddb.on(GetItemCommand).resolves({ Item: slaveItem('eu', { mode: 'live', epoch: 4 }) });

      // Act
      const state = await storeWith().startCopy('eu', deadlineIn(5_000));

      // Assess
      expect(ddb).toHaveReceivedCommandWith(UpdateItemCommand, { ConditionExpression: '(attribute_not_exists(epoch) OR epoch = :epoch) AND (attribute_not_exists(#bucket) OR #bucket = :bucket)', ExpressionAttributeValues: expect.objectContaining({ ':epoch': { N: '0' }, ':bucket': { N: '0' }, ':pending': { S: 'pending' }, ':reason': { S: 'initial copy pending' } }) as Record<string, AttributeValue> });
      expect(state).toMatchObject({ mode: 'live', epoch: 4 });
    });
  });
});
