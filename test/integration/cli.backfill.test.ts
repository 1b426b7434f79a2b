/**
 * `dynamo-replicator backfill` on DynamoDB Local: copies into two slaves (one in another engine) that verify then
 * finds equal; survives being killed mid-run and resumes from its checkpoints; holds its rate limit.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackfillSummary } from '../../handler/cli/backfill';
import { compareTables } from '../support/compare-tables';
import { localClientConfig, startDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local';
import { createTable } from '../support/tables';
import { exitOf, runInProcess, seedTable, spawnCli } from './helpers/cli';

let masterEngine: DynamoDbLocal;
let otherEngine: DynamoDbLocal;
let master: DynamoDBClient;
let other: DynamoDBClient;
let workDir: string;
let tableCount = 0;
const savedEnv = { ...process.env };

beforeAll(async () => {
  [masterEngine, otherEngine] = await Promise.all([startDynamoDbLocal(), startDynamoDbLocal()]);
  master = new DynamoDBClient(localClientConfig(masterEngine.endpoint, 'eu-west-1'));
  other = new DynamoDBClient(localClientConfig(otherEngine.endpoint, 'eu-west-1'));
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' });
  workDir = await mkdtemp(join(tmpdir(), 'cli-backfill-'));
});

afterAll(async () => {
  process.env = { ...savedEnv };
  await Promise.all([masterEngine.stop(), otherEngine.stop(), rm(workDir, { recursive: true, force: true })]);
});

/** A master with a stream and `count` items, a slave next to it and one in the other engine. */
async function setUp(count: number) {
  tableCount += 1;
  const masterTable = (await createTable(master, { tableName: `orders-${tableCount}`, streamViewType: 'NEW_AND_OLD_IMAGES' })).tableName;
  const copy = (await createTable(master, { tableName: `orders-copy-${tableCount}` })).tableName;
  const eu = (await createTable(other, { tableName: `orders-eu-${tableCount}` })).tableName;
  await seedTable(master, masterTable, count);
  const slaves = JSON.stringify({
    copy: { region: 'eu-west-1', table_name: copy, endpoint: masterEngine.endpoint },
    eu: { region: 'eu-central-1', table_name: eu, endpoint: otherEngine.endpoint },
  });
  const base = ['--table', masterTable, '--region', 'eu-west-1', '--endpoint', masterEngine.endpoint, '--slaves', slaves];
  const same = async () =>
    Promise.all([
      compareTables({ master: { client: master, tableName: masterTable }, slave: { client: master, tableName: copy } }),
      compareTables({ master: { client: master, tableName: masterTable }, slave: { client: other, tableName: eu } }),
    ]);
  return { masterTable, base, same, checkpointDir: join(workDir, `checkpoints-${tableCount}`) };
}

describe('Command: backfill (DynamoDB Local)', () => {
  it('copies every item into two slaves, and verify then finds them equal', async () => {
    // Prepare
    const { base, same, checkpointDir } = await setUp(1_000);

    // Act
    const backfill = await runInProcess(['backfill', ...base, '--segments', '4', '--workers', '4', '--checkpoint-dir', checkpointDir, '--json']);
    const verify = await runInProcess(['verify', ...base, '--json']);

    // Assess
    expect(backfill.code, backfill.stderr).toBe(0);
    expect(JSON.parse(backfill.stdout)).toMatchObject({ itemsCopied: 1_000, segmentsDone: 4, failedWrites: 0 });
    expect((await same()).map((comparison) => comparison.identical)).toEqual([true, true]);
    expect(verify.code, verify.stdout).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ equal: true, masterItems: 1_000, slaves: [{ items: 1_000 }, { items: 1_000 }] });
  });

  it('resumes from its checkpoints after being killed mid-run, and ends with every item', async () => {
    // Prepare
    const { base, same, checkpointDir } = await setUp(1_500);
    const args = ['backfill', ...base, '--segments', '4', '--checkpoint-dir', checkpointDir, '--no-progress'];

    // Act: a slow first run (the rate limit) is killed without warning once some pages are checkpointed.
    const first = spawnCli([...args, '--rate', '200'], {});
    const firstExit = exitOf(first);
    for (let waited = 0; waited < 30_000; waited += 100) {
      const files = await readdir(checkpointDir).catch(() => []);
      if (files.filter((file) => file.endsWith('.json')).length >= 2) break;
      await new Promise((done) => setTimeout(done, 100));
    }
    first.kill('SIGKILL');
    expect(await firstExit).toBe('SIGKILL');
    const checkpoints = await Promise.all((await readdir(checkpointDir)).map(async (file) => JSON.parse(await readFile(join(checkpointDir, file), 'utf8')) as { itemsCopied: number; done: boolean }));
    const copiedBeforeKill = checkpoints.reduce((sum, checkpoint) => sum + checkpoint.itemsCopied, 0);
    const second = await runInProcess([...args, '--json']);

    // Assess
    expect(copiedBeforeKill).toBeGreaterThan(0);
    expect(copiedBeforeKill).toBeLessThan(1_500);
    expect(second.code, second.stderr).toBe(0);
    const summary = JSON.parse(second.stdout) as BackfillSummary;
    expect(summary.segmentsResumed + summary.segmentsAlreadyDone).toBeGreaterThan(0);
    // The rerun copied only what the checkpoints did not hold (a page repeated at most per segment).
    expect(summary.itemsCopied).toBe(1_500 - copiedBeforeKill);
    expect(summary.itemsCopiedInAll).toBe(1_500);
    expect((await same()).map((comparison) => comparison.identical)).toEqual([true, true]);
  });

  it('stops cleanly on SIGINT with exit 130, and the rerun finishes the copy', async () => {
    // Prepare
    const { base, same, checkpointDir } = await setUp(1_000);
    const args = ['backfill', ...base, '--segments', '2', '--checkpoint-dir', checkpointDir, '--no-progress'];

    // Act
    const first = spawnCli([...args, '--rate', '100'], {});
    const firstExit = exitOf(first);
    for (let waited = 0; waited < 30_000; waited += 100) {
      if ((await readdir(checkpointDir).catch(() => [])).length > 0) break;
      await new Promise((done) => setTimeout(done, 100));
    }
    first.kill('SIGINT');
    const code = await firstExit;
    const second = await runInProcess([...args, '--json']);

    // Assess
    expect(code).toBe(130);
    expect(first.output.stdout).toContain('Interrupted: every segment stopped after a page it had finished');
    expect(second.code, second.stderr).toBe(0);
    expect((JSON.parse(second.stdout) as BackfillSummary).itemsCopiedInAll).toBe(1_000);
    expect((await same()).map((comparison) => comparison.identical)).toEqual([true, true]);
  });

  it('holds its rate limit: items/s over a run of a few seconds stays under the limit plus 20%', async () => {
    // Prepare
    // Well under what DynamoDB Local sustains into two slaves (~300 items/s on a small machine), so the limit binds.
    const limit = 150;
    const items = 900;
    const { base, checkpointDir } = await setUp(items);

    // Act
    const started = Date.now();
    const run = await runInProcess(['backfill', ...base, '--segments', '4', '--workers', '4', '--rate', String(limit), '--checkpoint-dir', checkpointDir, '--json']);
    const elapsedSeconds = (Date.now() - started) / 1000;

    // Assess
    expect(run.code, run.stderr).toBe(0);
    const measured = items / elapsedSeconds;
    console.info(`backfill --rate ${limit}: ${measured.toFixed(0)} items/s measured over ${elapsedSeconds.toFixed(1)} s (${((measured / limit) * 100).toFixed(0)}% of the limit)`);
    expect(measured).toBeLessThanOrEqual(limit * 1.2);
  });
});
