import { BatchWriteItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, S3Client, type GetObjectCommandInput, type GetObjectCommandOutput, type ListObjectsV2CommandInput } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RedriveOptions } from '../../../handler/cli/options';
import { formatRedrive, RedriveSourceError, runRedrive, type RedriveSummary } from '../../../handler/cli/redrive';
import { StateStore } from '../../../handler/state-store';
import { Deadline } from '../../../handler/timing';
import { EU, STATE_TABLE, US } from '../helpers/config';
import { FakeStateTable } from '../helpers/fake-state-table';
import { put, remove, streamEvent } from '../helpers/records';
import { FAST_BACKOFF } from '../helpers/writes';
import { captureIo, FakeTables, providerOf } from './helpers/fake-tables';
import { installReplication } from './helpers/replication';
import { parkedContent } from '../helpers/state';

const client = new DynamoDBClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
const ddb = mockClient(client);
const s3 = mockClient(S3Client);
const BUCKET = 'orders-replicator-failures-123456789012-eu-west-1';

let tables: FakeTables;
let state: FakeStateTable;
let dir: string;
let stderr: ReturnType<typeof captureIo>['stderr'];

/** An invocation record as the event source mapping writes it to its S3 on-failure destination. */
const invocationRecord = (payload: unknown): object => ({
  version: '1.0',
  timestamp: '2026-11-24T08:00:00.000Z',
  requestContext: { requestId: 'r-1', condition: 'RetryAttemptsExhausted', approximateInvokeCount: 3 },
  payload,
});

const optionsWith = (overrides: Partial<RedriveOptions>): RedriveOptions => ({
  master: { tableName: 'orders', region: 'eu-west-1' },
  slaves: [EU, US],
  stateTable: STATE_TABLE,
  writeConcurrency: 2,
  json: false,
  from: undefined,
  rejected: false,
  deleteReplayed: false,
  ...overrides,
});

const redrive = (overrides: Partial<RedriveOptions>): Promise<RedriveSummary> =>
  runRedrive(optionsWith(overrides), { clients: providerOf(client), s3: new S3Client({ region: 'eu-west-1' }), stderr });

/** An S3 object body as the SDK hands it over. */
const body = (text: string): GetObjectCommandOutput['Body'] => ({ transformToString: () => Promise.resolve(text) }) as unknown as GetObjectCommandOutput['Body'];

beforeEach(async () => {
  tables = new FakeTables(['orders', 'orders-eu', 'orders-us']);
  state = new FakeStateTable();
  installReplication(ddb, tables, state);
  tables.put('orders', { pk: { S: 'a' }, value: { S: 'current' } });
  tables.put('orders', { pk: { S: 'b' }, value: { S: 'current' } });
  for (const slave of ['orders-eu', 'orders-us']) tables.put(slave, { pk: { S: 'gone' }, value: { S: 'stale' } });
  dir = await mkdtemp(join(tmpdir(), 'redrive-test-'));
  stderr = captureIo().stderr;
});
afterEach(async () => {
  ddb.reset();
  s3.reset();
  await rm(dir, { recursive: true, force: true });
});

describe('Function: runRedrive', () => {
  it("parks every key a file's records name as read-master for every slave, and the drain brings each from the master, never the record's own image", async () => {
    // Prepare
    const file = join(dir, 'failure.json');
    await writeFile(file, JSON.stringify(invocationRecord(JSON.stringify(streamEvent(put('a', 'old'), remove('gone'))))));

    // Act
    const summary = await redrive({ from: file });

    // Assess
    expect(summary).toMatchObject({ sources: 1, records: 2, keys: 2, undecodable: [], drain: { pending: { eu: 0, us: 0 } } });
    for (const slave of ['orders-eu', 'orders-us']) expect(tables.items(slave)).toEqual([{ pk: { S: 'a' }, value: { S: 'current' } }]);
    expect(state.events.filter((event) => event.startsWith('park')).sort()).toEqual(['park eu a', 'park eu gone', 'park us a', 'park us gone']);
    const kinds = ddb.commandCalls(BatchWriteItemCommand).flatMap((call) => (call.args[0].input.RequestItems?.[STATE_TABLE] ?? []).flatMap((request) => (request.PutRequest === undefined ? [] : [parkedContent(request.PutRequest.Item).kind])));
    expect(new Set(kinds)).toEqual(new Set(['read-master']));
    expect(stderr.text).toBe('parked 2 keys for eu, us; draining now\n');
    expect([...state.slaves.values()].map((slave) => slave.mode)).toEqual(['live', 'live']);
  });

  it('reads every file of a directory: an invocation record with its payload as an object, and a plain stream event; files stay, --delete-replayed deletes S3 objects only', async () => {
    // Prepare
    await writeFile(join(dir, '1.json'), JSON.stringify(invocationRecord(streamEvent(put('a', 'old')))));
    await writeFile(join(dir, '2.json'), JSON.stringify(streamEvent(put('b', 'old'), put('a', 'older'))));

    // Act
    const summary = await redrive({ from: dir, deleteReplayed: true });

    // Assess
    expect(summary).toMatchObject({ sources: 2, records: 3, keys: 2, undecodable: [] });
    expect(tables.items('orders-eu')).toEqual(expect.arrayContaining([{ pk: { S: 'a' }, value: { S: 'current' } }, { pk: { S: 'b' }, value: { S: 'current' } }]));
    expect(await readdir(dir)).toEqual(['1.json', '2.json']);
  });

  it('reports a source that is neither an invocation record nor a stream event, or holds a record it cannot decode, and replays the rest', async () => {
    // Prepare
    await writeFile(join(dir, '1.json'), JSON.stringify({ something: 'else' }));
    await writeFile(join(dir, '2.json'), JSON.stringify(invocationRecord('{not json')));
    await writeFile(join(dir, '3.json'), JSON.stringify({ Records: [{ eventID: 'x', eventSource: 'aws:kinesis' }] }));
    await writeFile(join(dir, '4.json'), JSON.stringify(streamEvent(put('a', 'old'))));

    // Act
    const summary = await redrive({ from: dir });

    // Assess
    expect(summary.undecodable).toEqual([
      `${join(dir, '1.json')}: neither an invocation record with a "payload" nor a stream event with "Records"`,
      `${join(dir, '2.json')}: neither an invocation record with a "payload" nor a stream event with "Records"`,
      expect.stringMatching(new RegExp(`^${join(dir, '3.json').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: stream record x.*eventSource is "aws:kinesis", expected "aws:dynamodb"`)) as string,
    ]);
    expect(summary).toMatchObject({ sources: 4, records: 2, keys: 1 });
    expect(tables.items('orders-eu')).toEqual(expect.arrayContaining([{ pk: { S: 'a' }, value: { S: 'current' } }]));
  });

  it('parks nothing and runs no drain when the sources name no key', async () => {
    // Prepare
    const file = join(dir, 'empty.json');
    await writeFile(file, JSON.stringify({ Records: [] }));

    // Act
    const summary = await redrive({ from: file });

    // Assess
    expect(summary).toEqual({ sources: 1, records: 0, keys: 0, undecodable: [], drain: null });
    expect(state.events).toEqual([]);
    expect(stderr.text).toBe('');
  });

  it.each([
    ['a path that does not exist', (): string => join(dir, 'missing.json'), /^--from .*missing\.json: Error: ENOENT/],
    ['a file that is not JSON', (): string => join(dir, 'broken.json'), /broken\.json is not JSON: SyntaxError/],
  ])('throws RedriveSourceError for %s', async (_, path, message) => {
    // Prepare
    await writeFile(join(dir, 'broken.json'), '{"Records": [');

    // Act
    const redriving = redrive({ from: path() });

    // Assess
    await expect(redriving).rejects.toThrow(RedriveSourceError);
    await expect(redriving).rejects.toThrow(message);
  });

  describe('from S3', () => {
    const objects = new Map<string, string>();
    beforeEach(() => {
      objects.clear();
      objects.set('failures/2026/1.json', JSON.stringify(invocationRecord(JSON.stringify(streamEvent(put('a', 'old'))))));
      objects.set('failures/2026/2.json', JSON.stringify(invocationRecord(streamEvent(put('b', 'old')))));
      objects.set('failures/2026/3.json', JSON.stringify({ unexpected: true }));
      // Two pages: the listing goes on while the answer names a continuation token.
      s3.on(ListObjectsV2Command).callsFake((input: ListObjectsV2CommandInput) =>
        Promise.resolve(
          input.ContinuationToken === undefined
            ? { Contents: [{ Key: 'failures/2026/1.json' }, {}], NextContinuationToken: 'page-2' }
            : { Contents: [{ Key: 'failures/2026/2.json' }, { Key: 'failures/2026/3.json' }] },
        ),
      );
      s3.on(GetObjectCommand).callsFake((input: GetObjectCommandInput) => Promise.resolve({ Body: body(objects.get(input.Key ?? '') ?? '') }));
      s3.on(DeleteObjectCommand).resolves({});
    });

    it('lists every page of the prefix and replays each object, deleting none without --delete-replayed', async () => {
      // Act
      const summary = await redrive({ from: `s3://${BUCKET}/failures/2026/` });

      // Assess
      expect(summary).toMatchObject({ sources: 3, records: 2, keys: 2, undecodable: [`s3://${BUCKET}/failures/2026/3.json: neither an invocation record with a "payload" nor a stream event with "Records"`] });
      expect(s3.commandCalls(ListObjectsV2Command).map((call) => call.args[0].input)).toEqual([
        { Bucket: BUCKET, Prefix: 'failures/2026/' },
        { Bucket: BUCKET, Prefix: 'failures/2026/', ContinuationToken: 'page-2' },
      ]);
      expect(s3).not.toHaveReceivedCommand(DeleteObjectCommand);
      expect(tables.items('orders-us')).toEqual(expect.arrayContaining([{ pk: { S: 'a' }, value: { S: 'current' } }, { pk: { S: 'b' }, value: { S: 'current' } }]));
    });

    it('with --delete-replayed deletes each object once its records are parked, and keeps the one it could not replay', async () => {
      // Act
      await redrive({ from: `s3://${BUCKET}/failures/2026/`, deleteReplayed: true });

      // Assess
      expect(s3.commandCalls(DeleteObjectCommand).map((call) => call.args[0].input.Key).sort()).toEqual(['failures/2026/1.json', 'failures/2026/2.json']);
    });

    it('lists the whole bucket when the address names no prefix', async () => {
      // Act
      await redrive({ from: `s3://${BUCKET}` });

      // Assess
      expect(s3.commandCalls(ListObjectsV2Command)[0]?.args[0].input).toEqual({ Bucket: BUCKET });
    });

    it('throws RedriveSourceError naming the address when S3 refuses the listing', async () => {
      // Prepare
      s3.on(ListObjectsV2Command).rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }));

      // Act & Assess
      await expect(redrive({ from: `s3://${BUCKET}/failures/` })).rejects.toThrow(new RedriveSourceError(`s3://${BUCKET}/failures/: AccessDenied: Access Denied`));
    });

    it('throws RedriveSourceError naming the object that is not JSON', async () => {
      // Prepare
      objects.set('failures/2026/2.json', 'not json');

      // Act & Assess
      await expect(redrive({ from: `s3://${BUCKET}/failures/2026/` })).rejects.toThrow(/^s3:\/\/.*\/failures\/2026\/2\.json is not JSON: SyntaxError/);
    });
  });

  it('replays the records kept as rejected, gunzipped, and deletes each once replayed; one it still cannot decode is kept', async () => {
    // Prepare
    const deadline = new Deadline(Date.now() + 10_000);
    const store = new StateStore(client, STATE_TABLE, { concurrency: 2, backoff: FAST_BACKOFF });
    await store.keepRejected(
      [
        { eventId: 'good', sequenceNumber: '10', record: put('b', 'old'), reason: 'the batch could not be decoded' },
        { eventId: 'bad', sequenceNumber: '11', record: { eventID: 'bad', eventSource: 'aws:kinesis' }, reason: 'not a DynamoDB record' },
      ],
      deadline,
    );
    deadline.release();

    // Act
    const summary = await redrive({ rejected: true });

    // Assess
    expect(summary).toMatchObject({ sources: 2, records: 2, keys: 1 });
    expect(summary.undecodable).toEqual([expect.stringMatching(/^rejected record 11#bad: stream record bad/) as string]);
    expect(tables.items('orders-eu')).toEqual(expect.arrayContaining([{ pk: { S: 'b' }, value: { S: 'current' } }]));
    expect([...state.rows.keys()]).toEqual(['rejected|11#bad']);
    expect(state.events).toContain('delete rejected|10#good');
  });
});

describe('Function: formatRedrive', () => {
  it('says what was parked, what cannot be replayed, and where each slave stands after the drain', () => {
    // Prepare
    const summary: RedriveSummary = {
      sources: 3,
      records: 10,
      keys: 7,
      undecodable: ['s3://bucket/3.json: neither an invocation record with a "payload" nor a stream event with "Records"'],
      drain: { pending: { eu: 0, us: 4 }, slaves: {} },
    };

    // Act
    const text = formatRedrive(summary);

    // Assess
    expect(text.split('\n')).toEqual([
      'redrive: 10 records from 3 sources; 7 keys parked for the drain to bring from the master',
      '  cannot be replayed: s3://bucket/3.json: neither an invocation record with a "payload" nor a stream event with "Records"',
      '  eu: level with the master',
      '  us: 4 changes still parked; the scheduled drain goes on',
    ]);
  });

  it('writes one line when nothing was parked', () => {
    // Act & Assess
    expect(formatRedrive({ sources: 1, records: 0, keys: 0, undecodable: [], drain: null })).toBe('redrive: 0 records from 1 sources; 0 keys parked for the drain to bring from the master');
  });
});
