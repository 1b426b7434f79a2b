import { compactChanges, lowestSequenceNumber } from './compaction';
import { createClientProvider, type ClientProvider } from './clients';
import { ConfigurationError } from './errors';
import { readMasterItems } from './master-reader';
import { metricsDocument, writeJsonLine, type SlaveReport } from './metrics';
import { Deadline, type BackoffPolicy } from './retry';
import { writeToSlave } from './slave-writer';
import { parseStreamBatch } from './stream-record';
import type { InvocationContext, MasterTable, ReplicatorConfig, StreamBatchResponse, StreamChange, WriteRequest } from './types';

/** Without a Lambda context (library use), an invocation may take this long. */
export const DEFAULT_TIME_BUDGET_MS = 60_000;
/** Kept after the last call is cut off, to log, emit metrics and answer before Lambda's timeout. */
const FINAL_RESERVE_MS = 250;
/** Failures listed per slave in the log line; the count is always complete. */
const ERRORS_LOGGED_PER_SLAVE = 5;

export interface ReplicatorOptions {
  readonly config: ReplicatorConfig;
  readonly clients?: ClientProvider;
  /** Receives the log line and the metrics documents; defaults to standard output. */
  readonly log?: (entry: Record<string, unknown>) => void;
  readonly now?: () => number;
  readonly backoff?: BackoffPolicy;
  readonly random?: () => number;
}

/** What an invocation did, as logged. */
export interface InvocationReport {
  readonly masterTable: string | null;
  readonly records: number;
  readonly skippedTtlDeletes: number;
  /** Writes per slave after compaction: one per item changed in the batch. */
  readonly writes: number;
  readonly masterReads: number;
  readonly slaves: Readonly<Record<string, SlaveReport>>;
  /** The lowest sequence number not applied to every slave; Lambda re-delivers from there. */
  readonly failedSequenceNumber: string | null;
  readonly errors: readonly string[];
  readonly durationMs: number;
}

export interface ReplicationResult extends StreamBatchResponse {
  readonly report: InvocationReport;
}

/**
 * Makes every slave equal to the master for the items of one stream batch.
 *
 * The path of a record: `parseStreamBatch` decodes it (binary to bytes, numbers kept as strings); `compactChanges`
 * keeps the last change of each item; items without a new image are read from the master (`readMasterItems`); every
 * slave then gets the same writes at once (`writeToSlave`, BatchWriteItem with backoff). What did not reach every
 * slave comes back as the lowest sequence number to re-deliver.
 */
export class Replicator {
  private readonly clients: ClientProvider;
  private readonly log: (entry: Record<string, unknown>) => void;
  private readonly now: () => number;

  public constructor(private readonly options: ReplicatorOptions) {
    this.clients = options.clients ?? createClientProvider();
    this.log = options.log ?? writeJsonLine;
    this.now = options.now ?? Date.now;
  }

  /**
   * Replicates one batch. Resolves with the Lambda partial batch response; rejects only when the event is not a
   * stream batch or the configuration cannot work (a slave that is the master itself).
   */
  public async process(event: unknown, context?: InvocationContext): Promise<ReplicationResult> {
    const started = this.now();
    const { config } = this.options;
    const batch = parseStreamBatch(event);
    if (batch.master !== undefined) this.rejectLoop(batch.master);

    const changes = config.skipTtlDeletes ? batch.changes.filter((change) => !change.isTtlDelete) : batch.changes;
    const latest = compactChanges(changes);
    const end = started + (context?.getRemainingTimeInMillis() ?? DEFAULT_TIME_BUDGET_MS);
    const deadline = new Deadline(end - config.deadlineMarginMs, this.now, end - Math.min(config.deadlineMarginMs, FINAL_RESERVE_MS));
    const failedSequences: string[] = [];
    const errors: string[] = [];
    if (batch.invalid !== undefined) {
      failedSequences.push(batch.invalid.sequenceNumber ?? '0');
      errors.push(batch.invalid.message);
    }

    try {
      const toRead = latest.filter((change) => change.change.kind === 'read-master');
      const currentItems = new Map<string, WriteRequest>();
      if (toRead.length > 0 && batch.master !== undefined) {
        const read = await readMasterItems(
          this.clients.forMaster(batch.master.region),
          batch.master.tableName,
          new Map(toRead.map((change) => [change.keyId, change.key])),
          { concurrency: config.writeConcurrency, deadline, ...this.retryOptions() },
        );
        for (const change of toRead) {
          const error = read.failed.get(change.keyId);
          const item = read.items.get(change.keyId);
          if (error !== undefined || item === undefined) {
            failedSequences.push(change.sequenceNumber);
            errors.push(error?.message ?? `master table ${batch.master.tableName}: no answer for a key`);
          } else {
            currentItems.set(change.keyId, item === null ? deleteOf(change) : { kind: 'put', keyId: change.keyId, key: change.key, item });
          }
        }
      }

      const changeOf = new Map<string, StreamChange>();
      const writes: WriteRequest[] = [];
      for (const change of latest) {
        const write = change.change.kind === 'read-master' ? currentItems.get(change.keyId) : writeOf(change);
        if (write === undefined) continue;
        changeOf.set(change.keyId, change);
        writes.push(write);
      }

      const slaveReports: Record<string, SlaveReport> = {};
      await Promise.all(
        config.slaves.map(async (slave) => {
          let oldestCreatedAt = Number.POSITIVE_INFINITY;
          let lagMs: number | null = null;
          const outcome = await writeToSlave(
            { name: slave.name, tableName: slave.tableName, region: slave.region, client: this.clients.forSlave(slave) },
            writes,
            {
              concurrency: config.writeConcurrency,
              deadline,
              ...this.retryOptions(),
              onApplied: (applied) => {
                const appliedAt = this.now();
                for (const write of applied) {
                  const createdAt = changeOf.get(write.keyId)?.createdAtMs ?? appliedAt;
                  if (createdAt < oldestCreatedAt) {
                    oldestCreatedAt = createdAt;
                    lagMs = Math.max(0, appliedAt - createdAt);
                  }
                }
              },
            },
          );
          for (const { write } of outcome.failed) {
            const change = changeOf.get(write.keyId);
            if (change !== undefined) failedSequences.push(change.sequenceNumber);
          }
          slaveReports[slave.name] = {
            written: outcome.written,
            retries: outcome.retries,
            failed: outcome.failed.length,
            oldestChangeLagMs: lagMs,
            errors: outcome.failed.slice(0, ERRORS_LOGGED_PER_SLAVE).map(({ error }) => error.message),
          };
        }),
      );

      const failedSequenceNumber = lowestSequenceNumber(failedSequences) ?? null;
      const report: InvocationReport = {
        masterTable: batch.master?.tableName ?? null,
        records: batch.recordCount,
        skippedTtlDeletes: batch.changes.length - changes.length,
        writes: writes.length,
        masterReads: toRead.length,
        slaves: slaveReports,
        failedSequenceNumber,
        errors: errors.slice(0, ERRORS_LOGGED_PER_SLAVE),
        durationMs: this.now() - started,
      };
      this.emit(report);
      return { batchItemFailures: failedSequenceNumber === null ? [] : [{ itemIdentifier: failedSequenceNumber }], report };
    } finally {
      deadline.release();
    }
  }

  private retryOptions(): { backoff?: BackoffPolicy; random?: () => number } {
    return {
      ...(this.options.backoff === undefined ? {} : { backoff: this.options.backoff }),
      ...(this.options.random === undefined ? {} : { random: this.options.random }),
    };
  }

  /** A slave that is the master itself would feed its own stream forever. */
  private rejectLoop(master: MasterTable): void {
    const masterEndpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB ?? process.env.AWS_ENDPOINT_URL;
    for (const slave of this.options.config.slaves) {
      const sameEngine = slave.endpoint === undefined || slave.endpoint === masterEndpoint;
      if (sameEngine && slave.roleArn === undefined && slave.region === master.region && slave.tableName === master.tableName) {
        throw new ConfigurationError(
          `REPLICATOR_SLAVES.${slave.name}`,
          `is the master table itself (${master.tableName} in ${master.region}): replicating a table into itself would loop forever; name another table`,
        );
      }
    }
  }

  private emit(report: InvocationReport): void {
    const failed = report.failedSequenceNumber !== null;
    this.log({ level: failed ? 'error' : 'info', message: failed ? 'batch partly replicated; re-delivery requested' : 'batch replicated', ...report });
    const timestamp = this.now();
    for (const [slave, slaveReport] of Object.entries(report.slaves)) {
      this.log(metricsDocument(this.options.config.metricsNamespace, slave, slaveReport, timestamp));
    }
  }
}

function writeOf(change: StreamChange): WriteRequest | undefined {
  if (change.change.kind === 'put') return { kind: 'put', keyId: change.keyId, key: change.key, item: change.change.item };
  if (change.change.kind === 'delete') return deleteOf(change);
  return undefined;
}

function deleteOf(change: StreamChange): WriteRequest {
  return { kind: 'delete', keyId: change.keyId, key: change.key };
}
