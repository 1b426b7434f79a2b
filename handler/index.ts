import { createLegacyReplicator } from './legacy';

export { loadConfig, parseSlaves, DEFAULTS } from './config';
export { Replicator, DEFAULT_TIME_BUDGET_MS } from './replicator';
export type { ReplicatorOptions, ReplicationResult, InvocationReport } from './replicator';
export { writeToSlave, MAX_BATCH_WRITE } from './slave-writer';
export type { SlaveTarget, SlaveWriteOptions, SlaveWriteOutcome } from './slave-writer';
export { readMasterItems, MAX_BATCH_GET } from './master-reader';
export { createClientProvider } from './clients';
export type { ClientProvider } from './clients';
export { assumeRoleCredentials } from './assume-role';
export { decodeImage, keyIdentity, describeKey, pickKey } from './attribute-value';
export { compactChanges, lowestSequenceNumber } from './compaction';
export { parseStreamBatch } from './stream-record';
export { Deadline, DEFAULT_BACKOFF, backoffDelay, classifyFailure } from './retry';
export type { BackoffPolicy, FailureKind } from './retry';
export type { SlaveReport } from './metrics';
export * from './errors';
export type * from './types';
export { createLegacyReplicator };
export type { LegacyOptions, LegacyReplicator } from './legacy';

/** The original package's entry: `require('dynamo-replicator')({ region, table }).process(event)`. */
export default createLegacyReplicator;
