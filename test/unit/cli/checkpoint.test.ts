import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CheckpointStore, decodeKey, encodeKey, type RunIdentity } from '../../../handler/cli/checkpoint';

const RUN: RunIdentity = { table: 'orders', region: 'eu-west-1', totalSegments: 4, slaves: ['eu=eu-west-1/orders-eu', 'us=us-east-1/orders-us'] };
const BINARY_KEY = { pk: { B: new Uint8Array([0, 255, 10, 13, 9, 34, 92]) }, sk: { N: '12345678901234567890123456789012345678' } };

describe('Class: CheckpointStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'checkpoint-test-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('resumes from the exact binary key it saved, numbers kept as strings', async () => {
    // Prepare
    const store = new CheckpointStore(dir, RUN);
    await store.open();

    // Act
    await store.save({ segment: 2, lastEvaluatedKey: BINARY_KEY, done: false, itemsCopied: 1500, startedAt: 1_700_000_000_000 });
    const loaded = await new CheckpointStore(dir, RUN).load(2);

    // Assess
    expect(loaded).toEqual({ segment: 2, lastEvaluatedKey: BINARY_KEY, done: false, itemsCopied: 1500, startedAt: 1_700_000_000_000 });
    expect(loaded?.lastEvaluatedKey?.pk?.B).toBeInstanceOf(Uint8Array);
    expect(JSON.parse(await readFile(store.pathOf(2), 'utf8'))).toMatchObject({ lastEvaluatedKey: { pk: { B: 'AP8KDQkiXA==' } } });
  });

  it('has nothing for a segment never saved, and keeps a finished segment finished', async () => {
    // Prepare
    const store = new CheckpointStore(dir, RUN);
    await store.open();
    await store.save({ segment: 0, lastEvaluatedKey: null, done: true, itemsCopied: 10, startedAt: 1 });

    // Act
    const [missing, finished] = await Promise.all([store.load(1), store.load(0)]);

    // Assess
    expect(missing).toBeUndefined();
    expect(finished).toMatchObject({ done: true, lastEvaluatedKey: null });
  });

  it('replaces the file by rename, leaving no temporary file and never a torn one', async () => {
    // Prepare
    const store = new CheckpointStore(dir, RUN);
    await store.open();

    // Act
    for (let page = 1; page <= 20; page += 1) {
      await store.save({ segment: 3, lastEvaluatedKey: { pk: { S: `k${page}` } }, done: false, itemsCopied: page * 100, startedAt: 1 });
    }

    // Assess
    expect(await readdir(dir)).toEqual(['orders.segment-3-of-4.json']);
    expect((await store.load(3))?.lastEvaluatedKey).toEqual({ pk: { S: 'k20' } });
  });

  it('refuses a directory holding a copy in another number of segments, naming the flag', async () => {
    // Prepare
    await new CheckpointStore(dir, { ...RUN, totalSegments: 8 }).open();
    await new CheckpointStore(dir, { ...RUN, totalSegments: 8 }).save({ segment: 0, lastEvaluatedKey: null, done: false, itemsCopied: 0, startedAt: 1 });

    // Act
    const opening = new CheckpointStore(dir, RUN).open();

    // Assess
    await expect(opening).rejects.toThrow(/^--checkpoint-dir: .*in 8 segments, not 4: resume with --total-segments 8/);
  });

  it('refuses a checkpoint written for other slaves: a new slave would miss the pages already copied', async () => {
    // Prepare
    await new CheckpointStore(dir, { ...RUN, slaves: ['eu=eu-west-1/orders-eu'] }).save({ segment: 1, lastEvaluatedKey: null, done: false, itemsCopied: 0, startedAt: 1 });

    // Act
    const loading = new CheckpointStore(dir, RUN).load(1);

    // Assess
    await expect(loading).rejects.toThrow(/--checkpoint-dir: .*written for slaves \[eu=eu-west-1\/orders-eu\]/);
  });

  it.each([
    ['not JSON', '{"version":'],
    ['another version', '{"version":2}'],
    ['a key that is not a key', JSON.stringify({ version: 1, ...RUN, segment: 0, done: false, itemsCopied: 0, startedAt: 1, lastEvaluatedKey: [1] })],
  ])('refuses a checkpoint file that is %s', async (_, text) => {
    // Prepare
    const store = new CheckpointStore(dir, RUN);
    await writeFile(store.pathOf(0), text);

    // Act
    const loading = store.load(0);

    // Assess
    await expect(loading).rejects.toThrow(/^--checkpoint-dir: .* is not a checkpoint of this tool .*delete it to copy that segment from the start/);
  });
});

describe('Function: encodeKey', () => {
  it('round-trips S, N and B keys through JSON', () => {
    // Prepare
    const key = { pk: { S: 'order#1' }, sk: { N: '-0.5e10' }, b: { B: new Uint8Array([1, 2, 3]) } };

    // Act
    const decoded = decodeKey(JSON.parse(JSON.stringify(encodeKey(key))), 'test');

    // Assess
    expect(decoded).toEqual(key);
  });
});
