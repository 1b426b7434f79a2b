import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/** An item or key as the AWS SDK v3 takes it: binary as `Uint8Array`, numbers as strings. */
export type AttributeMap = Record<string, AttributeValue>;

/** One slave table, as written in `REPLICATOR_SLAVES` (field names in camelCase here). */
export interface SlaveConfig {
  /** The stable logical name the slave is keyed by (`"eu"`, `"archive"`). */
  readonly name: string;
  readonly region: string;
  readonly tableName: string;
  /** Role to assume for a slave in another account. */
  readonly roleArn?: string;
  /** External id the role's trust policy asks for; only with `roleArn`. */
  readonly externalId?: string;
  /** Endpoint URL for local engines and VPC endpoints. */
  readonly endpoint?: string;
  /**
   * A new slave that needs the master's existing items: it is parked from the first invocation that sees it until an
   * initial copy marks it copied, then drained and live. Harmless once the slave has been handed over.
   */
  readonly initialCopy?: true;
  /**
   * `false` pauses the slave: nothing is written to it, every change is parked for it, and the drain leaves it
   * alone, until it is enabled again and the drain catches it up. For a slave that is broken for a while.
   */
  readonly enabled?: false;
}

/** Everything the replicator reads from its environment. */
export interface ReplicatorConfig {
  readonly slaves: readonly SlaveConfig[];
  /** Skip deletes made by DynamoDB's TTL, so a slave can keep expired items as an archive. */
  readonly skipTtlDeletes: boolean;
  /** BatchWriteItem calls in flight at once, per slave. */
  readonly writeConcurrency: number;
  /** Time kept in reserve before the Lambda timeout, to report what was not applied. */
  readonly deadlineMarginMs: number;
  /** CloudWatch namespace of the Embedded Metric Format metrics. */
  readonly metricsNamespace: string;
  /** The `Replicator` dimension of every metric, so that two replicators in one account never mix theirs. */
  readonly replicatorName: string;
  /**
   * The state table (in the master's region) where a slave's changes are parked while it cannot take them. Without
   * one (library use), a change a slave did not take is reported for re-delivery instead.
   */
  readonly stateTable?: string;
  /** The master table, for the entry points that get no stream record to read it from (drain, copy). */
  readonly masterTable?: string;
  /** The master's region, for the same entry points: the function's own region. */
  readonly masterRegion?: string;
  /** How long one slave may take to accept a batch's writes before they are parked. */
  readonly slaveBudgetMs: number;
}

/** The part of the Lambda context the replicator uses. */
export interface InvocationContext {
  getRemainingTimeInMillis(): number;
  readonly functionName?: string;
  readonly invokedFunctionArn?: string;
}

/** What a master change asks of every slave, after the stream record was read. */
export type Change =
  | { readonly kind: 'put'; readonly item: AttributeMap }
  | { readonly kind: 'delete' }
  /** No new image in the record (KEYS_ONLY or OLD_IMAGE stream): the master's current state decides. */
  | { readonly kind: 'read-master' };

/** One valid stream record, decoded. */
export interface StreamChange {
  readonly eventId: string;
  readonly sequenceNumber: string;
  /** Canonical identity of the key, equal for equal keys whatever the attribute order. */
  readonly keyId: string;
  readonly key: AttributeMap;
  readonly change: Change;
  /** When the change was made on the master, epoch milliseconds. */
  readonly createdAtMs: number;
  readonly isTtlDelete: boolean;
}

/** The master table a batch comes from, read from the record's `eventSourceARN`. */
export interface MasterTable {
  readonly region: string;
  readonly tableName: string;
  readonly streamArn: string;
}

/** A write that makes one slave item equal to the master's. */
export type WriteRequest =
  | { readonly kind: 'put'; readonly keyId: string; readonly key: AttributeMap; readonly item: AttributeMap }
  | { readonly kind: 'delete'; readonly keyId: string; readonly key: AttributeMap };

/** A write that could not be applied, with the reason. */
export interface FailedWrite<W extends WriteRequest = WriteRequest> {
  readonly write: W;
  readonly error: Error;
}

/** The response Lambda reads when `ReportBatchItemFailures` is on. */
export interface StreamBatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}
