/** The committed Lambda bundle as the benchmarks run it: a fresh instance per configuration, its log lines muted. */
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DynamoDbLocal } from '../test/support/dynamodb-local';
import { BENCH_CREDENTIALS } from './engine';
import { batchesOf, syntheticRecords } from './synthetic';

/** The committed bundle; BENCH_BUNDLE names another build of handler/lambda.ts (an unminified one, to profile). */
const BUNDLE = pathToFileURL(resolve(process.env.BENCH_BUNDLE ?? 'dist/lambda/index.mjs')).href;

/** The part of a Lambda context the bundle reads. */
export interface BenchContext {
  getRemainingTimeInMillis(): number;
}

/** The three entry points of one instance of `dist/lambda/index.mjs`. */
export interface Bundle {
  readonly handler: (event: DynamoDBStreamEvent, context: BenchContext) => Promise<{ batchItemFailures: unknown[] }>;
  readonly drain: (event: unknown, context: BenchContext) => Promise<{ pending: Record<string, number> }>;
  readonly copySegment: (event: unknown, context: BenchContext) => Promise<{ done: boolean; items: number; copied: boolean }>;
}

/** A slave entry of REPLICATOR_SLAVES. */
export interface BenchSlave {
  readonly region: string;
  readonly table_name: string;
  readonly endpoint: string;
  readonly initial_copy?: boolean;
}

export interface BundleSettings {
  readonly slaves: Readonly<Record<string, BenchSlave>>;
  /** The engine of the master's region: the state table (and the master table, when there is one) live there. */
  readonly masterEngine: DynamoDbLocal;
  readonly stateTable: string;
  readonly masterTable?: string;
  /** REPLICATOR_WRITE_CONCURRENCY; the function's default when left out. */
  readonly writeConcurrency?: number;
}

let instances = 0;

/**
 * Loads a fresh instance of the committed bundle with this configuration (a new URL is a new module), as a new
 * Lambda execution environment would: the bundle reads its environment when it loads, and its master client (the
 * state table's) takes its endpoint from AWS_ENDPOINT_URL_DYNAMODB.
 */
export async function loadBundle(settings: BundleSettings): Promise<Bundle> {
  Object.assign(process.env, {
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: BENCH_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: BENCH_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: settings.masterEngine.endpoint,
    REPLICATOR_SLAVES: JSON.stringify(settings.slaves),
    REPLICATOR_STATE_TABLE: settings.stateTable,
  });
  if (settings.masterTable === undefined) delete process.env.REPLICATOR_MASTER_TABLE;
  else process.env.REPLICATOR_MASTER_TABLE = settings.masterTable;
  if (settings.writeConcurrency === undefined) delete process.env.REPLICATOR_WRITE_CONCURRENCY;
  else process.env.REPLICATOR_WRITE_CONCURRENCY = String(settings.writeConcurrency);
  instances += 1;
  return (await import(`${BUNDLE}?instance=${instances}`)) as Bundle;
}

/** Records a warm bundle has replicated before it is measured. */
const WARM_UP_RECORDS = 20_000;

/**
 * {@link loadBundle}, then a few batches through the new instance, as a Lambda execution environment that has run
 * invocations before: a fresh instance is a new module, whose code the JIT has not compiled yet, while the raw
 * baselines' clients are warm. The warm-up items have keys of their own (`warm-<n>`), which no measured record
 * touches and no check of a measured run reads.
 */
export async function loadWarmBundle(settings: BundleSettings, batchSize: number): Promise<Bundle> {
  const bundle = await loadBundle(settings);
  const { records } = syntheticRecords({ records: WARM_UP_RECORDS, keys: WARM_UP_RECORDS, deleteShare: 0.05, seed: 11, keyPrefix: 'warm' });
  await replicate(bundle, batchesOf(records, batchSize));
  return bundle;
}

/** A context with this much time left, counting down as Lambda's does. */
export function contextWith(remainingMs: number): BenchContext {
  const end = Date.now() + remainingMs;
  return { getRemainingTimeInMillis: () => Math.max(0, end - Date.now()) };
}

/**
 * Runs work with standard output and error muted: the bundle writes a log line and metrics for every invocation
 * (Powertools writes its warnings and errors to standard error). The bench reads results, not logs.
 */
export async function quietly<T>(work: () => Promise<T>): Promise<T> {
  const stdoutWrite = process.stdout.write.bind(process.stdout);
  const stderrWrite = process.stderr.write.bind(process.stderr);
  process.stdout.write = () => true;
  process.stderr.write = () => true;
  try {
    return await work();
  } finally {
    process.stdout.write = stdoutWrite;
    process.stderr.write = stderrWrite;
  }
}

/** The replicator as Lambda runs it on one shard: one batch at a time, in order. Resolves with each batch's seconds. */
export async function replicate(bundle: Bundle, batches: readonly DynamoDBStreamEvent[]): Promise<number[]> {
  return quietly(() => replicateLoud(bundle, batches));
}

/**
 * {@link replicate} without muting the output: for runs of several at once, which must share one {@link quietly}
 * (each would otherwise restore the others' muted output, or keep it muted for good).
 */
export async function replicateLoud(bundle: Bundle, batches: readonly DynamoDBStreamEvent[]): Promise<number[]> {
  const seconds: number[] = [];
  for (const batch of batches) {
    const started = performance.now();
    const response = await bundle.handler(batch, contextWith(300_000));
    seconds.push((performance.now() - started) / 1000);
    if (response.batchItemFailures.length > 0) throw new Error('the replicator reported a failure during the benchmark');
  }
  return seconds;
}
