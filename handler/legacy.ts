import { createClientProvider } from './clients';
import { libraryConfig, parseSlaves } from './config';
import { ReplicationIncompleteError } from './errors';
import { Replicator, type ReplicationResult } from './replicator';
import type { InvocationContext } from './types';

/** The options of the original `dynamo-replicator` package: the one slave table to write. */
export interface LegacyOptions {
  readonly region: string;
  readonly table: string;
  readonly endpoint?: string;
  readonly roleArn?: string;
  readonly externalId?: string;
}

/** What the original package returned: an object whose `process(event)` returns a Promise. */
export interface LegacyReplicator {
  /**
   * Replicates a stream event into the table. Rejects with `ReplicationIncompleteError` when any change did not
   * reach it, as the original did when a write failed, so no caller ignores a lost change by accident.
   */
  process(event: unknown, context?: InvocationContext): Promise<ReplicationResult>;
}

/** `require('dynamo-replicator')({ region, table }).process(event)`, as in the original package. */
export function createLegacyReplicator(options: LegacyOptions): LegacyReplicator {
  const slave = {
    region: options.region,
    table_name: options.table,
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.roleArn === undefined ? {} : { role_arn: options.roleArn }),
    ...(options.externalId === undefined ? {} : { external_id: options.externalId }),
  };
  const replicator = new Replicator({
    config: libraryConfig(parseSlaves(JSON.stringify({ default: slave }), 'options')),
    clients: createClientProvider(),
  });
  return {
    async process(event, context) {
      const result = await replicator.process(event, context);
      const failed = result.report.failedSequenceNumber;
      if (failed !== null) {
        const errors = [...result.report.errors, ...Object.values(result.report.slaves).flatMap((slave) => slave.errors)];
        throw new ReplicationIncompleteError(
          `changes from sequence number ${failed} on were not all applied to ${options.table}: ${errors[0] ?? 'see the errors'}`,
          failed,
          errors.map((message) => new Error(message)),
        );
      }
      return result;
    },
  };
}
