import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type AttributeValue,
  type BatchGetItemCommandInput,
  type BatchWriteItemCommandInput,
  type DeleteItemCommandInput,
  type DynamoDBClient,
  type GetItemCommandInput,
  type PutItemCommandInput,
  type QueryCommandInput,
  type TransactWriteItemsCommandInput,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import { createHash } from 'node:crypto';
import { keyIdentity } from '../../../handler/attribute-value';
import { MASTER_TABLE, STATE_TABLE } from './config';
import { parkedItem, slaveItem, type ParkedItemOptions, type SlaveItemOptions } from './state';
import { awsError } from './writes';

type Item = Record<string, AttributeValue>;

/** A slave's state as the fake keeps it, changed in place by the calls it answers. */
type SlaveRecord = { -readonly [K in keyof SlaveItemOptions]: SlaveItemOptions[K] } & { mode: 'live' | 'parked'; generation: number; epoch: number; leaseUntil?: number };

/** What the slave table answers one BatchWriteItem with. */
export type SlaveAnswer = (requests: NonNullable<BatchWriteItemCommandInput['RequestItems']>[string]) => Promise<object>;

/**
 * The state table (and the master and slaves around it) in memory, behind a file's one mocked DynamoDBClient. It
 * answers the calls of the drain, the live path's parking, the copy and the command-line tool as DynamoDB would,
 * conditions included, and logs what reached the slaves and the state table in order (`write orders-eu put a=1`,
 * `park eu a`, `live eu`, `delete a`), so a test can state the order of events.
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
  public afterParkedQuery: ((slave: string, partition: string) => void) | undefined;

  public constructor(private readonly now: () => number = Date.now) {}

  public setSlave(slave: string, options: SlaveItemOptions & { leaseUntil?: number }): void {
    this.slaves.set(slave, { mode: 'parked', generation: 1, epoch: 0, ...options });
  }

  /** Parks a change of item `pk = id` for a slave, where `StateStore.park` would put it. */
  public park(slave: string, id: string, options: ParkedItemOptions = {}): void {
    const { pk, sk } = parkedKeyOf(slave, { pk: { S: id } });
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
    ddb.on(TransactWriteItemsCommand).callsFake((input: TransactWriteItemsCommandInput) => this.transactDeletes(input));
    ddb.on(PutItemCommand).callsFake((input: PutItemCommandInput) => {
      this.keep(input.Item ?? {});
      return Promise.resolve({});
    });
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
      if (table === STATE_TABLE) {
        const item = request.PutRequest?.Item ?? {};
        this.keep(item);
        this.events.push(`park ${item.pk?.S?.split('#')[1] ?? item.pk?.S ?? ''} ${item.key?.M?.pk?.S ?? ''}`.trimEnd());
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
    if (expression.startsWith('SET #mode = :parked')) {
      const epoch = Number(values[':epoch']?.N);
      if (state !== undefined && state.epoch !== epoch) return failed();
      const next: SlaveRecord = state ?? { mode: 'parked', generation: 0, epoch };
      next.mode = 'parked';
      next.generation += 1;
      next.parkedSince ??= this.now();
      next.reason = values[':reason']?.S ?? '';
      if (values[':pending'] !== undefined) next.copy ??= 'pending';
      this.slaves.set(slave, next);
      return {};
    }
    throw new Error(`the fake state table does not know the update "${expression}"`);
  }

  private query(input: QueryCommandInput): { Items?: Item[]; Count?: number } {
    const pk = input.ExpressionAttributeValues?.[':pk']?.S ?? '';
    const items = [...this.parked.values(), ...this.rows.values()].filter((item) => item.pk?.S === pk);
    if (input.Select === 'COUNT') return { Count: items.length };
    if (pk.startsWith('parked#')) this.afterParkedQuery?.(pk.split('#')[1] ?? '', pk);
    return { Items: items };
  }

  /**
   * Answers a transaction of conditional deletes of parked changes as DynamoDB does: all or nothing, cancelled with a
   * reason per action when one condition fails.
   */
  private transactDeletes(input: TransactWriteItemsCommandInput): Promise<object> {
    const deletes = (input.TransactItems ?? []).map((action) => action.Delete);
    const reasons = deletes.map((action) => {
      const item = this.parked.get(`${action?.Key?.pk?.S ?? ''}|${action?.Key?.sk?.S ?? ''}`);
      const values = action?.ExpressionAttributeValues ?? {};
      return item !== undefined && item.seq?.S === values[':seq']?.S && item.epoch?.N === values[':epoch']?.N ? { Code: 'None' } : { Code: 'ConditionalCheckFailed' };
    });
    if (reasons.some((reason) => reason.Code !== 'None')) {
      return Promise.reject(new TransactionCanceledException({ message: 'Transaction cancelled', $metadata: { httpStatusCode: 400 }, CancellationReasons: reasons }));
    }
    for (const action of deletes) {
      const id = `${action?.Key?.pk?.S ?? ''}|${action?.Key?.sk?.S ?? ''}`;
      const item = this.parked.get(id);
      this.parked.delete(id);
      this.events.push(`delete ${item?.key?.M?.pk?.S ?? ''}`);
    }
    return Promise.resolve({});
  }

  private deleteItem(input: DeleteItemCommandInput): Promise<object> {
    const id = `${input.Key?.pk?.S ?? ''}|${input.Key?.sk?.S ?? ''}`;
    if (input.ConditionExpression === undefined) {
      this.rows.delete(id);
      this.events.push(`delete ${id}`);
      return Promise.resolve({});
    }
    const item = this.parked.get(id);
    const values = input.ExpressionAttributeValues ?? {};
    if (item === undefined || item.seq?.S !== values[':seq']?.S || item.epoch?.N !== values[':epoch']?.N) {
      return Promise.reject(awsError('ConditionalCheckFailedException', 400, 'The conditional request failed'));
    }
    this.parked.delete(id);
    this.events.push(`delete ${item.key?.M?.pk?.S ?? ''}`);
    return Promise.resolve({});
  }
}

/** Where the state store keeps a parked change of `key`: partition and sort key from the key's SHA-256 digest. */
export function parkedKeyOf(slave: string, key: Item): { pk: string; sk: string } {
  const digest = createHash('sha256').update(keyIdentity(key)).digest();
  return { pk: `parked#${slave}#${String(digest.readUInt32BE(0) % 16).padStart(2, '0')}`, sk: digest.toString('base64url') };
}

