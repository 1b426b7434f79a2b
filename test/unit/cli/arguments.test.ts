import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBackfillOptions, parseSegmentList } from '../../../handler/cli/options';
import { runCli } from '../../../handler/cli/program';
import { captureIo, providerOf } from './helpers/fake-tables';

const SLAVES = '{"eu":{"region":"eu-west-1","table_name":"orders-eu"}}';
const client = new DynamoDBClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });

async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stderr: string }> {
  const io = captureIo();
  const code = await runCli(args, { ...io, env, signal: new AbortController().signal, clients: providerOf(client) });
  return { code, stderr: io.stderr.text };
}

describe('Command line: argument errors', () => {
  it.each([
    ['no --table', ['backfill', '--slaves', SLAVES], /required option '--table <name>' not specified/],
    ['no region', ['backfill', '--table', 'orders', '--slaves', SLAVES], /--region: is required \(or set AWS_REGION\)/],
    ['no slaves', ['verify', '--table', 'orders', '--region', 'eu-west-1'], /--slaves: is required \(or --slaves-file, or the REPLICATOR_SLAVES variable\)/],
    ['slaves that are not JSON', ['verify', '--table', 'orders', '--region', 'eu-west-1', '--slaves', '{eu'], /--slaves: is not valid JSON/],
    ['a slave without a table', ['verify', '--table', 'orders', '--region', 'eu-west-1', '--slaves', '{"eu":{"region":"eu-west-1"}}'], /--slaves\.eu\.table_name: is missing/],
    ['a slave that is the master', ['backfill', '--table', 'orders', '--region', 'eu-west-1', '--slaves', '{"eu":{"region":"eu-west-1","table_name":"orders"}}'], /slave "eu": is the master table itself/],
    ['both --slaves and --slaves-file', ['backfill', '--table', 'orders', '--region', 'eu-west-1', '--slaves', SLAVES, '--slaves-file', 'x.json'], /--slaves-file: and --slaves both name the slaves/],
    ['a rate that is not a number', ['backfill', '--table', 'orders', '--region', 'eu-west-1', '--slaves', SLAVES, '--rate', 'fast'], /--rate: must be a number above 0, not "fast"/],
    ['a capacity share above 1', ['backfill', '--table', 'orders', '--region', 'eu-west-1', '--slaves', SLAVES, '--capacity-share', '25'], /--capacity-share: is a fraction .* from 0 to 1/],
    ['zero segments', ['backfill', '--table', 'orders', '--region', 'eu-west-1', '--slaves', SLAVES, '--segments', '0'], /--segments: must be a whole number from 1 to 1000000, not "0"/],
    ['--segment without --total-segments', ['backfill', '--table', 'orders', '--region', 'eu-west-1', '--slaves', SLAVES, '--segment', '2'], /--segment: needs --total-segments/],
    ['a segment past the total', ['backfill', '--table', 'orders', '--region', 'eu-west-1', '--slaves', SLAVES, '--segment', '4-9', '--total-segments', '8'], /--segment: "4-9" is outside 0-7/],
    ['--segments and --total-segments that disagree', ['backfill', '--table', 'orders', '--region', 'eu-west-1', '--slaves', SLAVES, '--segments', '4', '--total-segments', '8'], /--total-segments: is 8 but --segments is 4/],
    ['a bad endpoint', ['verify', '--table', 'orders', '--region', 'eu-west-1', '--slaves', SLAVES, '--endpoint', 'localhost:8000'], /--endpoint: "localhost:8000" is not an http\(s\) URL/],
    ['a negative re-check delay', ['verify', '--table', 'orders', '--region', 'eu-west-1', '--slaves', SLAVES, '--recheck-delay', '-5'], /--recheck-delay: must be a whole number from 0 to 600000, not "-5"/],
    ['an unknown flag', ['verify', '--table', 'orders', '--region', 'eu-west-1', '--slaves', SLAVES, '--repiar'], /unknown option '--repiar'/],
    ['an unknown command', ['copy'], /unknown command 'copy'/],
  ])('exits 2 with a message naming the flag for %s', async (_, args, message) => {
    // Act
    const { code, stderr } = await run(args);

    // Assess
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
  });

  it('reads slaves from REPLICATOR_SLAVES and --slaves-file, naming the source in errors', async () => {
    // Prepare
    const dir = await mkdtemp(join(tmpdir(), 'arguments-test-'));
    const file = join(dir, 'slaves.json');
    await writeFile(file, '{"eu":{"region":"nowhere","table_name":"orders-eu"}}');

    // Act
    const fromEnv = await run(['verify', '--table', 'orders', '--region', 'eu-west-1'], { REPLICATOR_SLAVES: '[]' });
    const fromFile = await run(['verify', '--table', 'orders', '--region', 'eu-west-1', '--slaves-file', file]);
    await rm(dir, { recursive: true });

    // Assess
    expect(fromEnv.stderr).toMatch(/^dynamo-replicator: REPLICATOR_SLAVES: must be a JSON object/);
    expect(fromFile.stderr).toContain(`--slaves-file ${file}.eu.region: "nowhere" is not an AWS region`);
  });
});

describe('Function: parseBackfillOptions', () => {
  it('splits a copy across machines by segment lists of one total, with no more workers than segments', () => {
    // Act
    const options = parseBackfillOptions({ table: 'orders', slaves: SLAVES, segment: '0-2,7', totalSegments: '16', workers: '8' }, { AWS_REGION: 'eu-west-1' });

    // Assess
    expect(options).toMatchObject({ segments: 16, mySegments: [0, 1, 2, 7], workers: 4, master: { tableName: 'orders', region: 'eu-west-1' }, requireStream: true });
  });

  it('reads one segment, a range and a list', () => {
    // Act & Assess
    expect(parseSegmentList('3', 4)).toEqual([3]);
    expect(parseSegmentList('0-3', 4)).toEqual([0, 1, 2, 3]);
    expect(parseSegmentList('3, 1-2,1', 4)).toEqual([1, 2, 3]);
    expect(() => parseSegmentList('a', 4)).toThrow(/--segment: "a" is not a segment list/);
  });
});
