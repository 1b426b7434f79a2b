import {
  BatchGetItemCommand,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type UpdateItemCommandInput,
  type UpdateItemCommandOutput,
} from '@aws-sdk/client-dynamodb';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { decodeImage, encodeImage, keyIdentity } from './attribute-value';
import { Semaphore } from './concurrency';
import { describeError, StateTableError } from './errors';
import { MAX_ITEM_BYTES, wireSize } from './item-size';
import { pauseBeforeRetry, retryCall, retryTuningOf, type BackoffPolicy, type RetryTuning } from './retry';
import { writeToSlave, type SlaveTarget } from './slave-writer';
import { PARK_SETTLE_MS, type Deadline } from './timing';
import type { AttributeMap, Change, SlaveConfig, WriteRequest } from './types';

/**
 * One slave's parked changes are spread over this many partition keys, so that a long outage of a busy slave does
 * not make one hot partition of the state table (one partition takes at most 1,000 writes a second).
 */
export const PARKED_PARTITIONS = 16;

/** Width of a bucket's number in a parked change's sort key, so that sort keys order the buckets. */
const BUCKET_DIGITS = 10;

/**
 * Room left in a parked change's item beside its image and key: its keys, epoch, sequence number, times and a reason
 * of up to 1,000 characters, escaped at worst. A larger image is parked as its key.
 */
const PARKED_OVERHEAD_BYTES = 8 * 1024;

/** A slave's mode: `live` takes writes straight from the stream; `parked` has them kept in the state table. */
export type SlaveMode = 'live' | 'parked';

/** Where a slave's initial copy stands: `pending` until every segment is done, then `done`. */
export type CopyState = 'pending' | 'done';

/** A slave's state item. */
export interface SlaveState {
  readonly slave: string;
  readonly mode: SlaveMode;
  /** Raised every time changes are parked: a drain goes live only if nothing was parked since it last looked. */
  readonly generation: number;
  /**
   * Raised every time the slave goes live. A parked change is kept with the epoch its invocation read, and announced
   * only while that epoch holds, so a change that lands after its slave went live is stale by its epoch alone: its
   * batch was re-delivered and applied, and the drain deletes it without applying it.
   */
  readonly epoch: number;
  /**
   * The open bucket: parked changes are kept in it, one item per key. Only a drain that has seen the slave answer
   * closes it (raising the number); then every change still on its way into the closed bucket is kept again in the
   * open one by its parker, whose announcement the closing refuses (see `parkAndAnnounce`).
   */
  readonly bucket: number;
  /**
   * Every bucket below this one has been read by a drain after it was closed, in full, and applied; what is found in
   * one of them later landed after that read, and was kept again in a newer bucket. No drain reads them again: the
   * next one deletes them (see `cleanedBelow`).
   */
  readonly drainedBelow: number;
  /**
   * Per partition, the sort key of the last change a drain applied from the closed bucket it is draining, so that the
   * next drain goes on after it. Cleared when that bucket is drained.
   */
  readonly cursors: ReadonlyMap<number, string>;
  /** Every change below this bucket has been deleted; those from here up to `drainedBelow` wait for the next drain. */
  readonly cleanedBelow: number;
  /** The drain holding the slave's lease, if any. */
  readonly leaseOwner?: string;
  /**
   * Parked, and changes were kept for it `PARK_SETTLE_MS` or more after it was marked parked: no instance still
   * reuses a read of its states in which it was live (see `parkAndAnnounce`), so a parker need not wait.
   */
  readonly settled: boolean;
  /** When the slave was parked, epoch ms: the age of its oldest parked change is at most `now - parkedSince`. */
  readonly parkedSince?: number;
  /** Why the slave was parked, or why its drain last stopped. */
  readonly reason?: string;
  readonly copy?: CopyState;
  /** False when no state item exists yet. */
  readonly exists: boolean;
}

/** One parked change: the latest state of one key that a slave has not taken yet. */
export interface ParkedChange {
  readonly keyId: string;
  readonly key: AttributeMap;
  /** A put carries the full image; a change too large to park whole is parked as `read-master`. */
  readonly change: Change;
  readonly sequenceNumber: string;
  readonly createdAtMs: number;
  readonly parkedAtMs: number;
  readonly reason: string;
  /** The slave's epoch when the change was parked. */
  readonly epoch: number;
  /** A put's image as the state table keeps it (`encodeImage`), when already encoded. */
  readonly imageText?: string;
}

/** A parked change as read back from the state table, with the bucket it was kept in and its item's sort key. */
export interface StoredChange extends ParkedChange {
  readonly bucket: number;
  readonly sortKey: string;
}

/** Where a parker keeps its changes and announces them: the slave's epoch and open bucket, as it read them. */
export interface ParkingPlace {
  readonly epoch: number;
  readonly bucket: number;
  /** The slave was parked and settled (`SlaveState.settled`) when read. */
  readonly settled?: boolean;
}

/** What became of changes handed to `parkAndAnnounce`. */
export type ParkOutcome =
  /** The changes kept (all but `notKept`) are announced: a drain will apply them. */
  | { readonly status: 'announced'; readonly notKept: NotKept[] }
  /** None of the changes could be kept; nothing was announced. */
  | { readonly status: 'not-kept'; readonly notKept: NotKept[] }
  /** The slave went live since the epoch was read: nothing was announced, and what was kept is stale. */
  | { readonly status: 'went-live' };

/** A change the state table would not take, and why. */
export interface NotKept {
  readonly change: ParkedChange;
  readonly error: Error;
}

/**
 * Which of a slave's parked changes a page comes from: those of the buckets below `below` whose sort key is after
 * `after` (a closed bucket being drained, after its cursor), or of the open bucket.
 */
export type BucketRange = { readonly after?: string; readonly below: number } | { readonly open: number };

/** A stream record that can never be applied, kept whole for `redrive`. */
export interface RejectedRecord {
  readonly eventId: string;
  readonly sequenceNumber: string | undefined;
  readonly record: unknown;
  readonly reason: string;
}

/** Where one parallel-scan segment of a slave's initial copy stands. */
export interface CopyCheckpoint {
  readonly segment: number;
  readonly totalSegments: number;
  readonly done: boolean;
  /** Where the next Scan page starts; absent before the first page and after the last. */
  readonly startKey?: AttributeMap;
  /** Items copied by this segment so far. */
  readonly items: number;
  /** When the segment's first page was read, epoch ms. */
  readonly startedAt: number;
  /** When the checkpoint was last saved, epoch ms. */
  readonly updatedAt?: number;
}

/** A page of parked changes and where the next one starts. */
export interface ParkedPage {
  readonly changes: StoredChange[];
  readonly next?: Record<string, AttributeValue>;
}

export interface StateStoreOptions {
  readonly concurrency: number;
  /** How long after a slave is marked parked its first change may be kept; `PARK_SETTLE_MS` by default. */
  readonly settleMs?: number;
  readonly backoff?: BackoffPolicy;
  readonly random?: () => number;
  readonly now?: () => number;
}

/**
 * The state table, in the master's region: each slave's mode, its parked changes, the records that could not be
 * applied and the initial copy's checkpoints. Every read is strongly consistent, and every change of mode is a
 * conditional write, so the live path, the drain and the copy agree on each slave without talking to each other.
 */
export class StateStore {
  private readonly now: () => number;

  public constructor(
    private readonly client: DynamoDBClient,
    public readonly tableName: string,
    private readonly options: StateStoreOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** The state of every slave, read in one strongly consistent call. */
  public async readSlaveStates(slaves: readonly SlaveConfig[], deadline: Deadline): Promise<Map<string, SlaveState>> {
    const states = new Map<string, SlaveState>();
    let keys = slaves.map((slave) => slaveKey(slave.name));
    for (let round = 0; keys.length > 0; round += 1) {
      // Keys come back unprocessed when the table is throttled: pause as for any throttling.
      if (round > 0 && !(await pauseBeforeRetry(round - 1, { deadline, ...this.retryOptions() }))) {
        throw new StateTableError(`state table ${this.tableName}: could not read the slaves' states: ${keys.length} keys still unprocessed at the deadline`);
      }
      const response = await this.call(
        (signal) =>
          this.client.send(new BatchGetItemCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } } }), { abortSignal: signal }),
        'read the slaves\' states',
        deadline,
      );
      for (const item of response.Responses?.[this.tableName] ?? []) {
        const state = slaveStateOf(item);
        states.set(state.slave, state);
      }
      keys = response.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
    }
    for (const slave of slaves) if (!states.has(slave.name)) states.set(slave.name, newSlaveState(slave.name));
    return states;
  }

  /** One slave's state, strongly consistent. */
  public async readSlaveState(slave: string, deadline: Deadline): Promise<SlaveState> {
    const response = await this.call(
      (signal) => this.client.send(new GetItemCommand({ TableName: this.tableName, Key: slaveKey(slave), ConsistentRead: true }), { abortSignal: signal }),
      `read slave "${slave}"'s state`,
      deadline,
    );
    return response.Item === undefined ? newSlaveState(slave) : slaveStateOf(response.Item);
  }

  /**
   * Keeps changes for a slave in its open bucket and announces them, in the order the protocol needs:
   * 1. with `markFirst` (a live slave), the slave is marked parked first, so that no later batch writes it directly
   *    while one of these changes may be here, even if the caller dies before step 3;
   * 2. the changes are kept in the bucket `place` names, one item per key, so a key parked twice in one bucket keeps
   *    only the newer change (stream records of one key reach the function in order);
   * 3. the generation is raised, if the epoch and the bucket still hold: a drain that read the generation before
   *    sees it changed and does not go live; one that read it after finds the changes, which were kept before.
   * Between steps 1 and 2, no change is kept until `PARK_SETTLE_MS` after the slave was marked parked, unless it was
   * settled when read: a stream invocation may write a key directly from a read in which the slave was live for
   * `LIVE_STATES_REUSE_MS` after it, and every earlier batch of that key's shard has ended by then, so none of them
   * can have kept a change of that key yet (see `LiveStates`). Step 3 then marks the slave settled.
   * When a drain closed the bucket meanwhile, it may have read the bucket before the changes landed: they are kept
   * again in the bucket now open, and announced there. When the slave went live meanwhile (the epoch moved), nothing
   * is announced: what was kept under the old epoch is stale, and the caller must not acknowledge the changes.
   */
  public async parkAndAnnounce(
    slave: string,
    changes: readonly ParkedChange[],
    place: ParkingPlace,
    options: { readonly reason: string; readonly startsCopy: boolean; readonly markFirst: boolean },
    deadline: Deadline,
  ): Promise<ParkOutcome> {
    let bucket = place.bucket;
    const announce = async (settled: boolean): Promise<'marked' | 'moved' | 'went-live'> => {
      const now = await this.markParked(slave, { epoch: place.epoch, bucket }, options.reason, { startsCopy: options.startsCopy, settled }, deadline);
      if (now === undefined) return 'marked';
      if (now.epoch !== place.epoch) return 'went-live';
      bucket = now.bucket;
      return 'moved';
    };
    if (options.markFirst) {
      for (let marked = await announce(false); marked !== 'marked'; marked = await announce(false)) if (marked === 'went-live') return { status: 'went-live' };
    }
    if ((options.markFirst || place.settled !== true) && !(await this.settle(deadline))) {
      const error = new StateTableError(`state table ${this.tableName}: not enough time left to keep changes for slave "${slave}", which was marked parked less than ${this.settleMs()} ms ago`);
      return { status: 'not-kept', notKept: changes.map((change) => ({ change, error })) };
    }
    for (;;) {
      const notKept = changes.length === 0 ? [] : await this.keep(slave, changes, bucket, deadline);
      if (notKept.length === changes.length && changes.length > 0 && !options.startsCopy) return { status: 'not-kept', notKept };
      const marked = await announce(true);
      if (marked === 'went-live') return { status: 'went-live' };
      if (marked === 'marked') return { status: 'announced', notKept };
    }
  }

  /**
   * Waits `settleMs` from now, on the monotonic clock: the slave was marked parked before now. Resolves false, at
   * once, when the deadline would come first.
   */
  private async settle(deadline: Deadline): Promise<boolean> {
    const settleMs = this.settleMs();
    if (settleMs <= 0) return true;
    if (deadline.remainingMs() <= settleMs) return false;
    const until = performance.now() + settleMs;
    // A timer may fire a little early (libuv counts from the loop's time), so the clock is read again.
    for (let left = settleMs; left > 0; left = until - performance.now()) await new Promise((resolve) => setTimeout(resolve, Math.ceil(left)));
    return true;
  }

  private settleMs(): number {
    return this.options.settleMs ?? PARK_SETTLE_MS;
  }

  /** Writes changes into one bucket of a slave. Resolves with what could not be kept. */
  private async keep(slave: string, changes: readonly ParkedChange[], bucket: number, deadline: Deadline): Promise<NotKept[]> {
    const byStateKey = new Map<string, ParkedChange>();
    const writes: WriteRequest[] = changes.map((change) => {
      const key = parkedKey(slave, change.keyId, bucket);
      const keyId = keyIdentity(key);
      byStateKey.set(keyId, change);
      return { kind: 'put', keyId, key, item: { ...key, ...parkedAttributes(change) } };
    });
    const outcome = await writeToSlave(this.target(`parking for slave "${slave}"`), writes, { concurrency: this.options.concurrency, deadline, ...this.retryOptions() });
    return outcome.failed.flatMap(({ write, error }) => {
      const change = byStateKey.get(write.keyId);
      return change === undefined ? [] : [{ change, error }];
    });
  }

  /**
   * Marks a slave parked and raises its generation, if its epoch and open bucket are still those of `place`; with
   * `settled`, marks it settled in that epoch too. Resolves undefined when it did, and otherwise with the slave's
   * state as it is now. Called only by `parkAndAnnounce` and by the initial copy's start, which keeps no change.
   */
  private async markParked(slave: string, place: ParkingPlace, reason: string, mark: { readonly startsCopy: boolean; readonly settled: boolean }, deadline: Deadline): Promise<SlaveState | undefined> {
    const { startsCopy, settled } = mark;
    const updated = await this.updateSlave(
      slave,
      {
        UpdateExpression: `SET #mode = :parked, parked_since = if_not_exists(parked_since, :now), reason = :reason, epoch = if_not_exists(epoch, :epoch)${settled ? ', settled_epoch = :epoch' : ''}${startsCopy ? ', copy_state = if_not_exists(copy_state, :pending)' : ''} ADD generation :one`,
        ConditionExpression: '(attribute_not_exists(epoch) OR epoch = :epoch) AND (attribute_not_exists(#bucket) OR #bucket = :bucket)',
        ExpressionAttributeNames: { '#mode': 'mode', '#bucket': 'bucket' },
        ExpressionAttributeValues: {
          ':parked': { S: 'parked' },
          ':now': { N: String(this.now()) },
          ':reason': { S: reason.slice(0, 1_000) },
          ':epoch': { N: String(place.epoch) },
          ':bucket': { N: String(place.bucket) },
          ':one': { N: '1' },
          ...(startsCopy ? { ':pending': { S: 'pending' } } : {}),
        },
      },
      `mark slave "${slave}" parked`,
      deadline,
    );
    return updated === undefined ? this.readSlaveState(slave, deadline) : undefined;
  }

  /**
   * Takes the drain lease of a slave until `untilMs`, so that only one drain applies its parked changes at a time.
   * Resolves with the slave's state, or undefined when another drain holds the lease.
   */
  public async takeDrainLease(slave: string, owner: string, untilMs: number, deadline: Deadline): Promise<SlaveState | undefined> {
    const updated = await this.updateSlave(
      slave,
      {
        UpdateExpression: 'SET lease_owner = :owner, lease_until = :until',
        ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(lease_until) OR lease_until < :now OR lease_owner = :owner)',
        ExpressionAttributeValues: { ':owner': { S: owner }, ':until': { N: String(untilMs) }, ':now': { N: String(this.now()) } },
        ReturnValues: 'ALL_NEW',
      },
      `take slave "${slave}"'s drain lease`,
      deadline,
    );
    return updated?.Attributes === undefined ? undefined : slaveStateOf(updated.Attributes);
  }

  /** Gives the lease back, if this drain still holds it. */
  public async releaseDrainLease(slave: string, owner: string, deadline: Deadline): Promise<void> {
    await this.updateUnderLease(slave, owner, { UpdateExpression: 'REMOVE lease_owner, lease_until' }, `release slave "${slave}"'s drain lease`, deadline);
  }

  /** Records why the drain of a slave stopped, for `status`. */
  public async noteDrainStopped(slave: string, owner: string, reason: string, deadline: Deadline): Promise<void> {
    await this.updateUnderLease(slave, owner, { UpdateExpression: 'SET reason = :reason', ExpressionAttributeValues: { ':reason': { S: reason.slice(0, 1_000) } } }, `note why slave "${slave}"'s drain stopped`, deadline);
  }

  /**
   * Puts a slave back to live if nothing was parked since its generation was `generation`, this drain still holds
   * its lease and no initial copy is pending. Resolves false when one of those no longer holds.
   */
  public async markLive(slave: string, generation: number, owner: string, deadline: Deadline): Promise<boolean> {
    const updated = await this.updateSlave(
      slave,
      {
        UpdateExpression: 'SET #mode = :live REMOVE parked_since, reason ADD epoch :one',
        ConditionExpression: 'generation = :generation AND lease_owner = :owner AND (attribute_not_exists(copy_state) OR copy_state = :done)',
        ExpressionAttributeNames: { '#mode': 'mode' },
        ExpressionAttributeValues: { ':live': { S: 'live' }, ':generation': { N: String(generation) }, ':owner': { S: owner }, ':done': { S: 'done' }, ':one': { N: '1' } },
      },
      `mark slave "${slave}" live`,
      deadline,
    );
    return updated !== undefined;
  }

  /** Marks a slave's initial copy done, so that the drain may apply its parked changes. */
  public async markCopied(slave: string, deadline: Deadline): Promise<void> {
    const updated = await this.updateSlave(
      slave,
      { UpdateExpression: 'SET copy_state = :done, copied_at = :now', ConditionExpression: 'attribute_exists(pk)', ExpressionAttributeValues: { ':done': { S: 'done' }, ':now': { N: String(this.now()) } } },
      `mark slave "${slave}" copied`,
      deadline,
    );
    if (updated === undefined) throw new StateTableError(`state table ${this.tableName}: slave "${slave}" has no state to mark copied`);
  }

  /** Creates a new slave's state as parked with its copy pending, unless it has a state already. */
  public async startCopy(slave: string, deadline: Deadline): Promise<SlaveState> {
    const now = await this.markParked(slave, { epoch: 0, bucket: 0 }, 'initial copy pending', { startsCopy: true, settled: false }, deadline);
    return now ?? this.readSlaveState(slave, deadline);
  }

  /** One page of one partition of a slave's parked changes, strongly consistent, in sort key order (oldest bucket first). */
  public async parkedPage(slave: string, partition: number, range: BucketRange, start: Record<string, AttributeValue> | undefined, limit: number, deadline: Deadline): Promise<ParkedPage> {
    const response = await this.call(
      (signal) =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            ...keyCondition(parkedPartitionKey(slave, partition), range),
            ConsistentRead: true,
            Limit: limit,
            ...(start === undefined ? {} : { ExclusiveStartKey: start }),
          }),
          { abortSignal: signal },
        ),
      `read slave "${slave}"'s parked changes`,
      deadline,
    );
    return { changes: (response.Items ?? []).map(storedChangeOf), ...(response.LastEvaluatedKey === undefined ? {} : { next: response.LastEvaluatedKey }) };
  }

  /**
   * Deletes parked changes of drained buckets (below `drainedBelow`) read from one partition, by the sort keys they
   * were read with, unconditionally: no drain reads them again, and a closed bucket takes no announced change, so what
   * a delete may find there is a copy its parker kept again.
   */
  public async deleteParked(slave: string, partition: number, changes: readonly Pick<StoredChange, 'sortKey'>[], deadline: Deadline): Promise<void> {
    const pk = parkedPartitionKey(slave, partition);
    const writes: WriteRequest[] = changes.map((change) => {
      const key: AttributeMap = { pk: { S: pk }, sk: { S: change.sortKey } };
      return { kind: 'delete', keyId: keyIdentity(key), key };
    });
    const outcome = await writeToSlave(this.target(`drained changes of slave "${slave}"`), writes, { concurrency: this.options.concurrency, deadline, ...this.retryOptions() });
    const first = outcome.failed[0];
    if (first !== undefined) throw new StateTableError(`state table ${this.tableName}: could not delete ${outcome.failed.length} drained changes of slave "${slave}": ${first.error.message}`, { cause: first.error });
  }

  /**
   * Keeps changes of a closed bucket that the slave would not take again in the open bucket, so the drain can close
   * the next bucket without losing them. A key the open bucket holds already under the current epoch has a newer
   * change there, which stays; one kept there under an earlier epoch is stale, and is replaced.
   */
  public async carryOver(slave: string, changes: readonly ParkedChange[], openBucket: number, deadline: Deadline): Promise<void> {
    const semaphore = new Semaphore(this.options.concurrency);
    await Promise.all(
      changes.map((change) =>
        semaphore.run(async () => {
          try {
            await this.call(
              (signal) =>
                this.client.send(
                  new PutItemCommand({
                    TableName: this.tableName,
                    Item: { ...parkedKey(slave, change.keyId, openBucket), ...parkedAttributes(change) },
                    ConditionExpression: 'attribute_not_exists(pk) OR epoch < :epoch',
                    ExpressionAttributeValues: { ':epoch': { N: String(change.epoch) } },
                  }),
                  { abortSignal: signal },
                ),
              `carry a change of slave "${slave}" over to bucket ${openBucket}`,
              deadline,
            );
          } catch (error) {
            if (!isConditionFailure(error)) throw error;
          }
        }),
      ),
    );
  }

  /** Records where a drain stands in one partition of the closed bucket, if it still holds the lease. */
  public async saveCursor(slave: string, partition: number, sortKey: string, owner: string, deadline: Deadline): Promise<boolean> {
    return this.updateUnderLease(slave, owner, { UpdateExpression: `SET ${cursorAttribute(partition)} = :sk`, ExpressionAttributeValues: { ':sk': { S: sortKey } } }, `save slave "${slave}"'s drain cursor`, deadline);
  }

  /**
   * Records that every bucket below the open one has been read and applied, clearing the cursors, if this drain still
   * holds the lease.
   */
  public async markDrained(slave: string, bucket: number, owner: string, deadline: Deadline): Promise<boolean> {
    return this.updateUnderLease(
      slave,
      owner,
      {
        UpdateExpression: `SET drained_below = :bucket REMOVE ${partitions().map(cursorAttribute).join(', ')}`,
        condition: '(attribute_not_exists(#bucket) OR #bucket = :bucket)',
        ExpressionAttributeNames: { '#bucket': 'bucket' },
        ExpressionAttributeValues: { ':bucket': { N: String(bucket) } },
      },
      `record slave "${slave}"'s buckets below ${bucket} drained`,
      deadline,
    );
  }

  /** Records that every change below `bucket` has been deleted, if this drain still holds the lease. */
  public async markCleaned(slave: string, bucket: number, owner: string, deadline: Deadline): Promise<boolean> {
    return this.updateUnderLease(slave, owner, { UpdateExpression: 'SET cleaned_below = :bucket', ExpressionAttributeValues: { ':bucket': { N: String(bucket) } } }, `record slave "${slave}"'s buckets below ${bucket} deleted`, deadline);
  }

  /**
   * Closes a slave's open bucket and opens the next, if this drain still holds the lease and every older bucket is
   * drained. From then on a parker that read the old bucket has its announcement refused, and keeps its changes again.
   */
  public async closeBucket(slave: string, bucket: number, owner: string, deadline: Deadline): Promise<boolean> {
    return this.updateUnderLease(
      slave,
      owner,
      {
        UpdateExpression: 'SET #bucket = :next',
        // A state without a bucket has bucket 0 open and nothing drained.
        condition: '(attribute_not_exists(#bucket) OR #bucket = :bucket) AND ((attribute_not_exists(#bucket) AND attribute_not_exists(drained_below)) OR drained_below = :bucket)',
        ExpressionAttributeNames: { '#bucket': 'bucket' },
        ExpressionAttributeValues: { ':bucket': { N: String(bucket) }, ':next': { N: String(bucket + 1) } },
      },
      `close slave "${slave}"'s bucket ${bucket}`,
      deadline,
    );
  }


  /**
   * How many changes are parked for a slave and not applied yet: in every partition, those after its drain cursor (or
   * from the first bucket not drained), strongly consistent.
   */
  public async countParked(slave: string, state: SlaveState, deadline: Deadline): Promise<number> {
    const counts = await Promise.all(
      partitions().map(async (partition) => {
        const after = state.cursors.get(partition) ?? bucketPrefix(state.drainedBelow);
        const condition = { KeyConditionExpression: 'pk = :pk AND sk > :after', ExpressionAttributeValues: { ':pk': { S: parkedPartitionKey(slave, partition) }, ':after': { S: after } } };
        return (await this.query(condition, 'COUNT', `count slave "${slave}"'s parked changes`, deadline)).count;
      }),
    );
    return counts.reduce((sum, count) => sum + count, 0);
  }

  /** Keeps records that can never be applied, whole (gzipped), for `redrive`. Resolves with those it could not keep. */
  public async keepRejected(records: readonly RejectedRecord[], deadline: Deadline): Promise<{ record: RejectedRecord; error: Error }[]> {
    const byKeyId = new Map<string, RejectedRecord>();
    const writes: WriteRequest[] = records.map((rejected) => {
      const body = gzipSync(JSON.stringify(rejected.record));
      const key: AttributeMap = { pk: { S: 'rejected' }, sk: { S: `${rejected.sequenceNumber ?? '-'}#${rejected.eventId}` } };
      const keyId = keyIdentity(key);
      byKeyId.set(keyId, rejected);
      return { kind: 'put', keyId, key, item: { ...key, record: { B: body }, reason: { S: rejected.reason.slice(0, 10_000) }, received_at: { N: String(this.now()) } } };
    });
    const outcome = await writeToSlave(
      this.target('rejected records'),
      writes,
      { concurrency: this.options.concurrency, deadline, ...this.retryOptions() },
    );
    return outcome.failed.flatMap(({ write, error }) => {
      const record = byKeyId.get(write.keyId);
      return record === undefined ? [] : [{ record, error }];
    });
  }

  /** The checkpoint of one segment of a slave's initial copy, if it has started. */
  public async readCopyCheckpoint(slave: string, segment: number, deadline: Deadline): Promise<CopyCheckpoint | undefined> {
    const response = await this.call(
      (signal) => this.client.send(new GetItemCommand({ TableName: this.tableName, Key: copyKey(slave, segment), ConsistentRead: true }), { abortSignal: signal }),
      `read slave "${slave}"'s copy checkpoint of segment ${segment}`,
      deadline,
    );
    return response.Item === undefined ? undefined : copyCheckpointOf(response.Item);
  }

  /** Saves where one segment of a slave's initial copy stands. */
  public async saveCopyCheckpoint(slave: string, checkpoint: CopyCheckpoint, deadline: Deadline): Promise<void> {
    const key = copyKey(slave, checkpoint.segment);
    await this.call(
      (signal) =>
        this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: {
              ...key,
              segment: { N: String(checkpoint.segment) },
              total_segments: { N: String(checkpoint.totalSegments) },
              done: { BOOL: checkpoint.done },
              items: { N: String(checkpoint.items) },
              started_at: { N: String(checkpoint.startedAt) },
              updated_at: { N: String(this.now()) },
              ...(checkpoint.startKey === undefined ? {} : { start_key: { M: checkpoint.startKey } }),
            },
          }),
          { abortSignal: signal },
        ),
      `save slave "${slave}"'s copy checkpoint of segment ${checkpoint.segment}`,
      deadline,
    );
  }

  /** Every saved segment checkpoint of a slave's initial copy. */
  public async copyCheckpoints(slave: string, deadline: Deadline): Promise<CopyCheckpoint[]> {
    return (await this.query(`copy#${slave}`, 'ALL_ATTRIBUTES', `read slave "${slave}"'s copy checkpoints`, deadline)).items.map(copyCheckpointOf);
  }

  /** The records kept as rejected, oldest sequence number first. */
  public async rejectedRecords(deadline: Deadline): Promise<{ sortKey: string; record: Uint8Array; reason: string }[]> {
    return (await this.query('rejected', 'ALL_ATTRIBUTES', 'read the rejected records', deadline)).items.flatMap((item) => {
      const body = item.record?.B;
      return body === undefined ? [] : [{ sortKey: item.sk?.S ?? '', record: body, reason: item.reason?.S ?? '' }];
    });
  }

  /** Deletes a rejected record once it has been replayed. */
  public async deleteRejected(sortKey: string, deadline: Deadline): Promise<void> {
    await this.call(
      (signal) => this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: { pk: { S: 'rejected' }, sk: { S: sortKey } } }), { abortSignal: signal }),
      'delete a replayed rejected record',
      deadline,
    );
  }

  /**
   * One update of a slave's state item by the drain holding its lease, on `condition` besides; resolves false when
   * the drain no longer holds it, or the rest of the condition does not hold.
   */
  private async updateUnderLease(
    slave: string,
    owner: string,
    input: { readonly UpdateExpression: string; readonly condition?: string; readonly ExpressionAttributeNames?: Record<string, string>; readonly ExpressionAttributeValues?: Record<string, AttributeValue> },
    what: string,
    deadline: Deadline,
  ): Promise<boolean> {
    const { condition, ...update } = input;
    const updated = await this.updateSlave(
      slave,
      { ...update, ConditionExpression: condition === undefined ? 'lease_owner = :owner' : `lease_owner = :owner AND ${condition}`, ExpressionAttributeValues: { ...update.ExpressionAttributeValues, ':owner': { S: owner } } },
      what,
      deadline,
    );
    return updated !== undefined;
  }

  /** One conditional update of a slave's state item; resolves undefined when its condition does not hold. */
  private async updateSlave(slave: string, input: Omit<UpdateItemCommandInput, 'TableName' | 'Key'>, what: string, deadline: Deadline): Promise<UpdateItemCommandOutput | undefined> {
    try {
      return await this.call((signal) => this.client.send(new UpdateItemCommand({ TableName: this.tableName, Key: slaveKey(slave), ...input }), { abortSignal: signal }), what, deadline);
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  /** Every item of one partition key (or their count), strongly consistent, page after page. */
  private async query(condition: KeyCondition | string, select: 'COUNT' | 'ALL_ATTRIBUTES', what: string, deadline: Deadline): Promise<{ items: Record<string, AttributeValue>[]; count: number }> {
    const { KeyConditionExpression, ExpressionAttributeValues } = typeof condition === 'string' ? { KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: condition } } } : condition;
    const items: Record<string, AttributeValue>[] = [];
    let count = 0;
    let start: Record<string, AttributeValue> | undefined;
    do {
      const response = await this.call(
        (signal) =>
          this.client.send(
            new QueryCommand({
              TableName: this.tableName,
              KeyConditionExpression,
              ExpressionAttributeValues,
              Select: select,
              ConsistentRead: true,
              ...(start === undefined ? {} : { ExclusiveStartKey: start }),
            }),
            { abortSignal: signal },
          ),
        what,
        deadline,
      );
      items.push(...(response.Items ?? []));
      count += response.Count ?? 0;
      start = response.LastEvaluatedKey;
    } while (start !== undefined);
    return { items, count };
  }

  private async call<T>(send: (signal: AbortSignal) => Promise<T>, what: string, deadline: Deadline): Promise<T> {
    try {
      return await retryCall(send, `state table ${this.tableName}: ${what}`, { deadline, ...this.retryOptions() });
    } catch (error) {
      // A failed condition is an answer for the caller to read, not a failure.
      if (isConditionFailure(error)) throw error;
      throw new StateTableError(`state table ${this.tableName}: could not ${what}: ${describeError(error)}`, { cause: error });
    }
  }

  /** The state table as `writeToSlave` takes it, named in messages for what is written. */
  private target(what: string): SlaveTarget {
    return { name: this.tableName, label: `state table ${this.tableName} (${what})`, tableName: this.tableName, region: '', client: this.client };
  }

  private retryOptions(): RetryTuning {
    return retryTuningOf(this.options);
  }
}

/** The partitions a slave's parked changes are spread over. */
export function partitions(): number[] {
  return Array.from({ length: PARKED_PARTITIONS }, (_, index) => index);
}

/**
 * The change to park for a write: the image itself while its text fits in a state item, else the key to read back.
 * The image is kept as its DynamoDB JSON text (`encodeImage`), one string attribute: DynamoDB takes it for much less
 * work than the same image as a nested map, and the text keeps binary and 38-digit numbers exact.
 */
export function parkedChangeFor(write: WriteRequest, sequenceNumber: string, createdAtMs: number, parkedAtMs: number, reason: string, epoch: number): ParkedChange {
  const common = { keyId: write.keyId, key: write.key, sequenceNumber, createdAtMs, parkedAtMs, reason, epoch };
  if (write.kind === 'delete') return { ...common, change: { kind: 'delete' } };
  const imageText = encodeImage(write.item);
  const fits = Buffer.byteLength(imageText) + wireSize(write.key) + PARKED_OVERHEAD_BYTES <= MAX_ITEM_BYTES;
  return fits ? { ...common, change: { kind: 'put', item: write.item }, imageText } : { ...common, change: { kind: 'read-master' } };
}

function slaveKey(slave: string): Record<string, AttributeValue> {
  return { pk: { S: `slave#${slave}` }, sk: { S: 'state' } };
}

function copyKey(slave: string, segment: number): Record<string, AttributeValue> {
  return { pk: { S: `copy#${slave}` }, sk: { S: `segment#${String(segment).padStart(6, '0')}` } };
}

function copyCheckpointOf(item: Record<string, AttributeValue>): CopyCheckpoint {
  return {
    segment: Number(item.segment?.N ?? '0'),
    totalSegments: Number(item.total_segments?.N ?? '0'),
    done: item.done?.BOOL === true,
    items: Number(item.items?.N ?? '0'),
    startedAt: Number(item.started_at?.N ?? '0'),
    ...(item.updated_at?.N === undefined ? {} : { updatedAt: Number(item.updated_at.N) }),
    ...(item.start_key?.M === undefined ? {} : { startKey: item.start_key.M }),
  };
}

function parkedPartitionKey(slave: string, partition: number): string {
  return `parked#${slave}#${String(partition).padStart(2, '0')}`;
}

/**
 * A key's digest names its item in a bucket: sort keys stop at 1,024 bytes, while a key of the master may be larger.
 * The digest also picks the partition, so one key's changes always meet in one item of a bucket, and its items of
 * several buckets sort oldest bucket first in one partition.
 */
function parkedKey(slave: string, keyId: string, bucket: number): AttributeMap {
  const digest = createHash('sha256').update(keyId).digest();
  return { pk: { S: parkedPartitionKey(slave, digest.readUInt32BE(0) % PARKED_PARTITIONS) }, sk: { S: `${bucketPrefix(bucket)}${digest.toString('base64url')}` } };
}

/** A Query's key condition and its values. */
interface KeyCondition {
  readonly KeyConditionExpression: string;
  readonly ExpressionAttributeValues: Record<string, AttributeValue>;
}

/** The key condition of one partition's parked changes in a range of buckets. */
function keyCondition(pk: string, range: BucketRange): KeyCondition {
  if ('open' in range) return { KeyConditionExpression: 'pk = :pk AND begins_with(sk, :bucket)', ExpressionAttributeValues: { ':pk': { S: pk }, ':bucket': { S: bucketPrefix(range.open) } } };
  const below = bucketPrefix(range.below);
  if (range.after === undefined) return { KeyConditionExpression: 'pk = :pk AND sk < :below', ExpressionAttributeValues: { ':pk': { S: pk }, ':below': { S: below } } };
  // BETWEEN is inclusive: the caller skips the cursor's own item, which it applied; no sort key equals a bucket's prefix.
  return { KeyConditionExpression: 'pk = :pk AND sk BETWEEN :after AND :below', ExpressionAttributeValues: { ':pk': { S: pk }, ':after': { S: range.after }, ':below': { S: below } } };
}

/** The attribute of the slave's state that holds its drain cursor in one partition. */
function cursorAttribute(partition: number): string {
  return `cursor_${String(partition).padStart(2, '0')}`;
}

/** The start of the sort keys of one bucket's parked changes; every key of a lower bucket sorts before it. */
export function bucketPrefix(bucket: number): string {
  return `${String(bucket).padStart(BUCKET_DIGITS, '0')}#`;
}

/**
 * A parked change's item beyond its key: the epoch (which the drain's carry-over compares) and the change itself as
 * one JSON text, `{"kind","key","image"?,"seq","createdAt","parkedAt","reason"}`, key and image in DynamoDB JSON
 * (`encodeImage`). One string attribute takes DynamoDB far less work than the same fields as attributes and maps.
 */
function parkedAttributes(change: ParkedChange): AttributeMap {
  const image = change.change.kind === 'put' ? `,"image":${change.imageText ?? encodeImage(change.change.item)}` : '';
  const text = `{"kind":"${change.change.kind}","key":${encodeImage(change.key)}${image},"seq":${JSON.stringify(change.sequenceNumber)},"createdAt":${change.createdAtMs},"parkedAt":${change.parkedAtMs},"reason":${JSON.stringify(change.reason.slice(0, 1_000))}}`;
  return { epoch: { N: String(change.epoch) }, change: { S: text } };
}

/** The text of a parked change, as `parkedAttributes` writes it. */
interface ParkedText {
  readonly kind?: unknown;
  readonly key?: unknown;
  readonly image?: unknown;
  readonly seq?: unknown;
  readonly createdAt?: unknown;
  readonly parkedAt?: unknown;
  readonly reason?: unknown;
}

function storedChangeOf(item: Record<string, AttributeValue>): StoredChange {
  const sortKey = item.sk?.S ?? '';
  let text: ParkedText;
  let key: AttributeMap;
  try {
    text = JSON.parse(item.change?.S ?? '') as ParkedText;
    key = decodeImage(text.key, 'key');
  } catch (error) {
    throw new StateTableError(`parked change ${item.pk?.S ?? ''} / ${sortKey} cannot be read back (${describeError(error)}): delete that item, then bring the slave level with \`npx dynamo-replicator verify --repair\``, { cause: error });
  }
  const image = text.kind === 'put' ? imageOf(text.image) : undefined;
  // A put whose image cannot be read back is applied from the master's current item, which is never older.
  const change: Change = image !== undefined ? { kind: 'put', item: image } : text.kind === 'delete' ? { kind: 'delete' } : { kind: 'read-master' };
  return {
    keyId: keyIdentity(key),
    key,
    change,
    sequenceNumber: typeof text.seq === 'string' ? text.seq : '0',
    createdAtMs: typeof text.createdAt === 'number' ? text.createdAt : 0,
    parkedAtMs: typeof text.parkedAt === 'number' ? text.parkedAt : 0,
    reason: typeof text.reason === 'string' ? text.reason : '',
    epoch: Number(item.epoch?.N ?? '0'),
    bucket: Number(sortKey.slice(0, BUCKET_DIGITS)),
    sortKey,
  };
}

function imageOf(image: unknown): AttributeMap | undefined {
  try {
    return decodeImage(image, 'image');
  } catch {
    return undefined;
  }
}

function slaveStateOf(item: Record<string, AttributeValue>): SlaveState {
  const slave = (item.pk?.S ?? '').replace(/^slave#/, '');
  const copy = item.copy_state?.S;
  const mode = item.mode?.S === 'parked' ? 'parked' : 'live';
  return {
    slave,
    mode,
    settled: mode === 'parked' && item.settled_epoch?.N !== undefined && item.settled_epoch.N === (item.epoch?.N ?? '0'),
    generation: Number(item.generation?.N ?? '0'),
    epoch: Number(item.epoch?.N ?? '0'),
    bucket: Number(item.bucket?.N ?? '0'),
    drainedBelow: Number(item.drained_below?.N ?? '0'),
    cursors: new Map(partitions().flatMap((partition) => {
      const cursor = item[cursorAttribute(partition)]?.S;
      return cursor === undefined ? [] : [[partition, cursor] as const];
    })),
    cleanedBelow: Number(item.cleaned_below?.N ?? '0'),
    ...(item.lease_owner?.S === undefined ? {} : { leaseOwner: item.lease_owner.S }),
    ...(item.parked_since?.N === undefined ? {} : { parkedSince: Number(item.parked_since.N) }),
    ...(item.reason?.S === undefined ? {} : { reason: item.reason.S }),
    ...(copy === 'pending' || copy === 'done' ? { copy } : {}),
    exists: true,
  };
}

function newSlaveState(slave: string): SlaveState {
  return { slave, mode: 'live', settled: false, generation: 0, epoch: 0, bucket: 0, drainedBelow: 0, cursors: new Map(), cleanedBelow: 0, exists: false };
}

function isConditionFailure(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}
