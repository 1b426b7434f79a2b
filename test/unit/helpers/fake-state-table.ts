import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type BatchGetItemCommandInput,
  type BatchWriteItemCommandInput,
  type DeleteItemCommandInput,
  type DynamoDBClient,
  type GetItemCommandInput,
  type PutItemCommandInput,
  type QueryCommandInput,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import { createHash } from 'node:crypto';
import { keyIdentity } from '../../../handler/attribute-value';
import { MASTER_TABLE, STATE_TABLE } from './config';
import { parkedContent, parkedItem, slaveItem, type ParkedItemOptions, type SlaveItemOptions } from './state';
import { awsError } from './writes';

type Item = Record<string, AttributeValue>;

/** A slave's state as the fake keeps it, changed in place by the calls it answers. */
type SlaveRecord = { -readonly [K in keyof SlaveItemOptions]: SlaveItemOptions[K] } & {
  mode: 'live' | 'parked';
  generation: number;
  epoch: number;
  bucket: number;
  drainedBelow: number;
  cleanedBelow: number;
  cursors: Map<number, string>;
  leaseUntil?: number;
};

/** What the slave table answers one BatchWriteItem with. */
export type SlaveAnswer = (requests: NonNullable<BatchWriteItemCommandInput['RequestItems']>[string]) => Promise<object>;

/**
 * The state table (and the master and slaves around it) in memory, behind a file's one mocked DynamoDBClient. It
 * answers the calls of the drain, the live path's parking, the copy and the command-line tool as DynamoDB would,
 * conditions included, and logs what reached the slaves and the state table in order (`write orders-eu put a=1`,
 * `park eu a`, `live eu`, `close eu 0`, `delete a`), so a test can state the order of events.
 */
export class FakeStateTable {
  public readonly slaves = new Map<string, SlaveRecord>();
  /** Parked items by `<pk>|<sk>`. */
  public readonly parked = new Map<string, Item>();
  /** The state table's other items (copy checkpoints, rejected records) by `<pk>|<sk>`. */
  public readonly rows = new Map<string, Item>();
  public readonly master = new Map<string, Item>();
  public readonly events: string[] = [];
  /** Per table (a slave's, or the state table): how it answers a write. Takes everything when absent. */
  public readonly slaveAnswers = new Map<string, SlaveAnswer>();
  /** Runs before a markLive is decided, as a stream invocation parking meanwhile would. */
  public beforeMarkLive: ((slave: string) => void) | undefined;
  /** Runs after a slave took a write, before the drain deletes what it applied. */
  public afterSlaveWrite: ((table: string) => void) | undefined;
  /**
   * Runs after a Query of one partition of a slave's parked changes (`parked#eu#03`) is answered, as a stream
   * invocation parking while a drain's pass reads would: what it parks is not in that answer.
   */
  public afterParkedQuery: ((slave: string, partition: string, range: 'closed' | 'open') => void) | undefined;

  public constructor(private readonly now: () => number = Date.now) {}

  public setSlave(slave: string, options: SlaveItemOptions & { leaseUntil?: number }): void {
    // A slave set parked has had changes kept after the settle time, unless the test says otherwise.
    this.slaves.set(slave, { mode: 'parked', generation: 1, epoch: 0, bucket: 0, drainedBelow: 0, cleanedBelow: 0, settledEpoch: options.epoch ?? 0, ...options, cursors: new Map(options.cursors) });
  }

  /** Parks a change of item `pk = id` for a slave, where `StateStore.parkAndAnnounce` would put it: in the open bucket unless told. */
  public park(slave: string, id: string, options: ParkedItemOptions = {}): void {
    const { pk, sk } = parkedKeyOf(slave, { pk: { S: id } }, options.bucket ?? this.slaves.get(slave)?.bucket ?? 0);
    this.parked.set(`${pk}|${sk}`, { pk: { S: pk }, sk: { S: sk }, ...parkedItem(id, options) });
  }

  public parkedOf(slave: string): Item[] {
    return [...this.parked.values()].filter((item) => item.pk?.S?.startsWith(`parked#${slave}#`) === true);
  }

  public install(ddb: AwsClientStub<DynamoDBClient>): void {
    ddb.on(GetItemCommand).callsFake((input: GetItemCommandInput) => Promise.resolve(this.getItem(input)));
    ddb.on(UpdateItemCommand).callsFake((input: UpdateItemCommandInput) => this.updateItem(input));
    ddb.on(QueryCommand).callsFake((input: QueryCommandInput) => Promise.resolve(this.query(input)));
    ddb.on(DeleteItemCommand).callsFake((input: DeleteItemCommandInput) => this.deleteItem(input));
    ddb.on(PutItemCommand).callsFake((input: PutItemCommandInput) => this.putItem(input));
    ddb.on(BatchGetItemCommand).callsFake((input: BatchGetItemCommandInput) => this.batchGetItem(input));
    ddb.on(BatchWriteItemCommand).callsFake((input: BatchWriteItemCommandInput) => this.batchWriteItem(input));
  }

  /** Answers a BatchGetItem of slave states (from the state table) or of master items. */
  public batchGetItem(input: BatchGetItemCommandInput): Promise<{ Responses: Record<string, Item[]> }> {
    const states = (input.RequestItems?.[STATE_TABLE]?.Keys ?? []).map((key) => this.itemOf(this.stateOf(key.pk?.S) ?? '')).filter((item) => item !== undefined);
    const keys = input.RequestItems?.[MASTER_TABLE]?.Keys ?? [];
    return Promise.resolve({ Responses: { [STATE_TABLE]: states, [MASTER_TABLE]: keys.map((key) => this.master.get(keyIdentity(key))).filter((item) => item !== undefined) } });
  }

  /**
   * Answers a BatchWriteItem as `slaveAnswers` says for its table. Writes to the state table (parked changes, rejected
   * records) are kept and logged as `park eu a`; writes to a slave are logged as `write orders-eu put a=1`.
   */
  public async batchWriteItem(input: BatchWriteItemCommandInput): Promise<object> {
    const [table, requests = []] = Object.entries(input.RequestItems ?? {})[0] ?? [];
    const answer = this.slaveAnswers.get(table ?? '');
    const response = answer === undefined ? {} : await answer(requests);
    for (const request of requests) {
      if (table === STATE_TABLE && request.DeleteRequest !== undefined) {
        const id = `${request.DeleteRequest.Key?.pk?.S ?? ''}|${request.DeleteRequest.Key?.sk?.S ?? ''}`;
        const item = this.parked.get(id);
        this.parked.delete(id);
        this.events.push(`delete ${item === undefined ? id : parkedContent(item).id}`);
      } else if (table === STATE_TABLE) {
        const item = request.PutRequest?.Item ?? {};
        this.keep(item);
        this.events.push(`park ${item.pk?.S?.split('#')[1] ?? item.pk?.S ?? ''} ${parkedContent(item).id}`.trimEnd());
      } else {
        this.events.push(
          request.PutRequest !== undefined
            ? `write ${table ?? ''} put ${request.PutRequest.Item?.pk?.S ?? ''}=${request.PutRequest.Item?.value?.S ?? ''}`
            : `write ${table ?? ''} delete ${request.DeleteRequest?.Key?.pk?.S ?? ''}`,
        );
      }
    }
    if (table !== STATE_TABLE) this.afterSlaveWrite?.(table ?? '');
    return response;
  }

  /** Keeps an item of the state table that is not a slave's state. */
  private keep(item: Item): void {
    const id = `${item.pk?.S ?? ''}|${item.sk?.S ?? ''}`;
    if (item.pk?.S?.startsWith('parked#') === true) this.parked.set(id, item);
    else this.rows.set(id, item);
  }

  private stateOf(pk: string | undefined): string | undefined {
    return pk?.startsWith('slave#') === true ? pk.slice('slave#'.length) : undefined;
  }

  private itemOf(slave: string): Item | undefined {
    const state = this.slaves.get(slave);
    return state === undefined ? undefined : slaveItem(slave, state);
  }

  private getItem(input: GetItemCommandInput): { Item?: Item } {
    const slave = this.stateOf(input.Key?.pk?.S);
    const item = slave === undefined ? this.rows.get(`${input.Key?.pk?.S ?? ''}|${input.Key?.sk?.S ?? ''}`) : this.itemOf(slave);
    return item === undefined ? {} : { Item: item };
  }

  private async updateItem(input: UpdateItemCommandInput): Promise<{ Attributes?: Item }> {
    const slave = this.stateOf(input.Key?.pk?.S) ?? '';
    const values = input.ExpressionAttributeValues ?? {};
    const state = this.slaves.get(slave);
    const owner = values[':owner']?.S;
    const expression = input.UpdateExpression ?? '';
    const failed = (): Promise<never> => Promise.reject(awsError('ConditionalCheckFailedException', 400, 'The conditional request failed'));
    if (expression.startsWith('SET lease_owner')) {
      if (state === undefined) return failed();
      if (state.leaseOwner !== undefined && state.leaseOwner !== owner && (state.leaseUntil ?? 0) >= this.now()) return failed();
      state.leaseOwner = owner ?? '';
      state.leaseUntil = Number(values[':until']?.N);
      return { Attributes: this.itemOf(slave) ?? {} };
    }
    if (expression.startsWith('REMOVE lease_owner')) {
      if (state === undefined || state.leaseOwner !== owner) return failed();
      delete state.leaseOwner;
      delete state.leaseUntil;
      return {};
    }
    if (expression === 'SET reason = :reason') {
      if (state === undefined || state.leaseOwner !== owner) return failed();
      state.reason = values[':reason']?.S ?? '';
      this.events.push(`reason ${slave}: ${state.reason}`);
      return {};
    }
    if (expression.startsWith('SET #mode = :live')) {
      this.beforeMarkLive?.(slave);
      const current = this.slaves.get(slave);
      if (current === undefined || String(current.generation) !== values[':generation']?.N || current.leaseOwner !== owner || current.copy === 'pending') return failed();
      current.mode = 'live';
      current.epoch += 1;
      delete current.parkedSince;
      delete current.reason;
      this.events.push(`live ${slave}`);
      return {};
    }
    if (expression.startsWith('SET copy_state = :done')) {
      if (state === undefined) return failed();
      state.copy = 'done';
      this.events.push(`copied ${slave}`);
      return {};
    }
    if (expression.startsWith('SET drained_below = :bucket REMOVE cursor_00')) {
      if (state === undefined || state.leaseOwner !== owner || String(state.bucket) !== values[':bucket']?.N) return failed();
      state.drainedBelow = state.bucket;
      state.cursors.clear();
      this.events.push(`drained ${slave} below ${state.bucket}`);
      return {};
    }
    const cursor = /^SET cursor_(\d\d) = :sk$/.exec(expression);
    if (cursor !== null) {
      if (state === undefined || state.leaseOwner !== owner) return failed();
      state.cursors.set(Number(cursor[1]), values[':sk']?.S ?? '');
      return {};
    }
    if (expression === 'SET cleaned_below = :bucket') {
      if (state === undefined || state.leaseOwner !== owner) return failed();
      state.cleanedBelow = Number(values[':bucket']?.N);
      this.events.push(`cleaned ${slave} below ${state.cleanedBelow}`);
      return {};
    }
    if (expression === 'SET #bucket = :next') {
      if (state === undefined || state.leaseOwner !== owner || String(state.bucket) !== values[':bucket']?.N || state.drainedBelow !== state.bucket) return failed();
      this.events.push(`close ${slave} ${state.bucket}`);
      state.bucket += 1;
      return {};
    }
    if (expression.startsWith('SET #mode = :parked')) {
      const epoch = Number(values[':epoch']?.N);
      const bucket = Number(values[':bucket']?.N);
      if (state !== undefined && (state.epoch !== epoch || state.bucket !== bucket)) return failed();
      const next: SlaveRecord = state ?? { mode: 'parked', generation: 0, epoch, bucket, drainedBelow: 0, cleanedBelow: 0, cursors: new Map() };
      next.mode = 'parked';
      next.generation += 1;
      next.parkedSince ??= this.now();
      next.reason = values[':reason']?.S ?? '';
      if (expression.includes('settled_epoch = :epoch')) next.settledEpoch = epoch;
      if (values[':pending'] !== undefined) next.copy ??= 'pending';
      this.slaves.set(slave, next);
      return {};
    }
    throw new Error(`the fake state table does not know the update "${expression}"`);
  }

  /** Answers a Query of one partition key in sort key order, page by page, with the key conditions the store uses. */
  private query(input: QueryCommandInput): { Items?: Item[]; Count?: number; LastEvaluatedKey?: Item } {
    const values = input.ExpressionAttributeValues ?? {};
    const pk = values[':pk']?.S ?? '';
    const condition = input.KeyConditionExpression ?? '';
    const inRange = (sk: string): boolean => {
      if (condition.endsWith('sk < :below')) return sk < (values[':below']?.S ?? '');
      if (condition.endsWith('sk BETWEEN :after AND :below')) return sk >= (values[':after']?.S ?? '') && sk <= (values[':below']?.S ?? '');
      if (condition.endsWith('sk > :after')) return sk > (values[':after']?.S ?? '');
      if (condition.endsWith('begins_with(sk, :bucket)')) return sk.startsWith(values[':bucket']?.S ?? '');
      if (condition === 'pk = :pk') return true;
      throw new Error(`the fake state table does not know the key condition "${condition}"`);
    };
    const after = input.ExclusiveStartKey?.sk?.S;
    const items = [...this.parked.values(), ...this.rows.values()]
      .filter((item) => item.pk?.S === pk && inRange(item.sk?.S ?? '') && (after === undefined || (item.sk?.S ?? '') > after))
      .sort((a, b) => ((a.sk?.S ?? '') < (b.sk?.S ?? '') ? -1 : 1));
    if (input.Select === 'COUNT') return { Count: items.length };
    if (pk.startsWith('parked#')) this.afterParkedQuery?.(pk.split('#')[1] ?? '', pk, condition.endsWith('begins_with(sk, :bucket)') ? 'open' : 'closed');
    const page = input.Limit === undefined ? items : items.slice(0, input.Limit);
    const last = page.at(-1);
    return { Items: page, ...(page.length < items.length && last !== undefined ? { LastEvaluatedKey: { pk: { S: pk }, sk: { S: last.sk?.S ?? '' } } } : {}) };
  }

  /** Keeps an item; a parked change carried over by the drain only where no change of the current epoch is. */
  private putItem(input: PutItemCommandInput): Promise<object> {
    const item = input.Item ?? {};
    const held = this.parked.get(`${item.pk?.S ?? ''}|${item.sk?.S ?? ''}`);
    if (input.ConditionExpression !== undefined && held !== undefined && Number(held.epoch?.N) >= Number(input.ExpressionAttributeValues?.[':epoch']?.N)) {
      return Promise.reject(awsError('ConditionalCheckFailedException', 400, 'The conditional request failed'));
    }
    this.keep(item);
    if (input.ConditionExpression !== undefined) this.events.push(`carry ${parkedContent(item).id} to ${Number(item.sk?.S?.slice(0, 10))}`);
    return Promise.resolve({});
  }

  private deleteItem(input: DeleteItemCommandInput): Promise<object> {
    const id = `${input.Key?.pk?.S ?? ''}|${input.Key?.sk?.S ?? ''}`;
    this.rows.delete(id);
    this.events.push(`delete ${id}`);
    return Promise.resolve({});
  }
}

/**
 * Where the state store keeps a parked change of `key` in a bucket: partition and sort key from the key's SHA-256
 * digest, the sort key after the bucket's number.
 */
export function parkedKeyOf(slave: string, key: Item, bucket = 0): { pk: string; sk: string } {
  const digest = createHash('sha256').update(keyIdentity(key)).digest();
  return { pk: `parked#${slave}#${String(digest.readUInt32BE(0) % 16).padStart(2, '0')}`, sk: `${String(bucket).padStart(10, '0')}#${digest.toString('base64url')}` };
}

