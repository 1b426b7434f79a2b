import { BatchWriteItemCommand, type DynamoDBClient, type WriteRequest as SdkWriteRequest } from '@aws-sdk/client-dynamodb';
import { describeKey, keyIdentity } from './attribute-value';
import { Semaphore } from './concurrency';
import { describeError, SlaveWriteError } from './errors';
import { MAX_REQUEST_BYTES, wireSize } from './item-size';
import { classifyFailure, DEFAULT_BACKOFF, pauseBeforeRetry, type BackoffPolicy } from './retry';
import type { Deadline } from './timing';
import type { FailedWrite, WriteRequest } from './types';

/** BatchWriteItem takes at most 25 requests, and at most 16 MB on the wire (see `MAX_REQUEST_BYTES`). */
export const MAX_BATCH_WRITE = 25;

/** Room kept in a request for the table name and the request's own JSON around the items. */
const REQUEST_OVERHEAD_BYTES = 64 * 1024;

/** One slave table and the client that reaches it. */
export interface SlaveTarget {
  readonly name: string;
  /** How the table is named in messages; `slave "<name>" (table <table> in <region>)` by default. */
  readonly label?: string;
  readonly tableName: string;
  readonly region: string;
  readonly client: DynamoDBClient;
}

export interface SlaveWriteOptions<W extends WriteRequest> {
  /** BatchWriteItem calls in flight at once for this slave. */
  readonly concurrency: number;
  readonly deadline: Deadline;
  readonly backoff?: BackoffPolicy;
  readonly random?: () => number;
  /** Told of every group of writes the slave has confirmed, as soon as it has. */
  readonly onApplied?: (writes: readonly W[]) => void;
}

/** What became of the writes to one slave. */
export interface SlaveWriteOutcome<W extends WriteRequest> {
  readonly slave: string;
  readonly written: number;
  /** Write requests sent again after throttling, a server error or being returned unprocessed. */
  readonly retries: number;
  readonly failed: FailedWrite<W>[];
}

/**
 * Applies writes to one slave with BatchWriteItem: up to 25 a call, `concurrency` calls at once. Unprocessed items,
 * throttling and server errors are retried with capped exponential backoff and full jitter until the deadline; a
 * request the slave rejects as invalid is isolated by halving its batch, so only the bad item fails. Never throws:
 * every write is either confirmed or returned in `failed` with an error naming slave, table and key.
 *
 * The caller passes at most one write per item (see `compactChanges`), so no two writes of one item are in flight.
 */
export async function writeToSlave<W extends WriteRequest>(
  target: SlaveTarget,
  writes: readonly W[],
  options: SlaveWriteOptions<W>,
): Promise<SlaveWriteOutcome<W>> {
  const outcome = { slave: target.name, written: 0, retries: 0, failed: [] as FailedWrite<W>[] };
  const first = writes[0];
  if (first === undefined) return outcome;
  const keyNames = Object.keys(first.key);
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const random = options.random ?? Math.random;
  const { deadline } = options;
  const semaphore = new Semaphore(options.concurrency);

  const fail = (batch: readonly W[], describe: (write: W) => SlaveWriteError): void => {
    for (const write of batch) outcome.failed.push({ write, error: describe(write) });
  };
  const failAll = (batch: readonly W[], reason: string, retryable: boolean, cause?: unknown): void =>
    fail(batch, (write) => new SlaveWriteError(`${whereTo(target)}: could not write key ${describeKey(write.key)}: ${reason}`, retryable, { cause }));

  const outOfTime = (batch: readonly W[], lastError: string | undefined, cause?: unknown): void =>
    failAll(batch, `not applied before its deadline${lastError === undefined ? '' : ` (last error: ${lastError})`}`, true, cause);

  const retryLater = async (batch: readonly W[], attempt: number, reason: string): Promise<void> => {
    if (!(await pauseBeforeRetry(attempt, { deadline, backoff, random }))) {
      outOfTime(batch, reason);
      return;
    }
    outcome.retries += batch.length;
    await send(batch, attempt + 1, reason);
  };

  const send = async (batch: readonly W[], attempt: number, lastError?: string): Promise<void> => {
    if (deadline.isOver()) {
      outOfTime(batch, lastError);
      return;
    }
    let unprocessed: readonly W[] | 'out-of-time';
    try {
      unprocessed = await semaphore.run(async () => {
        // The deadline may have passed while this batch waited for a place.
        if (deadline.isOver()) return 'out-of-time';
        const response = await deadline.race(
          target.client.send(new BatchWriteItemCommand({ RequestItems: { [target.tableName]: batch.map(toSdkRequest) } }), {
            abortSignal: deadline.cutOff,
          }),
        );
        return matchUnprocessed(batch, response.UnprocessedItems?.[target.tableName] ?? [], keyNames);
      });
    } catch (error) {
      const reason = describeError(error);
      if (deadline.cutOff.aborted) {
        outOfTime(batch, lastError ?? reason, error);
        return;
      }
      const kind = classifyFailure(error);
      if (kind !== 'fatal') {
        await retryLater(batch, attempt, reason);
        return;
      }
      if (isValidationError(error) && batch.length > 1) {
        const half = Math.ceil(batch.length / 2);
        await Promise.all([send(batch.slice(0, half), attempt, lastError), send(batch.slice(half), attempt, lastError)]);
        return;
      }
      failAll(batch, `${reason} (not retryable: fix the table, its permissions or the item)`, false, error);
      return;
    }
    if (unprocessed === 'out-of-time') {
      outOfTime(batch, lastError);
      return;
    }
    const applied = unprocessed.length === 0 ? batch : batch.filter((write) => !unprocessed.includes(write));
    outcome.written += applied.length;
    if (applied.length > 0) options.onApplied?.(applied);
    if (unprocessed.length > 0) await retryLater(unprocessed, attempt, `${unprocessed.length} of ${batch.length} items returned unprocessed`);
  };

  await Promise.all(batchesOf(writes).map((batch) => send(batch, 0)));
  return outcome;
}

/** Writes in BatchWriteItem calls of at most 25 requests and 16 MB on the wire, in order. */
function batchesOf<W extends WriteRequest>(writes: readonly W[]): W[][] {
  const batches: W[][] = [];
  let batch: W[] = [];
  let bytes = REQUEST_OVERHEAD_BYTES;
  for (const write of writes) {
    const size = wireSize(write.kind === 'put' ? write.item : write.key) + 32;
    if (batch.length === MAX_BATCH_WRITE || (batch.length > 0 && bytes + size > MAX_REQUEST_BYTES)) {
      batches.push(batch);
      batch = [];
      bytes = REQUEST_OVERHEAD_BYTES;
    }
    batch.push(write);
    bytes += size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

function toSdkRequest(write: WriteRequest): SdkWriteRequest {
  return write.kind === 'put' ? { PutRequest: { Item: write.item } } : { DeleteRequest: { Key: write.key } };
}

/** Finds the writes a BatchWriteItem response returned as unprocessed, by their keys. */
function matchUnprocessed<W extends WriteRequest>(batch: readonly W[], returned: readonly SdkWriteRequest[], keyNames: readonly string[]): W[] {
  if (returned.length === 0) return [];
  const byKey = new Map(batch.map((write) => [write.keyId, write]));
  const found: W[] = [];
  for (const request of returned) {
    const attributes = request.PutRequest?.Item ?? request.DeleteRequest?.Key;
    const write = attributes === undefined ? undefined : byKey.get(keyIdentity(attributes, keyNames));
    // An answer that names a key we did not send cannot be trusted item by item: send the whole batch again.
    if (write === undefined) return [...batch];
    found.push(write);
  }
  return found;
}

function whereTo(target: SlaveTarget): string {
  return target.label ?? slaveLabel(target);
}

/** How a slave is named in every message: `slave "eu" (table orders-eu in eu-west-1)`. */
export function slaveLabel(slave: { readonly name: string; readonly tableName: string; readonly region: string }): string {
  return `slave "${slave.name}" (table ${slave.tableName} in ${slave.region})`;
}

/** A write that failed because the slave rejects the item itself (alone in its request), not because the slave is failing. */
export function isRejectedItem(error: Error | undefined): boolean {
  return error instanceof SlaveWriteError && isValidationError(error.cause);
}

function isValidationError(error: unknown): boolean {
  return error instanceof Error && error.name === 'ValidationException';
}
