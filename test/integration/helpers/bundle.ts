import type { DynamoDBStreamEvent } from 'aws-lambda';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The part of a Lambda context the bundle reads. */
export interface BundleContext {
  getRemainingTimeInMillis(): number;
  readonly functionName?: string;
  readonly invokedFunctionArn?: string;
}

/** The committed Lambda bundle's stream entry point, as the event source mapping calls it. */
export type BundleHandler = (event: DynamoDBStreamEvent, context: BundleContext) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;

/** The three entry points of one instance of the bundle. */
export interface Bundle {
  readonly handler: BundleHandler;
  readonly drain: (event: unknown, context: BundleContext) => Promise<{ pending: Record<string, number> }>;
  readonly copySegment: (event: unknown, context: BundleContext) => Promise<{ done: boolean; items: number; copied: boolean }>;
}

let instances = 0;

/**
 * Loads a fresh instance of `dist/lambda/index.mjs` (a new URL is a new module) with this environment, as a new
 * Lambda execution environment would: the bundle reads its configuration when it loads.
 */
export async function loadBundleModule(env: Record<string, string>): Promise<Bundle> {
  Object.assign(process.env, { AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', ...env });
  instances += 1;
  const url = `${pathToFileURL(resolve('dist/lambda/index.mjs')).href}?instance=${instances}`;
  return (await import(url)) as Bundle;
}

/** Like {@link loadBundleModule}, for the stream entry point alone. */
export async function loadBundle(env: Record<string, string>): Promise<BundleHandler> {
  return (await loadBundleModule(env)).handler;
}

/** A context with this much time left, as Lambda gives one. */
export function contextWith(remainingMs: number, functionName = 'dynamo-replicator'): BundleContext {
  const end = Date.now() + remainingMs;
  return { getRemainingTimeInMillis: () => Math.max(0, end - Date.now()), functionName, invokedFunctionArn: `arn:aws:lambda:eu-west-1:000000000000:function:${functionName}` };
}
