import type { DynamoDBStreamEvent } from 'aws-lambda';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The committed Lambda bundle's entry point, as the event source mapping calls it. */
export type BundleHandler = (event: DynamoDBStreamEvent, context: { getRemainingTimeInMillis(): number }) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;

let instances = 0;

/**
 * Loads a fresh instance of `dist/lambda/index.mjs` (a new URL is a new module) with this environment, as a new
 * Lambda execution environment would: the bundle reads REPLICATOR_SLAVES when it loads.
 */
export async function loadBundle(env: Record<string, string>): Promise<BundleHandler> {
  Object.assign(process.env, { AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', ...env });
  instances += 1;
  const url = `${pathToFileURL(resolve('dist/lambda/index.mjs')).href}?instance=${instances}`;
  return ((await import(url)) as { handler: BundleHandler }).handler;
}
