/**
 * The lean peer of the lag scenario: mapbox/dynamodb-replicator's `replicate` (lib/replicate.js), written again here
 * because mapbox's package is not served by the npm registry this project installs from. It follows `replicate` step
 * by step:
 * - the last change per key: records are grouped by `JSON.stringify(dynamodb.Keys)` and only the last of each group
 *   is written, a put of its NewImage for INSERT and MODIFY, a delete of its Keys for REMOVE;
 * - BatchWriteItem in chunks of 25, every chunk at once (mapbox's `sendAll(100)` sends up to 100 at once, and a batch of
 *   at most 1,000 records has at most 40 chunks), through a keep-alive agent of 100 sockets;
 * - what comes back unprocessed is sent again, after 2^attempt ms as mapbox waits; an error fails the invocation, and
 *   the event source mapping delivers the batch again;
 * - no validation and no logging.
 *
 * Where it differs: mapbox converts images through Dyno (Dyno.deserialize: base64 binary to bytes, then to plain
 * values, which the SDK marshalls back when Dyno sends them). `@aws-sdk/util-dynamodb` is not installed here, so the
 * peer does only the conversion that changes anything on the wire, base64 `B` and `BS` (at any depth in `M` and `L`)
 * to bytes, and leaves every other value as the event carries it: numbers stay decimal strings, which a round trip
 * through JS numbers would not keep past 15 digits. The client is the SDK's, minus its logger middleware
 * (with no logger it still copies every request), as the bench's other clients are.
 */
import { Agent } from 'node:http';
import { BatchWriteItemCommand, DynamoDBClient, type AttributeValue, type WriteRequest } from '@aws-sdk/client-dynamodb';
import type { AttributeValue as EventAttributeValue, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { BENCH_CREDENTIALS } from './engine';

/** The peer as the poller calls it: it answers with no failures, or throws. */
export type PeerHandler = (event: DynamoDBStreamEvent) => Promise<{ batchItemFailures: [] }>;

/** Base64 binary to bytes, at any depth; every other value as it is (S, N, SS, NS, BOOL and NULL are the same on the wire). */
function toWire(value: EventAttributeValue): AttributeValue {
  if (value.B !== undefined) return { B: Buffer.from(value.B, 'base64') };
  if (value.BS !== undefined) return { BS: value.BS.map((item) => Buffer.from(item, 'base64')) };
  if (value.M !== undefined) return { M: imageToWire(value.M) };
  if (value.L !== undefined) return { L: value.L.map(toWire) };
  return value;
}

function imageToWire(image: Readonly<Record<string, EventAttributeValue>>): Record<string, AttributeValue> {
  const wire: Record<string, AttributeValue> = {};
  for (const [name, value] of Object.entries(image)) wire[name] = toWire(value);
  return wire;
}

/** The write of a key's last change: mapbox skips any other event name (it writes nothing for it). */
function writeOf(change: DynamoDBRecord): WriteRequest | undefined {
  const { eventName, dynamodb } = change;
  if ((eventName === 'INSERT' || eventName === 'MODIFY') && dynamodb?.NewImage !== undefined) return { PutRequest: { Item: imageToWire(dynamodb.NewImage) } };
  if (eventName === 'REMOVE' && dynamodb?.Keys !== undefined) return { DeleteRequest: { Key: imageToWire(dynamodb.Keys) } };
  return undefined;
}

const pause = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

/** The peer writing one slave table: one client for the life of the function, as mapbox's module-level agent. */
export function leanPeer(slave: { readonly endpoint: string; readonly table: string }): PeerHandler {
  const client = new DynamoDBClient({
    region: 'eu-west-1',
    endpoint: slave.endpoint,
    credentials: BENCH_CREDENTIALS,
    requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: 100 }) },
  });
  client.middlewareStack.remove('loggerMiddleware');

  return async (event) => {
    const last = new Map<string, DynamoDBRecord>();
    for (const change of event.Records) last.set(JSON.stringify(change.dynamodb?.Keys), change);
    let pending = [...last.values()].flatMap((change) => writeOf(change) ?? []);
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      const chunks: WriteRequest[][] = [];
      for (let start = 0; start < pending.length; start += 25) chunks.push(pending.slice(start, start + 25));
      const responses = await Promise.all(chunks.map((chunk) => client.send(new BatchWriteItemCommand({ RequestItems: { [slave.table]: chunk } }))));
      pending = responses.flatMap((response) => response.UnprocessedItems?.[slave.table] ?? []);
      if (pending.length > 0) await pause(2 ** attempt);
    }
    return { batchItemFailures: [] };
  };
}
