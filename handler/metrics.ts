/** What one invocation did to one slave, as reported in the log line and the metrics. */
export interface SlaveReport {
  readonly written: number;
  readonly retries: number;
  readonly failed: number;
  /** Milliseconds from the oldest applied change's creation on the master to its write; null if nothing was applied. */
  readonly oldestChangeLagMs: number | null;
  /** The first few failures, each naming slave, table, key and AWS error. */
  readonly errors: readonly string[];
}

/**
 * A CloudWatch Embedded Metric Format document for one slave: CloudWatch Logs turns it into the metrics
 * ReplicationLatency, RecordsReplicated, WriteRetries and FailedRecords with the dimension `Slave`.
 */
export function metricsDocument(namespace: string, slave: string, report: SlaveReport, timestamp: number): Record<string, unknown> {
  return {
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [
        {
          Namespace: namespace,
          Dimensions: [['Slave']],
          Metrics: [
            ...(report.oldestChangeLagMs === null ? [] : [{ Name: 'ReplicationLatency', Unit: 'Milliseconds' }]),
            { Name: 'RecordsReplicated', Unit: 'Count' },
            { Name: 'WriteRetries', Unit: 'Count' },
            { Name: 'FailedRecords', Unit: 'Count' },
          ],
        },
      ],
    },
    Slave: slave,
    ...(report.oldestChangeLagMs === null ? {} : { ReplicationLatency: report.oldestChangeLagMs }),
    RecordsReplicated: report.written,
    WriteRetries: report.retries,
    FailedRecords: report.failed,
  };
}

/**
 * Writes one JSON line to standard output. Lambda's `console.log` would put a timestamp and request id before it,
 * and CloudWatch reads EMF only from a line that is JSON from its first character.
 */
export function writeJsonLine(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}
