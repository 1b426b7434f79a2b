import { ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DEFAULT_BACKOFF, retryCall, type BackoffPolicy } from '../retry';
import { Deadline } from '../timing';
import type { AttributeMap } from '../types';
import { ScanError } from './errors';
import { describeError, OutOfTimeError } from '../errors';

/** How long one Scan page may keep failing with throttling or server errors before the run gives up. */
export const SCAN_RETRY_WINDOW_MS = 60_000;

/** One page of a segment. */
export interface ScanPage {
  readonly items: AttributeMap[];
  /** Where the next page starts; undefined after the last page. */
  readonly lastEvaluatedKey: AttributeMap | undefined;
  /** Read capacity units the page consumed. */
  readonly consumedCapacity: number;
}

export interface ScanSegmentOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** How the table is named in errors, e.g. `master table orders`. */
  readonly label: string;
  readonly segment: number;
  readonly totalSegments: number;
  readonly consistentRead: boolean;
  /** Items per page at most (Scan's `Limit`); DynamoDB stops a page at 1 MB anyway. */
  readonly pageSize?: number;
  readonly exclusiveStartKey?: AttributeMap;
  readonly backoff?: BackoffPolicy;
  /** Stops the scan between pages and cuts a backoff wait short. */
  readonly signal?: AbortSignal;
}

/**
 * The pages of one segment of a parallel scan, in order. Throttling and server errors are retried with the one retry
 * policy (`retryCall`: capped backoff, full jitter, the clients making one attempt per call) for up to a minute a
 * page; anything else, or a page still failing after that, throws a {@link ScanError}. Stops without error when
 * `signal` fires.
 */
export async function* scanSegment(options: ScanSegmentOptions): AsyncGenerator<ScanPage> {
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  let startKey = options.exclusiveStartKey;
  const where = `${options.label}, segment ${options.segment} of ${options.totalSegments}`;
  for (;;) {
    if (isAborted(options.signal)) return;
    const command = new ScanCommand({
      TableName: options.tableName,
      Segment: options.segment,
      TotalSegments: options.totalSegments,
      ConsistentRead: options.consistentRead,
      ReturnConsumedCapacity: 'TOTAL',
      ...(options.pageSize === undefined ? {} : { Limit: options.pageSize }),
      ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
    });
    const deadline = new Deadline(Date.now() + SCAN_RETRY_WINDOW_MS);
    let page: ScanPage;
    try {
      const response = await retryCall((signal) => options.client.send(command, { abortSignal: signal }), `${where}: Scan`, { deadline, backoff });
      page = { items: response.Items ?? [], lastEvaluatedKey: response.LastEvaluatedKey, consumedCapacity: response.ConsumedCapacity?.CapacityUnits ?? 0 };
    } catch (error) {
      if (error instanceof OutOfTimeError) throw new ScanError(`${where}: Scan still failing after ${SCAN_RETRY_WINDOW_MS / 1000} s of retries: ${describeError(error.cause)}`, { cause: error });
      throw new ScanError(`${where}: Scan failed: ${describeError(error)}`, { cause: error });
    } finally {
      deadline.release();
    }
    yield page;
    startKey = page.lastEvaluatedKey;
    if (startKey === undefined) return;
  }
}

/** Read through a function: the signal changes while the scan awaits, which the compiler's narrowing cannot see. */
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

/**
 * Yields what `source` yields, asking it for the next value as soon as the current one is handed out, so a Scan page
 * is read while the caller writes the one before it.
 */
export async function* readAhead<T>(source: AsyncGenerator<T>): AsyncGenerator<T> {
  let next = source.next();
  try {
    for (;;) {
      const result = await next;
      if (result.done === true) return;
      next = source.next();
      // A read that fails while the caller stops early is not waited for; its error must not go unhandled.
      next.catch(() => undefined);
      yield result.value;
    }
  } finally {
    await source.return(undefined);
  }
}
