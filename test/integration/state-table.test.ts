/**
 * The state table's protocol on DynamoDB Local, where its conditions are evaluated by the engine itself: an
 * announcement refused once the bucket its parker read is closed, a bucket closed only under the drain's lease and
 * once the older ones are drained, and a refused change carried over only where no newer change holds its key.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyIdentity } from '../../handler/attribute-value';
import { partitions, StateStore, type ParkedChange, type StoredChange } from '../../handler/state-store';
import { Deadline } from '../../handler/timing';
import { localClientConfig, startDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local';
import { createTable } from '../support/tables';

let engine: DynamoDbLocal;
let client: DynamoDBClient;
let tables = 0;

beforeAll(async () => {
  engine = await startDynamoDbLocal();
  client = new DynamoDBClient(localClientConfig(engine.endpoint, 'eu-west-1'));
});

const deadlines: Deadline[] = [];

afterAll(async () => {
  for (const made of deadlines) made.release();
  await engine.stop();
});

function deadline(): Deadline {
  const made = new Deadline(Date.now() + 60_000);
  deadlines.push(made);
  return made;
}

async function newStore(): Promise<StateStore> {
  tables += 1;
  const tableName = `state-${tables}`;
  await createTable(client, { tableName, sortKey: { name: 'sk', type: 'S' } });
  return new StateStore(client, tableName, { concurrency: 4 });
}

function change(id: string, value: string, sequenceNumber: string, epoch = 0): ParkedChange {
  const key = { pk: { S: id } };
  return { keyId: keyIdentity(key), key, change: { kind: 'put', item: { ...key, value: { S: value } } }, sequenceNumber, createdAtMs: 1, parkedAtMs: 2, reason: 'down', epoch };
}

/** Every parked change of the slave, from the closed buckets below `below` or from the open bucket `open`. */
async function parked(store: StateStore, range: { below: number } | { open: number }): Promise<StoredChange[]> {
  const pages = await Promise.all(partitions().map((partition) => store.parkedPage('eu', partition, range, undefined, 1_000, deadline())));
  return pages.flatMap((page) => page.changes);
}

const valuesOf = (changes: readonly StoredChange[]): string[] => changes.map((found) => (found.change.kind === 'put' ? `${found.change.item.pk?.S ?? ''}=${found.change.item.value?.S ?? ''}@${found.bucket}` : '')).sort();

const options = { reason: 'down', startsCopy: false, markFirst: true };

describe('State table protocol (DynamoDB Local)', () => {
  it('refuses the announcement of a parker whose bucket was closed after it read it, and the parker keeps its changes again in the open bucket', async () => {
    // Prepare: the slave is parked with a change in bucket 0, and a drain closes that bucket
    const store = await newStore();
    await store.parkAndAnnounce('eu', [change('a', 'first', '10')], { epoch: 0, bucket: 0 }, options, deadline());
    expect(await store.takeDrainLease('eu', 'drain-1', Date.now() + 60_000, deadline())).toMatchObject({ bucket: 0, drainedBelow: 0 });
    expect(await store.closeBucket('eu', 0, 'drain-1', deadline())).toBe(true);

    // Act: a parker that read bucket 0 before it closed parks a newer change
    const outcome = await store.parkAndAnnounce('eu', [change('a', 'late', '20')], { epoch: 0, bucket: 0 }, { ...options, markFirst: false }, deadline());

    // Assess: announced in bucket 1; what landed in bucket 0 after the close is a copy
    expect(outcome).toEqual({ status: 'announced', notKept: [] });
    expect(valuesOf(await parked(store, { open: 1 }))).toEqual(['a=late@1']);
    expect(valuesOf(await parked(store, { below: 1 }))).toEqual(['a=late@0']);
    // Marked parked twice by the first parker, announced once by the second.
    expect(await store.readSlaveState('eu', deadline())).toMatchObject({ mode: 'parked', bucket: 1, generation: 3 });
  });

  it('closes a bucket only under the lease, at the bucket it read, and once every older bucket is drained', async () => {
    // Prepare
    const store = await newStore();
    await store.parkAndAnnounce('eu', [change('a', 'v', '10')], { epoch: 0, bucket: 0 }, options, deadline());

    // Act & Assess
    expect(await store.closeBucket('eu', 0, 'no-lease', deadline())).toBe(false);
    await store.takeDrainLease('eu', 'drain-1', Date.now() + 60_000, deadline());
    expect(await store.closeBucket('eu', 0, 'drain-1', deadline())).toBe(true);
    expect(await store.closeBucket('eu', 0, 'drain-1', deadline())).toBe(false);
    // Bucket 0 is closed but not drained yet: bucket 1 stays open.
    expect(await store.closeBucket('eu', 1, 'drain-1', deadline())).toBe(false);
    expect(await store.markDrained('eu', 1, 'another-drain', deadline())).toBe(false);
    expect(await store.markDrained('eu', 1, 'drain-1', deadline())).toBe(true);
    expect(await store.closeBucket('eu', 1, 'drain-1', deadline())).toBe(true);
    expect(await store.readSlaveState('eu', deadline())).toMatchObject({ bucket: 2, drainedBelow: 1 });
  });

  it('carries a refused change over to the open bucket only where no change of the current epoch holds its key', async () => {
    // Prepare: in the open bucket 1, key b has a newer change, key c a stale one (an older epoch)
    const store = await newStore();
    await store.parkAndAnnounce('eu', [change('b', 'newer', '30', 1), change('c', 'stale', '5', 0)], { epoch: 1, bucket: 1 }, { ...options, markFirst: false }, deadline());
    const refused = [change('a', 'refused', '10', 1), change('b', 'refused', '11', 1), change('c', 'refused', '12', 1)].map((found) => ({ ...found, bucket: 0 }));

    // Act
    await store.carryOver('eu', refused, 1, deadline());

    // Assess
    expect(valuesOf(await parked(store, { open: 1 }))).toEqual(['a=refused@1', 'b=newer@1', 'c=refused@1']);
  });
});
