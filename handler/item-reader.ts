import { BatchGetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describeKey, keyIdentity } from './attribute-value';
import { Semaphore } from './concurrency';
import { describeError, MasterReadError } from './errors';
import { classifyFailure, DEFAULT_BACKOFF, pauseBeforeRetry, type BackoffPolicy } from './retry';
import type { Deadline } from './timing';
import type { AttributeMap } from './types';

/** BatchGetItem takes at most 100 keys a call. */
export const MAX_BATCH_GET = 100;

export interface ItemReadOptions {
  /** How the table is named in messages; `master table <name>` by default (the command-line tool reads slaves too). */
  readonly label?: string;
  readonly concurrency: number;
  readonly deadline: Deadline;
  readonly backoff?: BackoffPolicy;
  readonly random?: () => number;
}

/** The current state of each key read: the item, or `null` where it no longer exists. */
export interface ItemReadOutcome {
  readonly items: Map<string, AttributeMap | null>;
  readonly failed: Map<string, MasterReadError>;
}

/**
 * Reads the current items of some keys of a table with strongly consistent BatchGetItem: the master's for streams that
 * carry no new image (KEYS_ONLY, OLD_IMAGE) and for the drain, both sides for `verify`'s re-checks. Unprocessed keys,
 * throttling and server errors are retried until the deadline.
 */
export async function readCurrentItems(
  client: DynamoDBClient,
  tableName: string,
  keys: ReadonlyMap<string, AttributeMap>,
  options: ItemReadOptions,
): Promise<ItemReadOutcome> {
  const outcome: ItemReadOutcome = { items: new Map(), failed: new Map() };
  const first = keys.values().next();
  if (first.done === true) return outcome;
  const keyNames = Object.keys(first.value);
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const semaphore = new Semaphore(options.concurrency);
  const { deadline } = options;

  const label = options.label ?? `master table ${tableName}`;
  const fail = (ids: readonly string[], reason: string): void => {
    for (const id of ids) {
      const key = keys.get(id) ?? {};
      outcome.failed.set(id, new MasterReadError(`${label}: could not read key ${describeKey(key)}: ${reason}`));
    }
  };

  const outOfTime = (ids: readonly string[], lastError: string | undefined): void =>
    fail(ids, `still unread at its deadline${lastError === undefined ? '' : ` (last error: ${lastError})`}`);

  const read = async (ids: readonly string[], attempt: number, lastError?: string): Promise<void> => {
    if (deadline.isOver()) {
      outOfTime(ids, lastError);
      return;
    }
    let unprocessed: string[] | 'out-of-time';
    let reason: string;
    try {
      unprocessed = await semaphore.run(async () => {
        // The deadline may have passed while these keys waited for a place.
        if (deadline.isOver()) return 'out-of-time';
        const response = await deadline.race(
          client.send(
            new BatchGetItemCommand({
              RequestItems: { [tableName]: { Keys: ids.map((id) => keys.get(id) ?? {}), ConsistentRead: true } },
            }),
            { abortSignal: deadline.cutOff },
          ),
        );
        for (const item of response.Responses?.[tableName] ?? []) outcome.items.set(keyIdentity(item, keyNames), item);
        const left = (response.UnprocessedKeys?.[tableName]?.Keys ?? []).map((key) => keyIdentity(key, keyNames));
        for (const id of ids) if (!outcome.items.has(id) && !left.includes(id)) outcome.items.set(id, null);
        return left;
      });
      reason = unprocessed === 'out-of-time' ? 'none' : `${unprocessed.length} of ${ids.length} keys returned unprocessed`;
    } catch (error) {
      reason = describeError(error);
      if (deadline.cutOff.aborted) {
        outOfTime(ids, lastError ?? reason);
        return;
      }
      if (classifyFailure(error) === 'fatal') {
        fail(ids, reason);
        return;
      }
      unprocessed = [...ids];
    }
    if (unprocessed === 'out-of-time') {
      outOfTime(ids, lastError);
      return;
    }
    if (unprocessed.length === 0) return;
    if (!(await pauseBeforeRetry(attempt, { deadline, backoff, ...(options.random === undefined ? {} : { random: options.random }) }))) {
      outOfTime(unprocessed, reason);
      return;
    }
    await read(unprocessed, attempt + 1, reason);
  };

  const ids = [...keys.keys()];
  const calls: Promise<void>[] = [];
  for (let start = 0; start < ids.length; start += MAX_BATCH_GET) calls.push(read(ids.slice(start, start + MAX_BATCH_GET), 0));
  await Promise.all(calls);
  return outcome;
}
