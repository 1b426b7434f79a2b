import { compactChanges, lowestSequenceNumber } from './compaction';
import { createClientProvider, type ClientProvider } from './clients';
import { rejectMasterAsSlave } from './config';
import { describeError } from './errors';
import { fanOut, type FanOutContext, type PendingWrite, type SlaveOutcome } from './fan-out';
import { readCurrentItems } from './item-reader';
import { invocationMetrics, slaveMetrics, type SlaveReport } from './metrics';
import { retryTuningOf, type BackoffPolicy, type RetryTuning } from './retry';
import { StateStore, type SlaveState } from './state-store';
import { parseStreamBatch, type ParsedBatch } from './stream-record';
import { powertoolsTelemetry, type Telemetry } from './telemetry';
import { LiveStates } from './live-states';
import { Deadline, DEFAULT_TIME_BUDGET_MS, LIVE_STATES_REUSE_MS, settleMsFor } from './timing';
import type { InvocationContext, MasterTable, ReplicatorConfig, StreamBatchResponse, StreamChange, WriteRequest } from './types';

/** Failures listed per slave in the log line; the count is always complete. */
const ERRORS_LOGGED_PER_SLAVE = 5;

export interface ReplicatorOptions {
  readonly config: ReplicatorConfig;
  readonly clients?: ClientProvider;
  /** Receives the log line and the metrics; defaults to Powertools Logger and Metrics on standard output. */
  readonly telemetry?: Telemetry;
  readonly now?: () => number;
  readonly backoff?: BackoffPolicy;
  readonly random?: () => number;
  /**
   * How long a read of the slaves' states in which every slave is live may serve the next batches
   * (`LIVE_STATES_REUSE_MS` by default; 0 reads them for every batch). Parking waits a little longer after it marks
   * a slave parked, so every process that parks for this replicator's slaves must use the same value.
   */
  readonly liveStatesReuseMs?: number;
}

/** What an invocation did, as logged. */
export interface InvocationReport {
  readonly masterTable: string | null;
  readonly records: number;
  readonly skippedTtlDeletes: number;
  /** Writes per slave after compaction: one per item changed in the batch. */
  readonly writes: number;
  readonly masterReads: number;
  /** Records that cannot be applied at all, kept in the state table for `redrive`. */
  readonly rejectedRecords: number;
  readonly slaves: Readonly<Record<string, SlaveReport>>;
  /** The lowest sequence number neither applied nor parked for every slave; Lambda re-delivers from there. */
  readonly failedSequenceNumber: string | null;
  readonly errors: readonly string[];
  readonly durationMs: number;
}

export interface ReplicationResult extends StreamBatchResponse {
  readonly report: InvocationReport;
}

/** The writes of a batch once the master has been read where the stream carried no new image. */
interface ResolvedWrites {
  readonly writes: PendingWrite[];
  /** Changes whose current item could not be read: their sequence numbers and why. */
  readonly failed: { readonly sequenceNumber: string; readonly error: string }[];
  readonly masterReads: number;
}

/**
 * Makes every slave equal to the master for the items of one stream batch, each slave on its own.
 *
 * The path of a record, stage by stage:
 * 1. decode (`parseStreamBatch`): binary to bytes, numbers kept as strings; a record that cannot be applied at all is
 *    set apart and kept whole in the state table;
 * 2. compact (`compactChanges`): the last change of each item;
 * 3. resolve (`resolveWrites`): items without a new image are read from the master;
 * 4. fan out (`fanOut`, per slave at once): a live slave gets the writes with BatchWriteItem within its own budget,
 *    and what it does not take in time is parked in the state table; a parked slave has every write parked, for the
 *    drain to apply in order;
 * 5. assess: what was neither written nor parked comes back as the lowest sequence number to re-deliver.
 */
export class Replicator {
  private readonly clients: ClientProvider;
  private readonly telemetry: Telemetry;
  private readonly now: () => number;
  private readonly liveStates: LiveStates;
  /** How long parking waits after marking a slave parked: longer than `liveStates` reuses a read. */
  private readonly settleMs: number;

  public constructor(private readonly options: ReplicatorOptions) {
    const reuseMs = options.liveStatesReuseMs ?? LIVE_STATES_REUSE_MS;
    this.liveStates = new LiveStates(reuseMs);
    this.settleMs = settleMsFor(reuseMs);
    this.clients = options.clients ?? createClientProvider();
    this.telemetry = options.telemetry ?? powertoolsTelemetry({ namespace: options.config.metricsNamespace, replicatorName: options.config.replicatorName });
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
    if (batch.master !== undefined) rejectMasterAsSlave(config.slaves, batch.master, (slave) => `REPLICATOR_SLAVES.${slave.name}`);
    const deadline = Deadline.forInvocation(context?.getRemainingTimeInMillis() ?? DEFAULT_TIME_BUDGET_MS, config.deadlineMarginMs, this.now);
    try {
      const changes = config.skipTtlDeletes ? batch.changes.filter((change) => !change.isTtlDelete) : batch.changes;
      const latest = compactChanges(changes);
      const resolved = await this.resolveWrites(latest, batch, deadline);
      const store = this.stateStore(batch.master);
      const failed: string[] = resolved.failed.map(({ sequenceNumber }) => sequenceNumber);
      const errors: string[] = [...resolved.failed.map(({ error }) => error), ...batch.readBack.map((error) => `${error.message}: read back from the master instead`)];

      const rejected = await this.keepUnusable(batch, store, deadline);
      failed.push(...rejected.failed);
      errors.push(...rejected.errors);

      let outcomes: SlaveOutcome[];
      const states = await this.readStates(store, deadline);
      if ('error' in states) {
        // Without the slaves' modes no write may go out: a parked slave must not be written directly.
        failed.push(...batch.changes.map((change) => change.sequenceNumber));
        errors.push(states.error);
        outcomes = [];
      } else {
        const fanOutContext: FanOutContext = { clients: this.clients, store, deadline, config, now: this.now, ...this.retryOptions() };
        outcomes = await Promise.all(config.slaves.map((slave) => fanOut(slave, resolved.writes, states.states.get(slave.name), fanOutContext)));
      }
      for (const outcome of outcomes) failed.push(...outcome.failed.map((pending) => pending.change.sequenceNumber));
      // A slave that parked (or whose batch is re-delivered) is read again by the next batch.
      if (outcomes.some((outcome) => outcome.mode !== 'live' || outcome.parked > 0 || outcome.failed.length > 0)) this.liveStates.forget();

      const failedSequenceNumber = lowestSequenceNumber(failed) ?? null;
      const report: InvocationReport = {
        masterTable: batch.master?.tableName ?? null,
        records: batch.recordCount,
        skippedTtlDeletes: batch.changes.length - changes.length,
        writes: resolved.writes.length,
        masterReads: resolved.masterReads,
        rejectedRecords: rejected.kept,
        slaves: Object.fromEntries(outcomes.map((outcome) => [outcome.slave, reportOf(outcome)])),
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

  /** Stage 3: the write each change asks for, reading the master's current item where the record has no image. */
  private async resolveWrites(latest: readonly StreamChange[], batch: ParsedBatch, deadline: Deadline): Promise<ResolvedWrites> {
    const { config } = this.options;
    const toRead = latest.filter((change) => change.change.kind === 'read-master');
    const current = new Map<string, WriteRequest | null>();
    const failed: { sequenceNumber: string; error: string }[] = [];
    if (toRead.length > 0 && batch.master !== undefined) {
      const read = await readCurrentItems(this.clients.forMaster(batch.master.region), batch.master.tableName, new Map(toRead.map((change) => [change.keyId, change.key])), {
        concurrency: config.writeConcurrency,
        deadline,
        ...this.retryOptions(),
      });
      // A key gone from the master was deleted, by a user or by TTL. With TTL deletes skipped, only a user REMOVE
      // in the batch says it was a user's.
      const removedByUser = new Set(batch.changes.filter((change) => change.change.kind === 'delete' && !change.isTtlDelete).map((change) => change.keyId));
      for (const change of toRead) {
        const error = read.failed.get(change.keyId);
        const item = read.items.get(change.keyId);
        if (error !== undefined || item === undefined) {
          failed.push({ sequenceNumber: change.sequenceNumber, error: error?.message ?? `master table ${batch.master.tableName}: no answer for a key` });
        } else if (item !== null) {
          current.set(change.keyId, { kind: 'put', keyId: change.keyId, key: change.key, item });
        } else if (!config.skipTtlDeletes || removedByUser.has(change.keyId)) {
          current.set(change.keyId, { kind: 'delete', keyId: change.keyId, key: change.key });
        } else {
          current.set(change.keyId, null);
        }
      }
    }
    const writes: PendingWrite[] = [];
    for (const change of latest) {
      const write = change.change.kind === 'put' ? { kind: 'put' as const, keyId: change.keyId, key: change.key, item: change.change.item } : change.change.kind === 'delete' ? { kind: 'delete' as const, keyId: change.keyId, key: change.key } : current.get(change.keyId);
      if (write !== undefined && write !== null) writes.push({ write, change });
    }
    return { writes, failed, masterReads: toRead.length };
  }

  /**
   * Records that cannot be applied are kept whole in the state table and acknowledged; one not kept (or, without a
   * state table, every one) is re-delivered. A record with no sequence number of its own holds the batch from its start.
   */
  private async keepUnusable(batch: ParsedBatch, store: StateStore | undefined, deadline: Deadline): Promise<{ kept: number; failed: string[]; errors: string[] }> {
    if (batch.unusable.length === 0) return { kept: 0, failed: [], errors: [] };
    const rejected = batch.unusable.map(({ error, record }) => ({ eventId: error.eventId, sequenceNumber: error.sequenceNumber, record, reason: error.message }));
    const errors = rejected.map(({ reason }) => reason);
    const sequenceOf = (record: { sequenceNumber: string | undefined }): string => record.sequenceNumber ?? batch.changes[0]?.sequenceNumber ?? '0';
    if (store === undefined) return { kept: 0, failed: rejected.map(sequenceOf), errors };
    try {
      const notKept = await store.keepRejected(rejected, deadline);
      return { kept: rejected.length - notKept.length, failed: notKept.map(({ record }) => sequenceOf(record)), errors: [...errors, ...notKept.map(({ error }) => error.message)] };
    } catch (error) {
      return { kept: 0, failed: rejected.map(sequenceOf), errors: [...errors, describeError(error)] };
    }
  }

  private async readStates(store: StateStore | undefined, deadline: Deadline): Promise<{ states: Map<string, SlaveState> } | { error: string }> {
    if (store === undefined) return { states: new Map() };
    const { slaves } = this.options.config;
    const reused = this.liveStates.reusable();
    if (reused !== undefined) return { states: reused };
    try {
      return { states: await this.liveStates.read(slaves, () => store.readSlaveStates(slaves, deadline)) };
    } catch (error) {
      return { error: describeError(error) };
    }
  }

  private stateStore(master: MasterTable | undefined): StateStore | undefined {
    const { config } = this.options;
    const region = master?.region ?? config.masterRegion;
    if (config.stateTable === undefined || region === undefined) return undefined;
    return new StateStore(this.clients.forMaster(region), config.stateTable, {
      concurrency: config.writeConcurrency,
      now: this.now,
      settleMs: this.settleMs,
      ...this.retryOptions(),
    });
  }

  private retryOptions(): RetryTuning {
    return retryTuningOf(this.options);
  }

  private emit(report: InvocationReport): void {
    const failed = report.failedSequenceNumber !== null;
    const parked = Object.values(report.slaves).some((slave) => slave.parked > 0);
    this.telemetry.log({
      level: failed ? 'error' : parked || report.rejectedRecords > 0 ? 'warn' : 'info',
      message: failed ? 'batch partly replicated; re-delivery requested' : parked ? 'batch replicated; some changes parked' : 'batch replicated',
      ...report,
    });
    for (const [slave, slaveReport] of Object.entries(report.slaves)) this.telemetry.metrics(slaveMetrics(slave, slaveReport));
    if (report.rejectedRecords > 0) this.telemetry.metrics(invocationMetrics({ RejectedRecords: report.rejectedRecords }));
  }
}

function reportOf(outcome: SlaveOutcome): SlaveReport {
  return {
    mode: outcome.mode,
    written: outcome.written,
    retries: outcome.retries,
    parked: outcome.parked,
    failed: outcome.failed.length,
    oldestChangeLagMs: outcome.lagMs,
    errors: outcome.errors.slice(0, ERRORS_LOGGED_PER_SLAVE),
  };
}
