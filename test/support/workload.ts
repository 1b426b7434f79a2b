/**
 * A seeded, reproducible write workload on a master table: puts, updates and deletes
 * over a key space with a few hot keys, items carrying every attribute type (including
 * the values replication gets wrong most easily: 38-digit numbers, arbitrary bytes that
 * look like base64, binary nested in maps and lists, empty strings), and optionally
 * an item of about 350 KB.
 *
 * Every put and update sets {@link WRITTEN_AT_ATTRIBUTE} to the write's start time in
 * epoch milliseconds, so a reader of the slave can measure replication lag.
 */
import {
  DeleteItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';

/** Attribute holding the epoch milliseconds at which the item was last written. */
export const WRITTEN_AT_ATTRIBUTE = 'written_at_ms';

/** The partition key attribute of the workload's items (type S). */
export const WORKLOAD_KEY_ATTRIBUTE = 'pk';

/** The kinds of write the workload makes. */
export const OperationKind = { PUT: 'put', UPDATE: 'update', DELETE: 'delete' } as const;
/** One of {@link OperationKind}. */
export type OperationKind = (typeof OperationKind)[keyof typeof OperationKind];

/** One write, reported to {@link WorkloadOptions.onOperation} once it has completed. */
export interface WorkloadOperation {
  readonly kind: OperationKind;
  /** The partition key value. */
  readonly key: string;
  /** When the write was sent, by the workload's clock (the value of {@link WRITTEN_AT_ATTRIBUTE}). */
  readonly startedAt: number;
  /** Epoch milliseconds at which the write was acknowledged. */
  readonly finishedAt: number;
  /** False for a delete of an absent item, which leaves no stream record. */
  readonly changed: boolean;
  readonly large: boolean;
}

/** Options of {@link runWorkload}. */
export interface WorkloadOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Default 1. The same seed gives the same sequence of operations. */
  readonly seed?: number;
  /** Distinct keys; default 1,000. */
  readonly keySpace?: number;
  /** Keys that take {@link hotKeyShare} of the operations; default 5. */
  readonly hotKeys?: number;
  /** Default 0.3. */
  readonly hotKeyShare?: number;
  /** Relative weights; default `{ put: 5, update: 3, delete: 2 }`. */
  readonly mix?: Readonly<Record<OperationKind, number>>;
  /** Operations per second; default unlimited. */
  readonly rate?: number;
  /** Stop after this long. At least one of `durationMs`, `operations` or `signal` should be given. */
  readonly durationMs?: number;
  /** Stop after this many operations. */
  readonly operations?: number;
  /**
   * Writes in flight at once; default 4. Writes to one key still go one after the other:
   * DynamoDB Local lets two racing deletes of one item both return it, which would make
   * {@link WorkloadResult.changes} count a stream record that never appears.
   */
  readonly concurrency?: number;
  /** Chance that a put writes a ~350 KB item; default 0. */
  readonly largeItemShare?: number;
  readonly signal?: AbortSignal;
  /** Source of {@link WRITTEN_AT_ATTRIBUTE}; default `Date.now`. A constant makes two runs write identical tables. */
  readonly clock?: () => number;
  readonly onOperation?: (operation: WorkloadOperation) => void;
  /** Called when a write fails; the workload carries on. */
  readonly onError?: (error: unknown) => void;
}

/** Totals of a finished workload. */
export interface WorkloadResult {
  readonly operations: number;
  readonly puts: number;
  readonly updates: number;
  readonly deletes: number;
  /** Writes that changed the table, i.e. the stream records to expect. */
  readonly changes: number;
  readonly largeItems: number;
  readonly errors: number;
  readonly durationMs: number;
}

/** A seeded generator of floats in [0, 1) (mulberry32). */
export type Random = () => number;

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function integer(random: Random, below: number): number {
  return Math.floor(random() * below);
}

function randomBytes(random: Random, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i += 1) bytes[i] = integer(random, 256);
  return bytes;
}

const TEXT_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_/+=é✓';

function randomText(random: Random, maxLength: number): string {
  const length = integer(random, maxLength + 1);
  return Array.from({ length }, () => TEXT_ALPHABET[integer(random, TEXT_ALPHABET.length)] ?? 'x').join('');
}

/**
 * A number with 38 significant digits (DynamoDB's maximum precision), a random sign and
 * decimal point, and no leading or trailing zero so that the engine stores it as written.
 */
export function randomPreciseNumber(random: Random): string {
  const digits = Array.from({ length: 38 }, (_, i) => String(i === 0 || i === 37 ? 1 + integer(random, 9) : integer(random, 10))).join('');
  const point = 1 + integer(random, 37);
  return `${random() < 0.5 ? '-' : ''}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** Bytes that are themselves ASCII base64: the first victims of double encoding. */
function base64LookingBytes(random: Random): Uint8Array {
  return new TextEncoder().encode(Buffer.from(randomBytes(random, 3 + integer(random, 12))).toString('base64'));
}

function distinct<T>(values: T[], keyOf: (value: T) => string): T[] {
  const seen = new Set<string>();
  return values.filter((value) => {
    const key = keyOf(value);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** An item with every attribute type, nested binary included. */
export function randomItem(random: Random, key: string, writtenAt: number, large = false): Record<string, AttributeValue> {
  const bytes = (): Uint8Array => randomBytes(random, integer(random, 48));
  const item: Record<string, AttributeValue> = {
    [WORKLOAD_KEY_ATTRIBUTE]: { S: key },
    [WRITTEN_AT_ATTRIBUTE]: { N: String(writtenAt) },
    s: { S: randomText(random, 40) },
    empty: { S: '' },
    n: { N: randomPreciseNumber(random) },
    int: { N: String(integer(random, 2_000_001) - 1_000_000) },
    b: { B: bytes() },
    b64: { B: base64LookingBytes(random) },
    ss: { SS: distinct([randomText(random, 8) || 'a', 'tag', randomText(random, 8) || 'b'], (value) => value) },
    ns: { NS: distinct([randomPreciseNumber(random), String(integer(random, 1000)), '0'], (value) => value) },
    bs: { BS: distinct([randomBytes(random, 1 + integer(random, 16)), base64LookingBytes(random)], (value) => Buffer.from(value).toString('hex')) },
    m: {
      M: {
        bin: { B: bytes() },
        list: { L: [{ B: base64LookingBytes(random) }, { N: randomPreciseNumber(random) }, { BS: [randomBytes(random, 4)] }] },
        deep: { M: { flag: { BOOL: random() < 0.5 }, none: { NULL: true }, text: { S: '' } } },
      },
    },
    l: { L: [{ M: { bin: { B: bytes() } } }, { S: randomText(random, 10) }, { L: [{ B: base64LookingBytes(random) }] }] },
    nul: { NULL: true },
    bool: { BOOL: random() < 0.5 },
  };
  if (large) item['blob'] = { B: randomBytes(random, 350 * 1024) };
  return item;
}

function pickKind(random: Random, mix: Readonly<Record<OperationKind, number>>): OperationKind {
  const total = mix.put + mix.update + mix.delete;
  const draw = random() * total;
  if (draw < mix.put) return OperationKind.PUT;
  if (draw < mix.put + mix.update) return OperationKind.UPDATE;
  return OperationKind.DELETE;
}

/** Key `i` of the key space; hot keys are named so they stand out in a diff. */
export function workloadKey(index: number, hot: boolean): string {
  return hot ? `hot-${index}` : `key-${String(index).padStart(6, '0')}`;
}

interface PlannedOperation {
  readonly kind: OperationKind;
  readonly key: string;
  readonly large: boolean;
  readonly random: Random;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((done) => {
    const timer = setTimeout(finish, ms);
    function finish(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', finish);
      done();
    }
    signal?.addEventListener('abort', finish, { once: true });
  });
}

async function execute(client: DynamoDBClient, tableName: string, operation: PlannedOperation, startedAt: number): Promise<boolean> {
  const Key = { [WORKLOAD_KEY_ATTRIBUTE]: { S: operation.key } };
  switch (operation.kind) {
    case OperationKind.PUT:
      await client.send(
        new PutItemCommand({ TableName: tableName, Item: randomItem(operation.random, operation.key, startedAt, operation.large) }),
      );
      return true;
    case OperationKind.UPDATE: {
      const random = operation.random;
      await client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key,
          UpdateExpression:
            'SET #w = :w, #c = if_not_exists(#c, :zero) + :one, s = :s, n = :n, b = :b ADD tags :tags REMOVE nul',
          ExpressionAttributeNames: { '#w': WRITTEN_AT_ATTRIBUTE, '#c': 'counter' },
          ExpressionAttributeValues: {
            ':w': { N: String(startedAt) },
            ':zero': { N: '0' },
            ':one': { N: '1' },
            ':s': { S: randomText(random, 20) },
            ':n': { N: randomPreciseNumber(random) },
            ':b': { B: base64LookingBytes(random) },
            ':tags': { SS: [`t${integer(random, 20)}`] },
          },
        }),
      );
      return true;
    }
    case OperationKind.DELETE: {
      const output = await client.send(new DeleteItemCommand({ TableName: tableName, Key, ReturnValues: 'ALL_OLD' }));
      return output.Attributes !== undefined;
    }
  }
}

/**
 * Runs the workload until its duration, operation count or signal ends it. The plan
 * (kinds, keys, values) depends only on the seed; timing and races do not.
 */
export async function runWorkload(options: WorkloadOptions): Promise<WorkloadResult> {
  const random = seededRandom(options.seed ?? 1);
  const keySpace = options.keySpace ?? 1_000;
  const hotKeys = Math.min(options.hotKeys ?? 5, keySpace);
  const hotKeyShare = options.hotKeyShare ?? 0.3;
  const mix = options.mix ?? { put: 5, update: 3, delete: 2 };
  const concurrency = options.concurrency ?? 4;
  const largeItemShare = options.largeItemShare ?? 0;
  const clock = options.clock ?? Date.now;
  const started = Date.now();
  const endsAt = options.durationMs === undefined ? Infinity : started + options.durationMs;
  const limit = options.operations ?? Infinity;
  const totals = { operations: 0, puts: 0, updates: 0, deletes: 0, changes: 0, largeItems: 0, errors: 0 };
  let planned = 0;
  /** The last write queued per key: the next write to that key waits for it. */
  const inFlight = new Map<string, Promise<void>>();

  // Each operation draws its values from its own generator, seeded from the main one,
  // so the values do not depend on the order in which concurrent writes complete.
  const plan = (): PlannedOperation => {
    const kind = pickKind(random, mix);
    const hot = random() < hotKeyShare;
    const key = hot ? workloadKey(integer(random, hotKeys), true) : workloadKey(integer(random, keySpace), false);
    const large = kind === OperationKind.PUT && random() < largeItemShare;
    return { kind, key, large, random: seededRandom(integer(random, 2 ** 32)) };
  };

  const worker = async (): Promise<void> => {
    for (;;) {
      if (options.signal?.aborted || planned >= limit || Date.now() >= endsAt) return;
      const index = planned;
      planned += 1;
      const operation = plan();
      if (options.rate !== undefined) {
        await sleep(started + (index * 1000) / options.rate - Date.now(), options.signal);
        if (options.signal?.aborted || Date.now() >= endsAt) return;
      }
      const previous = inFlight.get(operation.key);
      let release = (): void => undefined;
      const mine = new Promise<void>((done) => {
        release = done;
      });
      inFlight.set(operation.key, mine);
      await previous;
      const startedAt = clock();
      try {
        const changed = await execute(options.client, options.tableName, operation, startedAt);
        totals.operations += 1;
        totals[`${operation.kind}s`] += 1;
        if (changed) totals.changes += 1;
        if (operation.large) totals.largeItems += 1;
        options.onOperation?.({ kind: operation.kind, key: operation.key, startedAt, finishedAt: Date.now(), changed, large: operation.large });
      } catch (error) {
        totals.errors += 1;
        options.onError?.(error);
      } finally {
        release();
        if (inFlight.get(operation.key) === mine) inFlight.delete(operation.key);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { ...totals, durationMs: Date.now() - started };
}
