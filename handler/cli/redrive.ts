import { GetObjectCommand, ListObjectsV2Command, DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { ClientProvider } from '../clients';
import type { DrainResult } from '../drain';
import { describeError, ReplicatorError } from '../errors';
import { StateStore } from '../state-store';
import { parseStreamBatch } from '../stream-record';
import { boundedRequestHandler } from '../request-handler';
import { Deadline } from '../timing';
import type { AttributeMap } from '../types';
import type { RedriveOptions } from './options';
import { drainNow, parkKeys, type KeyToBring } from './park-keys';
import { connectMaster } from './tables';

/** Reading the rejected records may take this long. */
const READ_TIMEOUT_MS = 10 * 60_000;

/** A source of stream records to replay could not be read. */
export class RedriveSourceError extends ReplicatorError {
  public override readonly name = 'RedriveSourceError';
}

/** One invocation record (or event) read from a source, and where it came from. */
interface SourceRecord {
  readonly origin: string;
  readonly body: unknown;
  /** Removes the source once its records are replayed. */
  readonly remove?: () => Promise<void>;
}

export interface RedriveSummary {
  readonly sources: number;
  readonly records: number;
  /** Keys parked for the drain to bring each slave level with the master. */
  readonly keys: number;
  /** Records that still cannot be decoded; they name their source. */
  readonly undecodable: readonly string[];
  readonly drain: DrainResult | null;
}

/**
 * Replays stream records the replicator could not apply: invocation records the event source mapping wrote to the
 * S3 on-failure destination (they carry the batch itself, so this works after the stream's 24 hours), files of them,
 * or the records the function kept as rejected in the state table.
 *
 * A replayed record never writes its own image: it may be older than what replication wrote since. Each key it names
 * is parked for every slave as "read the master", and the drain, which orders its writes with the live path's,
 * applies the master's current item. Nothing is older afterwards than replication had made it.
 */
export async function runRedrive(options: RedriveOptions, dependencies: { clients: ClientProvider; s3?: S3Client; now?: () => number; stderr: { write(text: string): unknown } }): Promise<RedriveSummary> {
  const now = dependencies.now ?? Date.now;
  const master = connectMaster(options.master, dependencies.clients);
  const store = new StateStore(master.client, options.stateTable, { concurrency: options.writeConcurrency, now });
  const sources: SourceRecord[] = [];
  if (options.from !== undefined) sources.push(...(await readSource(options.from, dependencies.s3)));
  if (options.rejected) {
    const deadline = new Deadline(now() + READ_TIMEOUT_MS);
    try {
      for (const rejected of await store.rejectedRecords(deadline)) {
        sources.push({
          origin: `rejected record ${rejected.sortKey}`,
          body: { Records: [JSON.parse(gunzipSync(rejected.record).toString('utf8')) as unknown] },
          remove: async () => {
            const removal = new Deadline(now() + READ_TIMEOUT_MS);
            try {
              await store.deleteRejected(rejected.sortKey, removal);
            } finally {
              removal.release();
            }
          },
        });
      }
    } finally {
      deadline.release();
    }
  }

  const keys = new Map<string, { key: AttributeMap; sequenceNumber: string; createdAtMs: number }>();
  const undecodable: string[] = [];
  let records = 0;
  const replayed: SourceRecord[] = [];
  for (const source of sources) {
    const event = eventOf(source.body);
    if (event === undefined) {
      undecodable.push(`${source.origin}: neither an invocation record with a "payload" nor a stream event with "Records"`);
      continue;
    }
    const batch = parseStreamBatch(event);
    records += batch.recordCount;
    for (const change of batch.changes) keys.set(change.keyId, { key: change.key, sequenceNumber: change.sequenceNumber, createdAtMs: change.createdAtMs });
    for (const { error } of batch.unusable) undecodable.push(`${source.origin}: ${error.message}`);
    if (batch.unusable.length === 0) replayed.push(source);
  }

  const changes: KeyToBring[] = [...keys].map(([keyId, { key, sequenceNumber, createdAtMs }]) => ({ keyId, key, sequenceNumber, createdAtMs }));
  if (changes.length > 0) await Promise.all(options.slaves.map((slave) => parkKeys(store, slave, changes, 'redrive', now)));
  for (const source of replayed) if (options.deleteReplayed || source.origin.startsWith('rejected record')) await source.remove?.();

  let drain: DrainResult | null = null;
  if (changes.length > 0) {
    dependencies.stderr.write(`parked ${changes.length} keys for ${options.slaves.map((slave) => slave.name).join(', ')}; draining now\n`);
    drain = await drainNow(options.master, options.slaves, options.stateTable, options.writeConcurrency, dependencies.clients, now);
  }
  return { sources: sources.length, records, keys: changes.length, undecodable, drain };
}

/** The stream event in an invocation record (its `payload`, a JSON string or object), or an event itself. */
function eventOf(body: unknown): unknown {
  if (typeof body !== 'object' || body === null) return undefined;
  if (Array.isArray((body as { Records?: unknown }).Records)) return body;
  const payload = (body as { payload?: unknown }).payload;
  if (typeof payload === 'string') {
    try {
      return eventOf(JSON.parse(payload));
    } catch {
      return undefined;
    }
  }
  return typeof payload === 'object' ? eventOf(payload) : undefined;
}

async function readSource(from: string, s3?: S3Client): Promise<SourceRecord[]> {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(from);
  if (match !== null) return readS3(match[1] ?? '', match[2] ?? '', s3 ?? new S3Client({ requestHandler: boundedRequestHandler() }));
  let entries: string[];
  try {
    entries = (await stat(from)).isDirectory() ? (await readdir(from)).sort().map((file) => join(from, file)) : [from];
  } catch (error) {
    throw new RedriveSourceError(`--from ${from}: ${describeError(error)}`);
  }
  return Promise.all(entries.map(async (file) => ({ origin: file, body: parseJson(await readFile(file, 'utf8'), file) })));
}

async function readS3(bucket: string, prefix: string, s3: S3Client): Promise<SourceRecord[]> {
  const records: SourceRecord[] = [];
  let token: string | undefined;
  try {
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ...(prefix === '' ? {} : { Prefix: prefix }), ...(token === undefined ? {} : { ContinuationToken: token }) }));
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined) continue;
        const key = object.Key;
        const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        const text = (await response.Body?.transformToString('utf8')) ?? '';
        records.push({ origin: `s3://${bucket}/${key}`, body: parseJson(text, `s3://${bucket}/${key}`), remove: async () => {
            await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
          },
        });
      }
      token = page.NextContinuationToken;
    } while (token !== undefined);
  } catch (error) {
    if (error instanceof RedriveSourceError) throw error;
    throw new RedriveSourceError(`s3://${bucket}/${prefix}: ${describeError(error)}`, { cause: error });
  }
  return records;
}

function parseJson(text: string, origin: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new RedriveSourceError(`${origin} is not JSON: ${describeError(error)}`);
  }
}

/** `redrive` for a person. */
export function formatRedrive(summary: RedriveSummary): string {
  const lines = [`redrive: ${summary.records} records from ${summary.sources} sources; ${summary.keys} keys parked for the drain to bring from the master`];
  for (const problem of summary.undecodable) lines.push(`  cannot be replayed: ${problem}`);
  if (summary.drain !== null) {
    for (const [slave, pending] of Object.entries(summary.drain.pending)) lines.push(`  ${slave}: ${pending === 0 ? 'level with the master' : `${pending} changes still parked; the scheduled drain goes on`}`);
  }
  return lines.join('\n');
}
