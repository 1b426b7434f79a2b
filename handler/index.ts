import { createLegacyReplicator } from './legacy';

export { loadConfig, parseSlaves, libraryConfig, DEFAULTS } from './config';
export { Replicator } from './replicator';
export type { ReplicatorOptions, ReplicationResult, InvocationReport } from './replicator';
export { writeToSlave, MAX_BATCH_WRITE } from './slave-writer';
export type { SlaveTarget, SlaveWriteOptions, SlaveWriteOutcome } from './slave-writer';
export { readCurrentItems, MAX_BATCH_GET } from './item-reader';
export { createClientProvider } from './clients';
export type { ClientProvider } from './clients';
export { assumeRoleCredentials } from './assume-role';
export { decodeImage, keyIdentity, describeKey, pickKey } from './attribute-value';
export { compactChanges, lowestSequenceNumber } from './compaction';
export { parseStreamBatch } from './stream-record';
export { DEFAULT_BACKOFF, backoffDelay, classifyFailure, retryCall } from './retry';
export type { BackoffPolicy, FailureKind } from './retry';
export { Deadline, DEFAULT_TIME_BUDGET_MS, REQUEST_TIMEOUT_MS } from './timing';
export { StateStore, PARKED_PARTITIONS } from './state-store';
export type { SlaveState, ParkedChange, CopyCheckpoint } from './state-store';
export { drainSlaves } from './drain';
export type { DrainResult } from './drain';
export { copySegment } from './copy-segment';
export type { CopySegmentEvent, CopySegmentResult } from './copy-segment';
export type { SlaveReport, DrainReport } from './metrics';
export * from './errors';
export type * from './types';
export { createLegacyReplicator };
export type { LegacyOptions, LegacyReplicator } from './legacy';

/** The original package's entry: `require('dynamo-replicator')({ region, table }).process(event)`. */
export default createLegacyReplicator;
