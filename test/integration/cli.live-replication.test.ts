/**
 * The documented procedure, end to end, with the committed Lambda bundle: the master's stream is on before the copy;
 * puts, updates and deletes go on while backfill copies; then replication starts at TRIM_HORIZON and catches up while
 * the writes continue; once they stop and replication has caught up, every slave equals the master: no stale item,
 * no deleted item brought back.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { compareTables } from '../support/compare-tables';
import { localClientConfig, startDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local';
import { StreamPoller } from '../support/stream-poller';
import { createTable } from '../support/tables';
import { runWorkload } from '../support/workload';
import { loadBundle } from './helpers/bundle';
import { runInProcess, seedTable } from './helpers/cli';

let masterEngine: DynamoDbLocal;
let otherEngine: DynamoDbLocal;
let master: DynamoDBClient;
let other: DynamoDBClient;
let workDir: string;
const savedEnv = { ...process.env };

beforeAll(async () => {
  [masterEngine, otherEngine] = await Promise.all([startDynamoDbLocal(), startDynamoDbLocal()]);
  master = new DynamoDBClient(localClientConfig(masterEngine.endpoint, 'eu-west-1'));
  other = new DynamoDBClient(localClientConfig(otherEngine.endpoint, 'eu-west-1'));
  workDir = await mkdtemp(join(tmpdir(), 'cli-live-'));
});

afterAll(async () => {
  vi.restoreAllMocks();
  process.env = { ...savedEnv };
  await Promise.all([masterEngine.stop(), otherEngine.stop(), rm(workDir, { recursive: true, force: true })]);
});

describe('Procedure: backfill with live writes, then replication from TRIM_HORIZON', () => {
  it('leaves every slave equal to the master', async () => {
    // Prepare: the stream is enabled when the table is created, before any copy.
    const keySpace = 1_200;
    const { streamArn } = await createTable(master, { tableName: 'orders', streamViewType: 'NEW_AND_OLD_IMAGES' });
    await createTable(master, { tableName: 'orders-copy' });
    await createTable(other, { tableName: 'orders-eu' });
    await seedTable(master, 'orders', keySpace);
    const slaves = {
      copy: { region: 'eu-west-1', table_name: 'orders-copy', endpoint: masterEngine.endpoint },
      eu: { region: 'eu-central-1', table_name: 'orders-eu', endpoint: otherEngine.endpoint },
    };
    const base = ['--table', 'orders', '--region', 'eu-west-1', '--endpoint', masterEngine.endpoint, '--slaves', JSON.stringify(slaves)];
    await createTable(master, { tableName: 'replicator-state', sortKey: { name: 'sk', type: 'S' } });
    const handler = await loadBundle({ AWS_ENDPOINT_URL_DYNAMODB: masterEngine.endpoint, REPLICATOR_SLAVES: JSON.stringify(slaves), REPLICATOR_STATE_TABLE: 'replicator-state' });
    // The bundle logs one line per invocation; it would drown the test output.
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const stopWrites = new AbortController();
    const compare = () =>
      Promise.all([
        compareTables({ master: { client: master, tableName: 'orders' }, slave: { client: master, tableName: 'orders-copy' } }),
        compareTables({ master: { client: master, tableName: 'orders' }, slave: { client: other, tableName: 'orders-eu' } }),
      ]);

    // Act: live writes start before the copy and go on through it and through replication's catch-up.
    const workload = runWorkload({
      client: master,
      tableName: 'orders',
      keySpace,
      hotKeys: 10,
      rate: 80,
      concurrency: 4,
      signal: stopWrites.signal,
    });
    await new Promise((done) => setTimeout(done, 1_000));
    const backfill = await runInProcess(['backfill', ...base, '--segments', '4', '--rate', '400', '--checkpoint-dir', join(workDir, 'checkpoints'), '--json']);
    const afterCopy = await compare();
    const poller = new StreamPoller({ streams: new DynamoDBStreamsClient(localClientConfig(masterEngine.endpoint, 'eu-west-1')), streamArn: streamArn ?? '', handler, startingPosition: 'TRIM_HORIZON', pollIntervalMs: 50 });
    await poller.start();
    await poller.waitUntilCaughtUp();
    await new Promise((done) => setTimeout(done, 2_000));
    stopWrites.abort();
    const writes = await workload;
    await poller.waitUntilCaughtUp();
    await poller.stop();
    vi.restoreAllMocks();
    const final = await compare();
    const verify = await runInProcess(['verify', ...base, '--json']);

    // Assess
    expect(backfill.code, backfill.stderr).toBe(0);
    expect(writes.errors).toBe(0);
    expect(writes.updates).toBeGreaterThan(0);
    expect(writes.deletes).toBeGreaterThan(0);
    // The copy alone is behind: the writes made while it ran are what the stream replay must bring.
    expect(afterCopy.some((comparison) => !comparison.identical)).toBe(true);
    expect(poller.stats.handlerErrors).toBe(0);
    expect(final.map((comparison) => ({ missing: comparison.missing, extra: comparison.extra, different: comparison.different }))).toEqual([
      { missing: 0, extra: 0, different: 0 },
      { missing: 0, extra: 0, different: 0 },
    ]);
    expect(verify.code, verify.stdout).toBe(0);
    console.info(
      `live backfill: ${writes.operations} writes (${writes.puts} puts, ${writes.updates} updates, ${writes.deletes} deletes) during copy and catch-up; after the copy alone the slaves differed by ${afterCopy.map((c) => c.missing + c.extra + c.different).join(' and ')} items; ${poller.stats.recordsAcknowledged} stream records replayed`,
    );
  });
});
