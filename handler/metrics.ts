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

type MetricUnit = 'Milliseconds' | 'Seconds' | 'Count';

/** One CloudWatch Embedded Metric Format document: CloudWatch Logs turns each named value into a metric. */
function emfDocument(namespace: string, dimensions: Record<string, string>, metrics: Record<string, { value: number; unit: MetricUnit }>, timestamp: number): Record<string, unknown> {
  return {
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [
        {
          Namespace: namespace,
          Dimensions: [Object.keys(dimensions)],
          Metrics: Object.entries(metrics).map(([name, { unit }]) => ({ Name: name, Unit: unit })),
        },
      ],
    },
    ...dimensions,
    ...Object.fromEntries(Object.entries(metrics).map(([name, { value }]) => [name, value])),
  };
}

/**
 * The metrics of one slave after a stream batch, with the dimensions `Replicator` and `Slave`: ReplicationLatency,
 * RecordsReplicated, WriteRetries, ParkedRecords and FailedRecords.
 */
export function slaveMetrics(namespace: string, replicator: string, slave: string, report: SlaveReport, timestamp: number): Record<string, unknown> {
  return emfDocument(
    namespace,
    { Replicator: replicator, Slave: slave },
    {
      ...(report.oldestChangeLagMs === null ? {} : { ReplicationLatency: { value: report.oldestChangeLagMs, unit: 'Milliseconds' as const } }),
      RecordsReplicated: { value: report.written, unit: 'Count' },
      WriteRetries: { value: report.retries, unit: 'Count' },
      ParkedRecords: { value: report.parked, unit: 'Count' },
      FailedRecords: { value: report.failed, unit: 'Count' },
    },
    timestamp,
  );
}

/** The metrics of one slave after a drain: DrainedRecords, ParkedPending and OldestParkedAgeSeconds. */
export function drainMetrics(namespace: string, replicator: string, slave: string, report: DrainReport, timestamp: number): Record<string, unknown> {
  return emfDocument(
    namespace,
    { Replicator: replicator, Slave: slave },
    {
      DrainedRecords: { value: report.drained, unit: 'Count' },
      ParkedPending: { value: report.pending, unit: 'Count' },
      OldestParkedAgeSeconds: { value: report.oldestParkedAgeSeconds, unit: 'Seconds' },
    },
    timestamp,
  );
}

/** Counts of the whole replicator, with the dimension `Replicator` only (RejectedRecords, ConfigurationErrors). */
export function invocationMetrics(namespace: string, replicator: string, counts: Record<string, number>, timestamp: number): Record<string, unknown> {
  return emfDocument(
    namespace,
    { Replicator: replicator },
    Object.fromEntries(Object.entries(counts).map(([name, value]) => [name, { value, unit: 'Count' as const }])),
    timestamp,
  );
}

/**
 * Writes one JSON line to standard output. Lambda's `console.log` would put a timestamp and request id before it,
 * and CloudWatch reads EMF only from a line that is JSON from its first character.
 */
export function writeJsonLine(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}
