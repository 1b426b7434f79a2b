import { BatchWriteItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { runCli } from '../../../handler/cli/program';
import { randomItem, seededRandom, workloadKey } from '../../support/workload';

/** What one run of the tool printed, and its exit code. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `dynamo-replicator <args>` in this process, with the real SDK clients. */
export async function runInProcess(args: readonly string[], signal: AbortSignal = new AbortController().signal): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { isTTY: false, write: (text: string) => (stderr += text) },
    env: process.env,
    signal,
  });
  return { code, stdout, stderr };
}

/** Starts the tool as its own process (from source, through tsx), so a test can kill it. */
export function spawnCli(args: readonly string[], env: NodeJS.ProcessEnv): ChildProcess & { output: { stdout: string; stderr: string } } {
  const child = spawn(process.execPath, ['--import', 'tsx', resolve('handler/cli/main.ts'), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
  return Object.assign(child, { output });
}

/** Resolves with the exit code (or the signal's name) of a child process. */
export function exitOf(child: ChildProcess): Promise<number | string> {
  return new Promise((done) => child.once('exit', (code, signal) => done(code ?? signal ?? -1)));
}

/** Writes `count` items of every attribute type under the workload's keys `key-000000`... */
export async function seedTable(client: DynamoDBClient, tableName: string, count: number, seed = 7): Promise<void> {
  const random = seededRandom(seed);
  const items: Record<string, AttributeValue>[] = Array.from({ length: count }, (_, index) => randomItem(random, workloadKey(index, false), 0));
  const batches: Record<string, AttributeValue>[][] = [];
  for (let start = 0; start < items.length; start += 25) batches.push(items.slice(start, start + 25));
  for (let start = 0; start < batches.length; start += 8) {
    await Promise.all(
      batches.slice(start, start + 8).map(async (batch) => {
        let requests = batch.map((item) => ({ PutRequest: { Item: item } }));
        while (requests.length > 0) {
          const { UnprocessedItems } = await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: requests } }));
          requests = (UnprocessedItems?.[tableName] ?? []).flatMap((request) => (request.PutRequest?.Item === undefined ? [] : [{ PutRequest: { Item: request.PutRequest.Item } }]));
        }
      }),
    );
  }
}
