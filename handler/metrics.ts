import type { MetricPoint } from './telemetry';

/** What one invocation did to one slave, as reported in the log line and the metrics. */
export interface SlaveReport {
  /** The slave's mode after the invocation. */
  readonly mode: 'live' | 'parked';
  readonly written: number;
  readonly retries: number;
  /** Changes kept in the state table for the drain to apply. */
  readonly parked: number;
  /** Changes neither written nor parked: Lambda re-delivers them. */
  readonly failed: number;
  /** Milliseconds from the oldest applied change's creation on the master to its write; null if nothing was applied. */
  readonly oldestChangeLagMs: number | null;
  /** The first few failures, each naming slave, table, key and AWS error. */
  readonly errors: readonly string[];
}

/** What one drain did for one slave. */
export interface DrainReport {
  readonly mode: 'live' | 'parked';
  readonly drained: number;
  /** Parked changes left after the drain. */
  readonly pending: number;
  /** Age of the oldest parked change left, in seconds (at most the time since the slave was parked); 0 when none. */
  readonly oldestParkedAgeSeconds: number;
  readonly errors: readonly string[];
}

/**
 * The metrics of one slave after a stream batch, with the dimensions `Replicator` and `Slave`: ReplicationLatency,
 * RecordsReplicated, WriteRetries, ParkedRecords and FailedRecords.
 */
export function slaveMetrics(slave: string, report: SlaveReport): MetricPoint {
  return {
    slave,
    values: {
      ...(report.oldestChangeLagMs === null ? {} : { ReplicationLatency: { value: report.oldestChangeLagMs, unit: 'Milliseconds' as const } }),
      RecordsReplicated: { value: report.written, unit: 'Count' },
      WriteRetries: { value: report.retries, unit: 'Count' },
      ParkedRecords: { value: report.parked, unit: 'Count' },
      FailedRecords: { value: report.failed, unit: 'Count' },
    },
  };
}

/** The metrics of one slave after a drain: DrainedRecords, ParkedPending and OldestParkedAgeSeconds. */
export function drainMetrics(slave: string, report: DrainReport): MetricPoint {
  return {
    slave,
    values: {
      DrainedRecords: { value: report.drained, unit: 'Count' },
      ParkedPending: { value: report.pending, unit: 'Count' },
      OldestParkedAgeSeconds: { value: report.oldestParkedAgeSeconds, unit: 'Seconds' },
    },
  };
}

/** Counts of the whole replicator, with the dimension `Replicator` only (RejectedRecords, ConfigurationErrors). */
export function invocationMetrics(counts: Readonly<Record<string, number>>): MetricPoint {
  return { values: Object.fromEntries(Object.entries(counts).map(([name, value]) => [name, { value, unit: 'Count' as const }])) };
}
